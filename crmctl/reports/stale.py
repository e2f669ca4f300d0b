"""What is going cold: idle deals, deals with no next step, companies nobody contacts.

Staleness is computed from the history every time (the last activity or move), never
stored in a record, so it can never be out of date.
"""

from __future__ import annotations

from datetime import date

from crmctl.reports import Options
from crmctl.reports.common import counted, day_of, user_name
from crmctl.reports.document import COUNT, MONEY, Column, Report, Table
from crmctl.reports.snapshot import Snapshot
from crmctl.store import Crm

DEAL_COLUMNS = [Column("idle_days", "IDLE DAYS", COUNT), Column("name", "DEAL"),
                Column("company_name", "COMPANY"), Column("stage", "STAGE"),
                Column("amount", "AMOUNT", MONEY), Column("owner_name", "OWNER"),
                Column("last_touch", "LAST TOUCH")]


def build(crm: Crm, snapshot: Snapshot, options: Options) -> Report:
    today = options.today
    whose = f" owned by {options.owner}" if options.owner else ""
    report = Report("stale", f"Stale{whose}", today)
    stages = {s.id: s for s in crm.process.stages}
    companies = {c.id: c for c in snapshot.records("company")}
    last_deal: dict[str, date] = {}
    last_company: dict[str, date] = {}
    reached: set[str] = set()
    contact = {t.id: t.contact for t in crm.process.activity_types}
    for entry in snapshot.entries():  # oldest first: the last one seen is the latest
        day = day_of(entry.get("at"))
        if day is None:
            continue
        if entry.get("deal"):
            last_deal[str(entry["deal"])] = max(day, last_deal.get(str(entry["deal"]), day))
        if entry.get("company") and entry.get("kind") == "activity":
            # Contact with the company or its people; a deal's move is not contact.
            company = str(entry["company"])
            last_company[company] = max(day, last_company.get(company, day))
            if contact.get(str(entry.get("type"))) == "real":
                reached.add(company)
    next_step = {str(t.get("deal")) for t in snapshot.tasks()
                 if t.get("status") == "open" and t.get("deal")}

    def mine(record) -> bool:  # type: ignore[no-untyped-def]
        return options.owner is None or record.get("owner") == options.owner

    rotting, no_task = [], []
    for deal in snapshot.records("deal"):
        stage = stages.get(str(deal.get("stage")))
        if stage is None or stage.closed or not mine(deal):
            continue
        touched = max((d for d in (day_of(deal.get("stage_since")), day_of(deal.get("created")),
                                   last_deal.get(deal.id)) if d is not None), default=today)
        company = companies.get(str(deal.get("company")))
        row = {"id": deal.id, "name": deal.name, "company": deal.get("company"),
               "company_name": company.name if company else deal.get("company"),
               "stage": stage.id, "amount": deal.get("amount"),
               "currency": deal.get("currency") or crm.process.currency,
               "owner": deal.get("owner"), "owner_name": user_name(crm, deal.get("owner")),
               "last_touch": touched.isoformat(), "idle_days": (today - touched).days,
               "rotting_days": stage.rotting_days}
        if stage.rotting_days is not None and row["idle_days"] > stage.rotting_days:
            rotting.append(row)
        if deal.id not in next_step:
            no_task.append(dict(row))
    inactive = set(crm.process.rules.inactive_statuses)
    quiet = []
    for company in companies.values():
        if company.get("status") in inactive or not mine(company):
            continue
        touched = last_company.get(company.id) or day_of(company.get("created"))
        if touched is None or (today - touched).days < options.idle_days:
            continue
        quiet.append({"id": company.id, "name": company.name, "status": company.get("status"),
                      "owner": company.get("owner"),
                      "owner_name": user_name(crm, company.get("owner")),
                      "last_touch": touched.isoformat(), "idle_days": (today - touched).days,
                      "ever_contacted": company.id in reached})
    for rows in (rotting, no_task, quiet):
        rows.sort(key=lambda r: (-r["idle_days"], r["name"].lower()))
    report.facts = {"rotting_deals": len(rotting), "deals_without_next_task": len(no_task),
                    "quiet_companies": len(quiet)}
    if not (rotting or no_task or quiet):
        report.empty = f"Nothing stale{whose}: every open deal is moving and has a next task."
        return report
    report.summary.append(
        f"{counted(len(rotting), 'deal')} idle past their stage's limit, "
        f"{counted(len(no_task), 'open deal')} with no next task, "
        f"{counted(len(quiet), 'company', 'companies')} with no activity for "
        f"{options.idle_days} days or more.")
    report.tables.append(Table("rotting", "Deals idle longer than their stage allows",
                               [*DEAL_COLUMNS[:4], Column("rotting_days", "LIMIT", COUNT),
                                *DEAL_COLUMNS[4:]], rotting, empty="none"))
    report.tables.append(Table("no_next_task", "Open deals with no next task", DEAL_COLUMNS,
                               no_task, empty="none: every open deal has a task"))
    report.tables.append(Table(
        "quiet_companies", f"Companies with no activity for {options.idle_days}+ days",
        [Column("idle_days", "IDLE DAYS", COUNT), Column("name", "COMPANY"),
         Column("status", "STATUS"), Column("owner_name", "OWNER"),
         Column("last_touch", "LAST TOUCH")], quiet, empty="none"))
    return report
