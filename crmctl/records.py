"""Adding, finding and listing companies, people and deals: the core behind add/show/list."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

from crmctl import yamlio
from crmctl.change import Change
from crmctl.dates import parse_date, stamp
from crmctl.dedupe import Match, names_ready, similar_companies, similar_people
from crmctl.errors import Conflict, NotFound, UserError
from crmctl.identity import Actor
from crmctl.location import folders_an_add_reads
from crmctl.model import KINDS, Record
from crmctl.names import check_name, normalize_company, normalize_person, slugify
from crmctl.render import money as money_text
from crmctl.resolve import resolve
from crmctl.schemas import field_order, load_schema
from crmctl.store import Crm, record_path

_DOMAIN_PREFIX = re.compile(r"^(?:[a-z]+://)?(?:www\.)?")


@dataclass(frozen=True)
class Added:
    record: Record
    commit: str | None
    message: str
    fired: Sequence[Any] = ()          # what workflow rules did (rules.Fired)
    routed_to: str | None = None       # the owner a routing rule chose


@dataclass(frozen=True)
class Shown:
    record: Record
    company: Record | None = None
    people: Sequence[Record] = field(default_factory=tuple)
    deals: Sequence[Record] = field(default_factory=tuple)
    # Activities and moves, newest first; a company's include its people's and deals'.
    timeline: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    timeline_total: int = 0  # all of them, when ``timeline`` holds only the newest


# --- building and validating ---------------------------------------------------------------

def split_assignment(pair: str, example: str) -> tuple[str, str]:
    """``FIELD=VALUE`` as (field, value); UserError with ``example`` when it is not one."""
    name, sep, value = pair.partition("=")
    name = name.strip()
    if not sep or not name:
        raise UserError(f"--set {pair!r} is not FIELD=VALUE", f"e.g. --set {example}")
    return name, value


def parse_assignments(pairs: Iterable[str], kind: str, crm: Crm) -> dict[str, str]:
    """``--set FIELD=VALUE`` pairs for the team's own fields and notes (the other built-in
    fields have options of their own, which must not be overridden silently)."""
    allowed = sorted(crm.process.fields.get(kind) or {}) + ["notes"]
    values: dict[str, str] = {}
    for pair in pairs:
        name, value = split_assignment(pair, "territory=north")
        if name not in allowed:
            hint = (f"use --{name} for a built-in field" if name in builtin_fields(kind)
                    else f"declare it under fields: {kind}: in crm.yaml")
            raise UserError(
                f"unknown {kind} field {name!r} (declared fields: {', '.join(allowed) or 'none'})",
                hint)
        values[name] = value
    return values


def validated(crm: Crm, kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The record in file key order, typed and checked; UserError listing every problem."""
    order = field_order(kind, crm.process)
    document = {key: fields[key] for key in order if fields.get(key) not in (None, [], "")}
    # Keys crmctl does not know (added by hand) are kept, after the known ones: the schema
    # says whether they may stay; a rewrite never drops them silently.
    document.update((key, value) for key, value in fields.items()
                    if key not in document and key not in order
                    and value not in (None, [], ""))
    typed = crm.coercer(kind)(document)
    problems = [message for _, message in crm.validator(kind).errors(typed)]
    if problems:
        raise UserError("; ".join(problems))
    return typed


def write_updated(change: Change, record: Record, changes: Mapping[str, Any],
                  bump: bool = True) -> Record:
    """Stage ``record`` with ``changes`` applied (None removes a field) and ``updated`` bumped.

    The record is re-read from its file under the lock, so a concurrent change is kept.
    """
    current = change.crm.read_path(record.path) or record
    fields = {**current.data, **changes}
    if bump:
        fields["updated"] = stamp(change.now)
    data = validated(change.crm, record.kind, fields)
    change.write(record.path, yamlio.dump(data))
    return Record(record.kind, data, record.path)


def resolve_member(crm: Crm, ref: str, kind: str, company: Record) -> Record:
    """A person or deal of ``company`` by loose name; one elsewhere is named in the error."""
    try:
        return resolve(crm, ref, [kind], company=company.id)
    except NotFound:
        other = resolve(crm, ref, [kind])  # raises NotFound/Ambiguous itself if none fits
        raise UserError(f"{other.kind} {other.name!r} is at {other.get('company')}, "
                        f"not at {company.name}", f"name a {kind} of {company.name}") from None


def require_deal_details(crm: Crm, stage_id: str, deal: Mapping[str, Any]) -> None:
    """From the configured stage on (lost aside), a deal needs amount, probability, close."""
    process = crm.process
    required_from = process.rules.deal_details_required_from
    stage = process.stage(stage_id)
    if not required_from or stage is None or stage.closed == "lost":
        return
    if process.stage_index(stage_id) < process.stage_index(required_from):
        return
    missing = [f for f in ("amount", "probability", "close") if deal.get(f) is None]
    if missing:
        flags = " ".join(f"--{f} ..." for f in missing)
        raise UserError(f"a deal in {stage_id} needs {', '.join(missing)}",
                        f"from {required_from} on, deals carry them: add {flags}")


def _precheck(crm: Crm, kind: str, fields: Mapping[str, Any], now: datetime) -> None:
    """Validate what the user typed before any lookup, lock or write."""
    validated(crm, kind, {**fields, "id": "x", "created": stamp(now), "updated": stamp(now)})


def unique_id(crm: Crm, kind: str, base: str) -> str:
    """``base``, or ``base-2``, ``base-3``...: the first free one, in the index and on disk.

    The id of a duplicate merged away stays taken: old log lines and other clones still
    name it, and must keep meaning the record it was merged into."""
    candidate, n = base, 1
    while crm.index.kinds_with_id(candidate, [kind]) or (
            crm.root / record_path(kind, candidate)).exists() or \
            crm.index.merged_into(kind, candidate) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _duplicate_error(kind: str, name: str, matches: Sequence[Match]) -> Conflict:
    listed = "; ".join(f"{m.name} ({m.id}, {m.score:.0f}%: {m.reason})" for m in matches[:3])
    return Conflict(f"{kind} {name!r} looks like an existing {kind}: {listed}",
                    "use the existing one, or add --force to add it anyway")


def _write_new(change: Change, kind: str, fields: dict[str, Any], message: str,
               actor: Actor, routed_to: str | None = None) -> Added:
    """Write a new record, run the workflow rules it triggers, and commit it all as one;
    the caller holds ``change`` (the CRM lock)."""
    from crmctl.rules import fire

    fields["created"] = fields["updated"] = stamp(change.now)
    data = validated(change.crm, kind, fields)
    path = record_path(kind, data["id"])
    change.write(path, yamlio.dump(data))
    record = Record(kind, data, path)
    fired = fire(change, "added", record, actor)
    if kind == "deal":
        fired += fire(change, "deal_enters", record, actor, data["stage"])
    related = [f"company/{data['company']}"] if data.get("company") else []
    commit = change.commit(message, [f"{kind}/{data['id']}", *related]
                           + [f"task/{f.task['id']}" for f in fired])
    return Added(record, commit, message, tuple(fired), routed_to)


def _routed_owner(crm: Crm, owner: str | None, fields: Mapping[str, Any]) -> tuple[str | None,
                                                                                 str | None]:
    """(owner, routed_to): an explicit owner wins; else the first routing rule that fits."""
    if owner is not None:
        return _owner(crm, owner), None
    from crmctl.rules import route

    chosen = route(crm, fields)
    return (chosen.owner, chosen.owner) if chosen else (None, None)


def normalize_domain(domain: str) -> str:
    value = _DOMAIN_PREFIX.sub("", domain.strip().lower()).split("/")[0]
    return value


_AMOUNT = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)(\.\d{1,4})?$")
MAX_AMOUNT = Decimal(10) ** 15


def parse_amount(text: str) -> Decimal:
    """12000, 12,000.50: plain decimals only (no exponents, no stray commas), bounded."""
    cleaned = text.strip()
    if not _AMOUNT.match(cleaned):
        raise UserError(f"amount {text!r} is not a number", "e.g. --amount 12000 or 12,000.50")
    value = Decimal(cleaned.replace(",", ""))
    if value < 0:
        raise UserError(f"amount {text!r} is negative", "amounts are zero or more")
    if value >= MAX_AMOUNT:
        raise UserError(f"amount {text!r} is too large", "amounts are below 10^15")
    return value


def parse_probability(text: str) -> float | int:
    """A win probability in percent: 40, 12.5, 40%. A bare 0.4 is refused: it is almost
    always a fraction meant as 40%, and weighting a deal at 0.4% would hide it."""
    cleaned = text.strip()
    percent = cleaned.endswith("%")
    try:
        value = float(cleaned.rstrip("%").strip())
    except ValueError:
        raise UserError(f"probability {text!r} is not a number",
                        "give a percentage from 0 to 100, e.g. --probability 40") from None
    if not 0 <= value <= 100 or value != value:
        raise UserError(f"probability {text!r} is not between 0 and 100",
                        "give a percentage, e.g. --probability 40")
    if 0 < value < 1 and not percent:
        raise UserError(f"probability {text!r} looks like a fraction, but it is in percent",
                        f"write {value * 100:g} for {value * 100:g}%, or {cleaned}% if you "
                        "mean under one percent")
    return int(value) if value.is_integer() else value


def _owner(crm: Crm, owner: str | None) -> str | None:
    if owner is None or not crm.process.users:
        return owner
    return crm.user_or_error(owner)


# --- add -----------------------------------------------------------------------------------

def add_company(crm: Crm, name: str, *, actor: Actor, now: datetime, domain: str | None = None,
                status: str | None = None, owner: str | None = None, source: str | None = None,
                tags: Sequence[str] = (), extra: Mapping[str, str] | None = None,
                force: bool = False) -> Added:
    name = check_name(name, "company name")
    domain = normalize_domain(domain) if domain else None
    fields: dict[str, Any] = dict(extra or {})
    fields.update(name=name, domain=domain, status=status or default_status(crm),
                  source=source, tags=_tags(tags))
    fields["owner"], routed_to = _routed_owner(crm, owner, fields)
    _precheck(crm, "company", fields, now)
    crm.index.narrow_worktree_scan(folders_an_add_reads("company"))
    ready = None if force else names_ready(crm)
    # Lookups, the duplicate guard and the choice of id happen under the lock, so two
    # concurrent adds of one name cannot both pass the guard.
    with Change(crm, actor.identity, now) as change:
        if not force:
            matches = similar_companies(crm, name, domain, ready)
            if matches:
                raise _duplicate_error("company", name, matches)
        # The id leaves out legal suffixes: "Acme Products, Inc." is acme-products.
        fields["id"] = unique_id(crm, "company",
                                  slugify(normalize_company(name), KINDS["company"].id_prefix))
        return _write_new(change, "company", fields, f'Add company "{name}"', actor, routed_to)


def add_person(crm: Crm, name: str, *, company: str, actor: Actor, now: datetime,
               emails: Sequence[str] = (), phones: Sequence[str] = (), title: str | None = None,
               status: str | None = None, owner: str | None = None, source: str | None = None,
               tags: Sequence[str] = (), extra: Mapping[str, str] | None = None,
               force: bool = False) -> Added:
    name = check_name(name, "person's name")
    emails = _unique([e.strip().lower() for e in emails if e.strip()])
    fields: dict[str, Any] = dict(extra or {})
    fields.update(name=name, title=title, emails=emails,
                  phones=_unique([p.strip() for p in phones if p.strip()]),
                  status=status or default_status(crm), source=source, tags=_tags(tags))
    fields["owner"], routed_to = _routed_owner(crm, owner, fields)
    _precheck(crm, "person", {**fields, "company": "x"}, now)
    crm.index.narrow_worktree_scan(folders_an_add_reads("person"))
    with Change(crm, actor.identity, now) as change:
        employer = resolve(crm, company, ["company"])
        fields["company"] = employer.id
        if not force:
            matches = similar_people(crm, name, employer.id, emails, fields["phones"])
            if matches:
                raise _duplicate_error("person", name, matches)
        fields["id"] = unique_id(crm, "person", slugify(name, KINDS["person"].id_prefix))
        return _write_new(change, "person", fields, f'Add person "{name}" at "{employer.name}"',
                          actor, routed_to)


def add_deal(crm: Crm, name: str, *, company: str, actor: Actor, now: datetime,
             person: str | None = None, amount: str | None = None, currency: str | None = None,
             stage: str | None = None, probability: str | None = None, close: str | None = None,
             owner: str | None = None, source: str | None = None, tags: Sequence[str] = (),
             extra: Mapping[str, str] | None = None, force: bool = False) -> Added:
    name = check_name(name, "deal title")
    process = crm.process
    stage_id = stage or next(s.id for s in process.stages if not s.closed)
    chosen = process.stage_or_error(stage_id)
    fields: dict[str, Any] = dict(extra or {})
    fields.update(
        name=name, amount=parse_amount(amount) if amount is not None else None,
        currency=(currency or process.currency).upper(), stage=stage_id,
        probability=(parse_probability(probability) if probability is not None
                     else chosen.probability),
        close=parse_date(close, now).isoformat() if close else None,
        owner=_owner(crm, owner), source=source, tags=_tags(tags), stage_since=stamp(now),
        # A deal entered already won or lost (an old sale, typed in) closed when it was added.
        closed_at=stamp(now) if chosen.closed else None)
    _precheck(crm, "deal", {**fields, "company": "x"}, now)
    require_deal_details(crm, stage_id, fields)
    crm.index.narrow_worktree_scan(folders_an_add_reads("deal", with_person=bool(person)))
    with Change(crm, actor.identity, now) as change:
        employer = resolve(crm, company, ["company"])
        fields["company"] = employer.id
        if person:
            fields["person"] = resolve_member(crm, person, "person", employer).id
        if not force:
            same = [d for d in crm.index.select("deal", company=employer.id)
                    if normalize_person(d.name) == normalize_person(name)]
            if same:
                raise _duplicate_error("deal", name, [
                    Match(d.id, d.name, 100.0, f"same title at {employer.name}") for d in same])
        base = slugify(f"{employer.id} {name}", KINDS["deal"].id_prefix)
        fields["id"] = unique_id(crm, "deal", base)
        money = f"{money_text(fields['amount'])} {fields['currency']}, " \
            if fields["amount"] is not None else ""
        return _write_new(change, "deal", fields,
                          f'Add deal "{name}" with "{employer.name}" ({money}{stage_id})', actor)


def default_status(crm: Crm) -> str:
    statuses = crm.process.statuses
    return "lead" if "lead" in statuses else statuses[0]


def _tags(tags: Sequence[str]) -> list[str]:
    return _unique([t.strip() for tag in tags for t in tag.split(",") if t.strip()])


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


# --- read ----------------------------------------------------------------------------------

def show(crm: Crm, ref: str, kinds: Sequence[str] = tuple(KINDS),
         timeline_limit: int | None = None) -> Shown:
    """A record with its company, people, deals and its newest ``timeline_limit`` entries."""
    record = resolve(crm, ref, kinds)
    index = crm.index
    about = {record.kind: record.id}
    timeline = index.timeline(**about, limit=timeline_limit)
    total = index.timeline_count(**about) if timeline_limit else len(timeline)
    if record.kind == "company":
        return Shown(record, None, index.select("person", company=record.id),
                     index.select("deal", company=record.id), timeline, total)
    company_id = record.get("company") if isinstance(record.get("company"), str) else None
    company = index.get("company", company_id) if company_id else None
    if record.kind == "person":
        deals = [d for d in index.select("deal", company=company_id)
                 if d.get("person") == record.id]
        return Shown(record, company, (), deals, timeline, total)
    people = [p for p in (index.get("person", record.get("person")),) if p]
    return Shown(record, company, people, (), timeline, total)


def list_records(crm: Crm, kind: str, *, status: str | None = None, stage: str | None = None,
                 owner: str | None = None, tag: str | None = None,
                 company: str | None = None, open_only: bool = False) -> list[Record]:
    """Records of a kind, filtered; ``open_only`` keeps deals in stages that are not closed."""
    process = crm.process
    if status is not None:
        process.status_or_error(status)
    if stage is not None:
        process.stage_or_error(stage)
    # A filter that does not apply to the kind would quietly match nothing.
    for option, value, kinds in (("--status", status, ("company", "person")),
                                 ("--stage", stage, ("deal",)), ("--open", open_only, ("deal",)),
                                 ("--company", company, ("person", "deal"))):
        if value and kind not in kinds:
            raise UserError(f"{option} does not apply to {KINDS[kind].plural}",
                            f"it filters {' and '.join(KINDS[k].plural for k in kinds)}")
    if owner is not None and process.users:
        crm.user_or_error(owner)
    company_id = resolve(crm, company, ["company"]).id if company else None
    found = crm.index.select(kind, status=status, stage=stage, owner=owner, tag=tag,
                             company=company_id)
    if open_only:
        closed = {s.id for s in process.stages if s.closed}
        found = [r for r in found if r.get("stage") not in closed]
    return found


def builtin_fields(kind: str) -> list[str]:
    return list(load_schema(f"{kind}.schema.json")["properties"])
