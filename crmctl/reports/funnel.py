"""How far companies get: how many sit at each status, the conversion from each step of the
funnel to the next, and the response rate of leads per source and campaign."""

from __future__ import annotations

from typing import Any

from crmctl.reports import Options
from crmctl.reports.common import counted, share
from crmctl.reports.document import COUNT, PERCENT, Column, Report, Table
from crmctl.reports.snapshot import Snapshot
from crmctl.store import Crm

NO_SOURCE = "(no source)"


def funnel_statuses(crm: Crm) -> list[str]:
    """The statuses of the funnel proper, in order: those before the first inactive status
    (lead, contact, prospect, client by default), the do-not-contact status aside."""
    rules = crm.process.rules
    funnel = []
    for status in crm.process.statuses:
        if status in rules.inactive_statuses:
            break
        if status != rules.do_not_contact_status:
            funnel.append(status)
    return funnel


def reached(companies: list, entries: list[dict[str, Any]], funnel: list[str]) -> dict[str, int]:
    """Company id -> the furthest funnel step it ever reached (its status now, or any
    status its history passed through)."""
    level = {status: n for n, status in enumerate(funnel)}
    furthest = {c.id: level.get(str(c.get("status")), -1) for c in companies}
    for entry in entries:
        if entry.get("kind") != "move" or entry.get("field") != "status" or entry.get("person"):
            continue
        company = str(entry.get("company"))
        if company in furthest:
            steps = [level.get(str(entry.get(k)), -1) for k in ("from", "to")]
            furthest[company] = max(furthest[company], *steps)
    return furthest


def build(crm: Crm, snapshot: Snapshot, options: Options) -> Report:
    whose = f" owned by {options.owner}" if options.owner else ""
    report = Report("funnel", f"Funnel{whose}", options.today, as_of=options.as_of)
    companies = [c for c in snapshot.records("company")
                 if options.owner is None or c.get("owner") == options.owner]
    if not companies:
        report.empty = f"No companies{whose}."
        return report
    entries = snapshot.entries()
    statuses = list(crm.process.statuses)
    now_at = {s: sum(1 for c in companies if c.get("status") == s) for s in statuses}
    report.tables.append(Table(
        "statuses", "Companies per status",
        [Column("status", "STATUS"), Column("companies", "COMPANIES", COUNT),
         Column("share", "SHARE", PERCENT)],
        [{"status": s, "companies": now_at[s], "share": share(now_at[s], len(companies))}
         for s in statuses], total={"status": "total", "companies": len(companies)},
        bar="companies"))
    funnel = funnel_statuses(crm)
    furthest = reached(companies, entries, funnel)
    steps = []
    for n, status in enumerate(funnel):
        count = sum(1 for level in furthest.values() if level >= n)
        following = sum(1 for level in furthest.values() if level >= n + 1)
        steps.append({"status": status, "reached": count,
                      "next": funnel[n + 1] if n + 1 < len(funnel) else None,
                      "went_on": following if n + 1 < len(funnel) else None,
                      "conversion": share(following, count) if n + 1 < len(funnel) else None})
    report.tables.append(Table(
        "conversion", "Conversion from each step to the next (ever reached)",
        [Column("status", "STEP"), Column("reached", "REACHED", COUNT),
         Column("next", "NEXT"), Column("went_on", "WENT ON", COUNT),
         Column("conversion", "CONVERSION", PERCENT)], steps, bar="reached"))
    real = {t.id for t in crm.process.activity_types if t.contact == "real"}
    contacted = {str(e.get("company")) for e in entries
                 if e.get("kind") == "activity" and e.get("type") in real}
    groups: dict[tuple[str, str], list[int]] = {}
    for company in companies:
        key = (str(company.get("source") or NO_SOURCE), str(company.get("campaign") or ""))
        cell = groups.setdefault(key, [0, 0])
        cell[0] += 1
        cell[1] += company.id in contacted
    rows = [{"source": s, "campaign": c or None, "leads": n, "responded": r,
             "response_rate": share(r, n)}
            for (s, c), (n, r) in sorted(groups.items(),
                                         key=lambda kv: (kv[0][0] == NO_SOURCE, kv[0]))]
    report.facts = {"companies": len(companies),
                    "responded": sum(r["responded"] for r in rows),
                    "response_rate": share(sum(r["responded"] for r in rows), len(companies))}
    report.summary.append(f"{counted(len(companies), 'company', 'companies')}; "
                          f"{report.facts['responded']} with at "
                          f"least one real contact ({report.facts['response_rate']}%).")
    report.tables.append(Table(
        "response", "Response rate per source and campaign (at least one real contact)",
        [Column("source", "SOURCE"),
         *([Column("campaign", "CAMPAIGN")] if any(r["campaign"] for r in rows) else []),
         Column("leads", "COMPANIES", COUNT), Column("responded", "RESPONDED", COUNT),
         Column("response_rate", "RATE", PERCENT)], rows))
    return report
