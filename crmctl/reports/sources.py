"""Which lead sources pay: per source and campaign, the leads, how many were reached, the
deals they led to and the revenue won from them, in the period."""

from __future__ import annotations

from decimal import Decimal

from crmctl.render import money
from crmctl.reports import Options
from crmctl.reports.common import share, within
from crmctl.reports.document import COUNT, MONEY, PERCENT, Column, Report, Table
from crmctl.reports.pipeline import amount_of
from crmctl.reports.snapshot import Snapshot
from crmctl.store import Crm

NO_SOURCE = "(no source)"
COLUMNS = [Column("source", "SOURCE"), Column("campaign", "CAMPAIGN"),
           Column("leads", "LEADS", COUNT), Column("reached", "REACHED", COUNT),
           Column("reach_rate", "REACHED %", PERCENT), Column("deals", "DEALS", COUNT),
           Column("won", "WON", COUNT), Column("won_revenue", "WON REVENUE", MONEY),
           Column("won_other_currencies", "WON, OTHER CURRENCIES")]


def build(crm: Crm, snapshot: Snapshot, options: Options) -> Report:
    """Leads are the companies added in the period; deals those added in it; won revenue
    that of deals won in it, in the CRM's currency (others listed beside it). A deal counts
    for its own source, else its company's. The period defaults to the last 365 days."""
    first, last = options.period(365)
    whose = f" owned by {options.owner}" if options.owner else ""
    report = Report("sources", f"Lead sources{whose}", options.today, since=first, until=last)
    companies = {c.id: c for c in snapshot.records("company")}
    real = {t.id for t in crm.process.activity_types if t.contact == "real"}
    reached = {str(e.get("company")) for e in snapshot.entries()
               if e.get("kind") == "activity" and e.get("type") in real}
    won_stages = {s.id for s in crm.process.stages if s.closed == "won"}
    groups: dict[tuple[str, str], dict] = {}

    def group(record, fallback=None) -> dict:  # type: ignore[no-untyped-def]
        source = record.get("source") or (fallback.get("source") if fallback else None)
        campaign = record.get("campaign") or (fallback.get("campaign") if fallback else None)
        key = (str(source or NO_SOURCE), str(campaign or ""))
        return groups.setdefault(key, {"source": key[0], "campaign": key[1] or None,
                                       "leads": 0, "reached": 0, "deals": 0, "won": 0,
                                       "won_revenue": Decimal(0)})

    def mine(record) -> bool:  # type: ignore[no-untyped-def]
        return options.owner is None or record.get("owner") == options.owner

    for company in companies.values():
        if mine(company) and within(company.get("created"), first, last):
            row = group(company)
            row["leads"] += 1
            row["reached"] += company.id in reached
    for deal in snapshot.records("deal"):
        if not mine(deal):
            continue
        company = companies.get(str(deal.get("company")))
        if within(deal.get("created"), first, last):
            group(deal, company)["deals"] += 1
        if deal.get("stage") in won_stages and within(deal.get("closed_at"), first, last):
            row = group(deal, company)
            row["won"] += 1
            currency = deal.get("currency") or crm.process.currency
            if currency == crm.process.currency:
                row["won_revenue"] += amount_of(deal)
            else:  # amounts in different currencies never add up
                other = row.setdefault("other", {})
                other[currency] = other.get(currency, Decimal(0)) + amount_of(deal)
    rows = [r for r in groups.values() if r["leads"] or r["deals"] or r["won"]]
    if not rows:
        report.empty = (f"No leads, deals or wins{whose} from {first.isoformat()} "
                        f"to {last.isoformat()}.")
        return report
    for row in rows:
        row["reach_rate"] = share(row["reached"], row["leads"])
        other = row.pop("other", {})
        row["won_other_currencies"] = "; ".join(
            f"{money(v)} {c}" for c, v in sorted(other.items())) or None
    rows.sort(key=lambda r: (-r["won_revenue"], r["source"] == NO_SOURCE, r["source"],
                             r["campaign"] or ""))
    total = {"source": "total", **{k: sum((r[k] for r in rows), Decimal(0) if k ==
                                         "won_revenue" else 0)
                                  for k in ("leads", "reached", "deals", "won", "won_revenue")}}
    total["reach_rate"] = share(total["reached"], total["leads"])
    report.facts = {k: v for k, v in total.items() if k != "source"}
    columns = [c for c in COLUMNS if c.key not in ("campaign", "won_other_currencies")
               or any(r[c.key] for r in rows)]  # no empty columns on the page
    report.tables.append(Table("sources", "Per source and campaign", columns, rows,
                               total=total, bar="won_revenue"))
    return report
