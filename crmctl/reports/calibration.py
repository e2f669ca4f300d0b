"""Are the odds honest? For each owner, the win probability they gave their deals against how
those deals closed: per probability band, a Brier score, and their open pipeline re-weighted
by their own record.

The probability a deal had just before it closed is read from the closing move in the log
(``probability_from``); for moves logged before crmctl kept it, the default probability of
the stage it closed from stands in.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crmctl.reports import Options
from crmctl.reports.common import share, user_name, within
from crmctl.reports.document import COUNT, MONEY, NUMBER, PERCENT, Column, Report, Table
from crmctl.reports.pipeline import amount_of, number_of
from crmctl.reports.snapshot import Snapshot
from crmctl.store import Crm

BANDS = ((0, 20), (20, 40), (40, 60), (60, 80), (80, 101))


def band_of(probability: Decimal) -> str:
    low, high = next(b for b in BANDS if b[0] <= probability < b[1])
    return f"{low}-{min(high, 100)}%"


def closed_with_odds(crm: Crm, snapshot: Snapshot, first, last) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Deals closed in the period: owner, the probability given before closing, won or not."""
    outcome = {s.id: s.closed for s in crm.process.stages if s.closed}
    defaults = {s.id: s.probability for s in crm.process.stages}
    closing = {}
    for entry in snapshot.entries():  # oldest first: the last closing move wins
        if entry.get("kind") == "move" and entry.get("field") == "stage" \
                and entry.get("to") in outcome and entry.get("deal"):
            closing[str(entry["deal"])] = entry
    deals = []
    for deal in snapshot.records("deal"):
        move = closing.get(deal.id)
        if deal.get("stage") not in outcome or move is None:
            continue  # entered already closed: nobody gave odds
        if not within(deal.get("closed_at") or move.get("at"), first, last):
            continue
        given = move.get("probability_from")
        if given is None:
            given = defaults.get(str(move.get("from")), 0)
        deals.append({"id": deal.id, "owner": deal.get("owner") or "",
                      "probability": Decimal(str(given)),
                      "won": outcome[deal.get("stage")] == "won"})
    return deals


def build(crm: Crm, snapshot: Snapshot, options: Options) -> Report:
    first, last = options.period(365)
    whose = f" of {options.owner}" if options.owner else ""
    report = Report("calibration", f"Calibration{whose}", options.today, since=first,
                    until=last)
    deals = [d for d in closed_with_odds(crm, snapshot, first, last)
             if options.owner is None or d["owner"] == options.owner]
    if not deals:
        report.empty = (f"No deal{whose} moved to won or lost from {first.isoformat()} to "
                        f"{last.isoformat()}: nothing to check the odds against.")
        return report
    owners = sorted({d["owner"] for d in deals}, key=lambda o: user_name(crm, o).lower())
    summary_rows, band_rows = [], []
    ratio: dict[str, Decimal] = {}
    for owner in owners:
        mine = [d for d in deals if d["owner"] == owner]
        predicted = sum((d["probability"] for d in mine), Decimal(0)) / len(mine)
        won = sum(d["won"] for d in mine)
        brier = sum(((d["probability"] / 100 - (1 if d["won"] else 0)) ** 2 for d in mine),
                    Decimal(0)) / len(mine)
        actual = Decimal(won) * 100 / len(mine)
        ratio[owner] = actual / predicted if predicted else Decimal(1)
        summary_rows.append({
            "owner": owner or None, "owner_name": user_name(crm, owner), "closed": len(mine),
            "won": won, "predicted": predicted.quantize(Decimal("0.1")),
            "actual": actual.quantize(Decimal("0.1")), "brier": brier.quantize(Decimal("0.001")),
            "leaning": _leaning(predicted, actual)})
        for low, high in BANDS:
            in_band = [d for d in mine if low <= d["probability"] < high]
            if in_band:
                band_rows.append({
                    "owner": owner or None, "owner_name": user_name(crm, owner),
                    "band": band_of(Decimal(low)), "deals": len(in_band),
                    "predicted": (sum((d["probability"] for d in in_band), Decimal(0))
                                  / len(in_band)).quantize(Decimal("0.1")),
                    "actual": share(sum(d["won"] for d in in_band), len(in_band))})
    report.facts = {"closed": len(deals), "won": sum(d["won"] for d in deals)}
    report.summary.append("A Brier score of 0 is perfect foresight; 0.25 is what always "
                          "saying 50% earns. Lower is better.")
    report.tables.append(Table("owners", "Odds given against outcomes, per owner", [
        Column("owner_name", "OWNER"), Column("closed", "CLOSED", COUNT),
        Column("won", "WON", COUNT), Column("predicted", "AVG ODDS GIVEN", PERCENT),
        Column("actual", "ACTUALLY WON", PERCENT), Column("brier", "BRIER", NUMBER),
        Column("leaning", "")], summary_rows))
    report.tables.append(Table("bands", "Per probability band", [
        Column("owner_name", "OWNER"), Column("band", "ODDS GIVEN"),
        Column("deals", "DEALS", COUNT), Column("predicted", "AVERAGE", PERCENT),
        Column("actual", "ACTUALLY WON", PERCENT)], band_rows))
    report.tables.append(_reweighted(crm, snapshot, ratio, options.owner))
    return report


def _leaning(predicted: Decimal, actual: Decimal) -> str:
    if predicted - actual > 10:
        return "optimistic"
    if actual - predicted > 10:
        return "cautious"
    return "well calibrated"


def _reweighted(crm: Crm, snapshot: Snapshot, ratio: dict[str, Decimal],
                only: str | None) -> Table:
    """Open deals weighted by the owner's odds, then by the odds their record earns."""
    closed = {s.id for s in crm.process.stages if s.closed}
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for deal in snapshot.records("deal"):
        owner = deal.get("owner") or ""
        if deal.get("stage") in closed or (only and owner != only):
            continue
        currency = deal.get("currency") or crm.process.currency
        row = rows.setdefault((owner, currency), {
            "owner": owner or None, "owner_name": user_name(crm, owner), "currency": currency,
            "deals": 0, "amount": Decimal(0), "weighted": Decimal(0), "reweighted": Decimal(0),
            "factor": ratio.get(owner, Decimal(1)).quantize(Decimal("0.01"))})
        probability = number_of(deal.get("probability"))
        corrected = min(Decimal(100), probability * ratio.get(owner, Decimal(1)))
        row["deals"] += 1
        row["amount"] += amount_of(deal)
        row["weighted"] += amount_of(deal) * probability / 100
        row["reweighted"] += amount_of(deal) * corrected / 100
    for row in rows.values():
        for key in ("weighted", "reweighted"):
            row[key] = row[key].quantize(Decimal("0.01")).normalize() if row[key] else Decimal(0)
    return Table("reweighted", "Open pipeline re-weighted by each owner's record", [
        Column("owner_name", "OWNER"), Column("currency", "CUR"), Column("deals", "DEALS", COUNT),
        Column("amount", "AMOUNT", MONEY), Column("weighted", "AS GIVEN", MONEY),
        Column("factor", "FACTOR", NUMBER), Column("reweighted", "RE-WEIGHTED", MONEY)],
        sorted(rows.values(), key=lambda r: (r["owner_name"].lower(), r["currency"])),
        empty="no open deals")
