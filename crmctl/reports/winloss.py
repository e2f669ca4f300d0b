"""Deals won and lost in the period: counts, amounts, win rate and lost reasons, per owner."""

from __future__ import annotations

from decimal import Decimal

from crmctl.render import money
from crmctl.reports import Options
from crmctl.reports.common import share, user_name, within
from crmctl.reports.document import COUNT, MONEY, PERCENT, Column, Report, Table
from crmctl.reports.pipeline import amount_of
from crmctl.reports.snapshot import Snapshot
from crmctl.store import Crm

OWNER_COLUMNS = [Column("owner_name", "OWNER"), Column("won", "WON", COUNT),
                 Column("won_amount", "WON AMOUNT", MONEY), Column("lost", "LOST", COUNT),
                 Column("lost_amount", "LOST AMOUNT", MONEY),
                 Column("win_rate", "WIN RATE", PERCENT)]


def build(crm: Crm, snapshot: Snapshot, options: Options) -> Report:
    first, last = options.period()
    whose = f" owned by {options.owner}" if options.owner else ""
    report = Report("winloss", f"Won and lost{whose}", options.today, since=first, until=last)
    outcome = {s.id: s.closed for s in crm.process.stages if s.closed}
    closed = [d for d in snapshot.records("deal")
              if d.get("stage") in outcome and within(d.get("closed_at"), first, last)
              and (options.owner is None or d.get("owner") == options.owner)]
    if not closed:
        report.empty = (f"No deals{whose} won or lost from {first.isoformat()} "
                        f"to {last.isoformat()}.")
        return report
    for currency in sorted({d.get("currency") or crm.process.currency for d in closed}):
        deals = [d for d in closed if (d.get("currency") or crm.process.currency) == currency]
        owners: dict[str, dict] = {}
        for deal in deals:
            who = deal.get("owner") or ""
            row = owners.setdefault(who, {"currency": currency, "owner": who or None,
                                          "owner_name": user_name(crm, who), "won": 0,
                                          "won_amount": Decimal(0), "lost": 0,
                                          "lost_amount": Decimal(0)})
            result = outcome[deal.get("stage")]
            row[result] += 1
            row[f"{result}_amount"] += amount_of(deal)
        rows = sorted(owners.values(), key=lambda r: r["owner_name"].lower())
        for row in rows:
            row["win_rate"] = share(row["won"], row["won"] + row["lost"])
        total = {"owner_name": "total", **{k: sum((r[k] for r in rows), Decimal(0) if "amount"
                                                  in k else 0)
                                           for k in ("won", "won_amount", "lost", "lost_amount")}}
        total["win_rate"] = share(total["won"], total["won"] + total["lost"])
        report.facts[currency] = {k: v for k, v in total.items() if k != "owner_name"}
        report.summary.append(
            f"{currency}: {total['won']} won ({money(total['won_amount'])}), {total['lost']} lost "
            f"({money(total['lost_amount'])}); win rate {total['win_rate']}%.")
        report.tables.append(Table("owners", f"Per owner, {currency}", OWNER_COLUMNS, rows,
                                   total=total))
    reasons: dict[str, list] = {}
    for deal in closed:
        if outcome[deal.get("stage")] == "lost":
            reason = str(deal.get("lost_reason") or "(no reason given)")
            cell = reasons.setdefault(reason, [0, []])
            cell[0] += 1
            cell[1].append(deal.name)
    lost_rows = [{"reason": reason, "deals": count, "names": ", ".join(sorted(names))}
                 for reason, (count, names) in sorted(reasons.items(),
                                                      key=lambda kv: (-kv[1][0], kv[0]))]
    report.tables.append(Table("lost_reasons", "Why deals were lost",
                               [Column("reason", "REASON"), Column("deals", "DEALS", COUNT),
                                Column("names", "DEALS LOST")], lost_rows,
                               empty="no deal was lost", bar="deals"))
    return report
