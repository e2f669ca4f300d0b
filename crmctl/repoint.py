"""Log lines and tasks made to name another record, without rewriting any log.

Used when a record goes away into another (convert, merge, and a sync meeting a teammate's
lines about a record merged elsewhere). Each activity gets an ``amend`` line and each task a
``set`` event, all in a log file of the change's own: ``git log -S`` still finds where each
note was first written, and ``git revert`` of the change removes exactly these lines whatever
was appended to the month's logs since (``merge=union`` would keep them there).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from crmctl import activities, tasks
from crmctl.change import Change
from crmctl.dates import stamp
from crmctl.identity import Actor


class Repointer:
    def __init__(self, change: Change, actor: Actor, purpose: str = "merge"):
        self.change, self.actor = change, actor
        own = f"{purpose}-{activities.new_id()[:8]}.jsonl"
        self.log = f"{activities.LOG_FOLDER}/{change.now:%Y-%m}/{own}"
        self.task_log = f"{tasks.TASK_FOLDER}/{change.now:%Y-%m}/{own}"

    def entries(self, entries: Iterable[Mapping[str, Any]], pointer: Mapping[str, Any],
                company: str) -> int:
        """Amend every entry (once each) to ``pointer``; returns how many."""
        unique = list({e["id"]: e for e in entries if e.get("id")}.values())
        latest = self.change.crm.index.latest_amendments([e["id"] for e in unique])
        for entry in unique:
            activities.append_line(self.change, self.log, {
                "id": activities.new_id(), "kind": "amend",
                "at": _after(latest.get(entry["id"]), self.change.now),
                "amends": entry["id"], "company": company, "set": dict(pointer),
                "by": self.actor.user_id or self.actor.identity.email,
                "by_name": self.actor.identity.name})
        return len(unique)

    def task(self, task: Mapping[str, Any], pointer: Mapping[str, Any]) -> None:
        tasks.repoint(self.change, self.actor, task, pointer, path=self.task_log)

    def close_task(self, task: Mapping[str, Any], note: str) -> None:
        tasks.close(self.change, self.actor, task, note, path=self.task_log)


def _after(latest_utc: str | None, now: datetime) -> str:
    """``now``, or a second after the latest amendment of the same entry when that is not
    earlier: amendments apply in time order, and two merges within a second (A into B, then
    B into C) must still apply in the order they were made."""
    if latest_utc:
        latest = datetime.fromisoformat(latest_utc).replace(tzinfo=timezone.utc)
        if latest >= now:
            return stamp((latest + timedelta(seconds=1)).astimezone(now.tzinfo))
    return stamp(now)
