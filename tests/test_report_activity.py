"""crmctl report activity: attempts, real contacts and notes per person, type and lead source."""

from __future__ import annotations

import json

import pytest

from conftest import add_users, build_once, copy_of

NOW = {"CRMCTL_NOW": "2026-11-25T09:00:00+01:00"}   # the default period: 2026-10-27 to 2026-11-25
ADDED = {"CRMCTL_NOW": "2026-10-01T09:00:00+01:00"}
TYPES = ["phone-attempt", "phone-call", "email-sent", "email-received", "meeting", "note"]


def logged(cli, who: str, record: str, type_: str, at: str, *extra: str) -> None:
    cli.ok("--as", who, "log", record, "--type", type_, "--at", at, *extra, env=NOW)


def setup(cli) -> None:
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"), ("kim", "Kim Quiet", "kim@example.com"))
    cli.ok("add", "company", "Initech", "--source", "webinar", env=ADDED)
    # The person's own source is not what counts: their company's is.
    cli.ok("add", "person", "Peter Gibbons", "--company", "Initech", "--source", "trade-show",
           env=ADDED)
    cli.ok("add", "company", "Globex", "--source", "referral", env=ADDED)
    cli.ok("add", "company", "Hooli", env=ADDED)                                # no source
    # 0: the day before the default period (still 2026-10-26 where Sarah is): out by default
    logged(cli, "sarah", "Initech", "phone-call", "2026-10-26T23:30:00+01:00", "--note", "early")
    # 1: the period's first day, as Sarah saw it (2026-10-26 23:10 in UTC), on a person
    logged(cli, "sarah", "Peter Gibbons", "phone-attempt", "2026-10-27T00:10:00+01:00",
           "--outcome", "no-answer")
    # 2 to 6
    logged(cli, "sarah", "Initech", "phone-call", "2026-11-03T10:00:00+01:00", "--note", "intro")
    logged(cli, "sarah", "Globex", "email-sent", "2026-11-10T10:00:00+01:00")
    logged(cli, "jim", "Peter Gibbons", "meeting", "2026-11-12T14:00:00+01:00", "--note", "demo")
    logged(cli, "jim", "Hooli", "note", "2026-11-15T10:00:00+01:00", "--note", "heard of us")
    logged(cli, "jim", "Hooli", "email-received", "2026-11-20T10:00:00+01:00")
    # 7: the period's last day
    logged(cli, "sarah", "Globex", "phone-attempt", "2026-11-25T08:30:00+01:00",
           "--outcome", "left-message")
    # Moves are not activities (and the first real contacts above promoted leads with moves).
    cli.ok("add", "deal", "Big", "--company", "Globex", "--owner", "sarah", env=ADDED)
    cli.ok("--as", "sarah", "move", "Big", "meeting-arranged", env=NOW)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_once(tmp_path_factory, setup)


@pytest.fixture
def crm(template, tmp_path, monkeypatch):
    return copy_of(template, tmp_path, monkeypatch)


def report(cli, *args: str) -> dict:
    return json.loads(cli.ok("report", "activity", "--format", "json", *args, env=NOW).stdout)


def counts(rows: list[dict], key: str, fields=("attempts", "contacts", "notes", "total")) -> dict:
    return {r[key]: tuple(r[f] for f in fields) for r in rows}


def test_per_person_type_and_source_computed_by_hand(crm) -> None:
    got = report(crm)
    assert (got["report"], got["since"], got["until"], got["empty"]) == \
        ("activity", "2026-10-27", "2026-11-25", False)
    # In the period: entries 1-7. Sarah: attempts 1 and 7, contacts 2 (call) and 3 (email);
    # Jim: contacts 4 (meeting) and 6 (email received), note 5. Entry 0 is the day before.
    assert got["summary"] == {"activities": 7, "attempts": 2, "contacts": 4, "notes": 1}
    assert [r["user"] for r in got["people"]] == ["jim", "sarah"]   # by name: Jim, Sarah
    assert counts(got["people"], "name") == {"Jim Seller": (0, 2, 1, 3),
                                             "Sarah Closer": (2, 2, 0, 4)}
    # Types in crm.yaml's order: Sarah 2 phone-attempt, 1 phone-call, 1 email-sent;
    # Jim 1 email-received, 1 meeting, 1 note.
    assert counts(got["types"], "user", TYPES) == {"jim": (0, 0, 0, 1, 1, 1),
                                                   "sarah": (2, 1, 1, 0, 0, 0)}
    assert [k for k in got["types"][0] if k not in ("user", "name")] == TYPES
    # By the company's source: webinar = Initech and Peter (1, 2, 4); referral = Globex
    # (3, 7); no source = Hooli (5, 6). The person's own "trade-show" counts for nothing.
    assert [r["source"] for r in got["sources"]] == ["referral", "webinar", "(no source)"]
    assert counts(got["sources"], "source") == {"referral": (1, 1, 0, 2),
                                                "webinar": (1, 2, 0, 3),
                                                "(no source)": (0, 1, 1, 2)}


def test_text_shows_the_summary_and_the_tables(crm) -> None:
    out = crm.ok("report", "activity", env=NOW).stdout
    assert out.startswith("Activity (2026-10-27 to 2026-11-25)\n\n"
                          "7 activities: 2 attempts, 4 real contacts, 1 note.\n")
    lines = out.splitlines()
    people = out.split("Per person\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[2:6] for line in people if line.startswith(("Sarah", "Jim"))] == \
        [["0", "2", "1", "3"], ["2", "2", "0", "4"]]
    assert next(line for line in people if line.startswith("total")).split()[1:] == \
        ["2", "4", "1", "7"]
    sources = out.split("Per lead source (of the company)\n")[1].splitlines()
    assert [line.split() for line in sources[2:]] == [["referral", "1", "1", "0", "2"],
                                                      ["webinar", "1", "2", "0", "3"],
                                                      ["(no", "source)", "0", "1", "1", "2"]]
    assert "trade-show" not in out and "\x1b[" not in out
    assert any(line.split()[:1] == ["PERSON"] and "meeting" in line for line in lines)


def test_owner_narrows_it_to_what_that_user_logged(crm) -> None:
    got = report(crm, "--owner", "jim")
    assert got["title"] == "Activity by jim"
    # Jim alone: the meeting with Peter (Initech: webinar), the note and the email at Hooli.
    assert got["summary"] == {"activities": 3, "attempts": 0, "contacts": 2, "notes": 1}
    assert counts(got["people"], "user") == {"jim": (0, 2, 1, 3)}
    assert counts(got["sources"], "source") == {"webinar": (0, 1, 0, 1),
                                                "(no source)": (0, 1, 1, 2)}
    out = crm.ok("report", "activity", "--owner", "jim", env=NOW).stdout
    assert out.startswith("Activity by jim (2026-10-27 to 2026-11-25)\n")
    assert "Sarah Closer" not in out


def test_the_first_and_last_day_of_the_period_count_the_day_before_does_not(crm) -> None:
    # Only 2026-10-26: entry 0 alone, the phone call the default period leaves out.
    got = report(crm, "--since", "2026-10-26", "--until", "2026-10-26")
    assert (got["since"], got["until"]) == ("2026-10-26", "2026-10-26")
    assert got["summary"] == {"activities": 1, "attempts": 0, "contacts": 1, "notes": 0}
    # 2026-11-03 to 2026-11-12: entries 2 (first day), 3 and 4 (last day, 14:00).
    got = report(crm, "--since", "2026-11-03", "--until", "2026-11-12")
    assert got["summary"] == {"activities": 3, "attempts": 0, "contacts": 3, "notes": 0}
    # ... and a day less at the end drops the meeting.
    got = report(crm, "--since", "2026-11-03", "--until", "2026-11-11")
    assert counts(got["people"], "user") == {"sarah": (0, 2, 0, 2)}
    # --until alone: the 30 days up to it, 2026-10-14 to 2026-11-12: entries 0 to 4.
    got = report(crm, "--until", "2026-11-12")
    assert (got["since"], got["summary"]["activities"]) == ("2026-10-14", 5)
    assert counts(got["people"], "user") == {"jim": (0, 1, 0, 1), "sarah": (1, 3, 0, 4)}


def test_a_new_crm_has_nothing_to_report(cli) -> None:
    assert cli.ok("report", "activity", env=NOW).stdout == \
        "No activity logged from 2026-10-27 to 2026-11-25.\n"
    got = json.loads(cli.ok("report", "activity", "--format", "json", env=NOW).stdout)
    assert got["empty"] is True and got["summary"] == {} and "people" not in got
    result = cli("report", "activity", "--fail-if-empty", env=NOW)
    assert (result.exit_code, result.stdout) == (1, "")


def test_nothing_logged_says_so_and_fail_if_empty_prints_nothing(crm) -> None:
    # Kim logged nothing in a CRM where others did.
    assert crm.ok("report", "activity", "--owner", "kim", env=NOW).stdout == \
        "No activity by kim logged from 2026-10-27 to 2026-11-25.\n"
    assert crm.ok("report", "activity", "--since", "2026-11-21", "--until", "2026-11-24",
                  env=NOW).stdout == "No activity logged from 2026-11-21 to 2026-11-24.\n"
    empty = crm("report", "activity", "--owner", "kim", "--fail-if-empty", env=NOW)
    assert (empty.exit_code, empty.stdout) == (1, "")
    # With something to report, --fail-if-empty changes nothing.
    full = crm.ok("report", "activity", "--owner", "jim", "--fail-if-empty", "--format", "json",
                  env=NOW)
    assert json.loads(full.stdout)["summary"]["activities"] == 3


def test_an_unknown_owner_is_refused(crm) -> None:
    crm.fails(1, "report", "activity", "--owner", "bob", env=NOW)


def test_a_period_that_starts_after_today_is_refused(crm) -> None:
    # The period would run from 2026-12-01 back to 2026-11-25 (today).
    result = crm.fails(1, "report", "activity", "--since", "2026-12-01", env=NOW)
    assert "--since 2026-12-01 is after" in result.stderr
