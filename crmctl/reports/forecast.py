"""What should close when: open deals by expected close month, per owner and in total."""

from __future__ import annotations

from decimal import Decimal

from crmctl.render import money
from crmctl.reports import Options
from crmctl.reports.common import day_of
from crmctl.reports.document import COUNT, MONEY, QUIET, Column, Report, Table
from crmctl.reports.pipeline import CENT, amount_of, weighted_of
from crmctl.reports.snapshot import Snapshot
from crmctl.store import Crm

NO_DATE = "no date"
COLUMNS = [Column("month", "CLOSE"), Column("owner", "OWNER"), Column("deals", "DEALS", COUNT),
           Column("amount", "AMOUNT", MONEY), Column("weighted", "WEIGHTED", MONEY),
           Column("past_close", "PAST CLOSE", COUNT)]
LATE_COLUMNS = [Column("close", "CLOSE"), Column("name", "DEAL"), Column("owner", "OWNER"),
                Column("amount", "AMOUNT", MONEY), Column("currency", "CUR"), Column("id", "ID")]


def build(crm: Crm, snapshot: Snapshot, options: Options) -> Report:
    """Rows per currency, month and owner, and a total per month, months in order; then the
    open deals whose expected close date has passed."""
    today = options.as_of or options.today
    whose = f" owned by {options.owner}" if options.owner else ""
    report = Report("forecast", f"Forecast{whose}", options.today, as_of=options.as_of)
    closed = {s.id for s in crm.process.stages if s.closed}
    cells: dict[tuple[str, str, str], list] = {}
    late = []
    for deal in snapshot.records("deal"):
        if deal.get("stage") in closed or (options.owner and deal.get("owner") != options.owner):
            continue
        currency = deal.get("currency") or crm.process.currency
        close = day_of(deal.get("close"))  # None too when a hand edit wrote no date
        month = close.isoformat()[:7] if close else NO_DATE
        who = deal.get("owner") or "(nobody)"
        passed = close is not None and close < today
        for key in ((currency, month, who), (currency, month, "total")):
            cell = cells.setdefault(key, [0, Decimal(0), Decimal(0), 0])
            cell[0] += 1
            cell[1] += amount_of(deal)
            cell[2] += weighted_of(deal)
            cell[3] += passed
        if passed:
            late.append({"close": close.isoformat(), "name": deal.name, "owner": who,
                         "amount": amount_of(deal), "currency": currency, "id": deal.id})
    if not cells:
        report.empty = f"No open deals{whose} to forecast."
        return report
    owners: dict[tuple[str, str], int] = {}
    for currency, month, who in cells:
        owners[(currency, month)] = owners.get((currency, month), 0) + (who != "total")
    for currency in sorted({c for c, _, _ in cells}):
        keys = sorted((k for k in cells if k[0] == currency),
                      key=lambda k: (k[1] == NO_DATE, k[1], k[2] == "total", k[2]))
        rows = []
        for key in keys:
            deals, amount, weighted, past = cells[key]
            one_owner = key[2] == "total" and owners[key[:2]] < 2
            rows.append({"currency": currency, "month": key[1], "owner": key[2],
                         "deals": deals, "amount": amount,
                         "weighted": weighted.quantize(CENT).normalize() if weighted
                         else Decimal(0), "past_close": past,
                         QUIET: one_owner})  # a month with one owner: its total repeats it
        mine = [cells[k] for k in keys if k[2] == "total"]
        amount = sum((c[1] for c in mine), Decimal(0))
        weighted = sum((c[2] for c in mine), Decimal(0)).quantize(CENT).normalize()
        report.facts[currency] = {"deals": sum(c[0] for c in mine), "amount": amount,
                                  "weighted": weighted}
        report.tables.append(Table("months", f"Forecast{whose} in {currency}: "
                                   f"{money(amount)} open, {money(weighted)} weighted",
                                   COLUMNS, rows))
    late.sort(key=lambda d: (d["close"], d["name"]))
    report.tables.append(Table("past_close", f"Past their expected close date ({len(late)})",
                               LATE_COLUMNS, late, empty="none: every open deal is on time"))
    return report
