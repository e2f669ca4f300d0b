"""`crmctl assign`: hand a company, person or deal to another owner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from crmctl.change import Change
from crmctl.errors import UserError
from crmctl.identity import Actor
from crmctl.model import Record
from crmctl.records import write_updated
from crmctl.resolve import resolve
from crmctl.rules import fire
from crmctl.store import Crm


@dataclass(frozen=True)
class Assigned:
    record: Record
    commit: str | None
    message: str
    fired: Sequence[Any] = ()


def assign(crm: Crm, ref: str, user: str, *, actor: Actor, now: datetime) -> Assigned:
    owner = crm.user_or_error(user)
    with Change(crm, actor.identity, now) as change:
        record = resolve(crm, ref)
        if record.get("owner") == owner:
            raise UserError(f"{record.kind} {record.name!r} is already {owner}'s")
        updated = write_updated(change, record, {"owner": owner})
        # The version it was assigned from makes the occasion: back to an earlier owner
        # later is a new hand-over, with a new task.
        fired = fire(change, "assigned", updated, actor, owner,
                     occasion=str(record.get("updated") or ""))
        person = crm.process.user(owner)
        message = f'Assign {record.kind} "{record.name}" to {person.name if person else owner}'
        related = [f"company/{record.get('company')}"] if record.get("company") else []
        commit = change.commit(message, [f"{record.kind}/{record.id}", *related]
                               + [f"task/{f.task['id']}" for f in fired])
    return Assigned(updated, commit, message, tuple(fired))
