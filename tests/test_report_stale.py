"""crmctl report stale: deals idle past their stage's limit, deals with no next task, and
companies nobody has been in touch with."""

from __future__ import annotations

import json

import pytest

from conftest import add_users, build_once, copy_of

NOW = {"CRMCTL_NOW": "2026-11-25T09:00:00+01:00"}


def at(day: str) -> dict:
    return {"CRMCTL_NOW": f"{day}T09:00:00+01:00"}


D0 = at("2026-10-01")   # 55 days before 2026-11-25


def setup(cli) -> None:
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"), ("kim", "Kim Quiet", "kim@example.com"))
    for name, owner in (("Initech", "sarah"), ("Globex", "jim"), ("Hooli", "sarah"),
                        ("Umbrella", "sarah")):
        cli.ok("add", "company", name, "--owner", owner, env=D0)
    cli.ok("add", "company", "Old Client", "--status", "past-client", "--owner", "sarah", env=D0)
    cli.ok("add", "company", "Vandelay", "--owner", "sarah", env=at("2026-10-26"))  # 30 days
    cli.ok("add", "company", "Wayne", "--owner", "sarah", env=at("2026-10-27"))     # 29 days
    cli.ok("add", "person", "Ada Lovelace", "--company", "Umbrella", env=D0)
    cli.ok("log", "Ada Lovelace", "--type", "email-sent", env=at("2026-10-10"))   # Umbrella: 46
    cli.ok("assign", "Umbrella", "jim", env=at("2026-11-01"))  # a hand-over is no activity
    # Deals. Old: contact-made (limit 14) since 2026-10-01, never touched: 55 days.
    cli.ok("add", "deal", "Old", "--company", "Initech", "--owner", "sarah", "--amount", "1000",
           env=D0)
    # Fresh: as Old, but an email about it on 2026-11-20 (5 days), and an open task.
    cli.ok("add", "deal", "Fresh", "--company", "Globex", "--owner", "jim", env=D0)
    cli.ok("log", "Globex", "--deal", "Fresh", "--type", "email-sent", "--at",
           "2026-11-20T10:00:00+01:00", env=NOW)
    cli.ok("task", "add", "Send the proposal", "--for", "Fresh", "--assign", "kim", env=NOW)
    # Moved: qualified (limit 21) since 2026-11-01: 24 days; its only task is done.
    cli.ok("add", "deal", "Moved", "--company", "Hooli", "--owner", "sarah", "--amount", "5000",
           "--close", "2026-12-31", env=D0)
    cli.ok("move", "Moved", "qualified", env=at("2026-11-01"))
    cli.ok("log", "Hooli", "--type", "phone-call", "--note", "moving on",
           "--at", "2026-11-01T08:00:00+01:00", env=NOW)                      # Hooli: 24
    task = cli.ok("task", "add", "Call them", "--for", "Moved", "--quiet", env=at("2026-11-01"))
    cli.ok("task", "done", task.stdout.strip(), env=at("2026-11-02"))
    # Edge14 and Edge15: contact-made for exactly 14 (not past the limit) and 15 days.
    cli.ok("add", "deal", "Edge14", "--company", "Initech", "--owner", "jim",
           env=at("2026-11-11"))
    cli.ok("add", "deal", "Edge15", "--company", "Initech", "--owner", "sarah",
           env=at("2026-11-10"))
    cli.ok("assign", "Edge15", "jim", env=NOW)
    # Closed deals are never stale.
    cli.ok("add", "deal", "Done", "--company", "Initech", "--stage", "won", "--amount", "10",
           "--close", "2026-10-01", "--owner", "sarah", env=D0)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_once(tmp_path_factory, setup)


@pytest.fixture
def crm(template, tmp_path, monkeypatch):
    return copy_of(template, tmp_path, monkeypatch)


def report(cli, *args: str) -> dict:
    return json.loads(cli.ok("report", "stale", "--format", "json", *args, env=NOW).stdout)


def idle(rows: list[dict]) -> list[tuple[str, int]]:
    return [(r["name"], r["idle_days"]) for r in rows]


def test_rotting_deals_no_next_task_and_quiet_companies_computed_by_hand(crm) -> None:
    got = report(crm)
    assert (got["report"], got["today"], got["empty"]) == ("stale", "2026-11-25", False)
    # Idle past the limit, oldest first: Old 55 > 14, Moved 24 > 21, Edge15 15 > 14.
    # Not: Edge14 (14 is not past 14), Fresh (5 days since the email), Done (won).
    assert idle(got["rotting"]) == [("Old", 55), ("Moved", 24), ("Edge15", 15)]
    assert [(r["stage"], r["rotting_days"], r["last_touch"]) for r in got["rotting"]] == [
        ("contact-made", 14, "2026-10-01"), ("qualified", 21, "2026-11-01"),
        ("contact-made", 14, "2026-11-10")]
    assert got["rotting"][0]["company_name"] == "Initech" and got["rotting"][0]["amount"] == 1000
    # No open task: everything open but Fresh (its task is open; Moved's is done).
    assert idle(got["no_next_task"]) == [("Old", 55), ("Moved", 24), ("Edge15", 15),
                                         ("Edge14", 14)]
    # Quiet for 30+ days: Initech (created 2026-10-01, its deals neither moved nor logged:
    # 55), Umbrella (Ada's email on 2026-10-10: 46), Vandelay (created 30 days ago).
    # Not: Wayne (29), Globex (5), Hooli (24), Old Client (past-client, however quiet).
    assert idle(got["quiet_companies"]) == [("Initech", 55), ("Umbrella", 46), ("Vandelay", 30)]
    assert [(r["last_touch"], r["ever_contacted"]) for r in got["quiet_companies"]] == [
        ("2026-10-01", False), ("2026-10-10", True), ("2026-10-26", False)]
    assert got["summary"] == {"rotting_deals": 3, "deals_without_next_task": 4,
                              "quiet_companies": 3}


def test_text_lists_them_oldest_first(crm) -> None:
    out = crm.ok("report", "stale", env=NOW).stdout
    assert out.startswith(
        "Stale (2026-11-25)\n\n3 deals idle past their stage's limit, 4 open deals with no "
        "next task, 3 companies with no activity for 30 days or more.\n")
    rotting = out.split("Deals idle longer than their stage allows\n")[1].split("\n\n")[0]
    assert [line.split()[:5] for line in rotting.splitlines()[2:]] == [
        ["55", "Old", "Initech", "contact-made", "14"],
        ["24", "Moved", "Hooli", "qualified", "21"],
        ["15", "Edge15", "Initech", "contact-made", "14"]]
    no_task = out.split("Open deals with no next task\n")[1].split("\n\n")[0]
    assert [line.split()[:2] for line in no_task.splitlines()[2:]] == [
        ["55", "Old"], ["24", "Moved"], ["15", "Edge15"], ["14", "Edge14"]]
    quiet = out.split("Companies with no activity for 30+ days\n")[1]
    assert [line.split()[:2] for line in quiet.splitlines()[2:]] == [
        ["55", "Initech"], ["46", "Umbrella"], ["30", "Vandelay"]]
    assert "Fresh" not in out and "Old Client" not in out and "Done" not in out


def test_idle_days_sets_how_long_a_company_may_stay_quiet(crm) -> None:
    got = report(crm, "--idle-days", "20")
    # 20+ days: Wayne (29) and Hooli (24) join; Globex (5) and Old Client still do not.
    assert idle(got["quiet_companies"]) == [("Initech", 55), ("Umbrella", 46), ("Vandelay", 30),
                                            ("Wayne", 29), ("Hooli", 24)]
    assert idle(report(crm, "--idle-days", "31")["quiet_companies"]) == \
        [("Initech", 55), ("Umbrella", 46)]
    out = crm.ok("report", "stale", "--idle-days", "20", env=NOW).stdout
    assert "5 companies with no activity for 20 days or more." in out
    assert "Companies with no activity for 20+ days" in out


def test_owner_narrows_deals_and_companies_to_theirs(crm) -> None:
    # Jim owns Fresh, Edge14 and (handed over) Edge15, and the companies Globex and Umbrella.
    got = report(crm, "--owner", "jim")
    assert got["title"] == "Stale owned by jim"
    assert idle(got["rotting"]) == [("Edge15", 15)]
    assert idle(got["no_next_task"]) == [("Edge15", 15), ("Edge14", 14)]
    assert idle(got["quiet_companies"]) == [("Umbrella", 46)]
    assert {r["owner"] for r in got["rotting"] + got["no_next_task"] + got["quiet_companies"]} \
        == {"jim"}
    got = report(crm, "--owner", "sarah")
    assert idle(got["rotting"]) == [("Old", 55), ("Moved", 24)]
    assert idle(got["quiet_companies"]) == [("Initech", 55), ("Vandelay", 30)]
    out = crm.ok("report", "stale", "--owner", "jim", env=NOW).stdout
    assert out.startswith("Stale owned by jim (2026-11-25)\n\n1 deal idle past their stage's "
                          "limit, 2 open deals with no next task, 1 company")


def test_touching_a_deal_and_giving_it_a_task_takes_it_off(crm) -> None:
    crm.ok("log", "Initech", "--deal", "Old", "--type", "phone-call", "--note", "still keen",
           "--at", "2026-11-24T16:00:00+01:00", env=NOW)
    got = report(crm)
    # Old was touched yesterday (1 day): no longer rotting, and Initech is no longer quiet.
    assert idle(got["rotting"]) == [("Moved", 24), ("Edge15", 15)]
    assert ("Old", 1) in idle(got["no_next_task"])
    assert "Initech" not in [r["name"] for r in got["quiet_companies"]]
    crm.ok("task", "add", "Send the contract", "--for", "Old", "--due", "+2d", env=NOW)
    assert "Old" not in [r["name"] for r in report(crm)["no_next_task"]]


def test_nothing_stale_says_so_and_fail_if_empty_prints_nothing(crm) -> None:
    assert crm.ok("report", "stale", "--owner", "kim", env=NOW).stdout == \
        "Nothing stale owned by kim: every open deal is moving and has a next task.\n"
    got = report(crm, "--owner", "kim")
    assert got["empty"] is True and got["summary"] == {
        "rotting_deals": 0, "deals_without_next_task": 0, "quiet_companies": 0}
    result = crm("report", "stale", "--owner", "kim", "--fail-if-empty", env=NOW)
    assert (result.exit_code, result.stdout) == (1, "")
    assert crm.ok("report", "stale", "--owner", "jim", "--fail-if-empty", env=NOW).stdout \
        .startswith("Stale owned by jim (2026-11-25)\n")


def test_a_new_deal_with_a_task_is_not_stale(cli) -> None:
    cli.ok("add", "company", "Acme", env=NOW)
    cli.ok("add", "deal", "Anvils", "--company", "Acme", env=NOW)
    out = cli.ok("report", "stale", env=NOW).stdout
    assert out.startswith(
        "Stale (2026-11-25)\n\n0 deals idle past their stage's limit, 1 open deal with no "
        "next task, 0 companies")
    assert "Deals idle longer than their stage allows\n  none\n" in out
    assert out.endswith("Companies with no activity for 30+ days\n  none\n")
    cli.ok("task", "add", "Call Acme", "--for", "Anvils", env=NOW)
    assert cli.ok("report", "stale", env=NOW).stdout == \
        "Nothing stale: every open deal is moving and has a next task.\n"
    result = cli("report", "stale", "--fail-if-empty", env=NOW)
    assert (result.exit_code, result.stdout) == (1, "")


def test_a_deal_move_is_not_activity_with_the_company(crm) -> None:
    # Nobody has logged anything with Initech since it was added on 2026-10-01; one of its
    # deals moving on 2026-11-20 is not contact: Initech is still quiet for 55 days.
    crm.ok("move", "Edge14", "meeting-arranged", env=at("2026-11-20"))
    quiet = {r["name"]: (r["idle_days"], r["last_touch"])
             for r in report(crm)["quiet_companies"]}
    assert quiet.get("Initech") == (55, "2026-10-01")


def test_a_company_only_its_deals_moved_for_was_never_contacted(crm) -> None:
    crm.ok("move", "Edge14", "meeting-arranged", env=at("2026-11-20"))
    rows = {r["name"]: r for r in report(crm, "--idle-days", "1")["quiet_companies"]}
    # Umbrella had Ada's email (contacted); nobody ever logged a contact with Initech.
    assert rows["Umbrella"]["ever_contacted"] is True
    assert rows["Initech"]["ever_contacted"] is False
