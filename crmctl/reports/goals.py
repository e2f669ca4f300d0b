"""Each owner against the targets in crm.yaml, for the current week, month or quarter."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from crmctl.model import Goal
from crmctl.reports import Options
from crmctl.reports.common import by_who, share, user_name, within
from crmctl.reports.document import COUNT, PERCENT, Column, Report, Table
from crmctl.reports.pipeline import amount_of
from crmctl.reports.snapshot import Snapshot
from crmctl.store import Crm

COLUMNS = [Column("goal", "GOAL"), Column("owner_name", "OWNER"), Column("period", "PERIOD"),
           Column("actual", "ACTUAL", COUNT), Column("target", "TARGET", COUNT),
           Column("progress", "PROGRESS", PERCENT), Column("expected", "TIME GONE", PERCENT),
           Column("verdict", "")]


def period_of(per: str, day: date) -> tuple[date, date]:
    """The week (Monday first), month or quarter holding ``day``."""
    if per == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    first_month = day.month if per == "month" else 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    months = 1 if per == "month" else 3
    year, month = divmod(first_month - 1 + months, 12)
    return start, date(day.year + year, month + 1, 1) - timedelta(days=1)


def label(per: str, start: date) -> str:
    if per == "week":
        return f"week of {start.isoformat()}"
    if per == "month":
        return start.strftime("%Y-%m")
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def measure(crm: Crm, snapshot: Snapshot, goal: Goal, owner: str, first: date,
            last: date) -> Decimal:
    if goal.measure in ("won_revenue", "won_deals"):
        won = {s.id for s in crm.process.stages if s.closed == "won"}
        deals = [d for d in snapshot.records("deal") if d.get("owner") == owner
                 and d.get("stage") in won and within(d.get("closed_at"), first, last)
                 and (d.get("currency") or crm.process.currency) == crm.process.currency]
        if goal.measure == "won_deals":
            return Decimal(len(deals))
        return sum((amount_of(d) for d in deals), Decimal(0))
    if goal.measure == "deals_added":
        return Decimal(sum(1 for d in snapshot.records("deal") if d.get("owner") == owner
                           and within(d.get("created"), first, last)))
    contact = {t.id: t.contact for t in crm.process.activity_types}
    wanted = {"contacts": "real", "attempts": "attempt"}.get(goal.measure)
    return Decimal(sum(
        1 for e in snapshot.entries(first, last)
        if e.get("kind") == "activity" and by_who(e) == owner and within(e.get("at"), first, last)
        and (goal.type is None or e.get("type") == goal.type)
        and (wanted is None or contact.get(str(e.get("type"))) == wanted)))


def build(crm: Crm, snapshot: Snapshot, options: Options) -> Report:
    day = options.until or options.today
    report = Report("goals", "Goals", options.today, until=options.until)
    goals = crm.process.goals
    if not goals:
        report.empty = ("No goals are set: declare them under goals: in crm.yaml "
                        "(see the commented example there).")
        return report
    rows = []
    for goal in goals:
        owners = [goal.owner] if goal.owner else [u.id for u in crm.process.users]
        first, last = period_of(goal.per, day)
        elapsed = share((min(day, last) - first).days + 1, (last - first).days + 1)
        for owner in owners:
            if options.owner and owner != options.owner:
                continue
            actual = measure(crm, snapshot, goal, owner, first, min(day, last))
            target = Decimal(str(goal.target))
            progress = share(actual, target)
            ahead = progress is not None and elapsed is not None and progress >= elapsed
            rows.append({"goal": goal.id, "measure": goal.measure, "type": goal.type,
                         "owner": owner, "owner_name": user_name(crm, owner),
                         "period": label(goal.per, first), "from": first.isoformat(),
                         "to": last.isoformat(), "actual": actual, "target": target,
                         "progress": progress, "expected": elapsed,
                         "verdict": "met" if actual >= target else
                         ("on track" if ahead else "behind")})
    if not rows:
        report.empty = (f"No goals for {options.owner}." if options.owner else
                        "No goals apply: a goal without an owner is for each user, and "
                        "crm.yaml declares no users.")
        return report
    report.facts = {"met": sum(r["verdict"] == "met" for r in rows),
                    "on_track": sum(r["verdict"] == "on track" for r in rows),
                    "behind": sum(r["verdict"] == "behind" for r in rows)}
    report.summary.append(f"{report.facts['met']} met, {report.facts['on_track']} on track, "
                          f"{report.facts['behind']} behind (as of {day.isoformat()}).")
    report.tables.append(Table("goals", "Progress against targets", COLUMNS, rows,
                               bar="progress"))
    return report
