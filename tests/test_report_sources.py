"""crmctl report sources: per lead source and campaign, the leads (companies added in the
period), how many were reached, the deals added in it, and the deals won in it with their
revenue. A deal counts for its own --source, else its company's; wins in another currency
are listed beside the revenue, never added to it. The period defaults to the last 365 days.
"""

from __future__ import annotations

import json

import pytest

from conftest import build_once, copy_of, git

TODAY = "2026-11-25"
NOW = {"CRMCTL_NOW": f"{TODAY}T09:00:00+01:00"}


def on(day: str) -> dict:
    return {"CRMCTL_NOW": f"{day}T09:00:00+01:00"}


def a_year_of_sources(cli) -> None:
    """Oldco came in 2025 (before the period); everyone else on 2026-10-01."""
    text = (cli.root / "crm.yaml").read_text()
    (cli.root / "crm.yaml").write_text(text.replace(
        "  company: {}\n", "  company:\n    campaign:\n      type: string\n"))
    git(cli.root, "commit", "-qam", "Companies carry the campaign they came from")
    cli.ok("add", "company", "Oldco", "--source", "web", env=on("2025-06-01"))
    cli.ok("add", "deal", "Renewal", "--company", "Oldco", "--amount", "7000", "--close",
           "2026-11-30", env=on("2025-06-02"))
    cli.ok("add", "deal", "Ancient", "--company", "Oldco", "--amount", "900", "--stage", "won",
           "--close", "2025-06-03", env=on("2025-06-03"))            # won before the period
    october = on("2026-10-01")
    cli.ok("add", "company", "Initech", "--source", "web", env=october)
    cli.ok("add", "company", "Globex", "--source", "web", env=october)
    cli.ok("add", "company", "Acme", "--source", "web", "--set", "campaign=spring", env=october)
    cli.ok("add", "company", "Umbrella", "--source", "fair", env=october)
    cli.ok("add", "company", "Nosource", env=october)
    cli.ok("log", "Initech", "--type", "phone-call", "--note", "hello", env=on("2026-10-02"))
    cli.ok("log", "Globex", "--type", "phone-attempt", "--outcome", "no-answer",
           env=on("2026-10-02"))                                     # not reached
    cli.ok("log", "Acme", "--type", "meeting", "--note", "demo", env=on("2026-10-02"))
    cli.ok("log", "Umbrella", "--type", "email-received", env=on("2026-10-02"))
    deal = ["add", "deal", "--close", "2026-12-15", "--company"]
    fifth = on("2026-10-05")
    cli.ok(*deal, "Initech", "Big", "--amount", "10000", env=fifth)
    cli.ok(*deal, "Initech", "Referral", "--amount", "4000", "--source", "referral", env=fifth)
    cli.ok(*deal, "Umbrella", "Expo", "--amount", "2500", env=fifth)
    cli.ok(*deal, "Umbrella", "Euro", "--amount", "3000", "--currency", "EUR", env=fifth)
    cli.ok(*deal, "Globex", "Lost one", "--amount", "1000", env=fifth)
    cli.ok("move", "Big", "won", env=on("2026-11-01"))
    cli.ok("move", "Referral", "won", env=on("2026-11-02"))
    cli.ok("move", "Euro", "won", env=on("2026-11-03"))
    cli.ok("move", "Renewal", "won", env=on("2026-11-04"))
    cli.ok("move", "Lost one", "lost", "--reason", "budget", env=on("2026-11-05"))


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_once(tmp_path_factory, a_year_of_sources)


@pytest.fixture
def crm(template, tmp_path, monkeypatch):
    return copy_of(template, tmp_path, monkeypatch)


def sources(cli, *args: str) -> dict:
    return json.loads(cli.ok("report", "sources", *args, "--format", "json", env=NOW).stdout)


def table(report: dict) -> list[tuple]:
    return [(r["source"], r["campaign"], r["leads"], r["reached"], r["reach_rate"], r["deals"],
             r["won"], r["won_revenue"], r["won_other_currencies"]) for r in report["sources"]]


def test_the_last_365_days_computed_by_hand(crm) -> None:
    report = sources(crm)
    # Period 2025-11-26 .. 2026-11-25: Oldco and its deals were added before it.
    # web:        leads Initech, Globex (2), reached Initech (50%); deals Big, Lost one (2);
    #             won Big 10,000 + Renewal 7,000 (Oldco's deal, added in 2025, won in Nov) = 17,000
    # referral:   Referral's own source beats Initech's web: 1 deal, 1 won, 4,000; no leads
    # fair:       Umbrella, reached (100%); deals Expo, Euro; won Euro, 3,000 EUR: not in revenue
    # web/spring: Acme, reached by a meeting (100%)
    # (no source): Nosource, never reached (0%)
    # Order: revenue first, then by source, "(no source)" last.
    assert table(report) == [
        ("web", None, 2, 1, 50, 2, 2, 17000, None),
        ("referral", None, 0, 0, None, 1, 1, 4000, None),
        ("fair", None, 1, 1, 100, 2, 1, 0, "3,000 EUR"),
        ("web", "spring", 1, 1, 100, 0, 0, 0, None),
        ("(no source)", None, 1, 0, 0, 0, 0, 0, None)]
    # total: leads 2+1+1+1 = 5, reached 3 (60%), deals 5, won 4 (the EUR win is a win),
    # revenue 17,000 + 4,000 = 21,000
    assert report["summary"] == {"leads": 5, "reached": 3, "deals": 5, "won": 4,
                                 "won_revenue": 21000, "reach_rate": 60}
    assert (report["since"], report["until"]) == ("2025-11-26", TODAY)


def test_text_has_the_totals_and_the_other_currency(crm) -> None:
    out = crm.ok("report", "sources", env=NOW).stdout
    assert out.startswith(f"Lead sources (2025-11-26 to {TODAY})\n\nPer source and campaign\n")
    rows = {tuple(line.split()[:2]): line.split() for line in out.splitlines()[4:]
            if line and not line.startswith("-")}
    assert rows[("total", "5")] == ["total", "5", "3", "60%", "5", "4", "21,000"]
    assert rows[("web", "2")] == ["web", "2", "1", "50%", "2", "2", "17,000", "█" * 24]
    # no leads: no reach rate; the bar is 4,000/17,000 of 24 = 5.6 -> 6
    assert rows[("referral", "0")] == ["referral", "0", "0", "1", "1", "4,000", "█" * 6]
    assert rows[("fair", "1")] == ["fair", "1", "1", "100%", "2", "1", "0", "3,000", "EUR"]
    assert rows[("web", "spring")] == ["web", "spring", "1", "1", "100%", "0", "0", "0"]


def test_a_period_of_wins_only(crm) -> None:
    # November: no company and no deal was added, but four deals were won.
    report = sources(crm, "--since", "2026-11-01")
    assert table(report) == [
        ("web", None, 0, 0, None, 0, 2, 17000, None),
        ("referral", None, 0, 0, None, 0, 1, 4000, None),
        ("fair", None, 0, 0, None, 0, 1, 0, "3,000 EUR")]
    assert report["summary"]["won_revenue"] == 21000 and report["summary"]["leads"] == 0


def test_a_period_of_leads_and_deals_only(crm) -> None:
    # October: all five companies and five deals were added; nothing was won yet.
    report = sources(crm, "--since", "2026-10-01", "--until", "2026-10-31")
    assert [(r["source"], r["campaign"], r["leads"], r["deals"], r["won"])
            for r in report["sources"]] == [
        ("fair", None, 1, 2, 0), ("referral", None, 0, 1, 0), ("web", None, 2, 2, 0),
        ("web", "spring", 1, 0, 0), ("(no source)", None, 1, 0, 0)]
    assert report["summary"] == {"leads": 5, "reached": 3, "deals": 5, "won": 0,
                                 "won_revenue": 0, "reach_rate": 60}


def test_a_period_with_nothing_says_so(crm) -> None:
    out = crm.ok("report", "sources", "--since", "2020-01-01", "--until", "2020-12-31",
                 env=NOW).stdout
    assert out == "No leads, deals or wins from 2020-01-01 to 2020-12-31.\n"
