"""What should close when: open deals by expected close month, per owner and in total."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from crmctl.store import Crm

COLUMNS = ["currency", "month", "owner", "deals", "amount", "weighted", "past_close"]
NO_DATE = "no date"


@dataclass(frozen=True)
class ForecastRow:
    currency: str
    month: str        # YYYY-MM of the expected close, or "no date"
    owner: str        # a user, "(nobody)", or "total" for the month's total
    deals: int
    amount: Decimal
    weighted: Decimal
    past_close: int   # deals whose expected close date has already passed

    def as_dict(self) -> dict:
        return {c: getattr(self, c) for c in COLUMNS}


@dataclass(frozen=True)
class LateDeal:
    id: str
    name: str
    owner: str
    close: str
    amount: Decimal
    currency: str


def forecast_report(crm: Crm, today: date,
                    owner: str | None = None) -> tuple[list[ForecastRow], list[LateDeal]]:
    """Rows per currency, month and owner (and a total per month), months in order; plus
    the open deals whose expected close date has passed, oldest first."""
    if owner is not None and crm.process.users:
        crm.user_or_error(owner)
    closed = {s.id for s in crm.process.stages if s.closed}
    cells: dict[tuple[str, str, str], list] = {}
    late: list[LateDeal] = []
    for deal in crm.index.select("deal", owner=owner):
        if deal.get("stage") in closed:
            continue
        currency = deal.get("currency") or crm.process.currency
        close = deal.get("close")
        month = str(close)[:7] if close else NO_DATE
        who = deal.get("owner") or "(nobody)"
        amount = Decimal(str(deal.get("amount") or 0))
        weighted = amount * Decimal(str(deal.get("probability") or 0)) / 100
        passed = bool(close) and date.fromisoformat(str(close)) < today
        for key in ((currency, month, who), (currency, month, "total")):
            cell = cells.setdefault(key, [0, Decimal(0), Decimal(0), 0])
            cell[0] += 1
            cell[1] += amount
            cell[2] += weighted
            cell[3] += passed
        if passed:
            late.append(LateDeal(deal.id, deal.name, who, str(close), amount, currency))

    def order(key: tuple[str, str, str]) -> tuple:
        currency, month, who = key
        return (currency, month == NO_DATE, month, who == "total", who)

    rows = [ForecastRow(*key, *cells[key]) for key in sorted(cells, key=order)]
    return rows, sorted(late, key=lambda d: (d.close, d.name))
