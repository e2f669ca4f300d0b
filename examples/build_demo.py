"""Build the demo CRM: ``python examples/build_demo.py PATH``.

Replays examples/demo-data.yaml through crmctl's library: creates the CRM, declares the two
users, then adds every company, person and deal as one git commit authored by the user who
added it, in time order, so that ``git log`` reads like the team's activity feed.
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


def fail(message: str) -> NoReturn:
    print(f"build_demo: error: {message}", file=sys.stderr)
    sys.exit(1)


def when(entry: dict[str, Any]) -> datetime:
    moment = datetime.fromisoformat(entry["at"])
    if moment.tzinfo is None:  # a naive time would take the zone of whoever runs the build
        fail(f"'at: {entry['at']}' in {DATA.name} needs a UTC offset, e.g. -06:00")
    return moment


def timeline(companies: list[dict[str, Any]]) -> list[tuple[datetime, str, str, dict]]:
    """Every add as (when, kind, company name, fields), oldest first."""
    events = []
    for company in companies:
        fields = {k: v for k, v in company.items() if k not in ("people", "deals")}
        events.append((when(company), "company", company["name"], fields))
        shared = {k: company[k] for k in ("owner", "status", "source", "by") if k in company}
        for n, person in enumerate(company.get("people", []), 1):
            events.append((when(company) + timedelta(minutes=n), "person", company["name"],
                           {**shared, **person}))
        for deal in company.get("deals", []):
            events.append((when(deal), "deal", company["name"],
                           {"owner": company["owner"], **deal}))
    # sorted() is stable: a company stays ahead of its people and deals.
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
    counts = dict.fromkeys(ADD, 0)
    for at, kind, company, entry in timeline(data["companies"]):
        fields = {k: v for k, v in entry.items() if k not in ("at", "by", "duplicate")}
        if "notes" in fields:
            fields["extra"] = {"notes": fields.pop("notes")}
        if kind != "company":
            fields["company"] = ids[company]
        # Only the deliberate Acme copies get past the duplicate guard.
        force = entry.get("duplicate") == "true"
        added = ADD[kind](crm, **fields, actor=actors[entry.get("by") or entry["owner"]],
                          now=at, force=force)
        if kind == "company":
            ids[company] = added.record.id
        counts[kind] += 1
    return counts


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
    # Two commits besides the records: creating the CRM and declaring the team.
    print(f"Built the demo CRM in {root}: {counts['company']} companies, "
          f"{counts['person']} people, {counts['deal']} deals, {len(data['users'])} users, "
          f"{sum(counts.values()) + 2} commits in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
