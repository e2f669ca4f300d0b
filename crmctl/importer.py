"""`crmctl import`: a spreadsheet of companies, people or deals into the CRM, in one commit,
without creating duplicates.

Columns are recognised by the names common CRM exports use ("Company Name", "First Name",
"Email", "Lifecycle Stage", "Deal Stage", "Close Date", "Lead Source", ...), or mapped with
``--map COLUMN=FIELD``. Every row is matched with the duplicate engine against the CRM and the
rows before it: an existing record is skipped (or updated with ``--update``), a second row for
the same company in the file is merged into the first. Every row is checked before anything
is written; one bad row stops the import, listing every bad row, unless ``--skip-bad``.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from crmctl import yamlio
from crmctl.change import Change
from crmctl.dates import parse_date, stamp
from crmctl.dedupe import candidate_of
from crmctl.errors import CrmError, UserError
from crmctl.identity import Actor
from crmctl.model import KINDS, Record
from crmctl.names import check_name, normalize_company, slugify
from crmctl.records import (default_status, normalize_domain, parse_amount,
                            parse_probability, require_deal_details, unique_id, validated,
                            write_updated)
from crmctl.similarity import Candidate, plain, score
from crmctl.store import Crm, record_path

KIND_WORDS = {"companies": "company", "company": "company", "people": "person",
              "person": "person", "contacts": "person", "deals": "deal", "deal": "deal"}
SKIP = "skip"

# field -> the column names that mean it in common exports (HubSpot, Pipedrive, Salesforce,
# Zoho, Google Contacts), compared without case, spaces or punctuation.
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "company": {
        "name": ("Company Name", "Company", "Name", "Account Name", "Organization",
                 "Organisation", "Organization Name"),
        "domain": ("Company Domain Name", "Domain", "Website", "Website URL", "Web Site"),
        "status": ("Lifecycle Stage", "Status", "Lead Status"),
        "owner": ("Company Owner", "Owner", "Account Owner", "Contact Owner"),
        "source": ("Lead Source", "Source", "Original Source"),
        "campaign": ("Campaign", "Lead Campaign", "UTM Campaign"),
        "tags": ("Tags", "Labels"),
        "notes": ("Notes", "Description", "About"),
    },
    "person": {
        "name": ("Name", "Full Name", "Contact Name"),
        "first": ("First Name", "Given Name", "Firstname"),
        "last": ("Last Name", "Family Name", "Surname", "Lastname"),
        "company": ("Company Name", "Company", "Associated Company", "Account Name",
                    "Organization", "Organization Name"),
        "emails": ("Email", "Email Address", "E-mail", "E-mail Address", "Work Email"),
        "phones": ("Phone Number", "Phone", "Mobile Phone Number", "Mobile", "Work Phone"),
        "title": ("Job Title", "Title", "Position"),
        "status": ("Lifecycle Stage", "Status", "Lead Status"),
        "owner": ("Contact Owner", "Owner"),
        "source": ("Lead Source", "Source", "Original Source"),
        "campaign": ("Campaign", "Lead Campaign", "UTM Campaign"),
        "tags": ("Tags", "Labels"),
        "notes": ("Notes", "Description"),
    },
    "deal": {
        "name": ("Deal Name", "Name", "Opportunity Name", "Title"),
        "company": ("Company Name", "Company", "Associated Company", "Account Name",
                    "Organization"),
        "amount": ("Amount", "Value", "Deal Value"),
        "currency": ("Currency", "Deal Currency Code"),
        "stage": ("Deal Stage", "Stage"),
        "probability": ("Probability", "Deal Probability"),
        "close": ("Close Date", "Expected Close Date", "Closing Date"),
        "owner": ("Deal Owner", "Owner"),
        "source": ("Lead Source", "Source"),
        "tags": ("Tags", "Labels"),
        "notes": ("Notes", "Description"),
    },
}
# Lifecycle and stage names of common exports -> this CRM's default ids.
STATUS_WORDS = {"customer": "client", "subscriber": "lead", "marketingqualifiedlead": "lead",
                "salesqualifiedlead": "prospect", "opportunity": "prospect",
                "evangelist": "client", "former customer": "past-client",
                "formercustomer": "past-client"}
STAGE_WORDS = {"appointmentscheduled": "meeting-arranged", "qualifiedtobuy": "qualified",
               "presentationscheduled": "proposal-presented",
               "decisionmakerboughtin": "in-negotiation", "contractsent": "in-negotiation",
               "closedwon": "won", "closedlost": "lost", "won": "won", "lost": "lost"}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@dataclass
class RowOutcome:
    row: int                 # the line number in the file (header is line 1)
    action: str              # created, updated, skipped, merged, rejected
    kind: str
    name: str
    id: str | None = None
    reason: str = ""


@dataclass
class Imported:
    outcomes: list[RowOutcome] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    companies_created: int = 0      # companies a people or deals import had to add
    commit: str | None = None
    message: str = ""

    def count(self, action: str) -> int:
        return sum(1 for o in self.outcomes if o.action == action)


# --- reading ---------------------------------------------------------------------------------

def read_table(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """(headers, [(line number, row)]) of a CSV (any common delimiter, with or without a
    byte-order mark) or an XLSX file; blank rows are left out."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    text = decode(data)
    # The header line decides the delimiter: the one it holds most of (Excel in many
    # locales writes semicolons; the sniffer is misled by commas inside quoted names).
    header_line = text.split("\n", 1)[0]
    delimiter = max(",;\t|", key=header_line.count) if header_line else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = list(reader)
    if not rows:
        raise UserError(f"{path} is empty", "give a CSV file with a header row")
    headers = [h.strip() for h in rows[0]]
    _unique_headers(headers)
    body = []
    for number, values in enumerate(rows[1:], 2):
        if not any(v.strip() for v in values):
            continue
        row = {h: (values[i].strip() if i < len(values) else "")
               for i, h in enumerate(headers) if h}
        surplus = [v for v in values[len(headers):] if v.strip()]
        if surplus:  # a shifted row would file every value under the wrong column
            row[TOO_MANY] = f"{len(values)} cells but {len(headers)} columns"
        body.append((number, row))
    return headers, body


TOO_MANY = "\0too many cells"


def decode(data: bytes) -> str:
    """Text of a spreadsheet export: UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode
    text"), else Windows-1252 (Excel's "CSV" on Windows), else Latin-1, which reads any byte."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _unique_headers(headers: Sequence[str]) -> None:
    seen: set[str] = set()
    for header in headers:
        if header and _key(header) in seen:
            raise UserError(f"the column {header!r} appears twice",
                            "rename or remove one, so no value is lost")
        seen.add(_key(header))


def _read_xlsx(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        import openpyxl  # optional: pip install 'crmctl[xlsx]'
    except ImportError:
        raise UserError("reading .xlsx needs openpyxl", "pip install 'crmctl[xlsx]', or save "
                        "the sheet as CSV") from None
    try:
        sheet = openpyxl.load_workbook(path, read_only=True, data_only=True).active
    except Exception as exc:  # zipfile.BadZipFile, openpyxl's InvalidFileException, ...
        raise UserError(f"{path} is not an .xlsx workbook ({type(exc).__name__})",
                        "save it again from the spreadsheet, or as CSV") from None
    rows = [["" if v is None else str(v).strip() for v in row]
            for row in sheet.iter_rows(values_only=True)]
    if not rows:
        raise UserError(f"{path} has no rows")
    headers = rows[0]
    _unique_headers(headers)
    return headers, [(n, dict(zip(headers, values))) for n, values in enumerate(rows[1:], 2)
                     if any(values)]


def map_columns(crm: Crm, kind: str, headers: Sequence[str],
                maps: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """(column -> field, unmapped columns). ``--map COLUMN=FIELD`` wins; FIELD may be a
    built-in field, one declared in crm.yaml, or ``skip``."""
    known = COLUMNS[kind]
    custom = set(crm.process.fields.get(kind) or {})
    allowed = set(known) | custom | {SKIP}
    mapping: dict[str, str] = {}
    by_key = {_key(h): h for h in headers}
    for pair in maps:
        column, sep, target = pair.partition("=")
        column, target = column.strip(), target.strip()
        if not sep or not column or not target:
            raise UserError(f"--map {pair!r} is not COLUMN=FIELD", "e.g. --map 'Region=territory'")
        header = by_key.get(_key(column))
        if header is None:
            raise UserError(f"--map {pair!r}: no column {column!r} in the file "
                            f"(columns: {', '.join(headers)})")
        if target not in allowed:
            raise UserError(f"--map {pair!r}: unknown {kind} field {target!r} (fields: "
                            f"{', '.join(sorted(allowed - {'first', 'last'}))})",
                            f"declare it under fields: {kind}: in crm.yaml")
        mapping[header] = target
    taken = set(mapping.values())
    for target, names in known.items():
        if target in taken:
            continue
        for name in names:
            header = by_key.get(_key(name))
            if header is not None and header not in mapping:
                mapping[header] = target
                taken.add(target)
                break
    for header in headers:  # a column named like a declared field maps to it
        if header not in mapping and header in custom and header not in taken:
            mapping[header] = header
    unmapped = [h for h in headers if h and h not in mapping]
    return {h: f for h, f in mapping.items() if f != SKIP}, unmapped


# --- one row ---------------------------------------------------------------------------------

class RowError(Exception):
    pass


def row_fields(crm: Crm, kind: str, row: Mapping[str, str], mapping: Mapping[str, str],
               now: datetime) -> dict[str, Any]:
    """The row as record fields, typed; RowError saying what is wrong."""
    raw: dict[str, str] = {}
    for header, target in mapping.items():
        value = row.get(header, "").strip()
        if value:
            raw[target] = value
    if kind == "person" and "name" not in raw:
        raw["name"] = " ".join(p for p in (raw.get("first"), raw.get("last")) if p)
    raw.pop("first", None)
    raw.pop("last", None)
    if not raw.get("name"):
        raise RowError(f"no {'name' if kind != 'deal' else 'deal name'}")
    fields: dict[str, Any] = {}
    try:
        fields["name"] = check_name(raw.pop("name"))
        for key, value in raw.items():
            fields[key] = _value(crm, kind, key, value, now)
    except CrmError as exc:
        raise RowError(exc.message) from None
    return fields


def _value(crm: Crm, kind: str, key: str, value: str, now: datetime) -> Any:
    if key in ("tags", "emails", "phones"):
        items = [v.strip() for v in re.split(r"[;,\n]" if key != "phones" else r"[;\n]", value)
                 if v.strip()]
        if key == "tags":
            return [re.sub(r"\s+", "-", t.lower()) for t in items]
        return list(dict.fromkeys(i.lower() for i in items)) if key == "emails" else \
            list(dict.fromkeys(items))
    if key == "domain":
        return normalize_domain(re.sub(r"^[a-z]+://", "", value.lower()).split("/")[0])
    if key == "status":
        return _choice(value, crm.process.statuses, STATUS_WORDS, "status")
    if key == "stage":
        return _choice(value, crm.process.stage_ids, STAGE_WORDS, "stage")
    if key == "owner":
        return _user(crm, value)
    if key == "amount":
        return parse_amount(value.replace(" ", ""))
    if key == "probability":
        return parse_probability(value)
    if key == "close":
        return parse_date(value, now).isoformat()
    if key == "currency":
        return value.upper()
    return value


def _choice(value: str, valid: Sequence[str], words: Mapping[str, str], what: str) -> str:
    wanted = _key(value)
    for item in valid:
        if _key(item) == wanted:
            return item
    mapped = words.get(wanted) or words.get(value.lower())
    if mapped in valid:
        return str(mapped)
    raise UserError(f"unknown {what} {value!r} (valid: {', '.join(valid)})")


def _user(crm: Crm, value: str) -> str | None:
    users = crm.process.users
    if not users:
        return value
    wanted = value.strip().lower()
    for user in users:
        if wanted in (user.id.lower(), user.name.lower(), (user.email or "").lower()):
            return user.id
    raise UserError(f"unknown owner {value!r} (users: {', '.join(u.id for u in users)})")


# --- matching --------------------------------------------------------------------------------

class Matcher:
    """The records of one kind (the CRM's and those this import adds), found again fast:
    by exact normalised name, domain, email, or a fuzzy score within a small block."""

    def __init__(self, threshold: float):
        self.threshold = threshold
        self.records: dict[str, Candidate] = {}
        self.blocks: dict[str, list[str]] = defaultdict(list)
        self.squashed: dict[str, list[str]] = defaultdict(list)  # beside each block's ids

    def add(self, candidate: Candidate) -> None:
        self.records[candidate.id] = candidate
        for key in self._keys(candidate):
            self.blocks[key].append(candidate.id)
            self.squashed[key].append(candidate.squashed)

    def _keys(self, c: Candidate) -> Iterable[str]:
        # People are only ever the same within one company (or by email): their name keys
        # carry the company, so a block never spans the whole file's Ann Smiths.
        scope = f"{c.company}:" if c.kind == "person" else ""
        yield f"n:{scope}{c.norm}"
        yield f"n:{scope}{' '.join(sorted(c.norm.split()))}"  # the same words reordered
        yield f"p:{scope}{c.squashed[:5]}"
        yield f"p:{scope}{plain(c.squashed)[:5]}"
        for alias in c.alias_norms:
            yield f"n:{scope}{alias}"
        if c.domain:
            yield f"d:{c.domain}"
        for email in c.emails:
            yield f"e:{email}"

    def find(self, candidate: Candidate) -> tuple[str, float, str] | None:
        """(id, score, reasons) of the best existing match above the threshold."""
        from rapidfuzz import fuzz, process

        ids: dict[str, None] = {}
        for key in self._keys(candidate):
            if key[0] in "nde":  # the same name, domain or email: always scored
                ids.update(dict.fromkeys(self.blocks.get(key, ())))
            elif key[0] == "p":
                # Names that only begin alike are scored when their names alone are close
                # enough (one C-level batch), since nothing else could raise their score.
                block = self.blocks.get(key, ())
                choices = self.squashed.get(key, ())
                for _, _, i in process.extract(candidate.squashed, choices, scorer=fuzz.ratio,
                                               score_cutoff=self.threshold - 10, limit=None):
                    ids[block[i]] = None
        best = None
        for rid in ids:
            existing = self.records[rid]
            if candidate.kind == "person" and existing.company != candidate.company and \
                    not (candidate.emails & existing.emails):
                continue
            scored = score(candidate, existing)
            if scored.groupable and scored.score >= self.threshold and \
                    (best is None or scored.score > best[1]):
                best = (rid, scored.score, ", ".join(scored.reasons))
        return best


# --- the import ------------------------------------------------------------------------------

def import_file(crm: Crm, path: Path, kind_word: str, **options: Any) -> Imported:
    """Import a CSV, XLSX or vCard file (see ``import_rows`` for the options)."""
    if path.suffix.lower() == ".vcf":
        from crmctl.export import read_vcards

        try:
            text = decode(path.read_bytes())  # Outlook writes UTF-16 vCards
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read {path}: {exc}") from None
        headers, rows = read_vcards(text)
    else:
        headers, rows = read_table(path)
    return import_rows(crm, path.name, headers, rows, kind_word, **options)


def import_rows(crm: Crm, source: str, headers: Sequence[str],
                rows: Sequence[tuple[int, Mapping[str, str]]], kind_word: str, *,
                actor: Actor, now: datetime, maps: Sequence[str] = (), dry_run: bool = False,
                update: bool = False, skip_bad: bool = False, strict: bool = False,
                message: Callable[[Imported], str] | None = None,
                progress: Callable[[int, int], None] | None = None) -> Imported:
    """``strict``: a column that maps to no field is an error (a form's unknown field),
    not a note. ``message`` words the commit instead of "Import N ... from SOURCE"."""
    kind = KIND_WORDS.get(kind_word)
    if kind is None:
        raise UserError(f"cannot import {kind_word!r}", "use --type companies, people or deals")
    mapping, unmapped = map_columns(crm, kind, headers, maps)
    if strict and unmapped:
        raise UserError(f"unknown fields: {', '.join(unmapped)}",
                        "use the add command's field names, or declare them under fields: "
                        "in crm.yaml")
    needed = {"company": ("name",), "person": ("name", "company"), "deal": ("name", "company")}
    have = set(mapping.values()) | ({"name"} if {"first", "last"} & set(mapping.values())
                                    else set())
    missing = [f for f in needed[kind] if f not in have]
    if missing:
        raise UserError(f"no column for {', '.join(missing)} among {', '.join(headers)}",
                        f"name it with --map COLUMN={missing[0]}")
    result = Imported(unmapped=unmapped)
    with Change(crm, actor.identity, now) as change:
        plan = _Plan(crm, change, kind, actor, update)
        for done, (number, row) in enumerate(rows, 1):
            try:
                if TOO_MANY in row:
                    raise RowError(row[TOO_MANY])
                fields = row_fields(crm, kind, row, mapping, now)
                result.outcomes.append(plan.apply(number, fields))
            except RowError as exc:
                name = next((row.get(h, "") for h, f in mapping.items() if f == "name"), "")
                result.outcomes.append(RowOutcome(number, "rejected", kind, name or "?",
                                                  reason=str(exc)))
            if progress:
                progress(done, len(rows))
        result.companies_created = plan.companies_created
        bad = [o for o in result.outcomes if o.action == "rejected"]
        if bad and not skip_bad and not dry_run:
            listed = "; ".join(f"row {o.row}: {o.reason}" for o in bad)
            raise UserError(f"{len(bad)} row{'s' * (len(bad) != 1)} cannot be imported "
                            f"({listed}); nothing was imported",
                            "fix them, or add --skip-bad to import the rest")
        written = [o for o in result.outcomes if o.action in ("created", "updated", "merged")]
        records = len({o.id for o in written})  # rows merged into one record count once
        what = KINDS[kind].name if records == 1 else KINDS[kind].plural
        result.message = (f"Import {records} {what} from {source}"
                          f" ({result.count('created')} added, {result.count('updated')} "
                          f"updated, {result.count('merged')} merged, "
                          f"{result.count('skipped')} skipped)")
        if message is not None:
            result.message = message(result)
        if dry_run or not plan.records:
            return result
        plan.write_all()
        result.commit = change.commit(result.message, [f"{kind}/{o.id}" for o in written
                                                       if o.id][:50])
    return result


class _Plan:
    """What the import will write, row by row; nothing is written before every row passed."""

    def __init__(self, crm: Crm, change: Change, kind: str, actor: Actor, update: bool):
        self.crm, self.change, self.kind, self.actor, self.update = crm, change, kind, actor, update
        threshold = float(crm.process.duplicate_threshold)
        self.matchers = {k: Matcher(threshold) for k in ("company", "person", "deal")}
        self.records: dict[tuple[str, str], dict[str, Any]] = {}   # (kind, id) -> fields
        self.existing: dict[tuple[str, str], Record] = {}
        self.new_ids: set[tuple[str, str]] = set()
        self.companies_created = 0
        for record_kind in ("company",) + ((kind,) if kind != "company" else ()):
            for record in crm.index.select(record_kind):
                self.existing[(record_kind, record.id)] = record
                self.matchers[record_kind].add(candidate_of(record))

    def apply(self, number: int, fields: dict[str, Any]) -> RowOutcome:
        kind = self.kind
        found = None
        if kind == "person" and fields.get("emails"):
            # Someone already here by email is the same person, whatever company the row
            # names: decide that before adding a company for them.
            found = self.matchers[kind].find(Candidate("", fields["name"], kind,
                                                       emails=frozenset(fields["emails"])))
        if found is not None:
            named = fields.pop("company", None)
            known = self.records.get((kind, found[0]), {}).get("company") or \
                self.existing[(kind, found[0])].get("company")
            # The company the row names, as an id when the CRM knows it: if it is not the
            # person's, the update says so rather than moving them silently.
            hit = self.matchers["company"].find(self._candidate("company", {"name": named})) \
                if named else None
            fields["company"] = hit[0] if hit else (named or known)
        elif kind in ("person", "deal"):
            if not fields.get("company"):
                raise RowError("no company (a person or deal belongs to a company)")
            fields["company"] = self._company(fields.pop("company"))
        candidate = self._candidate(kind, fields)
        found = found or self.matchers[kind].find(candidate)
        if found is not None:
            rid, _, reasons = found
            if (kind, rid) in self.new_ids:
                self._fill(kind, rid, fields)
                return RowOutcome(number, "merged", kind, fields["name"], rid,
                                  f"same as an earlier row ({reasons})")
            if not self.update:
                return RowOutcome(number, "skipped", kind, fields["name"], rid,
                                  f"already in the CRM ({reasons})")
            ignored = self._fill(kind, rid, fields, overwrite=True)
            note = "; ".join(ignored)
            if (kind, rid) not in self.records:
                return RowOutcome(number, "skipped", kind, fields["name"], rid,
                                  "no change" + (f": {note}" if note else ""))
            return RowOutcome(number, "updated", kind, fields["name"], rid,
                              reasons + (f"; {note}" if note else ""))
        rid = self._new(kind, fields)
        return RowOutcome(number, "created", kind, fields["name"], rid)

    def _candidate(self, kind: str, fields: Mapping[str, Any], rid: str = "") -> Candidate:
        return Candidate(rid, fields["name"], kind, domain=fields.get("domain"),
                         emails=frozenset(fields.get("emails") or ()),
                         company=fields.get("company"))

    def _company(self, name: str) -> str:
        """The id of the row's company: an existing one, or one this import adds."""
        fields = {"name": check_name(name)}
        found = self.matchers["company"].find(self._candidate("company", fields))
        if found is not None:
            return found[0]
        self.companies_created += 1
        return self._new("company", fields)

    def _new(self, kind: str, fields: dict[str, Any]) -> str:
        base = slugify(normalize_company(fields["name"]) if kind == "company" else
                       f"{fields['company']} {fields['name']}" if kind == "deal" else
                       fields["name"], KINDS[kind].id_prefix)
        rid, n = base, 1
        while (kind, rid) in self.new_ids or (kind, rid) in self.existing or \
                unique_id(self.crm, kind, rid) != rid:
            n += 1
            rid = f"{base}-{n}"
        data = dict(fields, id=rid)
        if kind != "deal":
            data.setdefault("status", default_status(self.crm))
        else:
            stage = self.crm.process.stage(data.get("stage") or "") or next(
                s for s in self.crm.process.stages if not s.closed)
            data["stage"] = stage.id
            data.setdefault("probability", stage.probability)
            data.setdefault("currency", self.crm.process.currency)
            data.setdefault("stage_since", stamp(self.change.now))
            try:
                require_deal_details(self.crm, stage.id, data)
            except UserError as exc:
                raise RowError(exc.message) from None
            if stage.closed:
                data["closed_at"] = stamp(self.change.now)
        data["created"] = data["updated"] = stamp(self.change.now)
        if kind != "deal" and not data.get("owner"):
            from crmctl.rules import route

            chosen = route(self.crm, data)
            if chosen:
                data["owner"] = chosen.owner
        try:
            data = validated(self.crm, kind, data)
        except UserError as exc:
            raise RowError(exc.message) from None
        self.records[(kind, rid)] = data
        self.new_ids.add((kind, rid))
        self.matchers[kind].add(self._candidate(kind, data, rid))
        return rid

    def _fill(self, kind: str, rid: str, fields: Mapping[str, Any],
              overwrite: bool = False) -> list[str]:
        """Fill (or with ``overwrite`` update) a planned or existing record from a row;
        returns what the row asked for but was not done, to be reported."""
        current = self.records.get((kind, rid)) or dict(self.existing[(kind, rid)].data)
        merged = dict(current)
        ignored = []
        dnc = self.crm.process.rules.do_not_contact_status
        for key, value in fields.items():
            if key in ("tags", "emails", "phones"):
                merged[key] = list(dict.fromkeys([*(current.get(key) or []), *value]))
            elif key == "name":
                continue
            elif key == "status" and current.get("status") == dnc and value != dnc:
                # A promise not to contact is only lifted by a person, on purpose.
                ignored.append(f"kept {dnc} (change it with crmctl move)")
            elif key == "company" and current.get("company") not in (None, value):
                ignored.append(f"kept company {current.get('company')} (move them with "
                               "crmctl edit --set company=...)")
            elif overwrite or current.get(key) in (None, "", []):
                merged[key] = value
        try:
            merged = validated(self.crm, kind, merged)
            if kind == "deal":
                require_deal_details(self.crm, str(merged.get("stage")), merged)
        except UserError as exc:
            raise RowError(exc.message) from None
        if merged != current:
            self.records[(kind, rid)] = merged
        return ignored

    def write_all(self) -> None:
        from crmctl.rules import fire

        for (kind, rid), data in self.records.items():
            if (kind, rid) in self.new_ids:
                document = data  # validated when it was planned (and again when filled)
                path = record_path(kind, rid)
                self.change.write(path, yamlio.dump(document))
                record = Record(kind, document, path)
                fire(self.change, "added", record, self.actor)
                if kind == "deal":  # as add deal does: the stage it starts in was entered
                    fire(self.change, "deal_enters", record, self.actor, document["stage"])
            else:
                existing = self.existing[(kind, rid)]
                changes = {k: v for k, v in data.items() if existing.get(k) != v}
                if changes:
                    write_updated(self.change, existing, changes)

