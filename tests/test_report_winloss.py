"""crmctl report winloss: deals won and lost in the period, per owner and currency, with the
win rate and why deals were lost."""

from __future__ import annotations

import json

import pytest

from conftest import add_users, build_once, copy_of

NOW = {"CRMCTL_NOW": "2026-11-25T09:00:00+01:00"}   # the default period: 2026-10-27 to 2026-11-25
ADDED = {"CRMCTL_NOW": "2026-10-01T09:00:00+01:00"}


def setup(cli) -> None:
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"), ("kim", "Kim Quiet", "kim@example.com"))
    cli.ok("add", "company", "Initech", env=ADDED)
    for name, amount, owner, currency in (
            ("A", "1000", "sarah", "USD"), ("B", "2500", "sarah", "USD"),
            ("C", "4000", "sarah", "USD"), ("D", "500", "jim", "USD"),
            ("E", "7000", "jim", "USD"), ("F", "300", "jim", "USD"),
            ("G", "800", "sarah", "EUR"), ("H", "9999", "jim", "USD"),
            ("I", "1200", "jim", "USD"), ("J", "200", "jim", "EUR"),
            ("R", "3333", "sarah", "USD"), ("K", "4444", "sarah", "USD")):
        cli.ok("add", "deal", name, "--company", "Initech", "--amount", amount, "--currency",
               currency, "--owner", owner, "--close", "2026-12-31", env=ADDED)

    def close(deal: str, stage: str, when: str, reason: str | None = None) -> None:
        cli.ok("move", deal, stage, *(["--reason", reason] if reason else []),
               env={"CRMCTL_NOW": when})

    close("H", "won", "2026-10-20T12:00:00+01:00")                         # long before: out
    close("F", "lost", "2026-10-26T23:50:00+01:00", "went with a competitor")  # day before: out
    close("D", "lost", "2026-10-27T00:10:00+01:00", "budget")               # first day
    close("I", "lost", "2026-11-05T12:00:00+01:00", "went with a competitor")
    close("R", "won", "2026-11-05T12:00:00+01:00")
    close("R", "qualified", "2026-11-06T12:00:00+01:00")                    # reopened: out
    close("A", "won", "2026-11-10T12:00:00+01:00")
    close("G", "won", "2026-11-12T12:00:00+01:00")
    close("C", "lost", "2026-11-15T12:00:00+01:00", "budget")
    close("J", "lost", "2026-11-18T12:00:00+01:00", "  budget ")
    close("B", "won", "2026-11-20T12:00:00+01:00")
    close("E", "won", "2026-11-25T08:00:00+01:00")                          # last day
    # K stays open.


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_once(tmp_path_factory, setup)


@pytest.fixture
def crm(template, tmp_path, monkeypatch):
    return copy_of(template, tmp_path, monkeypatch)


def report(cli, *args: str) -> dict:
    return json.loads(cli.ok("report", "winloss", "--format", "json", *args, env=NOW).stdout)


def owners(got: dict) -> dict:
    return {(r["currency"], r["owner"]): (r["won"], r["won_amount"], r["lost"], r["lost_amount"],
                                          r["win_rate"]) for r in got["owners"]}


def test_won_lost_amounts_and_win_rate_per_owner_and_currency_computed_by_hand(crm) -> None:
    got = report(crm)
    assert (got["report"], got["since"], got["until"], got["empty"]) == \
        ("winloss", "2026-10-27", "2026-11-25", False)
    # USD, Sarah: won A 1,000 + B 2,500 = 3,500; lost C 4,000; 2 of 3 = 66.7%.
    # USD, Jim: won E 7,000; lost D 500 + I 1,200 = 1,700; 1 of 3 = 33.3%.
    # EUR, Sarah: won G 800 (100%); EUR, Jim: lost J 200 (0%).
    # Out: H (won 2026-10-20), F (lost the day before), R (won, then reopened), K (open).
    assert owners(got) == {("EUR", "jim"): (0, 0, 1, 200, 0),
                           ("EUR", "sarah"): (1, 800, 0, 0, 100),
                           ("USD", "jim"): (1, 7000, 2, 1700, 33.3),
                           ("USD", "sarah"): (2, 3500, 1, 4000, 66.7)}
    assert [(r["currency"], r["owner_name"]) for r in got["owners"]] == [
        ("EUR", "Jim Seller"), ("EUR", "Sarah Closer"), ("USD", "Jim Seller"),
        ("USD", "Sarah Closer")]
    # The currencies never add up: USD 3 won (10,500), 3 lost (5,700), 50%; EUR 1 (800), 1 (200).
    assert got["summary"] == {
        "EUR": {"won": 1, "won_amount": 800, "lost": 1, "lost_amount": 200, "win_rate": 50},
        "USD": {"won": 3, "won_amount": 10500, "lost": 3, "lost_amount": 5700, "win_rate": 50}}
    # Reasons, most frequent first: budget for C, D and J (its spaces trimmed); a competitor
    # for I (F's is from the day before).
    assert got["lost_reasons"] == [
        {"reason": "budget", "deals": 3, "names": "C, D, J"},
        {"reason": "went with a competitor", "deals": 1, "names": "I"}]


def test_text_has_a_table_per_currency_and_the_reasons(crm) -> None:
    out = crm.ok("report", "winloss", env=NOW).stdout
    assert out.startswith("Won and lost (2026-10-27 to 2026-11-25)\n\n"
                          "EUR: 1 won (800), 1 lost (200); win rate 50.0%.\n"
                          "USD: 3 won (10,500), 3 lost (5,700); win rate 50.0%.\n")
    usd = out.split("Per owner, USD\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[-6:] for line in usd if not line.startswith(("OWNER", "---"))] == [
        ["Seller", "1", "7,000", "2", "1,700", "33.3%"],
        ["Closer", "2", "3,500", "1", "4,000", "66.7%"],
        ["total", "3", "10,500", "3", "5,700", "50%"]]
    eur = out.split("Per owner, EUR\n")[1].split("\n\n")[0]
    assert "7,000" not in eur and eur.splitlines()[-1].split() == \
        ["total", "1", "800", "1", "200", "50%"]
    reasons = out.split("Why deals were lost\n")[1].splitlines()
    assert [line.split("  ")[0] for line in reasons[2:]] == ["budget", "went with a competitor"]
    assert reasons[2].split()[1:3] == ["3", "C,"]


def test_owner_narrows_it(crm) -> None:
    got = report(crm, "--owner", "jim")
    assert got["title"] == "Won and lost owned by jim"
    assert owners(got) == {("EUR", "jim"): (0, 0, 1, 200, 0),
                           ("USD", "jim"): (1, 7000, 2, 1700, 33.3)}
    assert got["lost_reasons"] == [
        {"reason": "budget", "deals": 2, "names": "D, J"},
        {"reason": "went with a competitor", "deals": 1, "names": "I"}]
    got = report(crm, "--owner", "sarah")
    assert got["summary"]["USD"] == {"won": 2, "won_amount": 3500, "lost": 1,
                                     "lost_amount": 4000, "win_rate": 66.7}
    assert got["lost_reasons"] == [{"reason": "budget", "deals": 1, "names": "C"}]
    out = crm.ok("report", "winloss", "--owner", "sarah", env=NOW).stdout
    assert "USD: 2 won (3,500), 1 lost (4,000); win rate 66.7%." in out
    assert "Jim Seller" not in out


def test_the_first_and_last_day_of_the_period_count_the_day_before_does_not(crm) -> None:
    # The day before the default period: F alone (lost at 23:50 on 2026-10-26).
    got = report(crm, "--since", "2026-10-26", "--until", "2026-10-26")
    assert owners(got) == {("USD", "jim"): (0, 0, 1, 300, 0)}
    assert got["lost_reasons"] == [{"reason": "went with a competitor", "deals": 1,
                                    "names": "F"}]
    # A period ending the day before E was won, and starting the day D was lost.
    got = report(crm, "--since", "2026-10-27", "--until", "2026-11-24")
    assert owners(got)[("USD", "jim")] == (0, 0, 2, 1700, 0)
    # The days H was won and R won and reopened: H counts; R, open again, does not.
    got = report(crm, "--since", "2026-10-20", "--until", "2026-10-20")
    assert owners(got) == {("USD", "jim"): (1, 9999, 0, 0, 100)}
    assert got["lost_reasons"] == []
    out = crm.ok("report", "winloss", "--since", "2026-10-20", "--until", "2026-10-20",
                 env=NOW).stdout
    assert "Why deals were lost\n  no deal was lost\n" in out
    assert report(crm, "--since", "2026-11-05", "--until", "2026-11-06")["summary"] == {
        "USD": {"won": 0, "won_amount": 0, "lost": 1, "lost_amount": 1200, "win_rate": 0}}


def test_nothing_closed_says_so_and_fail_if_empty_prints_nothing(crm) -> None:
    assert crm.ok("report", "winloss", "--owner", "kim", env=NOW).stdout == \
        "No deals owned by kim won or lost from 2026-10-27 to 2026-11-25.\n"
    assert crm.ok("report", "winloss", "--since", "2026-10-21", "--until", "2026-10-25",
                  env=NOW).stdout == "No deals won or lost from 2026-10-21 to 2026-10-25.\n"
    got = report(crm, "--owner", "kim")
    assert got["empty"] is True and "owners" not in got
    result = crm("report", "winloss", "--owner", "kim", "--fail-if-empty", env=NOW)
    assert (result.exit_code, result.stdout) == (1, "")
    assert crm.ok("report", "winloss", "--fail-if-empty", env=NOW).stdout.startswith(
        "Won and lost (2026-10-27 to 2026-11-25)\n")


def test_a_new_crm_has_nothing_to_report(cli) -> None:
    assert cli.ok("report", "winloss", env=NOW).stdout == \
        "No deals won or lost from 2026-10-27 to 2026-11-25.\n"
    result = cli("report", "winloss", "--fail-if-empty", env=NOW)
    assert (result.exit_code, result.stdout) == (1, "")


def test_lost_needs_a_reason(crm) -> None:
    crm.fails(1, "move", "K", "lost", env=NOW)
