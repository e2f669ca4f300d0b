"""`crmctl move`: a deal through the pipeline, or a company or person to another status.

Every move is also appended to the activity log (stage or status, from, to, when, who), so the
stage history that velocity and staleness reports need is kept without rewriting anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from crmctl import activities
from crmctl.change import Change
from crmctl.dates import parse_date, stamp
from crmctl.errors import UserError
from crmctl.identity import Actor
from crmctl.model import Record
from crmctl.records import parse_amount, parse_probability, require_deal_details, write_updated
from crmctl.resolve import resolve
from crmctl.rules import fire
from crmctl.store import Crm


@dataclass(frozen=True)
class Moved:
    record: Record
    entry: dict[str, Any]
    commit: str | None
    message: str
    fired: Sequence[Any] = ()  # what workflow rules did (rules.Fired)


def move(crm: Crm, ref: str, target: str, *, actor: Actor, now: datetime,
         amount: str | None = None, probability: str | None = None, close: str | None = None,
         reason: str | None = None) -> Moved:
    """Move a deal to stage ``target``, or a company or person to status ``target``."""
    crm.index.defer_worktree_scan()  # names its record: see Index.defer_worktree_scan
    with Change(crm, actor.identity, now) as change:
        record = resolve(crm, ref)
        if record.kind == "deal":
            changes, field = _deal_changes(crm, record, target, now, amount, probability,
                                           close, reason), "stage"
        else:
            if any(v is not None for v in (amount, probability, close)):
                raise UserError("--amount, --probability and --close are for deals",
                                f"{record.name} is a {record.kind}")
            changes, field = _status_changes(crm, record, target), "status"
        before = record.get(field)
        updated = write_updated(change, record, changes)
        company = record.id if record.kind == "company" else str(record.get("company"))
        entry = {
            "id": activities.new_id(), "kind": "move", "at": stamp(now), "field": field,
            "from": before, "to": target, "reason": reason, "company": company,
            # The odds the owner gave before this move: what calibration checks them against.
            "probability_from": record.get("probability") if field == "stage" else None,
            "person": record.id if record.kind == "person" else None,
            "deal": record.id if record.kind == "deal" else None,
            "by": actor.user_id or actor.identity.email, "by_name": actor.identity.name,
        }
        activities.append(change, [entry])
        fired = fire(change, "deal_enters", updated, actor, target) if field == "stage" else []
        message = f'Move {record.kind} "{record.name}": {before} -> {target}' + (
            f" ({activities.first_line(reason, 50)})" if reason else "")
        records = [f"{record.kind}/{record.id}"] + (
            [f"company/{company}"] if record.kind != "company" else [])
        commit = change.commit(message, records + [f"task/{f.task['id']}" for f in fired])
    return Moved(updated, entry, commit, message, tuple(fired))


def _status_changes(crm: Crm, record: Record, status: str) -> dict[str, Any]:
    crm.process.status_or_error(status)
    if record.get("status") == status:
        raise UserError(f"{record.kind} {record.name!r} is already {status}")
    return {"status": status}


def _deal_changes(crm: Crm, deal: Record, stage_id: str, now: datetime, amount: str | None,
                  probability: str | None, close: str | None,
                  reason: str | None) -> dict[str, Any]:
    process = crm.process
    stage = process.stage_or_error(stage_id)
    if deal.get("stage") == stage_id:
        raise UserError(f"deal {deal.name!r} is already in {stage_id}")
    changes: dict[str, Any] = {
        "stage": stage_id, "stage_since": stamp(now),
        # The stage's probability, unless one is given: probabilities belong to stages.
        "probability": (parse_probability(probability) if probability is not None
                        else stage.probability),
    }
    if amount is not None:
        changes["amount"] = parse_amount(amount)
    if close is not None:
        changes["close"] = parse_date(close, now).isoformat()
    if stage.closed == "lost" and not (reason or "").strip():
        raise UserError(f"moving {deal.name!r} to {stage_id} needs a reason",
                        "add --reason TEXT, e.g. --reason 'went with a competitor'")
    require_deal_details(crm, stage_id, {**deal.data, **changes})
    changes["closed_at"] = stamp(now) if stage.closed else None
    changes["lost_reason"] = reason.strip() if stage.closed == "lost" and reason else None
    return changes
