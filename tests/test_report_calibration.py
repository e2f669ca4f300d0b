"""crmctl report calibration: are each owner's odds honest?

For the deals closed (won or lost) in the period (default: the last 365 days), the odds the
owner gave are the deal's probability just before its closing move. Per owner: the average odds
given, the share actually won, a leaning (more than 10 points apart: optimistic or cautious),
a Brier score (mean of (p - outcome)^2, p as a fraction, outcome 1 if won else 0), per band;
then their open pipeline re-weighted: each deal's probability x (win rate / average odds),
capped at 100%.
"""

from __future__ import annotations

import json

import pytest

from conftest import add_users, build_once, copy_of

NOW = {"CRMCTL_NOW": "2026-11-25T09:00:00+01:00"}


def on(day: str) -> dict:
    return {"CRMCTL_NOW": f"{day}T09:00:00+01:00"}


def odds_and_outcomes(cli) -> None:
    """Sarah gives 80% (once 60%) and wins 1 of 5; Jim gives 20% and wins 3 of 4."""
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"))
    cli.ok("add", "company", "Initech", env=on("2026-10-01"))

    def deal(title: str, owner: str, stage: str, amount: str = "1000", *more: str) -> None:
        cli.ok("add", "deal", title, "--company", "Initech", "--owner", owner, "--stage", stage,
               "--amount", amount, "--close", "2026-12-31", *more, env=on("2026-10-01"))

    def close(title: str, stage: str, day: str = "2026-11-02") -> None:
        cli.ok("move", title, stage, *(["--reason", "no budget"] if stage == "lost" else []),
               env=on(day))

    for n in (1, 2, 3):
        deal(f"S{n}", "sarah", "in-negotiation")                # 80%, the stage's default
    deal("S4", "sarah", "qualified")                            # 40% at first...
    cli.ok("move", "S4", "in-negotiation", env=on("2026-10-10"))  # ...80% when it closed
    deal("S5", "sarah", "proposal-presented")                   # 60%
    close("S1", "won")
    for title in ("S2", "S3", "S4", "S5"):
        close(title, "lost")
    cli.ok("add", "deal", "S-typed-in", "--company", "Initech", "--owner", "sarah", "--stage",
           "won", "--amount", "5000", "--close", "2026-11-01", env=on("2026-11-01"))
    # ^ entered already won: nobody gave odds, so it is not counted
    for n in (1, 2, 3, 4):
        deal(f"J{n}", "jim", "meeting-arranged")                # 20%
    for title in ("J1", "J2", "J3"):
        close(title, "won")
    close("J4", "lost")
    cli.ok("add", "deal", "J-old", "--company", "Initech", "--owner", "jim", "--amount", "1000",
           "--stage", "meeting-arranged", "--close", "2025-06-30", env=on("2025-05-01"))
    cli.ok("move", "J-old", "lost", "--reason", "too early", env=on("2025-06-01"))
    # ^ closed before the period (2025-11-26 .. 2026-11-25): not counted
    # Still open:
    deal("S-open", "sarah", "in-negotiation", "10000")          # 80% of 10,000
    deal("J-open", "jim", "meeting-arranged", "10000")          # 20% of 10,000
    deal("J-big", "jim", "proposal-presented", "5000")          # 60% of 5,000
    deal("J-euro", "jim", "meeting-arranged", "2000", "--currency", "EUR")
    cli.ok("add", "deal", "Nobody's", "--company", "Initech", "--amount", "1000",
           env=on("2026-10-01"))                                # 10%, no owner


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return build_once(tmp_path_factory, odds_and_outcomes)


@pytest.fixture
def crm(template, tmp_path, monkeypatch):
    return copy_of(template, tmp_path, monkeypatch)


def calibration(cli, *args: str) -> dict:
    return json.loads(cli.ok("report", "calibration", *args, "--format", "json",
                             env=NOW).stdout)


def test_an_optimist_and_a_cautious_rep_computed_by_hand(crm) -> None:
    report = calibration(crm)
    # Jim:   20,20,20,20 -> average 20%; won 3 of 4 = 75%: cautious (75 - 20 > 10).
    #        Brier = (3 x (0.2 - 1)^2 + (0.2 - 0)^2) / 4 = (1.92 + 0.04) / 4 = 0.49
    # Sarah: 80,80,80,80 (S4: the 80 it had when it closed, not its first 40), 60
    #        -> average 380/5 = 76%; won 1 of 5 = 20%: optimistic (76 - 20 > 10).
    #        Brier = ((0.8-1)^2 + 3 x 0.8^2 + 0.6^2) / 5 = (0.04 + 1.92 + 0.36) / 5 = 0.464
    assert [(r["owner"], r["owner_name"], r["closed"], r["won"], r["predicted"], r["actual"],
             r["brier"], r["leaning"]) for r in report["owners"]] == [
        ("jim", "Jim Seller", 4, 3, 20, 75, 0.49, "cautious"),
        ("sarah", "Sarah Closer", 5, 1, 76, 20, 0.464, "optimistic")]
    # 9 closed deals: the one typed in as won and the one lost in 2025 are not among them
    assert report["summary"] == {"closed": 9, "won": 4}
    assert (report["since"], report["until"]) == ("2025-11-26", "2026-11-25")


def test_per_band(crm) -> None:
    bands = calibration(crm)["bands"]
    # Jim: four deals at 20 (band 20-40%), 3 won = 75%.
    # Sarah: S5 at 60 (band 60-80%) lost = 0%; four at 80 (band 80-100%), 1 won = 25%.
    assert [(b["owner"], b["band"], b["deals"], b["predicted"], b["actual"]) for b in bands] == [
        ("jim", "20-40%", 4, 20, 75),
        ("sarah", "60-80%", 1, 60, 0), ("sarah", "80-100%", 4, 80, 25)]


def test_open_pipeline_reweighted_by_each_record(crm) -> None:
    rows = calibration(crm)["reweighted"]
    # factor = actual win rate / average odds given:
    #   Jim 75 / 20 = 3.75: J-open 20% -> 75% of 10,000 = 7,500; J-big 60% -> 225%, capped
    #     at 100% = 5,000 -> 12,500 re-weighted (as given: 2,000 + 3,000 = 5,000);
    #     J-euro, in its own row: 20% -> 75% of 2,000 = 1,500 EUR (as given 400)
    #   Sarah 20 / 76 = 0.2632: S-open 80% -> 21.05% of 10,000 = 2,105.26 (as given 8,000)
    #   nobody: no record, factor 1: 10% of 1,000 = 100 either way
    assert [(r["owner"], r["currency"], r["deals"], r["amount"], r["weighted"], r["factor"],
             r["reweighted"]) for r in rows] == [
        (None, "USD", 1, 1000, 100, 1, 100),
        ("jim", "EUR", 1, 2000, 400, 3.75, 1500),
        ("jim", "USD", 2, 15000, 5000, 3.75, 12500),
        ("sarah", "USD", 1, 10000, 8000, 0.26, 2105.26)]


def test_text_shows_the_leanings_and_the_reweighted_pipeline(crm) -> None:
    out = crm.ok("report", "calibration", env=NOW).stdout
    assert out.startswith("Calibration (2025-11-26 to 2026-11-25)\n\n"
                          "A Brier score of 0 is perfect foresight;")
    lines = [line.split() for line in out.splitlines()]
    assert ["Jim", "Seller", "4", "3", "20%", "75%", "0.49", "cautious"] in lines
    assert ["Sarah", "Closer", "5", "1", "76%", "20%", "0.464", "optimistic"] in lines
    assert ["Sarah", "Closer", "80-100%", "4", "80%", "25%"] in lines
    assert ["Jim", "Seller", "USD", "2", "15,000", "5,000", "3.75", "12,500"] in lines
    assert ["Sarah", "Closer", "USD", "1", "10,000", "8,000", "0.26", "2,105.26"] in lines


def test_owner_narrows_it(crm) -> None:
    report = calibration(crm, "--owner", "sarah")
    assert report["title"] == "Calibration of sarah"
    assert [r["owner"] for r in report["owners"]] == ["sarah"]
    assert {b["owner"] for b in report["bands"]} == {"sarah"}
    assert [(r["owner"], r["reweighted"]) for r in report["reweighted"]] == [("sarah", 2105.26)]
    assert report["summary"] == {"closed": 5, "won": 1}


def test_a_period_narrows_the_record_and_so_the_factor(crm) -> None:
    # Only 2025: J-old, lost from meeting-arranged at 20% -> Jim 0 of 1, Brier 0.2^2 = 0.04,
    # 0 - 20 = -20 points: optimistic; factor 0, so his open deals re-weight to nothing.
    report = calibration(crm, "--since", "2025-01-01", "--until", "2025-12-31")
    assert [(r["owner"], r["closed"], r["won"], r["predicted"], r["actual"], r["brier"],
             r["leaning"]) for r in report["owners"]] == [
        ("jim", 1, 0, 20, 0, 0.04, "optimistic")]
    jim = [(r["currency"], r["factor"], r["reweighted"]) for r in report["reweighted"]
           if r["owner"] == "jim"]
    assert jim == [("EUR", 0, 0), ("USD", 0, 0)]
    sarah = next(r for r in report["reweighted"] if r["owner"] == "sarah")
    assert (sarah["factor"], sarah["reweighted"]) == (1, 8000)   # no record: as given


def test_nothing_closed_says_so(cli) -> None:
    assert cli.ok("report", "calibration", env=NOW).stdout == (
        "No deal moved to won or lost from 2025-11-26 to 2026-11-25: nothing to check the "
        "odds against.\n")
    result = cli("report", "calibration", "--fail-if-empty", env=NOW)
    assert (result.exit_code, result.stdout) == (1, "")
