"""Likely duplicates in a CRM: at the door (``add``) and already inside (``crmctl dedupe``).

Both ask the same engine (``crmctl.similarity``) the same question, so a name the guard lets
in is one the scan would not flag, and the reverse. Pairs a person has judged "not
duplicates" are kept in ``not-duplicates.jsonl``, a committed, union-merged log, so nobody on
the team is asked about them again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterable, Sequence

from crmctl.change import Change
from crmctl.activities import lines
from crmctl.dates import stamp
from crmctl.identity import Actor
from crmctl.model import KINDS, Record
from crmctl.names import sorted_words
from crmctl.similarity import Candidate, Group, group, score
from crmctl.store import Crm

if TYPE_CHECKING:
    from crmctl.index import NameForms

DISTINCT_FILE = "not-duplicates.jsonl"


@dataclass(frozen=True)
class Match:
    id: str
    name: str
    score: float
    reason: str


def candidate_of(record: Record, norm: str | None = None) -> Candidate:
    """``norm``: its name normalised, if known (``Index.norms``)."""
    return Candidate(
        id=record.id, name=record.name, kind=record.kind, known_norm=norm,
        domain=(record.get("domain") or "").lower() or None,
        emails=frozenset(e.lower() for e in record.get("emails") or ()),
        phones=frozenset(_digits(p) for p in record.get("phones") or () if _digits(p)),
        company=record.get("company"), address=record.get("address"),
        aliases=tuple(record.get("aliases") or ()))


def _digits(phone: str) -> str:
    digits = "".join(ch for ch in str(phone) if ch.isdigit())
    return digits if len(digits) >= 7 else ""


def names_ready(crm: Crm, kind: str = "company") -> NameForms | None:
    """What the guard can do before the index is brought up to date: import rapidfuzz and
    read the names it keeps (``Index.kept_name_forms``), while git status runs (30-40 ms of
    an add at 100,000 companies that would otherwise come after it)."""
    import rapidfuzz.process  # noqa: F401  (imported now, used by _close)

    return crm.index.kept_name_forms(kind)


def _near(crm: Crm, new: Candidate, kind: str, company: str | None = None,
          ready: NameForms | None = None) -> list[str]:
    """Ids worth scoring against a new record: close names (one batch over all the names of
    its kind, or of its company for a person), and any record sharing its domain or an email."""
    threshold = float(crm.process.duplicate_threshold)
    ids: dict[str, None] = {}
    if new.norm:
        from crmctl.index import NameForms

        forms = crm.index.name_forms(kind, ready) if company is None else NameForms.made(
            (rid, norm) for _, rid, _, norm in crm.index.names([kind], company))
        ids.update((forms.id_at(i), None) for i in _close(new, forms, threshold))
    for value, type_ in ([(new.domain, "domain")] if new.domain else []) + \
            [(email, "email") for email in new.emails]:
        for rid, _ in crm.index.by_contact(kind, type_, value):
            ids[rid] = None
    return list(ids)


def _close(new: Candidate, forms: NameForms, threshold: float) -> list[int]:
    """Positions of the names worth scoring: close once word order is set aside (each name
    given with its words sorted), or once spacing is; the 20 closest of each, and one more
    for each line that may be stale (it could take a live name's place)."""
    from rapidfuzz import fuzz, process

    if not new.norm or not forms.sorted:
        return []
    mine, limit = sorted_words(new.norm), 20 + forms.stale
    found = [i for _, _, i in process.extract(mine, forms.sorted, scorer=fuzz.ratio,
                                              score_cutoff=threshold - 25, limit=limit)]
    return found + [i for _, _, i in process.extract(new.squashed, forms.squashed,
                                                     scorer=fuzz.ratio,
                                                     score_cutoff=threshold - 10, limit=limit)]


def _matches(crm: Crm, new: Candidate, ids: Iterable[str], kind: str) -> list[Match]:
    threshold = float(crm.process.duplicate_threshold)
    found = []
    for rid in ids:
        record = crm.index.get(kind, rid)
        if record is None:
            continue
        scored = score(new, candidate_of(record))
        if scored.score >= threshold and scored.groupable:
            found.append(Match(rid, record.name, scored.score, ", ".join(scored.reasons)))
    return sorted(found, key=lambda m: (-m.score, m.name))


def similar_companies(crm: Crm, name: str, domain: str | None = None,
                      ready: NameForms | None = None) -> list[Match]:
    """Existing companies that ``name`` (or ``domain``) likely duplicates, best first;
    ``ready``: from ``names_ready``."""
    new = Candidate("", name, "company", domain=(domain or "").lower() or None)
    return _matches(crm, new, _near(crm, new, "company", ready=ready), "company")


def similar_people(crm: Crm, name: str, company: str, emails: list[str],
                   phones: Sequence[str] = ()) -> list[Match]:
    """People with the same email anywhere, or a very similar name in the same company."""
    new = Candidate("", name, "person", emails=frozenset(e.lower() for e in emails),
                    phones=frozenset(_digits(p) for p in phones if _digits(p)),
                    company=company)
    # _near finds the same email anywhere, its names only within the company.
    return _matches(crm, new, _near(crm, new, "person", company), "person")


def scan(crm: Crm, kind: str, threshold: float | None = None) -> list[Group]:
    """Groups of likely duplicates among all companies or people, minus judged pairs."""
    records = crm.index.select(kind)
    norms = crm.index.norms(kind)
    candidates = [candidate_of(r, norms.get((r.id, r.name))) for r in records]
    del norms, records
    groups = group(candidates, float(threshold if threshold is not None
                                     else crm.process.duplicate_threshold))
    distinct = judged_distinct(crm)
    kept = []
    for found in groups:
        ids = [m.id for m in found.members]
        pairs = [(ids[i], ids[j]) for i, j, _ in found.pairs]
        if pairs and all(frozenset(p) in distinct for p in pairs):
            continue
        kept.append(found)
    return kept


def judged_distinct(crm: Crm) -> set[frozenset[str]]:
    """Pairs of ids someone said are not duplicates."""
    try:
        text = (crm.root / DISTINCT_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    pairs = set()
    for _, line in lines(text):
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # crmctl check names a broken line; a scan goes on
        ids = entry.get("ids") if isinstance(entry, dict) else None
        if isinstance(ids, list) and len(ids) == 2:
            pairs.add(frozenset(map(str, ids)))
    return pairs


def mark_distinct(crm: Crm, kind: str, ids: Sequence[str], *, actor: Actor,
                  now: datetime) -> str | None:
    """Remember that these records are not duplicates of each other: one commit."""
    from itertools import combinations

    from crmctl.activities import encode, new_id

    with Change(crm, actor.identity, now) as change:
        names = [crm.index.get(kind, i) for i in ids]
        text = change.read(DISTINCT_FILE) or ""
        for a, b in combinations(sorted(ids), 2):
            text += encode({"id": new_id(), "kind": kind, "ids": [a, b], "at": stamp(now),
                            "by": actor.user_id or actor.identity.email}) + "\n"
        change.write(DISTINCT_FILE, text)
        listed = ", ".join(f'"{r.name}"' for r in names if r is not None)
        return change.commit(f"Mark {KINDS[kind].plural} {listed} as not duplicates",
                             [f"{kind}/{i}" for i in ids])
