"""Who did what: attempts, real contacts and notes per person, per type, per lead source."""

from __future__ import annotations

from crmctl.reports import Options
from crmctl.reports.common import by_who, counted, user_name, within
from crmctl.reports.document import COUNT, Column, Report, Table
from crmctl.reports.snapshot import Snapshot
from crmctl.store import Crm

KINDS = (("attempts", "ATTEMPTS", "attempt"), ("contacts", "CONTACTS", "real"),
         ("notes", "NOTES", "none"))
NO_SOURCE = "(no source)"


def build(crm: Crm, snapshot: Snapshot, options: Options) -> Report:
    first, last = options.period()
    whose = f" by {options.owner}" if options.owner else ""
    report = Report("activity", f"Activity{whose}", options.today, since=first, until=last)
    types = {t.id: t.contact for t in crm.process.activity_types}
    logged = [e for e in snapshot.entries(first, last)
              if e.get("kind") == "activity" and within(e.get("at"), first, last)
              and (options.owner is None or e.get("by") == options.owner)]
    if not logged:
        report.empty = (f"No activity{whose} logged from {first.isoformat()} "
                        f"to {last.isoformat()}.")
        return report
    companies = snapshot.records_by_id("company", (e.get("company") for e in logged))
    sources = {rid: c.get("source") or NO_SOURCE for rid, c in companies.items()}

    def tally(key_of) -> dict[str, dict[str, int]]:  # type: ignore[no-untyped-def]
        counts: dict[str, dict[str, int]] = {}
        for entry in logged:
            row = counts.setdefault(key_of(entry), {})
            contact = types.get(str(entry.get("type")), "none")
            for key, _, kind in KINDS:
                row[key] = row.get(key, 0) + (contact == kind)
            row[str(entry.get("type"))] = row.get(str(entry.get("type")), 0) + 1
            row["total"] = row.get("total", 0) + 1
        return counts

    used = [t for t in types if any(e.get("type") == t for e in logged)]
    used += sorted({str(e.get("type")) for e in logged} - set(used))  # types since removed
    summary_columns = [Column(k, h, COUNT) for k, h, _ in KINDS] + [Column("total", "TOTAL", COUNT)]
    people = tally(by_who)
    rows = [{"user": who, "name": user_name(crm, who),
             **{k: people[who].get(k, 0) for k in [*(k for k, _, _ in KINDS), "total", *used]}}
            for who in sorted(people, key=lambda w: user_name(crm, w).lower())]
    totals = {c.key: sum(r[c.key] for r in rows) for c in summary_columns}
    report.facts = {"activities": totals["total"], "attempts": totals["attempts"],
                    "contacts": totals["contacts"], "notes": totals["notes"]}
    report.summary.append(
        f"{counted(totals['total'], 'activity', 'activities')}: "
        f"{counted(totals['attempts'], 'attempt')}, "
        f"{counted(totals['contacts'], 'real contact')}, {counted(totals['notes'], 'note')}.")
    report.tables.append(Table("people", "Per person", [Column("name", "PERSON"),
                                                        *summary_columns], rows,
                               total={"name": "total", **totals}, bar="total"))
    type_rows = [{"user": r["user"], "name": r["name"], **{t: r.get(t, 0) for t in used}}
                 for r in rows]
    report.tables.append(Table("types", "Per person and activity type",
                               [Column("name", "PERSON"), *(Column(t, t, COUNT) for t in used)],
                               type_rows, total={"name": "total", **{
                                   t: sum(r[t] for r in type_rows) for t in used}}))
    by_source = tally(lambda e: sources.get(str(e.get("company")), NO_SOURCE))
    source_rows = [{"source": s, **{k: by_source[s].get(k, 0) for k in
                                    [*(k for k, _, _ in KINDS), "total"]}}
                   for s in sorted(by_source, key=lambda s: (s == NO_SOURCE, s.lower()))]
    report.tables.append(Table("sources", "Per lead source (of the company)",
                               [Column("source", "SOURCE"), *summary_columns], source_rows))
    return report
