"""The daily to-do report: each assignee's overdue tasks and those due by a given day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from crmctl.store import Crm
from crmctl.tasks import PRIORITIES

COLUMNS = ["assignee", "id", "due", "overdue", "priority", "text", "about", "from_note"]


@dataclass(frozen=True)
class AssigneeDay:
    assignee: str
    name: str
    email: str | None
    tasks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def overdue(self) -> int:
        return sum(1 for t in self.tasks if t["overdue"])


def tasks_report(crm: Crm, today: date, *, assignee: str | None = None,
                 days: int = 0) -> list[AssigneeDay]:
    """Open tasks due by ``today + days`` (overdue ones first), grouped by assignee."""
    wanted = crm.user_or_error(assignee) if assignee else None
    until = today + timedelta(days=days)
    groups: dict[str, AssigneeDay] = {}
    for task in crm.index.tasks(status="open"):
        who = task.get("assignee") or "(nobody)"
        if wanted and who != wanted:
            continue
        if not task.get("due") or date.fromisoformat(task["due"]) > until:
            continue
        task["overdue"] = date.fromisoformat(task["due"]) < today
        user = crm.process.user(who)
        day = groups.setdefault(who, AssigneeDay(who, user.name if user else who,
                                                 user.email if user else None))
        day.tasks.append(task)
    for day in groups.values():
        day.tasks.sort(key=lambda t: (t["due"], -PRIORITIES.index(t.get("priority", "normal")),
                                      t["text"]))
    return sorted(groups.values(), key=lambda d: d.name.lower())
