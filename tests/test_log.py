"""crmctl log: one command after every call, email, meeting or attempt.

    crmctl log RECORD --type TYPE [--note TEXT | --note -] [--outcome O] [--at WHEN]
               [--with PERSON] [--deal DEAL] [--force]
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from conftest import (Cli, activities, add_users, build_once, copy_of, crmctl, git,
                      on_a_terminal)

OFFSET = re.compile(r"[+-]\d\d:\d\d$")






def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


def timeline(cli, ref: str) -> list[dict]:
    return json.loads(cli.ok("show", ref, "--format", "json").stdout)["timeline"]


def logged(cli, ref: str) -> list[dict]:
    """The timeline's activities, without the moves (a first contact promotes a lead)."""
    return [e for e in timeline(cli, ref) if e["kind"] == "activity"]


def status_of(cli, ref: str) -> str:
    return json.loads(cli.ok("show", ref, "--format", "json").stdout)["record"]["status"]


def two_salespeople_and_two_companies(cli: Cli) -> None:
    """Sarah and Jim; Acme with Jane and a deal, Globex with Hank; everyone a lead."""
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"))
    cli.ok("add", "company", "Acme Products, Inc.")
    cli.ok("add", "person", "Jane Doe", "--company", "Acme Products")
    cli.ok("add", "deal", "Renewal", "--company", "Acme Products", "--person", "Jane Doe")
    cli.ok("add", "company", "Globex")
    cli.ok("add", "person", "Hank Scorpio", "--company", "Globex")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_once(tmp_path_factory, two_salespeople_and_two_companies)


@pytest.fixture
def crm(template, tmp_path, monkeypatch) -> Cli:
    return copy_of(template, tmp_path, monkeypatch)


# --- what a log is about ---------------------------------------------------------------

def test_log_against_a_company(crm) -> None:
    out = crm.ok("log", "acme-products", "--type", "phone-call", "--note", "Asked about pricing")
    assert out.stdout == 'Log phone-call with "Acme Products, Inc."\n'
    [entry] = activities(crm.root)
    assert entry["type"] == "phone-call" and entry["company"] == "acme-products"
    assert "person" not in entry and "deal" not in entry
    assert entry["note"] == "Asked about pricing"
    assert [e["id"] for e in logged(crm, "acme-products")] == [entry["id"]]


def test_a_persons_activity_is_on_its_companys_timeline(crm) -> None:
    crm.ok("log", "Jane Doe", "--type", "email-sent", "--note", "Sent the brochure")
    [entry] = activities(crm.root)
    assert entry["company"] == "acme-products" and entry["person"] == "jane-doe"
    assert [e["id"] for e in logged(crm, "jane-doe")] == [entry["id"]]
    assert [e["id"] for e in logged(crm, "acme-products")] == [entry["id"]]
    assert timeline(crm, "globex") == []


def test_a_deals_activity_is_on_its_companys_timeline(crm) -> None:
    crm.ok("log", "Renewal", "--type", "meeting", "--note", "Walked through the renewal")
    [entry] = activities(crm.root)
    assert entry["deal"] == "acme-products-renewal" and entry["company"] == "acme-products"
    assert entry["person"] == "jane-doe"  # the deal's contact
    for ref in ("acme-products-renewal", "acme-products", "jane-doe"):
        assert [e["id"] for e in logged(crm, ref)] == [entry["id"]], ref


def test_with_and_deal_name_the_person_and_deal_of_a_company_log(crm) -> None:
    crm.ok("log", "acme-products", "--type", "phone-call", "--note", "Quick check-in",
           "--with", "Jane Doe", "--deal", "Renewal")
    [entry] = activities(crm.root)
    assert (entry["company"], entry["person"], entry["deal"]) == \
        ("acme-products", "jane-doe", "acme-products-renewal")


def test_with_a_person_of_another_company_is_refused(crm) -> None:
    result = crm.fails(1, "log", "acme-products", "--type", "phone-call", "--note", "x",
                       "--with", "Hank Scorpio")
    assert "Hank Scorpio" in result.stderr and "not at Acme Products, Inc." in result.stderr
    crm.fails(1, "log", "Jane Doe", "--type", "email-sent", "--with", "Hank Scorpio")
    assert activities(crm.root) == []


def test_a_deal_of_another_company_is_refused(crm) -> None:
    result = crm.fails(1, "log", "globex", "--type", "email-sent", "--deal", "Renewal")
    assert "Renewal" in result.stderr and "not at Globex" in result.stderr


# --- types, notes, outcomes --------------------------------------------------------------

def test_an_unknown_type_lists_the_valid_ones(crm) -> None:
    result = crm.fails(1, "log", "acme-products", "--type", "fax", "--note", "x")
    assert "unknown activity type 'fax'" in result.stderr
    for valid in ("phone-attempt", "phone-call", "email-sent", "email-received",
                  "linkedin-message", "meeting", "note"):
        assert valid in result.stderr
    assert not (crm.root / "activities").exists() or activities(crm.root) == []


@pytest.mark.parametrize("kind", ["phone-call", "meeting"])
def test_a_verbal_contact_without_a_note_is_refused(crm, kind) -> None:
    result = crm.fails(1, "log", "acme-products", "--type", kind)
    assert f"a {kind} needs a note" in result.stderr and "--note" in result.stderr


def test_a_blank_note_counts_as_no_note(crm) -> None:
    crm.fails(1, "log", "acme-products", "--type", "phone-call", "--note", "   ")
    crm.fails(1, "log", "acme-products", "--type", "phone-call", "--note", "-", input="\n\n")


def test_in_a_script_a_missing_note_fails_and_writes_nothing(crm) -> None:
    head, status = git(crm.root, "rev-parse", "HEAD"), git(crm.root, "status", "--porcelain")
    result = crmctl("log", "acme-products", "--type", "phone-call", cwd=crm.root, input="")
    assert result.returncode == 1, result.stderr
    assert "needs a note" in result.stderr and "Traceback" not in result.stderr
    assert git(crm.root, "rev-parse", "HEAD") == head
    assert git(crm.root, "status", "--porcelain") == status


def editing(editor: Path) -> dict:
    return {"EDITOR": str(editor), "VISUAL": str(editor)}


def editor_script(folder: Path, lines: str) -> Path:
    """An $EDITOR that appends ``lines`` to the file it is given, as a person would type."""
    editor = folder / "editor.sh"
    editor.write_text(f"#!/bin/sh\nprintf '{lines}' >> \"$1\"\n")
    editor.chmod(0o755)
    return editor


def test_on_a_terminal_a_missing_note_opens_the_editor(crm, tmp_path) -> None:
    editor = editor_script(tmp_path, "Said yes to a demo\\nnext week\\n")
    code, shown, stderr = on_a_terminal("log", "acme-products", "--type", "phone-call",
                                        cwd=crm.root, env=editing(editor))
    assert code == 0, (shown, stderr)
    assert "Traceback" not in stderr
    [entry] = activities(crm.root)
    assert entry["note"] == "Said yes to a demo\nnext week"  # the template's # lines dropped


def test_on_a_terminal_an_empty_note_from_the_editor_logs_nothing(crm, tmp_path) -> None:
    editor = editor_script(tmp_path, "")
    head = git(crm.root, "rev-parse", "HEAD")
    code, shown, stderr = on_a_terminal("log", "acme-products", "--type", "meeting",
                                        cwd=crm.root, env=editing(editor))
    assert code == 1, (shown, stderr)
    assert "needs a note" in stderr and "Traceback" not in stderr
    assert git(crm.root, "rev-parse", "HEAD") == head
    assert git(crm.root, "status", "--porcelain") == ""


@pytest.mark.parametrize("args, says", [
    (("nobody at all", "--type", "phone-call"), "no record named 'nobody at all'"),
    (("acme-products", "--type", "meeting", "--at", "next year"), "is in the future"),
    (("acme-products", "--type", "meeting", "--follow-up", "soon"), "is not WHEN: TEXT"),
], ids=["unknown-record", "future", "bad-follow-up"])
def test_a_command_that_will_be_refused_never_asks_for_a_note(crm, tmp_path, args,
                                                              says) -> None:
    """The note is typed after the checks: nobody writes a paragraph for a refused log."""
    opened = tmp_path / "editor-was-opened"
    editor = tmp_path / "editor.sh"
    editor.write_text(f"#!/bin/sh\ntouch '{opened}'\necho typed >> \"$1\"\n")
    editor.chmod(0o755)
    head = git(crm.root, "rev-parse", "HEAD")
    code, shown, stderr = on_a_terminal("log", *args, cwd=crm.root, env=editing(editor))
    assert code != 0 and says in stderr, (shown, stderr)
    assert not opened.exists()
    assert git(crm.root, "rev-parse", "HEAD") == head


def test_note_from_stdin_keeps_every_line(crm) -> None:
    note = "Spoke to Jane.\n\n  - budget: approved\n  - start: March\nCall back Friday."
    crm.ok("log", "Jane Doe", "--type", "phone-call", "--note", "-", input=note + "\n")
    [line] = [l for p in (crm.root / "activities").glob("*/*.jsonl")
              for l in p.read_text().splitlines() if '"kind":"activity"' in l]
    assert "\n" not in line  # one entry, one line: the newlines are escaped
    assert json.loads(line)["note"] == note
    assert logged(crm, "acme-products")[0]["note"] == note
    assert git(crm.root, "log", "-1", "--format=%s") == \
        'Log phone-call with "Acme Products, Inc." (Jane Doe): Spoke to Jane.'


def test_outcomes_come_from_the_type(crm) -> None:
    crm.ok("log", "Jane Doe", "--type", "phone-attempt", "--outcome", "left-message")
    crm.ok("log", "Jane Doe", "--type", "phone-attempt", "--outcome", "no-answer")
    assert [(e["type"], e["outcome"]) for e in activities(crm.root)] == \
        [("phone-attempt", "left-message"), ("phone-attempt", "no-answer")]
    table = crm.ok("show", "acme-products").stdout
    assert "phone-attempt/left-message" in table and "phone-attempt/no-answer" in table


def test_an_unknown_outcome_lists_the_valid_ones(crm) -> None:
    result = crm.fails(1, "log", "Jane Doe", "--type", "phone-attempt", "--outcome", "busy")
    assert "unknown outcome 'busy'" in result.stderr
    assert "left-message, no-answer" in result.stderr


def test_the_outcome_vocabulary_is_whatever_crm_yaml_declares(crm) -> None:
    text = (crm.root / "crm.yaml").read_text()
    assert "      - no-answer\n" in text
    (crm.root / "crm.yaml").write_text(text.replace("      - no-answer\n",
                                                    "      - no-answer\n      - wrong-number\n"))
    git(crm.root, "commit", "-qam", "A wrong number is an outcome too")
    crm.ok("log", "Jane Doe", "--type", "phone-attempt", "--outcome", "wrong-number")
    assert activities(crm.root)[0]["outcome"] == "wrong-number"


# --- when ---------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, stored", [
    ("2025-03-10T14:05:00+02:00", "2025-03-10T14:05:00+02:00"),
    ("2025-03-10T12:05:00Z", "2025-03-10T12:05:00+00:00"),
])
def test_at_takes_iso_times_with_their_offset(crm, typed, stored) -> None:
    crm.ok("log", "acme-products", "--type", "email-sent", "--at", typed)
    assert activities(crm.root)[0]["at"] == stored


@pytest.mark.parametrize("typed, local", [
    ("2025-03-10 14:05", "2025-03-10T14:05:00"),
    ("2025-03-10", "2025-03-10T00:00:00"),
])
def test_at_without_an_offset_is_local_time_stored_with_its_offset(crm, typed, local) -> None:
    crm.ok("log", "acme-products", "--type", "email-sent", "--at", typed)
    at = activities(crm.root)[0]["at"]
    assert at.startswith(local) and OFFSET.search(at), at
    expected = datetime.fromisoformat(local).astimezone()
    assert datetime.fromisoformat(at) == expected


@pytest.mark.skipif(not Path("/usr/share/zoneinfo/Europe/Berlin").exists(),
                    reason="no time zone database")
def test_a_local_time_takes_the_offset_in_force_on_its_own_date(crm) -> None:
    """In Berlin 10:00 is +01:00 in January and +02:00 in July, whatever the date today."""
    for typed in ("2025-01-15 10:00", "2025-07-15 10:00"):
        result = crmctl("log", "acme-products", "--type", "email-sent", "--at", typed,
                        cwd=crm.root, env={"TZ": "Europe/Berlin"})
        assert result.returncode == 0, result.stderr
    assert [e["at"] for e in activities(crm.root)] == \
        ["2025-01-15T10:00:00+01:00", "2025-07-15T10:00:00+02:00"]


def test_at_yesterday_afternoon(crm) -> None:
    crm.ok("log", "acme-products", "--type", "phone-call", "--note", "x",
           "--at", "yesterday 15:30")
    at = activities(crm.root)[0]["at"]
    yesterday = date.today() - timedelta(days=1)
    assert at.startswith(f"{yesterday.isoformat()}T15:30:00"), at
    assert OFFSET.search(at), at


def test_a_numeric_at_that_reads_two_ways_is_refused(crm) -> None:
    result = crm.fails(1, "log", "acme-products", "--type", "phone-call", "--note", "x",
                       "--at", "05/03/2026 15:30")
    assert "write it as 2026-03-05 15:30 or 2026-05-03 15:30" in result.stderr


def test_without_at_the_activity_happened_now(crm) -> None:
    before = datetime.now().astimezone().replace(microsecond=0)
    crm.ok("log", "acme-products", "--type", "email-sent")
    after = datetime.now().astimezone()
    at = datetime.fromisoformat(activities(crm.root)[0]["at"])
    assert at.tzinfo is not None and before <= at <= after


def test_a_future_time_is_refused(crm) -> None:
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    result = crm.fails(1, "log", "acme-products", "--type", "email-sent",
                       "--at", f"{tomorrow} 09:00")
    assert "is in the future" in result.stderr


def test_an_unreadable_time_is_refused(crm) -> None:
    result = crm.fails(1, "log", "acme-products", "--type", "email-sent",
                       "--at", "when pigs fly")
    assert "'when pigs fly' is not a date or time" in result.stderr


# --- heads-up ---------------------------------------------------------------------------

def test_heads_up_when_someone_else_contacted_the_company_lately(crm) -> None:
    first = crm.ok("--as", "sarah", "log", "acme-products", "--type", "phone-call",
                   "--note", "Pricing questions\nthey want 3 seats")
    assert "heads-up" not in first.stderr
    again = crm.ok("--as", "sarah", "log", "acme-products", "--type", "email-sent",
                   "--note", "Sent the price list")
    assert "heads-up" not in again.stderr  # her own contact is no news to her
    before = commits(crm.root)
    jim = crm.ok("--as", "jim", "log", "acme-products", "--type", "phone-attempt",
                 "--outcome", "no-answer")
    warnings = [l for l in jim.stderr.splitlines() if l.startswith("heads-up:")]
    assert len(warnings) == 2, jim.stderr
    call = next(w for w in warnings if "phone-call" in w)
    assert "Sarah Closer" in call and "Pricing questions" in call
    assert "they want 3 seats" not in call  # the first line of the note only
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", call)  # when
    assert any("Sarah Closer" in w and "email-sent" in w for w in warnings)
    assert commits(crm.root) == before + 1  # it warns, never blocks
    assert activities(crm.root)[-1]["by"] == "jim"


def test_heads_up_covers_the_companys_people(crm) -> None:
    crm.ok("--as", "sarah", "log", "Jane Doe", "--type", "meeting", "--note", "Demo done")
    jim = crm.ok("--as", "jim", "log", "acme-products", "--type", "email-sent")
    assert "heads-up: Sarah Closer" in jim.stderr and "meeting" in jim.stderr
    assert "Demo done" in jim.stderr and "with Jane Doe at" in jim.stderr  # a name, not an id
    crm.ok("--as", "sarah", "log", "acme-products", "--type", "email-sent")
    # ... and logging against one of its people warns about the company's contacts too
    jim_again = crm.ok("--as", "jim", "log", "Jane Doe", "--type", "email-sent")
    assert any(l.startswith("heads-up: Sarah Closer") and "email-sent" in l
               for l in jim_again.stderr.splitlines())


def test_no_heads_up_about_other_companies(crm) -> None:
    crm.ok("--as", "sarah", "log", "globex", "--type", "phone-call", "--note", "Hi Hank")
    jim = crm.ok("--as", "jim", "log", "acme-products", "--type", "email-sent")
    assert "heads-up" not in jim.stderr


def test_no_heads_up_about_contact_older_than_heads_up_days(crm) -> None:
    ten_days_ago = (datetime.now() - timedelta(days=10)).strftime("%Y-%m-%d %H:%M")
    crm.ok("--as", "sarah", "log", "acme-products", "--type", "phone-call",
           "--note", "Long ago", "--at", ten_days_ago)
    jim = crm.ok("--as", "jim", "log", "acme-products", "--type", "email-sent")
    assert "heads-up" not in jim.stderr


def test_heads_up_covers_the_last_seven_days_by_default(crm) -> None:
    six_days_ago = (datetime.now() - timedelta(days=6)).strftime("%Y-%m-%d %H:%M")
    ten_days_ago = (datetime.now() - timedelta(days=10)).strftime("%Y-%m-%d %H:%M")
    crm.ok("--as", "sarah", "log", "acme-products", "--type", "phone-call",
           "--note", "Six days ago", "--at", six_days_ago)
    crm.ok("--as", "sarah", "log", "acme-products", "--type", "phone-call",
           "--note", "Ten days ago", "--at", ten_days_ago)
    jim = crm.ok("--as", "jim", "log", "acme-products", "--type", "email-sent")
    warnings = [l for l in jim.stderr.splitlines() if l.startswith("heads-up:")]
    assert len(warnings) == 1 and "Six days ago" in warnings[0]
    assert six_days_ago in warnings[0]  # when, in the time it was logged


def test_a_note_to_self_is_no_contact_to_warn_about(crm) -> None:
    crm.ok("--as", "sarah", "log", "acme-products", "--type", "note", "--note", "Budget is May")
    jim = crm.ok("--as", "jim", "log", "acme-products", "--type", "email-sent")
    assert "heads-up" not in jim.stderr


def test_heads_up_days_is_configurable(crm) -> None:
    text = (crm.root / "crm.yaml").read_text()
    (crm.root / "crm.yaml").write_text(text.replace("heads_up_days: 7", "heads_up_days: 14"))
    git(crm.root, "commit", "-qam", "Two weeks of heads-up")
    ten_days_ago = (datetime.now() - timedelta(days=10)).strftime("%Y-%m-%d %H:%M")
    crm.ok("--as", "sarah", "log", "acme-products", "--type", "phone-call",
           "--note", "Ten days back", "--at", ten_days_ago)
    jim = crm.ok("--as", "jim", "log", "acme-products", "--type", "email-sent")
    assert "heads-up: Sarah Closer" in jim.stderr and "Ten days back" in jim.stderr


# --- do not contact ----------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["phone-attempt", "phone-call", "email-sent"])
def test_outreach_to_a_do_not_contact_company_is_refused(crm, kind) -> None:
    crm.ok("add", "company", "Initrode", "--status", "do-not-contact")
    before = commits(crm.root)
    result = crm.fails(5, "log", "initrode", "--type", kind, "--note", "Trying anyway")
    assert "do-not-contact" in result.stderr and "--force" in result.stderr
    assert commits(crm.root) == before


def test_outreach_to_a_do_not_contact_person_is_refused(crm) -> None:
    crm.ok("add", "person", "Bill Lumbergh", "--company", "Acme Products",
           "--status", "do-not-contact")
    crm.fails(5, "log", "Bill Lumbergh", "--type", "email-sent")
    crm.fails(5, "log", "acme-products", "--type", "phone-attempt", "--with", "Bill Lumbergh")
    crm.ok("log", "acme-products", "--type", "email-sent")  # the company itself is fine
    assert len(activities(crm.root)) == 1


def test_force_logs_outreach_to_a_do_not_contact_record(crm) -> None:
    crm.ok("add", "company", "Initrode", "--status", "do-not-contact")
    crm.ok("log", "initrode", "--type", "phone-call", "--note", "They asked us to call",
           "--force")
    [entry] = activities(crm.root)
    assert entry["company"] == "initrode" and entry["type"] == "phone-call"
    assert status_of(crm, "initrode") == "do-not-contact"  # not promoted away from it


def test_incoming_contact_from_a_do_not_contact_record_is_recorded(crm) -> None:
    crm.ok("add", "company", "Initrode", "--status", "do-not-contact")
    crm.ok("add", "person", "Bob Porter", "--company", "Initrode",
           "--status", "do-not-contact")
    crm.ok("log", "Bob Porter", "--type", "email-received", "--note", "Asked for a quote")
    crm.ok("log", "initrode", "--type", "note", "--note", "Internal: keep away")
    assert [e["type"] for e in activities(crm.root)] == ["email-received", "note"]


# --- status promotion --------------------------------------------------------------------

def test_first_real_contact_promotes_lead_company_and_person_in_the_same_commit(crm) -> None:
    before = commits(crm.root)
    result = crm.ok("log", "acme-products", "--type", "phone-call", "--note", "Intro call",
                    "--with", "Jane Doe")
    assert commits(crm.root) == before + 1
    assert status_of(crm, "acme-products") == "contact"
    assert status_of(crm, "jane-doe") == "contact"
    changed = git(crm.root, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert any(p.startswith("companies/") for p in changed)
    assert any(p.startswith("people/") for p in changed)
    assert any(p.startswith("activities/") for p in changed)
    assert "status is now contact" in result.stderr
    assert git(crm.root, "status", "--porcelain") == ""


def test_a_promotion_is_on_the_timeline_as_a_move(crm) -> None:
    """The funnel and velocity reports read status steps from the log, so a promotion is
    written there like any move: when the contact happened, by whom, from and to."""
    crm.ok("--as", "sarah", "log", "Jane Doe", "--type", "meeting", "--note", "Coffee",
           "--at", "2026-01-05 09:00")
    moves = [e for e in timeline(crm, "acme-products") if e["kind"] == "move"]
    assert sorted((m["field"], m["from"], m["to"], m.get("person") or "", m["by"],
                   m["at"][:16]) for m in moves) == [
        ("status", "lead", "contact", "", "sarah", "2026-01-05T09:00"),
        ("status", "lead", "contact", "jane-doe", "sarah", "2026-01-05T09:00")]
    assert {m["reason"] for m in moves} == {"first meeting"}
    crm.ok("check")


def test_an_attempt_does_not_promote(crm) -> None:
    crm.ok("log", "Jane Doe", "--type", "phone-attempt", "--outcome", "no-answer")
    assert status_of(crm, "acme-products") == "lead"
    assert status_of(crm, "jane-doe") == "lead"
    changed = git(crm.root, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert len(changed) == 1 and changed[0].startswith("activities/")


def test_promotion_only_moves_leads(crm) -> None:
    crm.ok("add", "company", "Initech", "--status", "client")
    crm.ok("log", "initech", "--type", "phone-call", "--note", "Quarterly review")
    assert status_of(crm, "initech") == "client"


# --- commits -----------------------------------------------------------------------------

def test_each_log_is_one_commit_by_the_actor_with_a_feed_subject(crm) -> None:
    before = commits(crm.root)
    crm.ok("--as", "sarah", "log", "Jane Doe", "--type", "phone-attempt",
           "--outcome", "left-message", "--note", "Left a voicemail\nabout the renewal")
    assert commits(crm.root) == before + 1
    assert git(crm.root, "log", "-1", "--format=%an <%ae>") == "Sarah Closer <sarah@example.com>"
    assert git(crm.root, "log", "-1", "--format=%s") == \
        'Log phone-attempt/left-message with "Acme Products, Inc." (Jane Doe): Left a voicemail'
    assert git(crm.root, "status", "--porcelain") == ""
    assert activities(crm.root)[0]["by"] == "sarah"
    assert activities(crm.root)[0]["by_name"] == "Sarah Closer"
