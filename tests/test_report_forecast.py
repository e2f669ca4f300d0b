"""crmctl report forecast: open deals by expected close month, per owner and in total."""

from __future__ import annotations

import json

import pytest

from conftest import add_users

NOW = {"CRMCTL_NOW": "2026-11-25T09:00:00+00:00"}


@pytest.fixture
def deals(cli):
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"))
    cli.ok("add", "company", "Initech")
    add = ["add", "deal", "--company", "Initech"]
    cli.ok(*add[:2], "A", *add[2:], "--amount", "1000", "--close", "2026-12-10", "--owner",
           "sarah", env=NOW)                                                    # 10%: 100
    cli.ok(*add[:2], "B", *add[2:], "--amount", "3000", "--close", "2026-12-20", "--owner",
           "jim", "--probability", "50", env=NOW)                               # 1,500
    cli.ok(*add[:2], "C", *add[2:], "--amount", "2000", "--close", "2026-10-31", "--owner",
           "jim", env=NOW)                                                      # past: 200
    cli.ok(*add[:2], "D", *add[2:], "--amount", "500", "--owner", "sarah", env=NOW)  # no date
    cli.ok(*add[:2], "E", *add[2:], "--amount", "9999", "--stage", "won", "--close",
           "2026-12-01", env=NOW)                                               # closed: out
    return cli


def test_months_owners_and_totals_computed_by_hand(deals) -> None:
    rows = json.loads(deals.ok("report", "forecast", "--format", "json", env=NOW).stdout)["months"]
    got = [(r["month"], r["owner"], r["deals"], r["amount"], r["weighted"], r["past_close"])
           for r in rows]
    assert got == [
        ("2026-10", "jim", 1, 2000, 200, 1), ("2026-10", "total", 1, 2000, 200, 1),
        ("2026-12", "jim", 1, 3000, 1500, 0), ("2026-12", "sarah", 1, 1000, 100, 0),
        ("2026-12", "total", 2, 4000, 1600, 0),
        ("no date", "sarah", 1, 500, 50, 0), ("no date", "total", 1, 500, 50, 0)]


def test_text_flags_deals_past_their_close_date(deals) -> None:
    out = deals.ok("report", "forecast", env=NOW).stdout
    assert out.startswith("Forecast (2026-11-25)\n\nForecast in USD: 6,500 open, 1,850 weighted\n")
    october = next(line for line in out.splitlines() if line.startswith("2026-10  jim"))
    assert october.split()[-1] == "1"  # past close
    late = out.split("Past their expected close date (1)")[1]
    assert "2026-10-31  C" in late and "initech-c" in late


def test_owner_narrows_it_and_an_empty_forecast_says_so(deals, cli) -> None:
    rows = json.loads(deals.ok("report", "forecast", "--owner", "sarah", "--format", "json",
                               env=NOW).stdout)["months"]
    assert {r["owner"] for r in rows} == {"sarah", "total"}
    assert sum(r["amount"] for r in rows if r["owner"] == "total") == 1500
    deals.ok("move", "A", "lost", "--reason", "budget")
    deals.ok("move", "D", "lost", "--reason", "budget")
    assert deals.ok("report", "forecast", "--owner", "sarah", env=NOW).stdout == \
        "No open deals owned by sarah to forecast.\n"
