"""crmctl report velocity: days in each stage, the sales cycle (created to won) and the touches
it took, from the stage history that every move appends to the log."""

from __future__ import annotations

import json

import pytest

from conftest import add_users, build_once, copy_of

NOW = {"CRMCTL_NOW": "2026-11-25T09:00:00+00:00"}   # default period: 2025-11-26 to 2026-11-25


def at(moment: str) -> dict:
    return {"CRMCTL_NOW": f"2026-{moment}:00+00:00"}


def setup(cli) -> None:
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"), ("kim", "Kim Quiet", "kim@example.com"))
    for company in ("Initech", "Globex", "Hooli", "Umbrella"):
        cli.ok("add", "company", company, env=at("08-30T09:00"))
    cli.ok("add", "person", "Peter Gibbons", "--company", "Initech", env=at("08-30T09:00"))
    deal = ["--amount", "1000", "--close", "2026-12-31"]
    # Day 0 for every deal: 2026-09-01 09:00 UTC.
    cli.ok("add", "deal", "X", "--company", "Initech", "--owner", "sarah", *deal,
           env=at("09-01T09:00"))
    cli.ok("add", "deal", "Y", "--company", "Globex", "--owner", "jim", *deal,
           env=at("09-01T09:00"))
    cli.ok("add", "deal", "Z", "--company", "Hooli", "--owner", "sarah", *deal,
           env=at("09-01T09:00"))
    cli.ok("add", "deal", "W", "--company", "Umbrella", "--owner", "jim", *deal,
           env=at("09-01T09:00"))
    # X: contact-made 3 days, meeting-arranged 7, qualified 10; won on day 20.
    cli.ok("move", "X", "meeting-arranged", env=at("09-04T09:00"))
    cli.ok("move", "X", "qualified", env=at("09-11T09:00"))
    cli.ok("move", "X", "won", env=at("09-21T09:00"))
    # Y: contact-made 2 days, meeting-arranged 11; won on day 13.
    cli.ok("move", "Y", "meeting-arranged", env=at("09-03T09:00"))
    cli.ok("move", "Y", "won", env=at("09-14T09:00"))
    # Z: contact-made 5 days, then lost (its stage time counts, it has no cycle).
    cli.ok("move", "Z", "lost", "--reason", "budget", env=at("09-06T09:00"))
    # W: contact-made 80 days, still open.
    cli.ok("move", "W", "meeting-arranged", env=at("11-20T09:00"))
    # Touches. Initech: before X was created (out), Peter on day 1, a note on day 5, an email
    # an hour before the win, and one the day after (out): 3 for X.
    def log(*args: str, when: str) -> None:
        cli.ok("log", *args, "--at", f"2026-{when}:00+00:00", env=NOW)

    log("Initech", "--type", "email-sent", when="08-31T10:00")
    log("Peter Gibbons", "--type", "phone-call", "--note", "hi", when="09-02T10:00")
    log("Initech", "--type", "note", "--note", "budget ok", when="09-06T10:00")
    log("Initech", "--deal", "X", "--type", "email-sent", when="09-21T08:00")
    log("Initech", "--type", "email-sent", when="09-22T10:00")
    # Globex: 1 for Y. Hooli's is Z's, which was lost.
    log("Globex", "--type", "phone-attempt", "--outcome", "no-answer", when="09-05T10:00")
    log("Hooli", "--type", "email-sent", when="09-02T10:00")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_once(tmp_path_factory, setup)


@pytest.fixture
def crm(template, tmp_path, monkeypatch):
    return copy_of(template, tmp_path, monkeypatch)


def report(cli, *args: str) -> dict:
    return json.loads(cli.ok("report", "velocity", "--format", "json", *args, env=NOW).stdout)


def stages(got: dict) -> dict:
    return {r["stage"]: (r["count"], r["average_days"], r["median_days"]) for r in got["stages"]}


def cycle(got: dict) -> tuple:
    return tuple(got["summary"][k] for k in ("won", "cycle_average_days", "cycle_median_days",
                                             "touches_average", "touches_median"))


def test_days_in_each_stage_cycle_and_touches_computed_by_hand(crm) -> None:
    got = report(crm)
    # The default period is a year: 2025-11-26 to 2026-11-25.
    assert (got["report"], got["since"], got["until"], got["empty"]) == \
        ("velocity", "2025-11-26", "2026-11-25", False)
    # contact-made: X 3, Y 2, Z 5, W 80: mean 90/4 = 22.5, median (3 + 5)/2 = 4.
    # meeting-arranged: X 7, Y 11: 9. qualified: X 10. W's meeting-arranged has not ended.
    assert stages(got) == {"contact-made": (4, 22.5, 4), "meeting-arranged": (2, 9, 9),
                           "qualified": (1, 10, 10), "proposal-presented": (0, None, None),
                           "in-negotiation": (0, None, None)}
    assert [r["stage"] for r in got["stages"]] == ["contact-made", "meeting-arranged",
                                                   "qualified", "proposal-presented",
                                                   "in-negotiation"]
    # Won: X in 20 days, Y in 13: 16.5. Touches: X 3, Y 1: 2.
    assert cycle(got) == (2, 16.5, 16.5, 2, 2)
    assert got["cycle"] == [
        {"measure": "cycle length (created to won), days", "count": 2, "average_days": 16.5,
         "median_days": 16.5},
        {"measure": "touches (activities with the company) to close", "count": 2,
         "average_days": 2, "median_days": 2}]


def test_text_shows_the_summary_and_both_tables(crm) -> None:
    out = crm.ok("report", "velocity", env=NOW).stdout
    assert out.startswith("Velocity (2025-11-26 to 2026-11-25)\n\n2 deals won: a sales cycle "
                          "of 16.5 days on average (16.5 median), 2.0 touches on average (2.0 "
                          "median).\n")
    rows = out.split("Days in each stage (stages left in the period)\n")[1].split("\n\n")[0]
    assert [line.split()[:4] for line in rows.splitlines()[2:]] == [
        ["contact-made", "4", "22.5", "4"], ["meeting-arranged", "2", "9", "9"],
        ["qualified", "1", "10", "10"], ["proposal-presented", "0"], ["in-negotiation", "0"]]
    won = out.split("Won deals: sales cycle and touches\n")[1].splitlines()
    assert won[2].split()[-3:] == ["2", "16.5", "16.5"]
    assert won[3].split()[-3:] == ["2", "2", "2"]


def test_owner_narrows_it_to_their_deals(crm) -> None:
    # Sarah: X and Z. contact-made 3 and 5: 4; X alone for the rest and the cycle.
    got = report(crm, "--owner", "sarah")
    assert got["title"] == "Velocity owned by sarah"
    assert stages(got)["contact-made"] == (2, 4, 4)
    assert stages(got)["meeting-arranged"] == (1, 7, 7)
    assert cycle(got) == (1, 20, 20, 3, 3)
    # Jim: Y and W. contact-made 2 and 80: 41; Y won in 13 days with 1 touch.
    got = report(crm, "--owner", "jim")
    assert stages(got)["contact-made"] == (2, 41, 41)
    assert stages(got)["qualified"] == (0, None, None)
    assert cycle(got) == (1, 13, 13, 1, 1)
    out = crm.ok("report", "velocity", "--owner", "jim", env=NOW).stdout
    assert "1 deal won: a sales cycle of 13.0 days on average (13.0 median), 1.0 touches" in out


def test_stages_left_and_deals_won_on_the_first_and_last_day_count(crm) -> None:
    # 2026-09-04 to 2026-09-21: X left contact-made on the first day and was won on the last;
    # Y left contact-made on 2026-09-03, the day before (out); W left it in November (out).
    got = report(crm, "--since", "2026-09-04", "--until", "2026-09-21")
    assert stages(got)["contact-made"] == (2, 4, 4)          # X 3, Z 5
    assert stages(got)["meeting-arranged"] == (2, 9, 9)      # X 7, Y 11
    assert stages(got)["qualified"] == (1, 10, 10)           # X, left on the last day
    assert cycle(got) == (2, 16.5, 16.5, 2, 2)
    # A day less at each end: X's contact-made and its win drop out.
    got = report(crm, "--since", "2026-09-05", "--until", "2026-09-20")
    assert stages(got)["contact-made"] == (1, 5, 5)
    assert stages(got)["qualified"] == (0, None, None)
    assert cycle(got) == (1, 13, 13, 1, 1)
    # --until alone: the 365 days up to it.
    got = report(crm, "--until", "2026-09-20")
    assert (got["since"], stages(got)["contact-made"]) == ("2025-09-21", (3, 3.3, 3))


def test_nothing_moved_says_so_and_fail_if_empty_prints_nothing(crm) -> None:
    assert crm.ok("report", "velocity", "--since", "2026-09-15", "--until", "2026-09-20",
                  env=NOW).stdout == \
        "No deal left a stage or was won from 2026-09-15 to 2026-09-20.\n"
    assert crm.ok("report", "velocity", "--owner", "kim", env=NOW).stdout == \
        "No deal owned by kim left a stage or was won from 2025-11-26 to 2026-11-25.\n"
    got = report(crm, "--owner", "kim")
    assert got["empty"] is True and "stages" not in got
    result = crm("report", "velocity", "--owner", "kim", "--fail-if-empty", env=NOW)
    assert (result.exit_code, result.stdout) == (1, "")
    assert crm.ok("report", "velocity", "--owner", "jim", "--fail-if-empty", env=NOW).stdout \
        .startswith("Velocity owned by jim (2025-11-26 to 2026-11-25)\n")


def test_a_new_crm_has_nothing_to_report(cli) -> None:
    assert cli.ok("report", "velocity", env=NOW).stdout == \
        "No deal left a stage or was won from 2025-11-26 to 2026-11-25.\n"
    result = cli("report", "velocity", "--fail-if-empty", env=NOW)
    assert (result.exit_code, result.stdout) == (1, "")
