"""`crmctl merge KEEP DUP...`: several records of one company (or person) become one, and
nothing is lost.

Everything that named a duplicate is re-pointed at KEEP in the same commit: people and deals
are rewritten, activities and tasks get ``amend``/``set`` lines (their logs are never
rewritten, so ``git log -p`` still shows where each note was first written). KEEP takes the
fields it lacks from the duplicates; a value that differs from KEEP's is kept in its notes
and reported, never dropped; emails, phones, tags and aliases are unioned; the status
furthest along the funnel wins, except that do-not-contact always wins. The duplicates'
names become aliases of KEEP, so their old names still find it, and their files go. One
commit; ``git revert`` of it brings the duplicates back exactly.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

from crmctl.change import Change
from crmctl.errors import UserError
from crmctl.identity import Actor
from crmctl.model import Record
from crmctl.records import validated, write_updated
from crmctl.repoint import Repointer
from crmctl.resolve import resolve
from crmctl.store import Crm

UNIONED = ("aliases", "merged", "emails", "phones", "tags")
NEVER_COPIED = ("id", "name", "created", "updated", "status", "notes", "company")


@dataclass
class Merged:
    keep: Record
    duplicates: list[Record]
    commit: str | None
    message: str
    conflicts: list[str] = field(default_factory=list)   # "domain: acme.com (kept) / acme.org"
    moved: dict[str, int] = field(default_factory=dict)  # people, deals, activities, tasks
    diff: str = ""                                       # with dry_run: what would change


def merge(crm: Crm, keep_ref: str, duplicate_refs: Sequence[str], *, actor: Actor,
          now: datetime, dry_run: bool = False) -> Merged:
    if not duplicate_refs:
        raise UserError("name at least one duplicate to merge into it",
                        "crmctl merge KEEP DUPLICATE [DUPLICATE ...]")
    with Change(crm, actor.identity, now) as change:
        keep = resolve(crm, keep_ref, ["company", "person"])
        _check_valid(crm, keep)
        duplicates: list[Record] = []
        leftovers: list[str] = []  # ids merged into KEEP earlier that lines still name
        for ref in duplicate_refs:
            if ref in (keep.get("merged") or []) and crm.index.get(keep.kind, ref) is None:
                leftovers.append(ref)
                continue
            dup = resolve(crm, ref, [keep.kind])
            if dup.id == keep.id:
                raise UserError(f"cannot merge {keep.kind} {keep.name!r} into itself",
                                "name the duplicates, not the one to keep")
            if any(d.id == dup.id for d in duplicates):
                raise UserError(f"{dup.kind} {dup.name!r} is named twice")
            _check_valid(crm, dup)
            duplicates.append(dup)
        if keep.kind == "person":
            elsewhere = [d for d in duplicates if d.get("company") != keep.get("company")]
            if elsewhere:
                raise UserError(f"person {elsewhere[0].name!r} works at "
                                f"{elsewhere[0].get('company')}, {keep.name!r} at "
                                f"{keep.get('company')}",
                                "people are merged within one company: merge the companies "
                                "first, or move the person")
        fields, conflicts = combined(crm, keep, duplicates) if duplicates else ({}, [])
        kept = write_updated(change, keep, fields) if duplicates else keep
        moved = _repoint(change, actor, keep, [d.id for d in duplicates] + leftovers,
                         duplicates)
        if not duplicates and not any(moved.values()):
            raise UserError(f"nothing still names {', '.join(leftovers)}: the merge into "
                            f"{keep.name!r} is complete")
        for dup in duplicates:
            change.delete(dup.path)
        names = ", ".join([f'"{d.name}"' for d in duplicates] + leftovers)
        message = f'Merge {keep.kind} {names} into "{keep.name}"'
        records = [f"{keep.kind}/{keep.id}"] + [f"{keep.kind}/{i}" for i in
                                                 [d.id for d in duplicates] + leftovers]
        if keep.kind == "person":
            records.append(f"company/{keep.get('company')}")
        if dry_run:
            return Merged(kept, duplicates, None, message, conflicts, moved, _diff(change))
        commit = change.commit(message, records)
    return Merged(kept, duplicates, commit, message, conflicts, moved)


def combined(crm: Crm, keep: Record, duplicates: Sequence[Record]) -> tuple[dict[str, Any],
                                                                             list[str]]:
    """KEEP's fields after the merge (as changes to write) and the conflicts reported."""
    changes: dict[str, Any] = {}
    conflicts: list[str] = []
    kept_notes: list[str] = []
    data = dict(keep.data)
    for key in UNIONED:
        values = list(data.get(key) or [])
        if key == "aliases":
            values += [d.name for d in duplicates]
        if key == "merged":  # their ids stay taken, and keep meaning KEEP
            values += [d.id for d in duplicates]
        for dup in duplicates:
            values += list(dup.get(key) or [])
        unique = list(dict.fromkeys(v for v in values
                                    if not (key == "aliases" and v == keep.name)))
        if unique != list(data.get(key) or []):
            changes[key] = unique
    for dup in duplicates:
        for key, value in dup.data.items():
            if key in NEVER_COPIED or key in UNIONED or value in (None, "", []):
                continue
            current = changes.get(key, data.get(key))
            if current in (None, "", []):
                changes[key] = value
            elif current != value:
                conflicts.append(f"{key}: {current} (kept) / {value} (from {dup.name})")
                kept_notes.append(f"{key}: {value} (from {dup.name})")
    status = _status(crm, [keep, *duplicates])
    if status != keep.get("status"):
        changes["status"] = status
    created = min(str(r.get("created")) for r in [keep, *duplicates] if r.get("created"))
    if created != str(keep.get("created")):
        changes["created"] = created
    notes = [str(keep.get("notes")).rstrip()] if keep.get("notes") else []
    notes += [f"From {d.name}: {str(d.get('notes')).rstrip()}" for d in duplicates
              if d.get("notes")]
    if kept_notes:
        notes.append("Kept from the merge:\n" + "\n".join(f"- {n}" for n in kept_notes))
    if notes and "\n".join(notes) != (keep.get("notes") or "").rstrip():
        changes["notes"] = "\n".join(notes)
    # Validate the whole record now: a merge that would make it invalid stops here.
    validated(crm, keep.kind, {**data, **changes})
    return changes, conflicts


def _status(crm: Crm, records: Sequence[Record]) -> str:
    """Do-not-contact wins (it is a promise); then the status furthest along the funnel;
    a status outside the funnel (past-client, unqualified, ...) only when no record is in
    it, the one listed first in crm.yaml then."""
    from crmctl.reports.funnel import funnel_statuses

    statuses = [str(r.get("status")) for r in records if r.get("status")]
    if not statuses:
        return str(records[0].get("status"))
    dnc = crm.process.rules.do_not_contact_status
    if dnc in statuses:
        return dnc
    funnel = funnel_statuses(crm)
    order = list(crm.process.statuses)

    def rank(status: str) -> float:
        if status in funnel:
            return funnel.index(status)
        return -1 - (order.index(status) if status in order else len(order)) / 1000

    return max(statuses, key=rank)


def _check_valid(crm: Crm, record: Record) -> None:
    """A record that fails its schema (a hand edit) is fixed first, not merged."""
    from crmctl.schemas import Validator

    problems = [m for _, m in Validator(crm.record_schema(record.kind)).errors(dict(record.data))]
    if problems:
        raise UserError(f"{record.path} is not a valid {record.kind}: {problems[0]}",
                        "fix it first (crmctl check lists every problem)")


def _repoint(change: Change, actor: Actor, keep: Record, gone_ids: Sequence[str],
             duplicates: Sequence[Record]) -> dict[str, int]:
    """Move what names ``gone_ids`` onto KEEP. Activity and task lines are re-pointed by
    lines in a log file of this merge's own, so ``git revert`` of the merge removes them
    whatever has been appended to the month's logs since."""
    crm = change.crm
    index = crm.index
    gone = set(gone_ids)
    moved = {"people": 0, "deals": 0, "activities": 0, "tasks": 0, "rule tasks closed": 0}
    if keep.kind == "company":
        for dup_id in gone_ids:
            for person in index.select("person", company=dup_id):
                write_updated(change, person, {"company": keep.id})
                moved["people"] += 1
            for deal in index.select("deal", company=dup_id):
                write_updated(change, deal, {"company": keep.id})
                moved["deals"] += 1
        pointer = {"company": keep.id}
        entries = [e for dup_id in gone_ids for e in index.timeline(company=dup_id)]
    else:
        for deal in index.select("deal", company=keep.get("company")):
            if deal.get("person") in gone:
                write_updated(change, deal, {"person": keep.id})
                moved["deals"] += 1
        pointer = {"person": keep.id}
        entries = [e for dup_id in gone_ids for e in index.timeline(person=dup_id)]
    repoint = Repointer(change, actor)
    company = keep.id if keep.kind == "company" else str(keep.get("company"))
    moved["activities"] = repoint.entries(entries, pointer, company)
    column = keep.kind
    all_tasks = index.tasks(status=None)
    kept_rules = {t.get("rule") for t in all_tasks
                  if t.get("rule") and t.get("status") == "open" and t.get(column) == keep.id}
    for task in all_tasks:
        if task.get(column) not in gone:
            continue
        repoint.task(task, pointer)
        moved["tasks"] += 1
        rule = task.get("rule")
        if rule and task.get("status") == "open":
            if rule in kept_rules:  # the same rule's task is on KEEP already: one is enough
                repoint.close_task(task, "closed by the merge: the same rule's task is open "
                                   f"on {keep.name}")
                moved["rule tasks closed"] += 1
            kept_rules.add(rule)
    return moved


def _diff(change: Change) -> str:
    """The staged change as a unified diff, file by file (what --dry-run shows)."""
    out = []
    for path in sorted(change.pending):
        before = (change.crm.root / path).read_text(encoding="utf-8") \
            if (change.crm.root / path).exists() else ""
        after = change.read(path) or ""
        out += difflib.unified_diff(before.splitlines(keepends=True),
                                    after.splitlines(keepends=True),
                                    f"a/{path}" if before else "/dev/null",
                                    f"b/{path}" if after else "/dev/null")
    return "".join(out)

