"""`crmctl log`: record a call, email, meeting or attempt against a company, person or deal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Sequence

from crmctl import activities
from crmctl.change import Change
from crmctl.dates import parse_date, stamp
from crmctl.tasks import stage_add
from crmctl.errors import Conflict, UserError
from crmctl.identity import Actor
from crmctl.model import ActivityType, Record
from crmctl.records import resolve_member, write_updated
from crmctl.resolve import resolve
from crmctl.store import Crm

FUTURE_TOLERANCE = timedelta(minutes=5)  # clocks drift; a call logged "now" is never future


@dataclass(frozen=True)
class Logged:
    entry: dict[str, Any]
    commit: str | None
    message: str
    promoted: Sequence[Record] = field(default_factory=tuple)
    follow_up: dict[str, Any] | None = None  # the task --follow-up made


def parse_follow_up(text: str, now: datetime) -> tuple[date, str]:
    """'+3d: send the proposal' -> (the date, 'send the proposal')."""
    when, sep, what = text.partition(": ")
    if not sep or not what.strip() or not when.strip():
        raise UserError(f"--follow-up {text!r} is not WHEN: TEXT",
                        'e.g. --follow-up "+3d: send the proposal"')
    return parse_date(when, now), what.strip()


def activity_type(crm: Crm, type_id: str) -> ActivityType:
    found = crm.process.activity_type(type_id)
    if found is None:
        valid = ", ".join(t.id for t in crm.process.activity_types)
        raise UserError(f"unknown activity type {type_id!r} (types: {valid})",
                        "activity types are declared under activity_types: in crm.yaml")
    return found


def is_outreach(kind: ActivityType) -> bool:
    return kind.contact in ("attempt", "real") and kind.direction == "outgoing"


def heads_up(crm: Crm, company_id: str, actor: Actor, now: datetime) -> list[dict[str, Any]]:
    """Contact with this company (or its people and deals) logged by someone else lately."""
    days = crm.process.rules.heads_up_days
    if days <= 0:
        return []
    since = (now - timedelta(days=days)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    me = {actor.identity.email.lower(), (actor.user_id or "").lower()}
    contacts = {t.id for t in crm.process.activity_types if t.contact in ("attempt", "real")}
    return [e for e in crm.index.timeline(company=company_id, since_utc=since, kind="activity")
            if e.get("type") in contacts and str(e.get("by", "")).lower() not in me]


def log_activity(crm: Crm, ref: str, *, type_id: str, actor: Actor, now: datetime,
                 note: str | None = None, at: datetime | None = None,
                 with_person: str | None = None, deal: str | None = None,
                 outcome: str | None = None, force: bool = False,
                 follow_up: str | None = None,
                 on_heads_up: Callable[[list[dict[str, Any]]], None] | None = None) -> Logged:
    """Append one activity to the log (and promote a lead on first contact), in one commit.

    ``on_heads_up`` is called before anything is written when someone else contacted the
    same company lately; it warns, never blocks.
    """
    crm.index.defer_worktree_scan()  # after every call: see Index.defer_worktree_scan
    kind = activity_type(crm, type_id)
    if note is not None and not note.strip():
        note = None
    if kind.note == "required" and note is None:
        raise UserError(f"a {kind.id} needs a note",
                        "add --note TEXT, or --note - to read it from stdin")
    follow, when = _checked_options(kind, outcome, follow_up, at, now)
    with Change(crm, actor.identity, now) as change:
        company, person, deal_record = _checked_parties(crm, ref, kind, with_person, deal, force)
        rules = crm.process.rules
        if on_heads_up is not None:
            recent = heads_up(crm, company.id, actor, now)
            if recent:
                on_heads_up(recent)
        entry = {
            "id": activities.new_id(), "kind": "activity", "at": stamp(when),
            "type": kind.id, "outcome": outcome, "company": company.id,
            "person": person.id if person else None,
            "deal": deal_record.id if deal_record else None,
            "note": note.rstrip("\n") if note else None,
            "by": actor.user_id or actor.identity.email, "by_name": actor.identity.name,
            "logged": stamp(now),
        }
        activities.append(change, [entry])
        task = None
        if follow is not None:
            # The task points at the activity, so it carries the note's context.
            task = stage_add(change, text=follow[1], actor=actor,
                             assignee=actor.user_id or actor.identity.email, due=follow[0],
                             about=deal_record or person or company, activity=entry["id"])
        promoted, moves = [], []
        if kind.contact == "real" and rules.first_contact_promotes:
            before, after = rules.first_contact_promotes
            for record in (company, person):
                if record is not None and record.get("status") == before:
                    # No `updated` bump: two clones promoting the same lead then make the same
                    # one-line change, which git merges without a conflict.
                    promoted.append(write_updated(change, record, {"status": after}, bump=False))
                    # A move line too, so the funnel and velocity reports see the step.
                    moves.append({
                        "id": activities.new_id(), "kind": "move", "at": stamp(when),
                        "field": "status", "from": before, "to": after,
                        "reason": f"first {kind.id}", "company": company.id,
                        "person": record.id if record.kind == "person" else None,
                        "by": actor.user_id or actor.identity.email,
                        "by_name": actor.identity.name})
        activities.append(change, moves)
        who = f" ({person.name})" if person else ""
        summary = activities.first_line(note, 60)
        message = f'Log {kind.id}{"/" + outcome if outcome else ""} with "{company.name}"{who}' \
                  + (f": {summary}" if summary else "")
        records = [f"company/{company.id}"] + ([f"person/{person.id}"] if person else []) + \
            ([f"deal/{deal_record.id}"] if deal_record else []) + \
            ([f"task/{task['id']}"] if task else [])
        commit = change.commit(message, records)
    return Logged(entry, commit, message, tuple(promoted), task)


def preflight(crm: Crm, ref: str, *, type_id: str, now: datetime, at: datetime | None = None,
              with_person: str | None = None, deal: str | None = None,
              outcome: str | None = None, force: bool = False,
              follow_up: str | None = None) -> Record:
    """Every check ``log_activity`` makes except the note's, without writing or locking.

    Run before asking for a note in an editor, so a note is never typed for a command that
    is then refused; returns the record to name in the editor's template."""
    kind = activity_type(crm, type_id)
    _checked_options(kind, outcome, follow_up, at, now)
    company, person, deal_record = _checked_parties(crm, ref, kind, with_person, deal, force)
    return deal_record or person or company


def _checked_options(kind: ActivityType, outcome: str | None, follow_up: str | None,
                     at: datetime | None, now: datetime) -> tuple[tuple[date, str] | None,
                                                                     datetime]:
    """(the follow-up's date and text, when it happened), or UserError."""
    if outcome is not None and outcome not in kind.outcomes:
        valid = ", ".join(kind.outcomes) or f"none are declared for {kind.id}"
        raise UserError(f"unknown outcome {outcome!r} for {kind.id} (outcomes: {valid})")
    follow = parse_follow_up(follow_up, now) if follow_up is not None else None
    when = at or now
    if when > now + FUTURE_TOLERANCE:
        raise UserError(f"--at {stamp(when)} is in the future",
                        "log what happened; plan what will happen with crmctl task add")
    return follow, when


def _checked_parties(crm: Crm, ref: str, kind: ActivityType, with_person: str | None,
                     deal: str | None, force: bool) -> tuple[Record, Record | None,
                                                             Record | None]:
    """The activity's (company, person, deal), after the do-not-contact rule."""
    company, person, deal_record = _parties(crm, resolve(crm, ref), with_person, deal)
    rules = crm.process.rules
    for record in (company, person):
        if (record is not None and is_outreach(kind) and not force
                and record.get("status") == rules.do_not_contact_status):
            raise Conflict(f"{record.kind} {record.name!r} is marked "
                           f"{rules.do_not_contact_status}; {kind.id} is outreach",
                           "incoming contact is fine; add --force if they asked you to call")
    return company, person, deal_record


def _parties(crm: Crm, target: Record, with_person: str | None,
             deal: str | None) -> tuple[Record, Record | None, Record | None]:
    """(company, person, deal) an activity is about; each must belong to the same company."""
    index = crm.index
    person = target if target.kind == "person" else None
    deal_record = target if target.kind == "deal" else None
    company = target if target.kind == "company" else index.get("company", target.get("company"))
    if company is None:
        raise UserError(f"{target.kind} {target.name!r} has no readable company "
                        f"{target.get('company')!r}", "run crmctl check")
    if with_person:
        person = resolve_member(crm, with_person, "person", company)
    if deal:
        deal_record = resolve_member(crm, deal, "deal", company)
    for other in (deal_record, person):  # a deal or person named as the RECORD itself
        if other is not None and other.get("company") != company.id:
            raise UserError(f"{other.kind} {other.name!r} is at {other.get('company')}, "
                            f"not at {company.name}", "name one of the company's own")
    if deal_record is not None and person is None and deal_record.get("person"):
        person = index.get("person", deal_record.get("person"))
    return company, person, deal_record
