"""crmctl report goals: each owner against the goals: of crm.yaml, in the week, month or
quarter holding today (or --until): the actual, the target, the progress, the share of the
period gone ("expected"), and a verdict: met, on track (progress >= time gone) or behind.

Today is Wednesday 2026-11-25: 25 of November's 30 days are gone (83.3%), 3 of the week's 7
(Monday 2026-11-23 first: 42.9%), 56 of the fourth quarter's 92 (60.9%).
"""

from __future__ import annotations

import json

import pytest

from conftest import add_users, build_once, copy_of, git

NOW = {"CRMCTL_NOW": "2026-11-25T09:00:00+01:00"}
TEAM_GOALS = """
goals:
  - {id: monthly-revenue, measure: won_revenue, per: month, target: 50000}
  - {id: weekly-calls, measure: activities, type: phone-call, per: week, target: 4}
"""
GOALS = TEAM_GOALS + "  - {id: jim-wins, measure: won_deals, per: quarter, target: 2, owner: jim}\n"


def on(day: str) -> dict:
    return {"CRMCTL_NOW": f"{day}T09:00:00+01:00"}


def set_goals(root, goals: str = GOALS) -> None:
    """What a team lead does: add a goals: section to crm.yaml and commit it (the commit runs
    crmctl check, which refuses a goal for an undeclared owner)."""
    with open(root / "crm.yaml", "a") as crm_yaml:
        crm_yaml.write(goals)
    git(root, "commit", "-qam", "Goals for the team")


def a_month_of_work(cli) -> None:
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"))
    set_goals(cli.root)
    cli.ok("add", "company", "Initech", env=on("2026-10-01"))
    cli.ok("add", "company", "Globex", env=on("2026-10-01"))
    won = ["--stage", "won", "--close", "2026-11-30"]
    # Sarah's wins: 30,000 and 25,000 in November; 10,000 in October; 9,000 EUR in November.
    cli.ok("add", "deal", "S1", "--company", "Initech", "--amount", "30000", "--owner", "sarah",
           *won, env=on("2026-11-10"))
    cli.ok("add", "deal", "S2", "--company", "Initech", "--amount", "25000", "--owner", "sarah",
           "--close", "2026-12-20", env=on("2026-11-01"))
    cli.ok("move", "S2", "won", env=on("2026-11-20"))
    cli.ok("add", "deal", "S-oct", "--company", "Globex", "--amount", "10000", "--owner",
           "sarah", *won, env=on("2026-10-15"))
    cli.ok("add", "deal", "S-eur", "--company", "Globex", "--amount", "9000", "--currency",
           "EUR", "--owner", "sarah", *won, env=on("2026-11-12"))
    cli.ok("add", "deal", "S-open", "--company", "Globex", "--amount", "40000", "--owner",
           "sarah", env=on("2026-11-12"))                                      # not won
    # Jim's: 20,000 won in November (in Q4 too), 50,000 lost.
    cli.ok("add", "deal", "J1", "--company", "Globex", "--amount", "20000", "--owner", "jim",
           *won, env=on("2026-11-05"))
    cli.ok("add", "deal", "J2", "--company", "Globex", "--amount", "50000", "--owner", "jim",
           env=on("2026-11-01"))
    cli.ok("move", "J2", "lost", "--reason", "budget", env=on("2026-11-06"))
    # Calls this week (from Monday 2026-11-23): Sarah 3, Jim 1; the rest do not count.
    sarah, jim = ("--as", "sarah"), ("--as", "jim")
    log = ["log", "Initech", "--type", "phone-call", "--note", "call", "--at"]
    for when in ("2026-11-23 10:00", "2026-11-24 16:00", "2026-11-25 08:30"):
        cli.ok(*sarah, *log, when, env=NOW)
    cli.ok(*sarah, *log, "2026-11-22 18:00", env=NOW)                         # last week
    cli.ok(*sarah, "log", "Initech", "--type", "email-sent", env=NOW)         # not a call
    cli.ok(*jim, *log, "2026-11-24 11:00", env=NOW)
    cli.ok(*jim, "log", "Globex", "--type", "phone-attempt", "--outcome", "no-answer",
           env=NOW)                                                           # not a call
    cli.ok(*log, "2026-11-24 12:00", env=NOW)          # Sam's: not a user, nobody's goal


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_once(tmp_path_factory, a_month_of_work)


@pytest.fixture
def crm(template, tmp_path, monkeypatch):
    return copy_of(template, tmp_path, monkeypatch)


def goals(cli, *args: str) -> dict:
    return json.loads(cli.ok("report", "goals", *args, "--format", "json", env=NOW).stdout)


def rows(report: dict) -> list[tuple]:
    return [(r["goal"], r["owner"], r["period"], r["actual"], r["target"], r["progress"],
             r["expected"], r["verdict"]) for r in report["goals"]]


def test_each_owner_against_each_goal_computed_by_hand(crm) -> None:
    report = goals(crm)
    # revenue: Sarah 30,000 + 25,000 = 55,000 of 50,000 = 110% -> met (October's and the
    #          EUR win left out); Jim 20,000 = 40% < 83.3% gone -> behind
    # calls:   Sarah 3 of 4 = 75% >= 42.9% -> on track; Jim 1 of 4 = 25% -> behind
    # jim-wins (Jim's only): 1 won deal of 2 = 50% < 60.9% -> behind
    assert rows(report) == [
        ("monthly-revenue", "sarah", "2026-11", 55000, 50000, 110, 83.3, "met"),
        ("monthly-revenue", "jim", "2026-11", 20000, 50000, 40, 83.3, "behind"),
        ("weekly-calls", "sarah", "week of 2026-11-23", 3, 4, 75, 42.9, "on track"),
        ("weekly-calls", "jim", "week of 2026-11-23", 1, 4, 25, 42.9, "behind"),
        ("jim-wins", "jim", "2026-Q4", 1, 2, 50, 60.9, "behind")]
    first = report["goals"][0]
    assert (first["from"], first["to"], first["measure"]) == ("2026-11-01", "2026-11-30",
                                                              "won_revenue")
    assert report["goals"][2]["type"] == "phone-call"
    assert (report["goals"][2]["from"], report["goals"][2]["to"]) == ("2026-11-23", "2026-11-29")
    assert report["summary"] == {"met": 1, "on_track": 1, "behind": 3}


def test_text_says_where_everyone_stands(crm) -> None:
    out = crm.ok("report", "goals", env=NOW).stdout
    assert out.startswith("Goals (2026-11-25)\n\n1 met, 1 on track, 3 behind "
                          "(as of 2026-11-25).\n\nProgress against targets\n")
    lines = [line.split() for line in out.splitlines()]
    assert ["monthly-revenue", "Sarah", "Closer", "2026-11", "55,000", "50,000", "110%", "83.3%",
            "met", "█" * 24] in lines          # the largest progress has the full bar
    assert ["weekly-calls", "Sarah", "Closer", "week", "of", "2026-11-23", "3", "4", "75%",
            "42.9%", "on", "track", "█" * 16] in lines             # 75/110 of 24 = 16.4
    assert ["weekly-calls", "Jim", "Seller", "week", "of", "2026-11-23", "1", "4", "25%",
            "42.9%", "behind", "█" * 5] in lines                   # 25/110 of 24 = 5.45 -> 5


def test_owner_narrows_it(crm) -> None:
    report = goals(crm, "--owner", "jim")
    assert [(r["goal"], r["verdict"]) for r in report["goals"]] == [
        ("monthly-revenue", "behind"), ("weekly-calls", "behind"), ("jim-wins", "behind")]
    assert report["summary"] == {"met": 0, "on_track": 0, "behind": 3}


def test_until_measures_the_periods_holding_that_day(crm) -> None:
    report = goals(crm, "--until", "2026-10-31")
    # October is over (100% gone): Sarah's 10,000 is 20% -> behind; Jim won nothing.
    # The week of Monday 2026-10-26 is 6 of 7 days gone on Saturday 31st (85.7%); no calls.
    # Q4 on 2026-10-31: 31 of 92 days (33.7%), Jim has no win yet.
    assert rows(report) == [
        ("monthly-revenue", "sarah", "2026-10", 10000, 50000, 20, 100, "behind"),
        ("monthly-revenue", "jim", "2026-10", 0, 50000, 0, 100, "behind"),
        ("weekly-calls", "sarah", "week of 2026-10-26", 0, 4, 0, 85.7, "behind"),
        ("weekly-calls", "jim", "week of 2026-10-26", 0, 4, 0, 85.7, "behind"),
        ("jim-wins", "jim", "2026-Q4", 0, 2, 0, 33.7, "behind")]


def test_a_goal_reached_early_is_met_and_one_ahead_of_time_on_track(crm) -> None:
    # Jim wins a second deal today: 2 of 2 wins (met) and 20,000 + 30,000 = 50,000 (met);
    # two more calls: 3 of 4 = 75% >= 42.9% (on track).
    crm.ok("add", "deal", "J3", "--company", "Initech", "--amount", "30000", "--owner", "jim",
           "--stage", "won", "--close", "2026-11-25", env=NOW)
    for when in ("2026-11-24 15:00", "2026-11-25 08:45"):
        crm.ok("--as", "jim", "log", "Globex", "--type", "phone-call", "--note", "x", "--at",
               when, env=NOW)
    report = goals(crm, "--owner", "jim")
    assert [(r["goal"], r["actual"], r["progress"], r["verdict"]) for r in report["goals"]] == [
        ("monthly-revenue", 50000, 100, "met"), ("weekly-calls", 3, 75, "on track"),
        ("jim-wins", 2, 100, "met")]


def test_no_goals_says_so(cli) -> None:
    assert cli.ok("report", "goals").stdout == (
        "No goals are set: declare them under goals: in crm.yaml "
        "(see the commented example there).\n")
    assert json.loads(cli.ok("report", "goals", "--format", "json").stdout)["empty"] is True


def test_an_owner_with_no_goal_of_their_own_says_so(crm) -> None:
    # Sarah has the team goals; a goal set only for Jim is not hers, and "sam" is nobody's.
    text = (crm.root / "crm.yaml").read_text()
    start = text.index("\ngoals:\n")
    (crm.root / "crm.yaml").write_text(text[:start] + "\ngoals:\n  - {id: jim-wins, measure: "
                                       "won_deals, per: quarter, target: 2, owner: jim}\n")
    git(crm.root, "commit", "-qam", "Only Jim has a goal")
    assert crm.ok("report", "goals", "--owner", "sarah", env=NOW).stdout == \
        "No goals for sarah.\n"


def test_goals_for_each_user_when_no_user_is_declared(cli) -> None:
    set_goals(cli.root, TEAM_GOALS)         # a goal for each user, and no user declared
    out = cli.ok("report", "goals", env=NOW).stdout
    assert len(out.splitlines()) == 1
    assert "None" not in out


def test_until_is_in_the_json(crm) -> None:
    report = goals(crm, "--until", "2026-10-31")
    assert report["summary"]["behind"] == 5
    assert report["until"] == "2026-10-31"
