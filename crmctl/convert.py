"""`crmctl convert`: a person entered as a company, or the reverse, made right.

The new record takes every field of the old one its kind knows (name, aliases, status, owner,
source, tags, the team's own fields, the ``created`` stamp); a field it does not know (a
person's title, emails and phones; a company's domain) is kept as a line of its notes rather
than lost. Deals and tasks follow it, and its activities are re-pointed by ``amend`` lines (the
log itself is never rewritten), so its timeline survives. The old file is removed in the same
commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crmctl.change import Change
from crmctl.dates import stamp
from crmctl.errors import UserError
from crmctl.identity import Actor
from crmctl.model import KINDS, Record
from crmctl.names import normalize_company, slugify
from crmctl.records import unique_id, validated, write_updated
from crmctl.repoint import Repointer
from crmctl.resolve import resolve
from crmctl.store import Crm, record_path
from crmctl import yamlio

# Fields that say where a record sits, not what it is: set anew, never carried.
PLACED = ("id", "company", "updated")


@dataclass(frozen=True)
class Converted:
    old: Record
    new: Record
    commit: str | None
    message: str
    kept_in_notes: tuple[str, ...] = ()
    tasks_moved: int = 0


def convert(crm: Crm, ref: str, *, to: str, actor: Actor, now: datetime,
            company: str | None = None) -> Converted:
    if to not in ("company", "person"):
        raise UserError(f"cannot convert to {to!r}", "use --to company or --to person")
    with Change(crm, actor.identity, now) as change:
        old = resolve(crm, ref, ["company", "person"])
        if old.kind == to:
            raise UserError(f"{old.name!r} is already a {to}")
        fields, kept_in_notes = _carried(crm, old, to)
        # The old id stays taken and leads here: a teammate's line written against it before
        # they pulled this convert is re-pointed by their sync (crmctl.reconcile).
        fields["merged"] = list(dict.fromkeys([*(fields.get("merged") or []), old.id]))
        fields.update(updated=stamp(now))
        fields.setdefault("created", stamp(now))
        index = crm.index
        if to == "company":
            if company:
                raise UserError("--company is for converting to a person")
            fields["id"] = unique_id(crm, "company", slugify(normalize_company(old.name),
                                                               KINDS["company"].id_prefix))
            new_company, new_person = fields["id"], None
            deals = [d for d in index.select("deal", company=old.get("company"))
                     if d.get("person") == old.id]
            timeline = index.timeline(person=old.id)
        else:
            if not company:
                raise UserError("a person needs a company: add --company COMPANY",
                                f"the company {old.name!r} becomes a person working there")
            employer = resolve(crm, company, ["company"])
            if employer.id == old.id:
                raise UserError(f"{old.name!r} cannot work at itself",
                                "give --company the company this person works for")
            people = index.select("person", company=old.id)
            if people:
                raise UserError(f"{old.name!r} has {len(people)} people of its own",
                                "move them to another company first")
            fields["id"] = unique_id(crm, "person", slugify(old.name, KINDS["person"].id_prefix))
            fields["company"] = employer.id
            new_company, new_person = employer.id, fields["id"]
            deals = index.select("deal", company=old.id)
            timeline = index.timeline(company=old.id)
        data = validated(crm, to, fields)
        new_path = record_path(to, data["id"])
        change.write(new_path, yamlio.dump(data))
        change.delete(old.path)
        for deal in deals:
            write_updated(change, deal, {"company": new_company, "person": new_person})
        repoint = Repointer(change, actor, "convert")
        pointer = {"company": new_company, "person": new_person}
        repoint.entries(timeline, pointer, new_company)
        column = "company" if old.kind == "company" else "person"
        moved = 0
        for task in crm.index.tasks(status=None):  # open or done: all move with it
            if task.get(column) == old.id:
                repoint.task(task, pointer)
                moved += 1
        message = f'Convert {old.kind} "{old.name}" to a {to}'
        commit = change.commit(message, [f"{old.kind}/{old.id}", f"{to}/{data['id']}",
                                         f"company/{new_company}"])
    return Converted(old, Record(to, data, new_path), commit, message, kept_in_notes, moved)


def _carried(crm: Crm, old: Record, to: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The old record's fields for the new kind, and the names of those kept as notes."""
    known = crm.record_schema(to)["properties"]
    fields: dict[str, Any] = {}
    leftovers: list[str] = []
    for key, value in old.data.items():
        if key in PLACED or value in (None, "", []):
            continue
        if key in known:
            fields[key] = value
        else:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            leftovers.append(f"{key}: {shown}")
    if leftovers:
        note = f"Kept from the {old.kind} record: " + "; ".join(leftovers)
        fields["notes"] = f"{fields['notes'].rstrip()}\n{note}" if fields.get("notes") else note
    return fields, tuple(line.split(":")[0] for line in leftovers)
