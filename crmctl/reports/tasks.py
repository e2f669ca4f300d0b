"""The daily to-do report: each assignee's overdue tasks and those due by a given day."""

from __future__ import annotations

from datetime import date, timedelta

from crmctl.activities import first_line
from crmctl.reports import Options
from crmctl.reports.document import Column, Report, Table
from crmctl.reports.snapshot import Snapshot
from crmctl.store import Crm
from crmctl.tasks import PRIORITIES

COLUMNS = [Column("id", "ID"), Column("due_shown", "DUE"), Column("priority", "PRI"),
           Column("text", "TASK"), Column("about", "FOR"), Column("from_note", "FROM NOTE")]


def build(crm: Crm, snapshot: Snapshot, options: Options) -> Report:
    """Open tasks due by ``today + days``, overdue ones first, one table per assignee."""
    today = options.today
    until = today + timedelta(days=options.days)
    horizon = "today" if options.days == 0 else f"by {until.isoformat()}"
    report = Report("tasks", "Tasks", today)
    groups: dict[str, list[dict]] = {}
    for task in snapshot.tasks():
        who = task.get("assignee") or "(nobody)"
        if task.get("status") != "open" or (options.assignee and who != options.assignee):
            continue
        if not task.get("due") or date.fromisoformat(task["due"]) > until:
            continue
        overdue = date.fromisoformat(task["due"]) < today
        groups.setdefault(who, []).append({
            "assignee": who, "id": task["id"][:6], "task_id": task["id"], "due": task["due"],
            "due_shown": ("OVERDUE " if overdue else "") + task["due"], "overdue": overdue,
            "priority": task.get("priority", "normal"), "text": task.get("text"),
            "about": task.get("about") or "",
            "from_note": first_line(task.get("from_note"), 48) or None})
    if not groups:
        report.empty = f"No tasks due {horizon} and none overdue ({today.isoformat()})."
        return report

    def name_of(who: str) -> str:
        user = crm.process.user(who)
        return user.name if user else who

    for who in sorted(groups, key=lambda w: name_of(w).lower()):
        rows = sorted(groups[who], key=lambda t: (
            t["due"], -PRIORITIES.index(t["priority"]), t["text"]))
        late = sum(1 for t in rows if t["overdue"])
        count = f"{len(rows)} task{'s' * (len(rows) != 1)}"
        report.facts[who] = {"due": len(rows), "overdue": late}
        report.tables.append(Table(
            "tasks", f"{name_of(who)}: {count} due {horizon}"
            + (f", {late} overdue" if late else "") + f" ({today.isoformat()})", COLUMNS, rows))
    return report
