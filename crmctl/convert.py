"""`crmctl convert`: a person entered as a company, or the reverse, made right.

The new record takes the old one's name, status, owner, source and tags; deals follow it, and
its activities are re-pointed by ``amend`` lines (the log itself is never rewritten), so its
timeline survives. The old file is removed in the same commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crmctl import activities
from crmctl.change import Change
from crmctl.dates import stamp
from crmctl.errors import UserError
from crmctl.identity import Actor
from crmctl.model import KINDS, Record
from crmctl.names import normalize_company, slugify
from crmctl.records import unique_id, validated, write_updated
from crmctl.resolve import resolve
from crmctl.store import Crm, record_path
from crmctl import yamlio

CARRIED = ("status", "owner", "source", "tags", "notes")


@dataclass(frozen=True)
class Converted:
    old: Record
    new: Record
    commit: str | None
    message: str


def convert(crm: Crm, ref: str, *, to: str, actor: Actor, now: datetime,
            company: str | None = None) -> Converted:
    if to not in ("company", "person"):
        raise UserError(f"cannot convert to {to!r}", "use --to company or --to person")
    with Change(crm, actor.identity, now) as change:
        old = resolve(crm, ref, ["company", "person"])
        if old.kind == to:
            raise UserError(f"{old.name!r} is already a {to}")
        fields: dict[str, Any] = {k: old.get(k) for k in CARRIED}
        fields.update(name=old.name, created=stamp(now), updated=stamp(now))
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
        activities.append(change, [{
            "id": activities.new_id(), "kind": "amend", "at": stamp(now),
            "amends": entry["id"], "company": new_company,
            "set": {"company": new_company, "person": new_person},
            "by": actor.user_id or actor.identity.email, "by_name": actor.identity.name,
        } for entry in timeline if entry.get("id")])
        message = f'Convert {old.kind} "{old.name}" to a {to}'
        commit = change.commit(message, [f"{old.kind}/{old.id}", f"{to}/{data['id']}",
                                         f"company/{new_company}"])
    return Converted(old, Record(to, data, new_path), commit, message)
