"""Where the money sits: open deals per stage, in pipeline order, with weighted amounts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from crmctl.render import money
from crmctl.reports import Options
from crmctl.reports.common import counted
from crmctl.reports.document import COUNT, MONEY, Column, Report, Table
from crmctl.reports.snapshot import Snapshot
from crmctl.store import Crm

COLUMNS = [Column("stage", "STAGE"), Column("deals", "DEALS", COUNT),
           Column("amount", "AMOUNT", MONEY), Column("weighted", "WEIGHTED", MONEY)]
CENT = Decimal("0.01")


def number_of(value: object) -> Decimal:
    """A number of a record, 0 when a hand edit left something else (check reports it)."""
    try:
        return Decimal(str(value or 0))
    except InvalidOperation:
        return Decimal(0)


def amount_of(deal) -> Decimal:  # type: ignore[no-untyped-def]
    return number_of(deal.get("amount"))


def weighted_of(deal) -> Decimal:  # type: ignore[no-untyped-def]
    return amount_of(deal) * number_of(deal.get("probability")) / 100


def build(crm: Crm, snapshot: Snapshot, options: Options) -> Report:
    """One row per open stage and currency (amounts in different currencies never add up),
    stages in pipeline order; a stage with no deals still has its row, with zeros."""
    whose = f" owned by {options.owner}" if options.owner else ""
    report = Report("pipeline", f"Pipeline{whose}", options.today, as_of=options.as_of)
    open_stages = [s.id for s in crm.process.stages if not s.closed]
    cells: dict[tuple[str, str], list] = {}
    for deal in snapshot.records("deal"):
        if deal.get("stage") not in open_stages:
            continue
        if options.owner and deal.get("owner") != options.owner:
            continue
        currency = deal.get("currency") or crm.process.currency
        cell = cells.setdefault((deal.get("stage"), currency), [0, Decimal(0), Decimal(0)])
        cell[0] += 1
        cell[1] += amount_of(deal)
        cell[2] += weighted_of(deal)
    if not cells:
        report.empty = f"No open deals{whose}."
        return report
    for currency in sorted({c for _, c in cells}):
        rows = [{"stage": stage, "currency": currency,
                 **dict(zip(("deals", "amount", "weighted"),
                            cells.get((stage, currency), (0, Decimal(0), Decimal(0)))))}
                for stage in open_stages]
        for row in rows:
            row["weighted"] = row["weighted"].quantize(CENT).normalize() \
                if row["weighted"] else Decimal(0)
        total = {"stage": "total", "deals": sum(r["deals"] for r in rows),
                 "amount": sum((r["amount"] for r in rows), Decimal(0)),
                 "weighted": sum((r["weighted"] for r in rows), Decimal(0))}
        report.facts[currency] = {k: v for k, v in total.items() if k != "stage"}
        report.tables.append(Table(
            "stages", f"Open pipeline{whose} in {currency}: {counted(total['deals'], 'deal')}, "
            f"{money(total['amount'])} ({money(total['weighted'])} weighted)",
            COLUMNS, rows, total=total, bar="amount"))
    return report
