"""Every report in every format: text for a terminal or a plain-text mail, md, csv for a
spreadsheet, json for a script, html for a browser or a mail client, and a whole mail for
`sendmail -t`. Each format is parsed back here with the parser its readers use."""

from __future__ import annotations

import csv
import email
import io
import json
from email import policy
from html.parser import HTMLParser

import pytest

from conftest import Cli, add_users, build_once, copy_of, git

NOW = {"CRMCTL_NOW": "2026-11-25T09:00:00+01:00"}
REPORTS = ("pipeline", "forecast", "activity", "tasks", "stale", "winloss", "funnel",
           "sources", "velocity", "goals", "calibration")


def a_small_team(cli: Cli) -> None:
    """Sarah's deals: 1,000 at contact-made (10%) and 20,000 in negotiation at 75%."""
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"))
    cli.ok("add", "company", "Initech", "--owner", "sarah", "--source", "web", env=NOW)
    cli.ok("add", "deal", "A", "--company", "Initech", "--amount", "1000", "--owner", "sarah",
           env=NOW)
    cli.ok("add", "deal", "Ünïcode & <Co>", "--company", "Initech", "--amount", "20000",
           "--stage", "in-negotiation", "--probability", "75", "--close", "2027-02-28",
           "--owner", "sarah", env=NOW)
    cli.ok("--as", "sarah", "log", "Initech", "--type", "phone-call", "--note", "Pricing",
           "--at", "2026-11-24 10:00", env=NOW)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_once(tmp_path_factory, a_small_team)


@pytest.fixture
def crm(template, tmp_path, monkeypatch) -> Cli:
    return copy_of(template, tmp_path, monkeypatch)


def report(crm: Cli, *args: str) -> str:
    return crm.ok("report", *args, env=NOW).stdout


class Page(HTMLParser):
    """What a mail client would find in the HTML: its tags, texts, and anything external."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.external: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append(tag)
        if tag not in ("meta", "br"):  # void elements have no end tag
            self.open.append(tag)
        for name, value in attrs:
            if name in ("src", "href") or (name == "style" and "url(" in (value or "")):
                self.external.append(f"{tag} {name}={value}")

    def handle_startendtag(self, tag, attrs):  # type: ignore[no-untyped-def]
        self.tags.append(tag)  # <rect ... />: opened and closed at once

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        assert self.open and self.open[-1] == tag, (self.open, tag)
        self.open.pop()

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if data.strip():
            self.text.append(data.strip())


def parsed_html(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    assert page.open == [], page.open  # every element closed
    return page


# --- the same numbers in every format ------------------------------------------------------

def test_json_has_stable_names_and_numbers_as_numbers(crm) -> None:
    document = json.loads(report(crm, "pipeline", "--format", "json"))
    assert (document["report"], document["today"], document["empty"], document["incomplete"]) \
        == ("pipeline", "2026-11-25", False, [])
    negotiation = next(r for r in document["stages"] if r["stage"] == "in-negotiation")
    assert negotiation == {"stage": "in-negotiation", "currency": "USD", "deals": 1,
                           "amount": 20000, "weighted": 15000}
    assert document["summary"]["USD"] == {"deals": 2, "amount": 21000, "weighted": 15100}


def test_csv_is_one_rectangular_table(crm) -> None:
    rows = list(csv.DictReader(io.StringIO(report(crm, "pipeline", "--format", "csv"))))
    assert [r["stage"] for r in rows] == ["contact-made", "meeting-arranged", "qualified",
                                          "proposal-presented", "in-negotiation"]
    assert {k: rows[0][k] for k in ("currency", "deals", "amount", "weighted")} == \
        {"currency": "USD", "deals": "1", "amount": "1000", "weighted": "100"}


def test_markdown_has_a_heading_and_pipe_tables(crm) -> None:
    out = report(crm, "pipeline", "--format", "md")
    lines = out.splitlines()
    assert lines[0] == "# Pipeline (2026-11-25)"
    assert "## Open pipeline in USD: 2 deals, 21,000 (15,100 weighted)" in lines
    table = [line for line in lines if line.startswith("|")]
    assert table[0].split("|")[1].strip() == "STAGE" and set(table[1]) <= set("|-: ")
    assert any("**total**" in line and "**21,000**" in line for line in table)


def test_html_is_one_self_contained_page(crm) -> None:
    out = report(crm, "pipeline", "--format", "html")
    page = parsed_html(out)
    assert out.startswith("<!DOCTYPE html>")
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert page.external == []
    assert page.tags.count("svg") == 5  # a real bar per stage (empty ones zero wide)
    assert "Pipeline (2026-11-25)" in page.text and "15,100" in page.text
    assert "<style>" in out  # the style travels inside the page


def test_html_escapes_what_users_typed(crm) -> None:
    out = report(crm, "stale", "--format", "html")
    assert "Ünïcode &amp; &lt;Co&gt;" in out and "<Co>" not in out
    assert "Ünïcode & <Co>" in parsed_html(out).text


def test_text_has_no_ansi_and_stays_aligned(crm) -> None:
    out = report(crm, "pipeline")
    assert "\x1b[" not in out
    table = out.split("Open pipeline in USD: 2 deals, 21,000 (15,100 weighted)\n")[1]
    header, rule, *rows = table.strip().splitlines()
    # the numbers end in the same column on every row
    widths = {len(line.split("█")[0].rstrip()) for line in rows if not line.startswith("-")}
    assert len(widths) == 1, rows


# --- the mail -----------------------------------------------------------------------------

def test_email_is_a_complete_message_with_text_and_html(crm) -> None:
    out = report(crm, "pipeline", "--format", "email", "--to", "boss@example.com")
    message = email.message_from_string(out, policy=policy.default)
    assert message["To"] == "boss@example.com"
    assert message["From"] == "Sam Seller <sam@example.com>"
    assert message["Subject"] == "Pipeline (2026-11-25)"
    assert message["Date"] == "Wed, 25 Nov 2026 09:00:00 +0100"
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith(">")
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain.get_content_charset() == "utf-8" and html.get_content_charset() == "utf-8"
    assert plain.get_content() == report(crm, "pipeline")
    assert "15,100" in parsed_html(html.get_content()).text
    assert "\r\n" not in out  # sendmail -t reads local line ends


def test_email_subject_sender_and_unicode(crm) -> None:
    out = report(crm, "stale", "--format", "email", "--to", "Zoë <zoe@example.com>",
                 "--from", "CRM <crm@example.com>", "--subject", "Stale deals: Ünïcode")
    message = email.message_from_string(out, policy=policy.default)
    assert (message["Subject"], message["From"], message["To"]) == \
        ("Stale deals: Ünïcode", "CRM <crm@example.com>", "Zoë <zoe@example.com>")
    assert all(ord(c) < 128 for c in out.split("\n\n", 1)[0])  # headers are encoded
    assert "Ünïcode & <Co>" in message.get_body(("plain",)).get_content()


@pytest.mark.parametrize("args, says", [
    (("--format", "email"), "--format email needs --to ADDRESS"),
    (("--to", "boss@example.com"), "--to, --subject and --from are for --format email"),
], ids=["email-without-to", "to-without-email"])
def test_mail_options_go_together(crm, args, says) -> None:
    assert says in crm.fails(2, "report", "pipeline", *args).stderr


@pytest.mark.parametrize("args, says", [
    (("--to", "boss@example.com\nBcc: everyone@example.com"), "is not a list of mail addresses"),
    (("--to", "the boss"), "--to 'the boss' is not a list of mail addresses"),
    (("--to", "boss@example.com", "--from", "a@example.com, b@example.com"),
     "is not a mail address"),
    (("--to", "boss@example.com", "--subject", "Hi\nBcc: everyone@example.com"),
     "--subject must be one line of text"),
], ids=["header-injection-in-to", "not-an-address", "two-senders", "header-injection-in-subject"])
def test_typed_addresses_cannot_add_headers(crm, args, says) -> None:
    result = crm.fails(1, "report", "pipeline", "--format", "email", *args)
    assert says in result.stderr and result.stdout == ""


def test_a_mail_without_a_known_sender_asks_for_from(crm) -> None:
    git(crm.root, "config", "user.email", "")
    git(crm.root, "config", "user.name", "")
    result = crm("report", "pipeline", "--format", "email", "--to", "boss@example.com",
                 env={**NOW, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
                      "GIT_AUTHOR_NAME": "", "GIT_AUTHOR_EMAIL": "", "EMAIL": ""})
    if result.exit_code == 0:  # git found an identity somewhere else on this machine
        pytest.skip("git knows an identity outside the repo here")
    assert "the mail needs a sender (pass --from ADDRESS" in result.stderr


# --- nothing to show ------------------------------------------------------------------------

@pytest.mark.parametrize("name", REPORTS)
def test_every_report_says_when_it_has_nothing(cli, name) -> None:
    result = cli.ok("report", name, env=NOW)
    assert result.stdout.strip() and "\n" not in result.stdout.strip(), result.stdout
    assert result.stderr == ""
    document = json.loads(cli.ok("report", name, "--format", "json", env=NOW).stdout)
    assert document["empty"] is True and document["report"] == name
    failed = cli("report", name, "--fail-if-empty", env=NOW)
    assert (failed.exit_code, failed.stdout) == (1, "")


@pytest.mark.parametrize("name", REPORTS)
def test_every_report_renders_in_every_format(crm, name) -> None:
    empty = json.loads(report(crm, name, "--format", "json"))["empty"]
    for fmt in ("text", "md", "csv", "json", "html"):
        out = report(crm, name, "--format", fmt)
        # CSV carries the main table: nothing at all only when the report has nothing
        assert out.endswith("\n") or (fmt == "csv" and out == "" and empty), (name, fmt)
    parsed_html(report(crm, name, "--format", "html"))
    json.loads(report(crm, name, "--format", "json"))


def test_fail_if_empty_passes_a_report_with_something_to_say(crm) -> None:
    assert "Open pipeline in USD" in report(crm, "pipeline", "--fail-if-empty")


# --- a broken file ---------------------------------------------------------------------------

def test_a_broken_file_is_named_and_the_report_says_it_is_incomplete(crm) -> None:
    [path] = [p for p in (crm.root / "deals").rglob("*.yaml") if "initech-a" in p.name]
    path.write_text(path.read_text() + "stage: [\n")
    relative = path.relative_to(crm.root).as_posix()
    result = crm.ok("report", "pipeline", env=NOW)
    assert result.stderr.startswith(f"crmctl: warning: {relative}:")
    assert result.stderr.rstrip().endswith("(left out of the report)")
    assert result.stdout.rstrip().endswith(
        f"Incomplete: 1 file could not be read and is left out (run crmctl check): {relative}")
    assert "Open pipeline in USD: 1 deal, 20,000" in result.stdout  # the rest is there
    document = json.loads(crm.ok("report", "pipeline", "--format", "json", env=NOW).stdout)
    assert [i["path"] for i in document["incomplete"]] == [relative]
    page = parsed_html(crm.ok("report", "pipeline", "--format", "html", env=NOW).stdout)
    assert any(t.startswith("Incomplete: 1 file") for t in page.text)


def test_a_crm_that_cannot_be_read_is_an_error(tmp_path) -> None:
    git(tmp_path, "init", "-q")
    from conftest import crmctl
    result = crmctl("report", "pipeline", cwd=tmp_path)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.startswith("crmctl: error: no CRM folder here")


# --- periods ---------------------------------------------------------------------------------

def test_the_period_is_in_the_heading_and_the_json(crm) -> None:
    out = report(crm, "activity", "--since", "2026-11-01", "--until", "2026-11-24")
    assert out.startswith("Activity (2026-11-01 to 2026-11-24)\n")
    document = json.loads(report(crm, "activity", "--since", "2026-11-01", "--format", "json"))
    assert (document["since"], document["until"]) == ("2026-11-01", "2026-11-25")


@pytest.mark.parametrize("args, says", [
    (("--since", "2026-11-20", "--until", "2026-11-01"), "--since 2026-11-20 is after --until"),
    (("--since", "someday"), "--since: 'someday' is not a date"),
    (("--as-of", "2026-11-01"), "--as-of is for pipeline, forecast, funnel"),
], ids=["backwards", "bad-date", "as-of-on-a-period-report"])
def test_a_bad_period_is_one_line(crm, args, says) -> None:
    assert says in crm.fails(1, "report", "activity", *args).stderr


def test_hand_edited_values_reports_cannot_read_do_not_stop_them(crm) -> None:
    """An amount, a close date and the stamps broken by hand: check names them; the reports
    still run, leaving such a deal out and naming it (never counting it as 0), instead of
    a traceback."""
    [path] = [p for p in (crm.root / "deals").rglob("*.yaml") if "initech-a" in p.name]
    text = path.read_text().replace("amount: 1000", "amount: lots")
    text = "".join(l for l in text.splitlines(True)
                   if not l.startswith(("created:", "stage_since:")))
    path.write_text(text + "close: soon\n")
    for name in ("pipeline", "forecast", "stale", "calibration"):
        result = crm("report", name, env=NOW)
        assert result.exit_code == 0 and "Traceback" not in result.stdout + result.stderr, \
            (name, result.stdout, result.stderr)
    shown = report(crm, "pipeline")
    assert "Open pipeline in USD: 1 deal, 20,000" in shown
    assert "Incomplete: 1 file could not be read and is left out" in shown
    assert f"deals/in/{path.name}" in shown
    assert crm("check").exit_code == 1
