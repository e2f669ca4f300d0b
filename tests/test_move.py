"""crmctl move: a deal through the pipeline, a company or person to another status.

    crmctl move DEAL STAGE [--amount A] [--probability P] [--close DATE] [--reason TEXT]
    crmctl move COMPANY|PERSON STATUS
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import Cli, add_users, build_once, copy_of, git

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
STAGES = ("contact-made", "meeting-arranged", "qualified", "proposal-presented",
          "in-negotiation", "won", "lost")
STATUSES = ("lead", "contact", "prospect", "client", "past-client", "unqualified",
            "requested-callback", "do-not-contact")


def a_pipeline(cli: Cli) -> None:
    """Acme, a prospect, with Jane; "Renewal" has an amount but no close date, "Expansion"
    has neither; both in the first stage."""
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"))
    cli.ok("add", "company", "Acme Products, Inc.", "--status", "prospect")
    cli.ok("add", "person", "Jane Doe", "--company", "Acme Products")
    cli.ok("add", "deal", "Renewal", "--company", "Acme Products", "--person", "Jane Doe",
           "--amount", "12000")
    cli.ok("add", "deal", "Expansion", "--company", "Acme Products")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_once(tmp_path_factory, a_pipeline)


@pytest.fixture
def crm(template, tmp_path, monkeypatch) -> Cli:
    return copy_of(template, tmp_path, monkeypatch)


def record(cli: Cli, ref: str) -> dict:
    return json.loads(cli.ok("show", ref, "--format", "json").stdout)["record"]


def moves(cli: Cli, ref: str) -> list[dict]:
    """The moves on a record's timeline, newest first."""
    return [e for e in json.loads(cli.ok("show", ref, "--format", "json").stdout)["timeline"]
            if e["kind"] == "move"]


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


def refused(cli: Cli, code: int, *args: str) -> str:
    """A refused move: one line on stderr, no commit, git status as clean as before."""
    before = commits(cli.root)
    result = cli.fails(code, *args)
    assert commits(cli.root) == before
    assert git(cli.root, "status", "--porcelain", "--untracked-files=all") == ""
    return result.stderr


# --- deals through the pipeline ----------------------------------------------------------

def test_a_deal_moves_to_another_stage_and_takes_its_probability(crm) -> None:
    before = commits(crm.root)
    out = crm.ok("move", "Renewal", "meeting-arranged").stdout
    assert out == 'Move deal "Renewal": contact-made -> meeting-arranged\n'
    deal = record(crm, "Renewal")
    assert deal["stage"] == "meeting-arranged" and deal["probability"] == 20
    assert STAMP.match(deal["stage_since"])
    assert "closed_at" not in deal
    assert commits(crm.root) == before + 1
    assert git(crm.root, "log", "-1", "--format=%an|%s") == \
        'Sam Seller|Move deal "Renewal": contact-made -> meeting-arranged'
    assert git(crm.root, "status", "--porcelain") == ""


def test_a_probability_given_on_the_move_wins_over_the_stages(crm) -> None:
    crm.ok("move", "Renewal", "meeting-arranged", "--probability", "35")
    assert record(crm, "Renewal")["probability"] == 35
    crm.ok("move", "Renewal", "contact-made")  # the next move without one: the stage's again
    assert record(crm, "Renewal")["probability"] == 10


def test_a_probability_is_a_percentage_and_may_say_so(crm) -> None:
    crm.ok("move", "Renewal", "meeting-arranged", "--probability", "12.5%")
    assert record(crm, "Renewal")["probability"] == 12.5
    crm.ok("move", "Renewal", "contact-made", "--probability", "0.5%")  # said so: half a percent
    assert record(crm, "Renewal")["probability"] == 0.5
    result = crm.fails(1, "move", "Renewal", "meeting-arranged", "--probability", "0.4")
    assert "write 40 for 40%, or 0.4% if you mean under one percent" in result.stderr


def test_an_unknown_stage_lists_the_valid_ones(crm) -> None:
    stderr = refused(crm, 1, "move", "Renewal", "negotiating")
    assert "unknown stage 'negotiating'" in stderr
    assert ", ".join(STAGES) in stderr


def test_moving_to_the_current_stage_is_refused(crm) -> None:
    assert "already in contact-made" in refused(crm, 1, "move", "Renewal", "contact-made")


def test_from_qualified_on_a_deal_needs_amount_probability_and_close(crm) -> None:
    stderr = refused(crm, 1, "move", "Expansion", "qualified")
    assert "needs amount, close" in stderr and "--amount" in stderr and "--close" in stderr
    stderr = refused(crm, 1, "move", "Renewal", "proposal-presented")
    assert "needs close" in stderr and "amount" not in stderr.split("(")[0]
    assert record(crm, "Renewal")["stage"] == "contact-made"


def test_details_given_on_the_move_satisfy_the_rule(crm) -> None:
    crm.ok("move", "Renewal", "qualified", "--close", "2027-03-31")
    renewal = record(crm, "Renewal")
    assert (renewal["stage"], renewal["close"], renewal["amount"]) == \
        ("qualified", "2027-03-31", 12000)
    crm.ok("move", "Expansion", "in-negotiation", "--amount", "30,000",
           "--close", "2027-06-30", "--probability", "70")
    expansion = record(crm, "Expansion")
    assert (expansion["amount"], expansion["close"], expansion["probability"]) == \
        (30000, "2027-06-30", 70)


def test_before_qualified_no_details_are_needed(crm) -> None:
    crm.ok("move", "Expansion", "meeting-arranged")
    assert "amount" not in record(crm, "Expansion")


def test_lost_needs_a_reason(crm) -> None:
    stderr = refused(crm, 1, "move", "Expansion", "lost")
    assert "needs a reason" in stderr and "--reason" in stderr
    refused(crm, 1, "move", "Expansion", "lost", "--reason", "   ")


def test_lost_keeps_the_reason_and_closes_the_deal(crm) -> None:
    out = crm.ok("move", "Expansion", "lost", "--reason", "Went with a competitor").stdout
    assert out == 'Move deal "Expansion": contact-made -> lost (Went with a competitor)\n'
    deal = record(crm, "Expansion")  # no amount needed to lose a deal
    assert deal["stage"] == "lost" and deal["probability"] == 0
    assert deal["lost_reason"] == "Went with a competitor"
    assert STAMP.match(deal["closed_at"])
    [move] = moves(crm, "Expansion")
    assert move["reason"] == "Went with a competitor"


def test_won_closes_the_deal_and_reopening_clears_it(crm) -> None:
    crm.ok("move", "Renewal", "won", "--close", "2026-01-15")
    deal = record(crm, "Renewal")
    assert deal["stage"] == "won" and deal["probability"] == 100
    assert STAMP.match(deal["closed_at"]) and deal["stage_since"] == deal["closed_at"]
    crm.ok("move", "Renewal", "in-negotiation")
    reopened = record(crm, "Renewal")
    assert "closed_at" not in reopened and reopened["probability"] == 80


def test_deal_options_are_refused_for_companies_and_people(crm) -> None:
    assert "for deals" in refused(crm, 1, "move", "acme-products", "client", "--amount", "5")


def test_an_unknown_record_is_refused(crm) -> None:
    refused(crm, 3, "move", "Nonexistent Widget Deal Zzz", "won")


# --- the stage history -------------------------------------------------------------------

def test_every_move_is_kept_with_stage_date_and_who(crm) -> None:
    crm.ok("--as", "sarah", "move", "Renewal", "meeting-arranged")
    crm.ok("--as", "jim", "move", "Renewal", "qualified", "--close", "2027-03-31")
    crm.ok("--as", "sarah", "move", "Renewal", "proposal-presented")
    history = [(m["field"], m["from"], m["to"], m["by"]) for m in moves(crm, "Renewal")]
    assert history == [("stage", "qualified", "proposal-presented", "sarah"),
                       ("stage", "meeting-arranged", "qualified", "jim"),
                       ("stage", "contact-made", "meeting-arranged", "sarah")]
    for move in moves(crm, "Renewal"):
        assert STAMP.match(move["at"]) and move["deal"] == "acme-products-renewal"
    assert moves(crm, "acme-products") == moves(crm, "Renewal")  # on the company's too
    table = crm.ok("show", "Renewal").stdout
    assert "stage: meeting-arranged -> qualified" in table
    assert git(crm.root, "log", "-1", "--format=%an <%ae>") == \
        "Sarah Closer <sarah@example.com>"


def test_the_move_log_is_appended_not_rewritten(crm) -> None:
    crm.ok("move", "Renewal", "meeting-arranged")
    [log] = list((crm.root / "activities").glob("*/*.jsonl"))
    first = log.read_bytes()
    crm.ok("move", "Renewal", "contact-made")
    assert log.read_bytes().startswith(first)
    assert len(log.read_bytes().splitlines()) == 2


# --- lifecycle statuses ------------------------------------------------------------------

def test_a_company_moves_to_another_status(crm) -> None:
    before = commits(crm.root)
    out = crm.ok("--as", "jim", "move", "acme-products", "client").stdout
    assert out == 'Move company "Acme Products, Inc.": prospect -> client\n'
    assert record(crm, "acme-products")["status"] == "client"
    assert commits(crm.root) == before + 1
    assert git(crm.root, "log", "-1", "--format=%an") == "Jim Seller"
    [move] = moves(crm, "acme-products")
    assert (move["field"], move["from"], move["to"], move["by"], move["by_name"]) == \
        ("status", "prospect", "client", "jim", "Jim Seller")


def test_a_person_moves_to_another_status(crm) -> None:
    crm.ok("move", "Jane Doe", "requested-callback")
    assert record(crm, "Jane Doe")["status"] == "requested-callback"
    assert record(crm, "acme-products")["status"] == "prospect"
    [move] = moves(crm, "Jane Doe")
    assert (move["from"], move["to"], move["person"]) == ("lead", "requested-callback",
                                                         "jane-doe")
    assert moves(crm, "acme-products") == [move]


def test_an_unknown_status_lists_the_valid_ones(crm) -> None:
    stderr = refused(crm, 1, "move", "acme-products", "hot")
    assert "unknown status 'hot'" in stderr and ", ".join(STATUSES) in stderr


def test_moving_to_the_current_status_is_refused(crm) -> None:
    assert "already prospect" in refused(crm, 1, "move", "acme-products", "prospect")


def test_a_stage_is_not_a_status_nor_a_status_a_stage(crm) -> None:
    assert "unknown status 'won'" in refused(crm, 1, "move", "acme-products", "won")
    assert "unknown stage 'client'" in refused(crm, 1, "move", "Renewal", "client")
