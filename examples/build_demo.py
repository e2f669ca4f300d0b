"""Build the demo CRM: ``python examples/build_demo.py PATH``.

Replays examples/demo-data.yaml through crmctl's library: creates the CRM, declares the two
users, then adds every company, person and deal, logs every activity and makes every deal
move, each as one git commit authored by the user who did it, all in one time order, so
that ``git log`` reads like the team's activity feed.
Every commit carries the identity and time written in the data, never the caller's git
identity or clock: the same data always builds the same history.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from crmctl import records, yamlio
from crmctl.change import Change
from crmctl.errors import CrmError
from crmctl.gitops import Identity
from crmctl.identity import Actor
from crmctl.init import init_crm
from crmctl.log_activity import log_activity
from crmctl.moves import move
from crmctl.store import Crm

DATA = Path(__file__).with_name("demo-data.yaml")
# The demo team turns on the workflow rules crm.yaml ships as examples, so its task list
# shows what rules do: first-contact tasks for leads, welcome letters for won deals.
WORKFLOWS = """
workflows:
  - id: welcome-letter
    when: {deal_enters: won}
    task: {text: Send the welcome letter, due: +1d}
  - id: renewal-offer
    when: {deal_enters: won}
    task: {text: Offer the extended warranty or a renewal, due: in 11 months, priority: high}
  - id: first-contact
    when: {added: company, status: lead}
    task: {text: Make first contact, due: +1d}
"""
ADD = {"company": records.add_company, "person": records.add_person, "deal": records.add_deal}
# The keys an activity or a move may have in the data; anything else is a typo.
ACTIVITY_KEYS = {"type", "at", "by", "note", "with", "deal", "outcome", "follow-up"}
MOVE_KEYS = {"stage", "at", "by", "reason", "close", "amount", "probability"}


def fail(message: str) -> NoReturn:
    print(f"build_demo: error: {message}", file=sys.stderr)
    sys.exit(1)


def when(entry: dict[str, Any]) -> datetime:
    moment = datetime.fromisoformat(entry["at"])
    if moment.tzinfo is None:  # a naive time would take the zone of whoever runs the build
        fail(f"'at: {entry['at']}' in {DATA.name} needs a UTC offset, e.g. -06:00")
    return moment


def checked(entry: dict[str, Any], allowed: set[str], what: str) -> dict[str, Any]:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        fail(f"{what} at {entry.get('at')} in {DATA.name}: unknown key(s) {', '.join(unknown)} "
             f"(allowed: {', '.join(sorted(allowed))})")
    return entry


def timeline(companies: list[dict[str, Any]]) -> list[tuple[datetime, str, str, dict]]:
    """Every add, activity and move as (when, kind, company name, fields), oldest first."""
    events = []
    for company in companies:
        name, owner = company["name"], company["owner"]
        fields = {k: v for k, v in company.items() if k not in ("people", "deals", "activities")}
        events.append((when(company), "company", name, fields))
        shared = {k: company[k] for k in ("owner", "status", "source", "by") if k in company}
        for n, person in enumerate(company.get("people", []), 1):
            events.append((when(company) + timedelta(minutes=n), "person", name,
                           {**shared, **person}))
        for deal in company.get("deals", []):
            events.append((when(deal), "deal", name,
                           {"owner": owner, **{k: v for k, v in deal.items() if k != "moves"}}))
            for step in deal.get("moves", []):
                events.append((when(step), "move", name, {
                    "deal": deal["name"], "by": owner,
                    **checked(step, MOVE_KEYS, f"move of {deal['name']!r}")}))
        for activity in company.get("activities", []):
            events.append((when(activity), "activity", name, {
                "by": owner, **checked(activity, ACTIVITY_KEYS, f"activity at {name!r}")}))
    # sorted() is stable: at the same minute the file's order holds (a company ahead of its
    # people and deals, a deal ahead of its moves).
    return sorted(events, key=lambda event: event[0])


def build(root: Path, data: dict[str, Any]) -> dict[str, int]:
    actors = {u["id"]: Actor(Identity(u["name"], u["email"]), u["id"]) for u in data["users"]}
    lead = actors[data["by"]].identity
    init_crm(root, lead, when(data))

    text = (root / "crm.yaml").read_text(encoding="utf-8")
    if "\nusers: []\n" not in text:
        fail("crm.yaml from crmctl init has no 'users: []' line to fill in")
    team = "users:\n" + "".join(f"  - id: {u['id']}\n    name: {u['name']}\n"
                                f"    email: {u['email']}\n" for u in data["users"])
    crm = Crm(root)
    with Change(crm, lead, when(data) + timedelta(minutes=1)) as change:
        change.write("crm.yaml", text.replace("\nusers: []\n", f"\n{team}", 1) + WORKFLOWS)
        change.commit(f"Declare the team: {', '.join(actors)}")

    ids: dict[str, str] = {}  # company name -> id; the Acme spellings share a name-based id
    members: dict[tuple[str, str, str], str] = {}  # (kind, company name, name) -> record id
    counts = dict.fromkeys([*ADD, "activity", "move"], 0)
    for at, kind, company, entry in timeline(data["companies"]):
        try:
            replay(crm, actors, ids, members, at, kind, company, entry)
        except CrmError as exc:
            fail(f"{kind} at {company!r} on {at.isoformat()}: {exc} "
                 f"(delete the half-built {root} before trying again)")
        counts[kind] += 1
    return counts


def replay(crm: Crm, actors: dict[str, Actor], ids: dict[str, str],
           members: dict[tuple[str, str, str], str], at: datetime, kind: str, company: str,
           entry: dict[str, Any]) -> None:
    """Make one add, activity or move of the timeline, as one commit."""
    actor = actors.get(entry.get("by") or entry["owner"])
    if actor is None:
        fail(f"{kind} at {company!r} on {at.isoformat()}: 'by: {entry.get('by')}' is not one "
             f"of the users ({', '.join(actors)})")
    if kind == "activity":
        replay_activity(crm, actor, ids[company], company, members, at, entry)
        return
    if kind == "move":
        move(crm, member(members, "deal", company, entry["deal"]), entry["stage"],
             actor=actor, now=at, amount=entry.get("amount"),
             probability=entry.get("probability"), close=entry.get("close"),
             reason=entry.get("reason"))
        return
    fields = {k: v for k, v in entry.items() if k not in ("at", "by", "duplicate")}
    if "notes" in fields:
        fields["extra"] = {"notes": fields.pop("notes")}
    if kind != "company":
        fields["company"] = ids[company]
    # Only the deliberate Acme copies get past the duplicate guard.
    force = entry.get("duplicate") == "true"
    added = ADD[kind](crm, **fields, actor=actor, now=at, force=force)
    if kind == "company":
        ids[company] = added.record.id
    else:
        members[(kind, company, entry["name"])] = f"{kind}/{added.record.id}"


def member(members: dict[tuple[str, str, str], str], kind: str, company: str, name: str) -> str:
    """The ref of the person or deal ``name`` of ``company``, added earlier in the timeline."""
    try:
        return members[(kind, company, name)]
    except KeyError:
        fail(f"{company!r} has no {kind} {name!r} by then in {DATA.name} "
             f"(a {kind} must be added before it is named)")


def replay_activity(crm: Crm, actor: Actor, company_id: str, company: str,
                    members: dict[tuple[str, str, str], str], at: datetime,
                    entry: dict[str, Any]) -> None:
    """Log one activity, as `crmctl log` would have at the moment it happened."""
    person = member(members, "person", company, entry["with"]) if "with" in entry else None
    deal = member(members, "deal", company, entry["deal"]) if "deal" in entry else None
    log_activity(crm, f"company/{company_id}", type_id=entry["type"], actor=actor,
                 now=at, at=at, note=entry.get("note"), with_person=person, deal=deal,
                 outcome=entry.get("outcome"), follow_up=entry.get("follow-up"))


def main() -> None:
    parser = argparse.ArgumentParser(description="Build crmctl's demo CRM in a new folder.")
    parser.add_argument("path", type=Path, help="folder for the demo CRM (new or empty)")
    root = parser.parse_args().path.expanduser().resolve()
    if (root / "crm.yaml").exists():
        fail(f"{root} is already a CRM; the demo is only built in a new or empty folder")
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        fail(f"{root} exists and is not an empty folder; choose a new one")

    started = time.monotonic()
    try:
        data = yamlio.load(DATA.read_bytes(), str(DATA))
        counts = build(root, data)
    except CrmError as exc:
        fail(f"{exc} (delete the half-built {root} before trying again)")
    # Two commits besides the records, activities and moves: creating the CRM and declaring
    # the team.
    print(f"Built the demo CRM in {root}: {counts['company']} companies, "
          f"{counts['person']} people, {counts['deal']} deals, {counts['activity']} activities, "
          f"{counts['move']} moves, {len(data['users'])} users, "
          f"{sum(counts.values()) + 2} commits in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
