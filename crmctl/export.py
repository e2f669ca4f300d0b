"""`crmctl export`: segments of people or companies for email marketing, never anyone who
asked not to be contacted.

People come out with the columns mailing tools import (Email Address, First Name, Last Name,
Company, Tags, then the rest); people without an email, and do-not-contact people or people
of a do-not-contact company, are left out unless asked for, and counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from crmctl.errors import UserError
from crmctl.model import Record
from crmctl.store import Crm

PEOPLE_COLUMNS = ["Email Address", "First Name", "Last Name", "Company", "Tags", "Phone",
                  "Title", "Status", "Owner", "Source", "Campaign", "Id"]
COMPANY_COLUMNS = ["Company", "Domain", "Status", "Owner", "Source", "Campaign", "Tags",
                   "People", "Id"]


@dataclass
class Segment:
    kind: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    companies: dict[str, Record] = field(default_factory=dict)
    left_out: Counter = field(default_factory=Counter)  # reason -> count


def split_name(name: str) -> tuple[str, str]:
    """'Wile E. Coyote' -> ('Wile E.', 'Coyote'); one word is a first name."""
    parts = name.split()
    if len(parts) < 2:
        return name, ""
    return " ".join(parts[:-1]), parts[-1]


def segment(crm: Crm, kind: str, *, status: str | None = None, tag: str | None = None,
            owner: str | None = None, source: str | None = None,
            has_deal_stage: str | None = None,
            include_do_not_contact: bool = False) -> Segment:
    if status is not None:
        crm.process.status_or_error(status)
    if has_deal_stage is not None:
        crm.process.stage_or_error(has_deal_stage)
    if owner is not None and crm.process.users:
        crm.user_or_error(owner)
    index = crm.index
    dnc = crm.process.rules.do_not_contact_status
    companies = {c.id: c for c in index.select("company")}
    with_stage: set[str] = set()
    if has_deal_stage:
        for deal in index.select("deal", stage=has_deal_stage):
            with_stage.update(filter(None, (deal.get("company"), deal.get("person"))))
    result = Segment(kind, companies=companies)
    for record in index.select(kind, status=status, owner=owner, tag=tag):
        if source is not None and record.get("source") != source:
            continue
        if has_deal_stage and record.id not in with_stage and \
                (kind == "company" or record.get("company") not in with_stage):
            continue
        company = companies.get(str(record.get("company"))) if kind == "person" else record
        if dnc and not include_do_not_contact and (
                record.get("status") == dnc or (company is not None and
                                                company.get("status") == dnc)):
            result.left_out["do-not-contact"] += 1
            continue
        if kind == "person" and not record.get("emails"):
            result.left_out["no email"] += 1
            continue
        result.records.append(record)
        result.rows.append(_row(crm, record, company))
    return result


def _row(crm: Crm, record: Record, company: Record | None) -> dict[str, Any]:
    tags = ", ".join(record.get("tags") or [])
    common = {"Status": record.get("status"), "Owner": record.get("owner"),
              "Source": record.get("source"), "Campaign": record.get("campaign"),
              "Tags": tags, "Id": record.id}
    if record.kind == "company":
        people = len(crm.index.select("person", company=record.id))
        return {"Company": record.name, "Domain": record.get("domain"), "People": people,
                **common}
    first, last = split_name(record.name)
    return {"Email Address": (record.get("emails") or [""])[0], "First Name": first,
            "Last Name": last, "Company": company.name if company else record.get("company"),
            "Phone": (record.get("phones") or [None])[0], "Title": record.get("title"),
            **common}


def to_vcards(segment_: Segment) -> str:
    """The people as vCard 3.0: name, emails, phones, organisation, title."""
    if segment_.kind != "person":
        raise UserError("vCards are for people", "export people --format vcf")
    import vobject

    cards = []
    for person in segment_.records:
        card = vobject.vCard()
        card.add("fn").value = person.name
        first, last = split_name(person.name)
        card.add("n").value = vobject.vcard.Name(family=last, given=first)
        for email in person.get("emails") or []:
            entry = card.add("email")
            entry.value = email
            entry.type_param = "INTERNET"
        for phone in person.get("phones") or []:
            card.add("tel").value = phone
        company = segment_.companies.get(str(person.get("company")))
        if company is not None:
            card.add("org").value = [company.name]
        if person.get("title"):
            card.add("title").value = person.get("title")
        cards.append(card.serialize())
    return "".join(cards)


def read_vcards(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """vCards as import rows (Name, Email, Phone Number, Company, Job Title)."""
    import vobject

    headers = ["Name", "Email", "Phone Number", "Company", "Job Title"]
    rows = []
    try:
        cards = list(vobject.readComponents(text))
    except Exception as exc:  # vobject raises its own ParseError and friends
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise UserError(f"not a vCard file: {reason}") from None
    for number, card in enumerate(cards, 1):
        def values(name: str) -> list[str]:
            return [str(c.value).strip() for c in card.contents.get(name, []) if c.value]
        org = card.contents.get("org")
        company = ""
        if org:
            value = org[0].value
            company = (value[0] if isinstance(value, list) and value else str(value)).strip()
        name = (values("fn") or [""])[0]
        if not name and card.contents.get("n"):  # a card with N but no FN
            name = " ".join(str(card.contents["n"][0].value).split())  # vobject's Name prints
        rows.append((number, {"Name": name,
                              "Email": "; ".join(values("email")),
                              "Phone Number": "; ".join(values("tel")),
                              "Company": company, "Job Title": (values("title") or [""])[0]}))
    return headers, rows
