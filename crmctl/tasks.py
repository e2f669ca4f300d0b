"""Tasks: what a salesperson must do next, for whom, by when.

A task lives as events in append-only logs, ``tasks/<YYYY-MM>/<shard of the task id>.jsonl``:
``add``, then any ``set`` (edit, snooze, reassign) and ``done``. Folding them by task id gives
its state. Two clones adding tasks never conflict (union-merged lines, random ids), and a task
a workflow rule makes in both clones has the same id, so the second ``add`` is folded away
instead of duplicating it.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import date, datetime
from typing import Any, Mapping, NamedTuple, Sequence

from crmctl import activities
from crmctl.change import Change
from crmctl.dates import parse_date, stamp
from crmctl.errors import Ambiguous, NotFound, UserError
from crmctl.identity import Actor
from crmctl.location import TASK_FOLDER
from crmctl.model import Record
from crmctl.store import Crm, shard

PRIORITIES = ("low", "normal", "high", "urgent")
SHOWN_ID = 6       # characters of the id a list shows
MIN_PREFIX = 4     # a typed id may be any unique prefix this long


def new_task_id() -> str:
    """50 random bits in lowercase base32: unique across clones, short enough to type."""
    return activities.new_id()[:10]


def rule_task_id(rule: str, record: str, trigger: str) -> str:
    """The same rule, record and trigger give the same id in every clone."""
    digest = hashlib.sha1(f"{rule}\0{record}\0{trigger}".encode()).digest()
    return base64.b32encode(digest).decode().lower()[:10]


def task_path(task_id: str, at: datetime) -> str:
    return f"{TASK_FOLDER}/{at:%Y-%m}/{shard(task_id)}.jsonl"


def is_task_path(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 3 and parts[0] == TASK_FOLDER and parts[2].endswith(".jsonl")


def fold(events: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Task states from their events, which must come oldest first.

    A task's ``add`` is applied before its other events whatever their order: a change made
    within the second its task was added (a merge re-pointing it, say) may sort first."""
    tasks: dict[str, dict[str, Any]] = {}
    events = sorted(events, key=lambda e: e.get("op") != "add")  # stable: order kept
    for event in events:
        task_id, op = event.get("task"), event.get("op")
        if not isinstance(task_id, str):
            continue
        if op == "add":
            if task_id in tasks:  # the same rule fired in two clones: one task
                continue
            tasks[task_id] = {
                "id": task_id, "text": event.get("text"), "due": event.get("due"),
                "priority": event.get("priority", "normal"), "assignee": event.get("assignee"),
                "company": event.get("company"), "person": event.get("person"),
                "deal": event.get("deal"), "activity": event.get("activity"),
                "rule": event.get("rule"), "status": "open", "created": event.get("at"),
                "created_by": event.get("by_name") or event.get("by")}
        elif task_id in tasks and op == "set":
            tasks[task_id].update(event.get("set") or {})
        elif task_id in tasks and op == "done":
            tasks[task_id].update(status="done", done_at=event.get("at"),
                                  done_by=event.get("by_name") or event.get("by"),
                                  done_note=event.get("note"))
    return tasks


class TaskChange(NamedTuple):
    task: dict[str, Any]
    commit: str | None
    message: str


def assignee_of(crm: Crm, actor: Actor, user: str | None) -> str:
    """A declared user id; by default the actor (their user id, else their email)."""
    if user is not None:
        return crm.user_or_error(user)
    return actor.user_id or actor.identity.email


def priority_or_error(priority: str) -> str:
    if priority not in PRIORITIES:
        raise UserError(f"unknown priority {priority!r} (priorities: {', '.join(PRIORITIES)})")
    return priority


def stage_add(change: Change, *, text: str, actor: Actor, assignee: str,
              due: date | None, priority: str = "normal", about: Record | None = None,
              activity: str | None = None, rule: str | None = None,
              task_id: str | None = None) -> dict[str, Any]:
    """Stage an ``add`` event in ``change``; returns the new task's state."""
    text = " ".join(text.split())
    if not text:
        raise UserError("the task's text is empty", "say what is to be done")
    task_id = task_id or new_task_id()
    company = person = deal = None
    if about is not None:
        company = about.id if about.kind == "company" else about.get("company")
        person = about.id if about.kind == "person" else about.get("person")
        deal = about.id if about.kind == "deal" else None
    event = {"id": activities.new_id(), "task": task_id, "op": "add", "at": stamp(change.now),
             "text": text, "due": due.isoformat() if due else None, "priority": priority,
             "assignee": assignee, "company": company, "person": person, "deal": deal,
             "activity": activity, "rule": rule, "by": actor.user_id or actor.identity.email,
             "by_name": actor.identity.name}
    activities.append_line(change, task_path(task_id, change.now), event)
    return fold([event])[task_id]


def describe(task: Mapping[str, Any]) -> str:
    due = f" (due {task['due']})" if task.get("due") else ""
    return f'"{task["text"]}"{due}'


def add_task(crm: Crm, text: str, *, actor: Actor, now: datetime, about: str | None = None,
             due: str | None = None, priority: str = "normal",
             assign: str | None = None) -> TaskChange:
    if about:  # else no record is read: not even the index is opened (sqlite, ~2 ms)
        crm.index.defer_worktree_scan()  # names its record: see Index.defer_worktree_scan
    priority = priority_or_error(priority)
    assignee = assignee_of(crm, actor, assign)
    due_date = parse_date(due, now) if due is not None else None
    with Change(crm, actor.identity, now) as change:
        record = None
        if about:
            from crmctl.resolve import resolve

            record = resolve(crm, about)
        task = stage_add(change, text=text, actor=actor, assignee=assignee, due=due_date,
                         priority=priority, about=record)
        where = f' for "{record.name}"' if record else ""
        message = f'Add task "{task["text"]}"{where}' + (f" (due {task['due']})"
                                                         if task["due"] else "")
        commit = change.commit(message, [f"task/{task['id']}"] + _records_of(task))
    return TaskChange(task, commit, message)


def find_task(crm: Crm, typed: str) -> dict[str, Any]:
    """A task by its id or a unique prefix of it (at least four characters)."""
    prefix = typed.strip().lower()
    if len(prefix) < MIN_PREFIX:
        raise UserError(f"task id {typed!r} is too short", f"type at least {MIN_PREFIX} characters")
    found = crm.index.tasks_with_prefix(prefix)
    if not found and crm.index.scan_now():  # a write that deferred the scan: look again
        found = crm.index.tasks_with_prefix(prefix)
    if not found:
        raise NotFound(f"no task {typed!r}", "see crmctl task list --all")
    if len(found) > 1:
        listed = "; ".join(f"{t['id']} {describe(t)}" for t in found[:5])
        raise Ambiguous(f"{typed!r} starts more than one task id: {listed}",
                        "type more of the id")
    return found[0]


def _event(change: Change, actor: Actor, task: Mapping[str, Any], op: str,
           path: str | None = None, **fields: Any) -> None:
    event = {"id": activities.new_id(), "task": task["id"], "op": op, "at": stamp(change.now),
             **fields, "by": actor.user_id or actor.identity.email,
             "by_name": actor.identity.name}
    activities.append_line(change, path or task_path(task["id"], change.now), event)


def repoint(change: Change, actor: Actor, task: Mapping[str, Any],
            about: Mapping[str, str | None], path: str | None = None) -> None:
    """Stage a ``set`` event making ``task`` about other records (after a convert or merge)."""
    _event(change, actor, task, "set", path, set=dict(about))


def close(change: Change, actor: Actor, task: Mapping[str, Any], note: str,
          path: str | None = None) -> None:
    """Stage a ``done`` event for ``task`` with ``note`` saying why."""
    _event(change, actor, task, "done", path, note=note)


def _records_of(task: Mapping[str, Any]) -> list[str]:
    return [f"{kind}/{task[kind]}" for kind in ("company", "person", "deal") if task.get(kind)]


def complete_task(crm: Crm, typed: str, *, actor: Actor, now: datetime,
                  note: str | None = None) -> TaskChange:
    crm.index.defer_worktree_scan()  # names its task: see Index.defer_worktree_scan
    with Change(crm, actor.identity, now) as change:
        task = find_task(crm, typed)
        if task["status"] == "done":
            raise UserError(f"task {task['id']} was done by {task.get('done_by')} "
                            f"on {str(task.get('done_at'))[:10]}")
        _event(change, actor, task, "done", note=note.strip() if note and note.strip() else None)
        message = f'Complete task "{task["text"]}"'
        commit = change.commit(message, [f"task/{task['id']}"] + _records_of(task))
    done = {**task, "status": "done", "done_at": stamp(now), "done_by": actor.identity.name,
            "done_note": note}
    return TaskChange(done, commit, message)


def edit_task(crm: Crm, typed: str, *, actor: Actor, now: datetime, text: str | None = None,
              due: str | None = None, priority: str | None = None,
              assign: str | None = None, verb: str = "Edit") -> TaskChange:
    changes: dict[str, Any] = {}
    if text is not None:
        if not text.strip():
            raise UserError("the task's text is empty", "say what is to be done")
        changes["text"] = " ".join(text.split())
    if due is not None:
        new_due = parse_date(due, now)
        if verb == "Snooze" and new_due < now.date():
            raise UserError(f"cannot snooze to {new_due.isoformat()}, which has passed",
                            "snooze to today or later")
        changes["due"] = new_due.isoformat()
    if priority is not None:
        changes["priority"] = priority_or_error(priority)
    if assign is not None:
        changes["assignee"] = crm.user_or_error(assign)
    if not changes:
        raise UserError("nothing to change", "give --text, --due, --priority or --assign")
    with Change(crm, actor.identity, now) as change:
        task = find_task(crm, typed)
        if task["status"] == "done":
            raise UserError(f"task {task['id']} is done", "add a new task instead")
        _event(change, actor, task, "set", set=changes)
        what = ", ".join(f"{k} {v}" for k, v in changes.items() if k != "text")
        message = f'{verb} task "{task["text"]}"' + (f": {what}" if what else "")
        if verb == "Snooze":
            message = f'Snooze task "{task["text"]}" to {changes["due"]}'
        commit = change.commit(message, [f"task/{task['id']}"] + _records_of(task))
    return TaskChange({**task, **changes}, commit, message)


def list_tasks(crm: Crm, *, actor: Actor, now: datetime, assignee: str | None = None,
               everyone: bool = False, overdue: bool = False, due_before: str | None = None,
               about: str | None = None, sort: str = "due",
               include_done: bool = False, context: bool = True) -> list[dict[str, Any]]:
    """Open tasks (mine by default), each with ``overdue`` and (with ``context``) the name
    of what it is for and the note it came from."""
    from crmctl.resolve import resolve

    if sort not in ("due", "priority"):
        raise UserError(f"cannot sort by {sort!r}", "use --sort due or --sort priority")
    mine = {actor.user_id, actor.identity.email} - {None}
    wanted = None if everyone else ({crm.user_or_error(assignee)} if assignee else mine)
    record = resolve(crm, about) if about else None
    if not context and record is None:
        crm.index.narrow_worktree_scan((TASK_FOLDER,))  # ids alone come from task files
    limit = parse_date(due_before, now) if due_before is not None else None
    today = now.date()
    found = []
    for task in crm.index.tasks(status=None if include_done else "open", context=context):
        if wanted is not None and task.get("assignee") not in wanted:
            continue
        if record is not None and task.get(record.kind) != record.id:
            continue
        due = date.fromisoformat(task["due"]) if task.get("due") else None
        task["overdue"] = task["status"] == "open" and due is not None and due < today
        if overdue and not task["overdue"]:
            continue
        if limit is not None and (due is None or due >= limit):
            continue
        found.append(task)
    rank = {p: i for i, p in enumerate(reversed(PRIORITIES))}

    def by_due(t: Mapping[str, Any]) -> tuple:
        return (t.get("due") is None, t.get("due") or "", rank.get(t.get("priority"), 9))

    def by_priority(t: Mapping[str, Any]) -> tuple:
        return (rank.get(t.get("priority"), 9), t.get("due") is None, t.get("due") or "")

    return sorted(found, key=by_due if sort == "due" else by_priority)
