"""crmctl report pipeline: open deals per stage in pipeline order, with weighted amounts."""

from __future__ import annotations

import json

import pytest

from conftest import add_users


@pytest.fixture
def pipeline(cli):
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"))
    cli.ok("add", "company", "Initech")
    cli.ok("add", "company", "Globex")
    # contact-made (10%): 1,000 + 3,000; qualified (40%): 10,000; in-negotiation at 75%: 20,000
    cli.ok("add", "deal", "A", "--company", "Initech", "--amount", "1000", "--owner", "sarah")
    cli.ok("add", "deal", "B", "--company", "Globex", "--amount", "3000", "--owner", "jim")
    cli.ok("add", "deal", "C", "--company", "Globex", "--amount", "10000", "--stage",
           "qualified", "--close", "2027-01-31", "--owner", "jim")
    cli.ok("add", "deal", "D", "--company", "Initech", "--amount", "20000", "--stage",
           "in-negotiation", "--probability", "75", "--close", "2027-02-28", "--owner", "sarah")
    # Closed deals and other currencies stay out of the USD totals.
    cli.ok("add", "deal", "E", "--company", "Initech", "--amount", "99999", "--stage", "won",
           "--close", "2026-10-01")
    cli.ok("add", "deal", "F", "--company", "Globex", "--amount", "500", "--currency", "EUR")
    return cli


def test_totals_by_stage_computed_by_hand(pipeline) -> None:
    rows = json.loads(pipeline.ok("report", "pipeline", "--format", "json").stdout)["stages"]
    usd = {r["stage"]: (r["deals"], r["amount"], r["weighted"]) for r in rows
           if r["currency"] == "USD"}
    assert usd == {"contact-made": (2, 4000, 400), "meeting-arranged": (0, 0, 0),
                   "qualified": (1, 10000, 4000), "proposal-presented": (0, 0, 0),
                   "in-negotiation": (1, 20000, 15000)}
    eur = [r for r in rows if r["currency"] == "EUR" and r["deals"]]
    assert eur == [{"stage": "contact-made", "currency": "EUR", "deals": 1, "amount": 500,
                    "weighted": 50}]


def test_text_has_totals_and_bars_in_pipeline_order(pipeline) -> None:
    out = pipeline.ok("report", "pipeline").stdout
    assert "Open pipeline in USD: 4 deals, 34,000 (19,400 weighted)" in out
    usd = out.split("Open pipeline in USD")[1].splitlines()
    stages = [line.split()[0] for line in usd[3:] if not line.startswith("---")]
    assert stages == ["contact-made", "meeting-arranged", "qualified", "proposal-presented",
                      "in-negotiation", "total"]
    negotiation = next(line for line in usd if line.startswith("in-negotiation"))
    assert negotiation.endswith("█" * 24)  # the largest stage has the full bar
    assert "\x1b[" not in out


def test_owner_narrows_it(pipeline) -> None:
    rows = json.loads(pipeline.ok("report", "pipeline", "--owner", "jim", "--format",
                                  "json").stdout)["stages"]
    assert sum(r["deals"] for r in rows) == 2
    assert sum(r["weighted"] for r in rows) == 300 + 4000


def test_nothing_open_says_so(cli) -> None:
    assert cli.ok("report", "pipeline").stdout == "No open deals.\n"
