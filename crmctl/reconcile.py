"""Lines a teammate wrote against a record that was merged or converted on another clone.

Jim logs a call against "Initech LLC" while Sarah merges it into "Initech"; after the sync,
Jim's line names a record that no longer exists. The survivor's ``merged`` list says where
it went, so those lines are re-pointed, by amend and set lines, as the merge itself would
have done had it seen them.
"""

from __future__ import annotations

from datetime import datetime

from crmctl.change import Change
from crmctl.identity import Actor
from crmctl.model import Record
from crmctl.repoint import Repointer
from crmctl.store import Crm

REFERENCES = ("company", "person", "deal")


def dangling(crm: Crm) -> list[tuple[str, str]]:
    """(kind, id) named by activity lines or tasks that no record has (broken files count
    as existing: check reports those)."""
    index = crm.index
    index.refresh()
    found: set[tuple[str, str]] = set()
    for kind in REFERENCES:
        exists = f"(SELECT id FROM records WHERE kind='{kind}')"
        found.update((kind, row[0]) for row in index.db.execute(
            f"SELECT DISTINCT {kind} FROM activities WHERE {kind} IS NOT NULL "
            f"AND {kind} NOT IN {exists}"))
        found.update((kind, row[0]) for row in index.db.execute(
            f"SELECT DISTINCT json_extract(data, '$.{kind}') FROM tasks "
            f"WHERE json_extract(data, '$.{kind}') IS NOT NULL "
            f"AND json_extract(data, '$.{kind}') NOT IN {exists}"))
    return sorted(found)


def survivor_of(crm: Crm, record_id: str) -> Record | None:
    for kind in ("company", "person"):
        found = crm.index.merged_into(kind, record_id)
        if found is not None:
            return found
    return None


def reconcile(crm: Crm, *, actor: Actor, now: datetime, locked: bool = False) -> list[str]:
    """Re-point every line that names a merged or converted record; what was done, as
    lines for people to read."""
    done = []
    for kind, gone in dangling(crm):
        survivor = survivor_of(crm, gone)
        if survivor is None:
            continue  # deleted outright: crmctl check names those lines
        if survivor.kind == "company":
            pointer = {"company": survivor.id} if kind == "company" else \
                {"company": survivor.id, "person": None}
        else:
            pointer = {"company": survivor.get("company"), "person": survivor.id}
        moved = _repoint(crm, kind, gone, survivor, pointer, actor, now, locked)
        if moved:
            done.append(f"{moved} line{'s' * (moved != 1)} about {kind} {gone} now about "
                        f"{survivor.kind} {survivor.name} (it was merged or converted)")
    return done


def _repoint(crm: Crm, kind: str, gone: str, survivor: Record, pointer: dict,
             actor: Actor, now: datetime, locked: bool) -> int:
    with Change(crm, actor.identity, now, lock_held=locked) as change:
        index = crm.index
        repoint = Repointer(change, actor)
        moved = repoint.entries(index.timeline(**{kind: gone}), pointer,
                                str(pointer.get("company") or survivor.id))
        for task in index.tasks(status=None):
            if task.get(kind) == gone:
                repoint.task(task, pointer)
                moved += 1
        if moved:
            change.commit(f'Merge {kind} {gone} into "{survivor.name}"',
                          [f"{survivor.kind}/{survivor.id}", f"{kind}/{gone}"])
    return moved
