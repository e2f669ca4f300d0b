"""`crmctl mail-in`: log an email that was forwarded, BCC'd or delivered to the CRM.

One RFC 5322 message in, at most one commit out. The message's addresses say what it is:

- From a user of crm.yaml: ``email-sent`` by that user; the counterparties are To and Cc.
- Else to (or copied to) a user: ``email-received`` by that user; the counterparty is From.
- From a user, to no one the CRM knows, with a forwarded message inside (inline, as Gmail,
  Apple Mail, Outlook and Thunderbird write it, or attached as message/rfc822): the forwarded
  message is logged, with its own From/To/Date/Subject, by the user who forwarded it.

Counterparties are matched to people by exact email, else to companies by the address's
domain (or a parent domain: mail.acme.com finds acme.com); free-mail domains and the team's
own domains never match a company. Each matched company gets one activity line, all in one
commit. The note is the subject and the plain-text body with quoted replies and signatures
trimmed (HTML-only mail is turned into text). The Message-ID is stored on each line, and a
message already logged is reported, never logged twice. A message that matches no one is
refused with the addresses named (``NotFound``), or with ``create_lead`` becomes a new company
and person in the same commit. Nothing here prints: the CLI renders the results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

from crmctl import activities
from crmctl.change import Change
from crmctl.dates import stamp
from crmctl.errors import Conflict, CrmError, NotFound, UserError
from crmctl.gitops import Identity
from crmctl.identity import Actor
from crmctl.log_activity import activity_type
from crmctl.model import Record
from crmctl.records import default_status
from crmctl.mail import (FUTURE_TOLERANCE, LEAD_SOURCE, Mail, Party, company_name_of,
                         is_free_mail, parse_mail, person_name_of, registrable_domain)
from crmctl.store import Crm

SENT, RECEIVED = "email-sent", "email-received"
class Team:
    """The team's addresses: each user of crm.yaml with an email (and the person acting)."""

    def __init__(self, crm: Crm, fallback: Actor | None = None):
        self.actors: dict[str, Actor] = {}
        for user in crm.process.users:
            if user.email:
                self.actors.setdefault(user.email.lower(),
                                       Actor(Identity(user.name, user.email), user.id))
        if fallback is not None and fallback.identity.email:
            self.actors.setdefault(fallback.identity.email.lower(), fallback)
        self.domains = {d for d in (a.rpartition("@")[2] for a in self.actors)
                        if not is_free_mail(d)}

    def actor(self, party: Party | None) -> Actor | None:
        return self.actors.get(party.address) if party is not None else None

    def is_ours(self, party: Party) -> bool:
        """A user, or another address at the team's own domain (the CRM's BCC address)."""
        return party.address in self.actors or party.domain in self.domains


# --- matching ---------------------------------------------------------------------------------

@dataclass
class Hit:
    """One company the message is about, with the first of its people on it."""

    company: Record
    person: Record | None = None


@dataclass
class Matched:
    hits: list[Hit] = field(default_factory=list)
    unmatched: list[Party] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why an address was not used


def match(crm: Crm, parties: Sequence[Party]) -> Matched:
    """Companies (and people) for these addresses, in their order, one hit per company."""
    result = Matched()
    by_company: dict[str, Hit] = {}
    index = crm.index
    for party in parties:
        company = person = None
        people = index.by_contact("person", "email", party.address)
        if len(people) > 1:
            result.notes.append(f"{party.address} is on {len(people)} people: "
                                + ", ".join(name for _, name in people))
            result.unmatched.append(party)
            continue
        if people:
            person = index.get("person", people[0][0])
            company = index.get("company", person.get("company")) if person else None
            if company is None:
                result.notes.append(f"{party.address} is {people[0][1]}, whose company "
                                    "cannot be read (run crmctl check)")
                result.unmatched.append(party)
                continue
        else:
            company = _company_by_domain(crm, party.domain, result.notes)
            if company is None:
                result.unmatched.append(party)
                continue
        hit = by_company.get(company.id)
        if hit is None:
            hit = by_company[company.id] = Hit(company, person)
            result.hits.append(hit)
        elif hit.person is None:
            hit.person = person
    return result


def _company_by_domain(crm: Crm, domain: str, notes: list[str]) -> Record | None:
    """The company with this domain, or a parent domain of it (never a bare TLD)."""
    labels = domain.split(".")
    for start in range(0, len(labels) - 1):
        candidate = ".".join(labels[start:])
        if is_free_mail(candidate) or "." not in candidate:
            return None
        found = crm.index.by_contact("company", "domain", candidate)
        if len(found) > 1:
            notes.append(f"the domain {candidate} is on {len(found)} companies: "
                         + ", ".join(name for _, name in found))
            return None
        if found:
            return crm.index.get("company", found[0][0])
        if candidate == registrable_domain(domain):
            return None
    return None


# --- filing -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filed:
    """What mail-in did with one message."""

    status: str                  # "logged", "already logged", or "would log" (dry run)
    message: str                 # the feed line: 'Mail-in email-received from "Acme" ...'
    message_id: str
    subject: str
    entries: Sequence[dict[str, Any]] = ()
    commit: str | None = None
    created: Sequence[Record] = ()       # new leads (--create-lead)
    promoted: Sequence[Record] = ()      # records a first contact moved on
    warnings: Sequence[str] = ()


def mail_in(crm: Crm, data: bytes, *, now: datetime, fallback: Actor | None = None,
            create_lead: bool = False, dry_run: bool = False) -> Filed:
    """Log one message (bytes of RFC 5322); see the module's docstring for the rules.

    Raises UserError for what is not a message, NotFound when no user of crm.yaml is on it
    or it matches no one, Conflict when a lead to create looks like an existing company.
    ``fallback`` (the person acting) counts as one of the team's addresses."""
    outer = parse_mail(data)
    team = Team(crm, fallback)
    actor, type_id = _direction(team, outer)
    if dry_run:
        return _file(crm, outer, team, actor, type_id, now, None, create_lead)
    with Change(crm, actor.identity, now) as change:
        return _file(crm, outer, team, actor, type_id, now, change, create_lead)


def _direction(team: Team, mail: Mail) -> tuple[Actor, str]:
    """(the user who logs it, email-sent or email-received), from the outer message."""
    sender = team.actor(mail.sender)
    if sender is not None:
        return sender, SENT
    for party in mail.recipients:
        receiver = team.actor(party)
        if receiver is not None:
            return receiver, RECEIVED
    listed = ", ".join(p.address for p in (mail.sender, *mail.recipients) if p is not None)
    raise NotFound(f"no user of crm.yaml sent or received this message ({listed})",
                   "declare the team's addresses under users: in crm.yaml")


def _counterparties(team: Team, mail: Mail, type_id: str) -> tuple[Party, ...]:
    parties = mail.recipients if type_id == SENT else (mail.sender,)
    return tuple(p for p in parties if p is not None and not team.is_ours(p))


def _file(crm: Crm, outer: Mail, team: Team, actor: Actor, type_id: str, now: datetime,
          change: Change | None, create_lead: bool) -> Filed:
    """Match, check for a repeat, and log (``change`` None: a dry run) one message."""
    mail = outer
    parties = _counterparties(team, outer, type_id)
    matched = match(crm, parties)
    if type_id == SENT and not matched.hits and outer.forwarded is not None:
        # A user forwarded a message to the CRM (no one it knows is on the forward itself):
        # log the forwarded message, as its own sender wrote it, by the user who forwarded.
        mail = outer.forwarded
        inner_sender = mail.sender
        type_id = SENT if inner_sender is not None and team.is_ours(inner_sender) else RECEIVED
        parties = _counterparties(team, mail, type_id)
        matched = match(crm, parties)
    activity_type(crm, type_id)  # UserError when crm.yaml does not declare it
    warnings = [f"not in the CRM: {', '.join(map(str, matched.unmatched))}"] \
        if matched.hits and matched.unmatched else []
    warnings += matched.notes if matched.hits else []
    blocked = crm.process.rules.do_not_contact_status
    if type_id == SENT and blocked:
        warnings += [f"{r.kind} {r.name} is marked {blocked}; the mail was sent, so it is logged"
                     for hit in matched.hits for r in (hit.company, hit.person)
                     if r is not None and r.get("status") == blocked]
    direction = "to" if type_id == SENT else "from"
    for hit in matched.hits:
        if _already_logged(crm, hit.company.id, mail.message_id):
            return Filed("already logged", f"Mail-in {type_id} {direction} "
                         f"{_who(matched.hits)}: {mail.subject}", mail.message_id, mail.subject)
    created: list[Record] = []
    if not matched.hits:
        if not create_lead:
            raise _no_match(parties, matched)
        lead = _lead_party(parties)
        if lead is None:
            raise _no_match(parties, matched)
        company, person = _new_lead(crm, lead, now)
        if change is not None:
            company, person = _stage_lead(change, company, person, actor)
        created = [company, person]
        matched.hits.append(Hit(company, person))
    when, late = _when(mail.date, now)
    if late:
        warnings.append(late)
    note = mail.subject + ("\n\n" + mail.body if mail.body else "") if mail.subject else \
        mail.body
    entries = [{
        "id": activities.new_id(), "kind": "activity", "at": stamp(when), "type": type_id,
        "company": hit.company.id, "person": hit.person.id if hit.person else None,
        "note": note or None, "subject": mail.subject or None,
        "message_id": mail.message_id,
        "by": actor.user_id or actor.identity.email, "by_name": actor.identity.name,
        "logged": stamp(now)} for hit in matched.hits]
    new_lead = "new lead " if created else ""
    summary = activities.first_line(mail.subject, 60)
    message = f"Mail-in {type_id} {direction} {new_lead}{_who(matched.hits)}" + \
        (f": {summary}" if summary else "")
    if change is None:
        return Filed("would log", message, mail.message_id, mail.subject, entries,
                     created=created, warnings=tuple(warnings))
    promoted, moves = _promote(change, matched.hits, type_id, actor, when)
    activities.append(change, entries + moves)
    records = [r for hit in matched.hits for r in
               [f"company/{hit.company.id}"] + ([f"person/{hit.person.id}"] if hit.person
                                                else [])]
    records += [f"task/{task_id}" for task_id in sorted(change.made_tasks)]
    commit = change.commit(message, records)
    return Filed("logged", message, mail.message_id, mail.subject, entries, commit,
                 tuple(created), tuple(promoted), tuple(warnings))


def _who(hits: Sequence[Hit]) -> str:
    return ", ".join(f'"{h.company.name}"' + (f" ({h.person.name})" if h.person else "")
                     for h in hits)


def _already_logged(crm: Crm, company_id: str, message_id: str) -> bool:
    """Whether a line about this company already carries this Message-ID (the index's
    company column keeps the scan to that company's own timeline)."""
    return any(entry.get("message_id") == message_id
               for entry in crm.index.timeline(company=company_id, kind="activity"))


def _no_match(parties: Sequence[Party], matched: Matched) -> NotFound:
    if not parties:
        return NotFound("no one outside the team is on this message",
                        "crmctl logs mail with people and companies in the CRM")
    why = f"; {'; '.join(matched.notes)}" if matched.notes else ""
    listed = ", ".join(map(str, parties))
    return NotFound(f"no person or company in the CRM matches {listed}{why}",
                    "add them (crmctl add person NAME --email ...), or pass --create-lead")


def _when(date: datetime | None, now: datetime) -> tuple[datetime, str | None]:
    """The activity's time: the message's Date, clamped to now when it is in the future."""
    if date is None:
        return now, "the message has no readable Date: logged at the time it came in"
    if date > now + FUTURE_TOLERANCE:
        return now, f"the message is dated {stamp(date)}, in the future: logged at " \
                    f"{stamp(now)}"
    return date, None


# --- new leads ---------------------------------------------------------------------------------

def _lead_party(parties: Sequence[Party]) -> Party | None:
    """The counterparty a new lead is made from: the first not at a free-mail domain."""
    return next((p for p in parties if not is_free_mail(p.domain)), None)


def _new_lead(crm: Crm, party: Party, now: datetime) -> tuple[Record, Record]:
    """The company (from the domain) and person (from the display name) a lead would be,
    validated; ids are provisional until staged under the lock."""
    from crmctl.dedupe import similar_companies
    from crmctl.model import KINDS
    from crmctl.names import check_name, normalize_company, slugify
    from crmctl.records import unique_id, validated
    from crmctl.rules import route
    from crmctl.store import record_path

    domain = registrable_domain(party.domain)
    company_name = check_name(company_name_of(domain), "company name")
    person_name = check_name(person_name_of(party), "person's name")
    matches = similar_companies(crm, company_name, domain)
    if matches:
        found = matches[0]
        raise Conflict(f"{party.address} matches no one, but a new company {company_name!r} "
                       f"would look like {found.name} ({found.id}, {found.reason})",
                       f"crmctl edit {found.id} --domain {domain}, or crmctl add person with "
                       f"--email {party.address}; then mail-in again")
    status = default_status(crm)
    stamped = stamp(now)
    company_fields: dict[str, Any] = {"name": company_name, "domain": domain,
                                      "status": status, "source": LEAD_SOURCE}
    routed = route(crm, company_fields)
    company_fields["owner"] = routed.owner if routed else None
    company_fields["id"] = unique_id(crm, "company", slugify(normalize_company(company_name),
                                                             KINDS["company"].id_prefix))
    company_fields["created"] = company_fields["updated"] = stamped
    company_data = validated(crm, "company", company_fields)
    person_fields: dict[str, Any] = {"name": person_name, "emails": [party.address],
                                     "status": status, "source": LEAD_SOURCE,
                                     "company": company_data["id"]}
    routed = route(crm, person_fields)
    person_fields["owner"] = routed.owner if routed else None
    person_fields["id"] = unique_id(crm, "person", slugify(person_name,
                                                           KINDS["person"].id_prefix))
    person_fields["created"] = person_fields["updated"] = stamped
    person_data = validated(crm, "person", person_fields)
    return (Record("company", company_data, record_path("company", company_data["id"])),
            Record("person", person_data, record_path("person", person_data["id"])))


def _stage_lead(change: Change, company: Record, person: Record,
                actor: Actor) -> tuple[Record, Record]:
    """Write the new company and person into ``change`` and run the rules they trigger."""
    from crmctl import yamlio
    from crmctl.rules import fire

    for record in (company, person):
        change.write(record.path, yamlio.dump(dict(record.data)))
        fire(change, "added", record, actor)
    return company, person


def _promote(change: Change, hits: Sequence[Hit], type_id: str, actor: Actor,
             when: datetime) -> tuple[list[Record], list[dict[str, Any]]]:
    """A first real contact moves a lead on (crm.yaml's first_contact_promotes), as
    ``crmctl log`` does: the status change and a move line for the reports."""
    from crmctl.records import write_updated

    crm = change.crm
    kind = crm.process.activity_type(type_id)
    rule = crm.process.rules.first_contact_promotes
    promoted: list[Record] = []
    moves: list[dict[str, Any]] = []
    if kind is None or kind.contact != "real" or not rule:
        return promoted, moves
    before, after = rule
    seen: set[str] = set()
    for hit in hits:
        for record in (hit.company, hit.person):
            if record is None or record.path in seen:
                continue
            seen.add(record.path)
            current = Record(record.kind, _staged_data(change, record), record.path)
            if current.get("status") != before:
                continue
            promoted.append(write_updated(change, current, {"status": after}, bump=False))
            moves.append({
                "id": activities.new_id(), "kind": "move", "at": stamp(when),
                "field": "status", "from": before, "to": after,
                "reason": f"first {type_id}", "company": hit.company.id,
                "person": record.id if record.kind == "person" else None,
                "by": actor.user_id or actor.identity.email, "by_name": actor.identity.name})
    return promoted, moves


def _staged_data(change: Change, record: Record) -> dict[str, Any]:
    """A record as this change leaves it (a new lead is only staged, not yet on disk)."""
    text = change.read(record.path)
    if text is None:
        return dict(record.data)
    return dict(change.crm.parse(record.path, text).data)


# --- a folder of messages ------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """One file of a folder: what was done, or the error that stopped it."""

    path: Path
    filed: Filed | None = None
    error: CrmError | None = None

    @property
    def hard(self) -> bool:
        """A failure other than "matches no one": the message could not be read or filed."""
        return self.error is not None and not isinstance(self.error, NotFound)


def maildir_files(folder: Path) -> list[Path]:
    """The messages of a Maildir (new/ and cur/), or the plain files of any other folder,
    in name order (Maildir names begin with the delivery time)."""
    if not folder.is_dir():
        raise NotFound(f"{folder} is not a folder", "give a Maildir or a folder of .eml files")
    if any((folder / sub).is_dir() for sub in ("new", "cur", "tmp")):
        places = [folder / "new", folder / "cur"]
    else:
        places = [folder]
    files: list[Path] = []
    for place in places:
        if place.is_dir():
            files += sorted(p for p in place.iterdir()
                            if p.is_file() and not p.name.startswith("."))
    return files


def file_folder(crm: Crm, folder: Path, *, now: datetime, fallback: Actor | None = None,
                create_lead: bool = False, dry_run: bool = False) -> Iterator[Outcome]:
    """``mail_in`` for every message in ``folder``, one commit each; files are not moved."""
    for path in maildir_files(folder):
        try:
            data = path.read_bytes()
        except OSError as exc:
            yield Outcome(path, error=UserError(f"cannot read it: {exc.strerror or exc}"))
            continue
        try:
            yield Outcome(path, mail_in(crm, data, now=now, fallback=fallback,
                                        create_lead=create_lead, dry_run=dry_run))
        except CrmError as exc:
            yield Outcome(path, error=exc)
