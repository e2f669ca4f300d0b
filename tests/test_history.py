"""Reading what happened: the timeline in `show`, the feed in `history`, and `blame`.

    crmctl show RECORD [--format json]
    crmctl history [RECORD] [--since DATE] [--by USER] [--limit N] [--format json]
    crmctl blame RECORD [FIELD] [--format json]
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import Cli, add_users, build_once, copy_of, git, stderr_on_a_terminal

WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\d"


def a_team_at_work(cli: Cli) -> None:
    """Sarah adds Acme (a prospect) and Jane (a contact); Jim adds the Renewal deal, Globex and Hank."""
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"))
    cli.ok("--as", "sarah", "add", "company", "Acme Products, Inc.", "--status", "prospect")
    cli.ok("--as", "sarah", "add", "person", "Jane Doe", "--company", "Acme Products",
           "--status", "contact")
    cli.ok("--as", "jim", "add", "deal", "Renewal", "--company", "Acme Products")
    cli.ok("--as", "jim", "add", "company", "Globex", "--status", "prospect")
    cli.ok("--as", "jim", "add", "person", "Hank Scorpio", "--company", "Globex")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_once(tmp_path_factory, a_team_at_work)


@pytest.fixture
def crm(template, tmp_path, monkeypatch) -> Cli:
    return copy_of(template, tmp_path, monkeypatch)


def shown(cli: Cli, ref: str) -> dict:
    return json.loads(cli.ok("show", ref, "--format", "json").stdout)


def feed(cli: Cli, *args: str, env: dict | None = None) -> list[str]:
    return cli.ok("history", *args, env=env).stdout.splitlines()


def blamed(cli: Cli, *args: str) -> dict[str, dict]:
    rows = json.loads(cli.ok("blame", *args, "--format", "json").stdout)
    return {row["field"]: row for row in rows}


def hand_commit(root: Path, message: str, *, author: str | None = None,
                date: str | None = None) -> None:
    """``git commit -a`` as a person would type it, outside crmctl."""
    env = {**os.environ, **({"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
                            if date else {})}
    subprocess.run(["git", "commit", "-qam", message, *(["--author", author] if author else [])],
                   cwd=root, env=env, check=True, capture_output=True)


# --- the timeline in show --------------------------------------------------------------------

@pytest.fixture
def contacts(crm) -> dict[str, str]:
    """Four contacts on different days, logged out of order; returns their ids by name."""
    crm.ok("log", "acme-products", "--type", "phone-call", "--note", "First call",
           "--at", "2025-03-10 09:00")
    crm.ok("log", "Jane Doe", "--type", "email-sent", "--note", "Sent the deck",
           "--at", "2025-03-12 10:00")
    crm.ok("log", "Renewal", "--type", "meeting", "--note", "Renewal demo",
           "--at", "2025-03-11 14:00")
    crm.ok("log", "globex", "--type", "phone-call", "--note", "Not Acme",
           "--at", "2025-03-13 08:00")
    return {e["note"]: e["id"] for name in ("acme-products", "globex")
            for e in shown(crm, name)["timeline"]}


def test_a_company_timeline_merges_its_people_and_deals_newest_first(crm, contacts) -> None:
    timeline = shown(crm, "acme-products")["timeline"]
    assert [e["note"] for e in timeline] == ["Sent the deck", "Renewal demo", "First call"]
    assert [e["at"][:16] for e in timeline] == \
        ["2025-03-12T10:00", "2025-03-11T14:00", "2025-03-10T09:00"]
    assert timeline[0]["person"] == "jane-doe"
    assert timeline[1]["deal"] == "acme-products-renewal"
    assert [e["note"] for e in shown(crm, "globex")["timeline"]] == ["Not Acme"]


def test_a_person_or_deal_timeline_has_only_its_own(crm, contacts) -> None:
    assert [e["note"] for e in shown(crm, "Jane Doe")["timeline"]] == ["Sent the deck"]
    assert [e["note"] for e in shown(crm, "Renewal")["timeline"]] == ["Renewal demo"]


def test_the_table_lists_the_same_entries_as_json(crm, contacts) -> None:
    out = crm.ok("show", "acme-products").stdout
    assert "Timeline (3)" in out
    table = out.split("Timeline (3)\n", 1)[1].splitlines()[2:]  # after header and rule
    assert len(table) == 3
    for row, entry in zip(table, shown(crm, "acme-products")["timeline"]):
        assert row.startswith(entry["at"][:16].replace("T", " ")), row
        assert entry["type"] in row and entry["note"] in row and "Sam Seller" in row
    assert "Jane Doe" in table[0] and "Renewal" in table[1]  # names, not ids
    assert not any("jane-doe" in row for row in table)


def test_newest_first_is_by_the_moment_whatever_the_time_zone(crm) -> None:
    crm.ok("log", "acme-products", "--type", "email-sent", "--note", "Sent from Berlin",
           "--at", "2025-03-10T09:00:00+02:00")  # 07:00 UTC
    crm.ok("log", "acme-products", "--type", "email-sent", "--note", "Sent from London",
           "--at", "2025-03-10T08:00:00+00:00")  # 08:00 UTC: the later one
    assert [e["note"] for e in shown(crm, "acme-products")["timeline"]] == \
        ["Sent from London", "Sent from Berlin"]


def test_show_limits_the_table_not_the_json(crm, contacts) -> None:
    out = crm.ok("show", "acme-products", "--limit", "2").stdout
    assert "First call" not in out and "... 1 older (--limit 0 shows all)" in out
    assert len(json.loads(crm.ok("show", "acme-products", "--limit", "2", "--format",
                                 "json").stdout)["timeline"]) == 3


def test_an_empty_timeline_says_so(crm) -> None:
    out = crm.ok("show", "acme-products").stdout
    assert "Timeline (0)\n  nothing logged yet" in out
    assert shown(crm, "acme-products")["timeline"] == []


# --- history: the feed ---------------------------------------------------------------------

def test_history_reads_like_an_activity_feed(crm) -> None:
    crm.ok("--as", "sarah", "log", "acme-products", "--type", "phone-call",
           "--note", "Pricing questions\nand more", "--at", "2025-03-10 09:00")
    crm.ok("--as", "jim", "move", "Renewal", "meeting-arranged")
    lines = feed(crm)
    expected = [
        r'Jim Seller moved deal "Renewal": contact-made -> meeting-arranged',
        r'Sarah Closer logged phone-call with "Acme Products, Inc.": Pricing questions',
        r'Jim Seller added person "Hank Scorpio" at "Globex"',
        r'Jim Seller added company "Globex"',
        r'Jim Seller added deal "Renewal" with "Acme Products, Inc." \(contact-made\)',
        r'Sarah Closer added person "Jane Doe" at "Acme Products, Inc."',
        r'Sarah Closer added company "Acme Products, Inc."',
    ]
    for line, pattern in zip(lines, expected):
        assert re.fullmatch(f"{WHEN} {pattern}", line), (line, pattern)
    assert len(lines) > len(expected)  # ... then the team declared by hand, and the CRM created


def test_a_commit_made_by_hand_shows_its_author_files_and_subject(crm) -> None:
    jane = crm.root / "people" / "ja" / "jane-doe.yaml"
    jane.write_text(jane.read_text().replace("status: contact\n", "status: contact\ntitle: CTO\n"))
    hand_commit(crm.root, "Jane is the CTO now", author="Pat Admin <pat@example.com>")
    [line] = feed(crm, "--limit", "1")
    assert re.fullmatch(f"{WHEN} Pat Admin edited people/ja/jane-doe.yaml by hand: "
                        "Jane is the CTO now", line), line
    assert feed(crm, "Jane Doe", "--limit", "1") == [line]
    [entry] = json.loads(crm.ok("history", "--limit", "1", "--format", "json").stdout)
    assert entry["by_hand"] is True and entry["records"] == []
    assert entry["files"] == ["people/ja/jane-doe.yaml"]
    assert (entry["author"], entry["email"]) == ("Pat Admin", "pat@example.com")


def test_history_of_a_record_has_only_its_changes(crm) -> None:
    crm.ok("log", "Jane Doe", "--type", "phone-attempt", "--outcome", "no-answer")
    touched = git(crm.root, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert len(touched) == 1 and touched[0].endswith(".jsonl")  # an attempt: the log only
    crm.ok("log", "Hank Scorpio", "--type", "phone-attempt", "--outcome", "no-answer")
    crm.ok("move", "Renewal", "meeting-arranged")
    lines = feed(crm, "Jane Doe")
    assert len(lines) == 2, lines
    assert lines[0].endswith('Sam Seller logged phone-attempt/no-answer with '
                             '"Acme Products, Inc." (Jane Doe)')
    assert lines[1].endswith('Sarah Closer added person "Jane Doe" at "Acme Products, Inc."')
    deal = feed(crm, "Renewal")
    assert [l.split(" ", 2)[2] for l in deal] == [
        'Sam Seller moved deal "Renewal": contact-made -> meeting-arranged',
        'Jim Seller added deal "Renewal" with "Acme Products, Inc." (contact-made)']
    assert not any("Hank" in l or "Globex" in l for l in feed(crm, "acme-products"))


def test_history_of_a_record_follows_commits_reset_and_a_lost_cache(crm) -> None:
    """The commits about each record are cached; the cache follows HEAD wherever it goes:
    new commits, a reset that drops one, a damaged or deleted cache file."""
    crm.ok("log", "Jane Doe", "--type", "note", "--note", "First")
    assert len(feed(crm, "Jane Doe")) == 2  # the add and the note: the cache is built here
    crm.ok("log", "Jane Doe", "--type", "note", "--note", "Second")
    crm.ok("log", "Hank Scorpio", "--type", "note", "--note", "Not Jane")
    assert len(feed(crm, "Jane Doe")) == 3
    git(crm.root, "reset", "-q", "--hard", "HEAD~2")  # "Second" and Hank's note undone
    lines = feed(crm, "Jane Doe")
    assert len(lines) == 2 and any(l.endswith("(Jane Doe): First") for l in lines), lines
    crm.ok("log", "Jane Doe", "--type", "note", "--note", "Third")
    assert len(feed(crm, "Jane Doe")) == 3
    cache = crm.root / ".crmctl" / "commits.sqlite"
    assert cache.is_file()
    cache.write_bytes(b"not a database at all" * 100)
    assert len(feed(crm, "Jane Doe")) == 3
    cache.unlink()
    assert len(feed(crm, "Jane Doe")) == 3


def test_reading_the_whole_history_says_so_on_a_terminal_once(crm) -> None:
    """The first history of a record in a clone reads every commit (seconds on a long
    history): a line on stderr says so while it does, when that is a terminal, and is then
    cleared. Later reads catch up with new commits in silence; a pipe never sees it."""
    piped = crm.ok("history", "Jane Doe")
    assert piped.stderr == "" and "Jane Doe" in piped.stdout
    (crm.root / ".crmctl" / "commits.sqlite").unlink()
    code, shown = stderr_on_a_terminal("history", "Jane Doe", cwd=crm.root)
    assert code == 0
    assert shown == "Reading the CRM's history (once per clone)...\r\x1b[K"
    crm.ok("log", "Jane Doe", "--type", "note", "--note", "One more")
    code, shown = stderr_on_a_terminal("history", "Jane Doe", cwd=crm.root)
    assert (code, shown) == (0, "")


def test_history_by_user(crm) -> None:
    jims = feed(crm, "--by", "jim")
    assert len(jims) == 3 and all(" Jim Seller " in l for l in jims)
    assert feed(crm, "--by", "Jim Seller") == jims
    assert feed(crm, "--by", "jim@example.com") == jims
    sarahs = feed(crm, "--by", "sarah")
    assert len(sarahs) == 2 and all(" Sarah Closer " in l for l in sarahs)
    assert feed(crm, "--by", "nobody") == ["No changes match."]


def test_history_limit_keeps_the_newest(crm) -> None:
    everything = feed(crm)
    assert feed(crm, "--limit", "2") == everything[:2]
    assert feed(crm, "--limit", "0") == everything


def test_history_since_a_date(cli) -> None:
    """A hand edit dated 2020, then crmctl's own changes today."""
    crm_yaml = cli.root / "crm.yaml"
    crm_yaml.write_text(crm_yaml.read_text().replace("currency: USD", "currency: EUR"))
    hand_commit(cli.root, "We bill in euros", date="2020-06-01T12:00:00+00:00")
    cli.ok("add", "company", "Initech")
    cli.ok("add", "company", "Globex")
    recent = feed(cli, "--since", "2021-01-01")
    assert [l.split(" ", 2)[2] for l in recent[:2]] == ['Sam Seller added company "Globex"',
                                                        'Sam Seller added company "Initech"']
    assert not any("euros" in l for l in recent)
    assert feed(cli, "--since", "yesterday") == recent
    assert any(l.startswith("2020-06-01 ") and l.endswith("by hand: We bill in euros")
               for l in feed(cli, "--since", "2020-01-01"))
    assert feed(cli, "--since", "2099-01-01") == ["No changes match."]


def test_since_today_means_today_where_the_user_is(cli) -> None:
    """Half past midnight in Paris is still yesterday in UTC: `--since today` for a Paris
    user includes that change whatever zone the machine (or cron) runs in."""
    crm_yaml = cli.root / "crm.yaml"
    crm_yaml.write_text(crm_yaml.read_text().replace("currency: USD", "currency: EUR"))
    hand_commit(cli.root, "We bill in euros", date="2026-11-25T00:30:00+01:00")
    paris_morning = {"CRMCTL_NOW": "2026-11-25T09:00:00+01:00", "TZ": "UTC"}
    lines = feed(cli, "--since", "today", env=paris_morning)
    assert any(l.endswith("by hand: We bill in euros") for l in lines), lines
    tokyo = {"CRMCTL_NOW": "2026-11-25T18:00:00+09:00", "TZ": "UTC"}  # 00:30 Paris = 08:30 Tokyo
    assert feed(cli, "--since", "today", env=tokyo) == lines
    new_york = {"CRMCTL_NOW": "2026-11-25T09:00:00-05:00", "TZ": "UTC"}  # 18:30 on the 24th there
    assert not any("euros" in l for l in feed(cli, "--since", "today", env=new_york))


def test_history_as_json(crm) -> None:
    crm.ok("--as", "jim", "move", "acme-products", "client")
    entries = json.loads(crm.ok("history", "--format", "json", "--limit", "2").stdout)
    assert len(entries) == 2
    newest = entries[0]
    assert newest["commit"] == git(crm.root, "rev-parse", "HEAD")
    assert (newest["author"], newest["email"]) == ("Jim Seller", "jim@example.com")
    assert newest["message"] == 'Move company "Acme Products, Inc.": prospect -> client'
    assert "company/acme-products" in newest["records"] and newest["by_hand"] is False
    assert any(f.startswith("companies/") for f in newest["files"])
    assert any(f.startswith("activities/") for f in newest["files"])
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", newest["at"])


def test_history_of_an_unknown_record_is_refused(crm) -> None:
    crm.fails(3, "history", "Nonexistent Widget Corp Zzz")


# --- blame -----------------------------------------------------------------------------------

def test_blame_names_who_set_each_field(crm) -> None:
    fields = blamed(crm, "acme-products")
    assert list(fields) == ["id", "name", "status", "created", "updated"]
    added = git(crm.root, "log", "--format=%H", "--grep", "Add company \"Acme")
    for row in fields.values():
        assert row["by"] == "Sarah Closer" and row["commit"] == added
        assert row["change"] == 'Add company "Acme Products, Inc."'
    assert fields["status"]["value"] == "prospect"
    table = crm.ok("blame", "acme-products").stdout
    assert table.splitlines()[0].split() == ["FIELD", "VALUE", "SET", "BY", "WHEN", "COMMIT",
                                             "CHANGE"]
    assert "Sarah Closer" in table and added[:10] in table


def test_blame_after_a_move_names_the_mover(crm) -> None:
    crm.ok("--as", "jim", "move", "acme-products", "client")
    [status] = blamed(crm, "acme-products", "status").values()
    assert (status["value"], status["by"]) == ("client", "Jim Seller")
    assert status["commit"] == git(crm.root, "rev-parse", "HEAD")
    assert status["change"].startswith('Move company "Acme Products, Inc."')
    assert blamed(crm, "acme-products")["name"]["by"] == "Sarah Closer"
    out = crm.ok("blame", "acme-products", "status").stdout
    assert len(out.splitlines()) == 3 and "Jim Seller" in out  # header, rule, one row


def test_blame_after_a_log_promotion_names_the_logger(crm) -> None:
    crm.ok("--as", "jim", "log", "Hank Scorpio", "--type", "phone-call", "--note", "Intro")
    status = blamed(crm, "Hank Scorpio", "status")["status"]
    assert (status["value"], status["by"]) == ("contact", "Jim Seller")
    assert status["change"].startswith("Log phone-call")


def test_blame_a_deals_stage_names_who_moved_it(crm) -> None:
    crm.ok("--as", "sarah", "move", "Renewal", "meeting-arranged")
    fields = blamed(crm, "Renewal")
    assert (fields["stage"]["value"], fields["stage"]["by"]) == ("meeting-arranged",
                                                                  "Sarah Closer")
    assert fields["probability"]["by"] == "Sarah Closer"
    assert fields["name"]["by"] == "Jim Seller"


def test_blame_an_unknown_field_lists_the_fields(crm) -> None:
    result = crm.fails(1, "blame", "acme-products", "revenue")
    assert "no field 'revenue'" in result.stderr
    assert "id, name, status, created, updated" in result.stderr


def test_blame_shows_an_uncommitted_hand_edit(crm) -> None:
    path = crm.root / "companies" / "ac" / "acme-products.yaml"
    path.write_text(path.read_text().replace("status: prospect", "status: client"))
    status = blamed(crm, "acme-products", "status")["status"]
    assert status["value"] == "client"
    assert status["by"] == "(not committed yet)" and status["commit"] is None
    assert blamed(crm, "acme-products", "name")["name"]["by"] == "Sarah Closer"
    assert "(not committed yet)" in crm.ok("blame", "acme-products", "status").stdout


def test_a_records_history_reads_no_record_file_on_a_clean_tree(crm) -> None:
    """Its past is in commits: the record is found in the index, not read again from its
    file (YAML, the schemas and crm.yaml are not even imported: ~30 ms of the command)."""
    import sys

    crm.ok("show", "acme-products")  # the index is built (a timeline reads every folder)
    probe = ("import sys, atexit\n"
             "atexit.register(lambda: print(sorted(m for m in ('yaml', 'crmctl.schemas', "
             "'crmctl.process') if m in sys.modules), file=sys.stderr))\n"
             "sys.argv = ['crmctl', 'history', 'acme-products']\n"
             "from crmctl.launch import main\nmain()")
    done = subprocess.run([sys.executable, "-c", probe], cwd=crm.root, capture_output=True,
                          text=True)
    assert done.returncode == 0 and "added company" in done.stdout, done.stderr
    assert done.stderr.strip() == "[]"


def test_a_record_renamed_by_hand_keeps_its_history_by_either_name(crm) -> None:
    path = crm.root / "companies" / "gl" / "globex.yaml"
    path.write_text(path.read_text().replace("name: Globex", "name: Globex Corporation"))
    by_old, by_new = feed(crm, "Globex"), feed(crm, "Globex Corporation")
    assert by_old == by_new and any("added company" in line for line in by_old), by_old


def test_crmctl_keeps_a_commit_graph_with_changed_path_filters(tmp_path: Path) -> None:
    """Plumbing commits never start git's housekeeping, so crmctl writes the commit-graph
    itself, with the changed-path (Bloom) filters that make ``git log -- PATH`` fast: at
    each commit whose id ends in 00, about one in 256. The clock is fixed so that the first
    add is such a commit; were the files crmctl writes to change, the loop goes on to the
    next one (about 256 adds)."""
    from typer.testing import CliRunner

    from crmctl.app import app

    runner = CliRunner()
    env = {"CRMCTL_NOW": "2026-03-02T09:55:00+00:00"}
    root = tmp_path / "crm"
    assert runner.invoke(app, ["init", str(root)], env=env).exit_code == 0
    graphs = root / ".git" / "objects" / "info"
    assert not list(graphs.glob("commit-graph*")), "a fresh CRM has no commit-graph yet"
    for number in range(1, 3000):
        added = runner.invoke(app, ["--dir", str(root), "add", "company", f"Firm {number}"],
                              env=env)
        assert added.exit_code == 0, added.stderr
        head = git(root, "rev-parse", "HEAD")
        if head.endswith("00"):
            break
        assert not list(graphs.glob("commit-graph*")), f"written at {head}, not ending in 00"
    chain = graphs / "commit-graphs" / "commit-graph-chain"
    layers = [graphs / "commit-graphs" / f"graph-{h}.graph" for h in chain.read_text().split()]
    assert any(b"BIDX" in layer.read_bytes() and b"BDAT" in layer.read_bytes()
               for layer in layers), "no changed-path filters in the commit-graph"
    git(root, "commit-graph", "verify")
    # git log -- PATH consults the filters of every commit it walks.
    trace = tmp_path / "trace.txt"
    subprocess.run(["git", "log", "--format=%H", "--", "companies/fi/firm-1.yaml"], cwd=root,
                   env={**os.environ, "GIT_TRACE2_PERF": str(trace)}, check=True,
                   capture_output=True)
    stats = json.loads(re.search(r"statistics:(\{.*\})", trace.read_text()).group(1))
    assert stats["filter_not_present"] == 0 and stats["maybe"] + stats["definitely_not"] >= 1
