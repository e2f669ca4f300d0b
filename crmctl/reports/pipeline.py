"""Where the money sits: open deals per stage, in pipeline order, with weighted amounts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from crmctl.store import Crm

COLUMNS = ["stage", "currency", "deals", "amount", "weighted"]


@dataclass(frozen=True)
class StageRow:
    stage: str
    currency: str
    deals: int
    amount: Decimal
    weighted: Decimal  # sum of amount x probability / 100

    def as_dict(self) -> dict:
        return {"stage": self.stage, "currency": self.currency, "deals": self.deals,
                "amount": self.amount, "weighted": self.weighted}


def pipeline_report(crm: Crm, owner: str | None = None) -> list[StageRow]:
    """One row per open stage and currency (amounts in different currencies never add up),
    stages in pipeline order; a stage with no deals still has its row, with zeros."""
    if owner is not None and crm.process.users:
        crm.user_or_error(owner)
    open_stages = [s.id for s in crm.process.stages if not s.closed]
    totals: dict[tuple[str, str], list] = {}
    for deal in crm.index.select("deal", owner=owner):
        stage = deal.get("stage")
        if stage not in open_stages:
            continue
        currency = deal.get("currency") or crm.process.currency
        amount = Decimal(str(deal.get("amount") or 0))
        probability = Decimal(str(deal.get("probability") or 0))
        row = totals.setdefault((stage, currency), [0, Decimal(0), Decimal(0)])
        row[0] += 1
        row[1] += amount
        row[2] += amount * probability / 100
    currencies = sorted({c for _, c in totals}) or [crm.process.currency]
    return [StageRow(stage, currency, *totals.get((stage, currency), (0, Decimal(0), Decimal(0))))
            for currency in currencies for stage in open_stages]


def bar(value: Decimal, largest: Decimal, width: int = 24) -> str:
    """A text bar: the stage's share of the largest stage, in block characters."""
    if largest <= 0 or value <= 0:
        return ""
    return "█" * max(1, round(float(value / largest) * width))
