"""Finding records that are likely the same company or person.

The add-time guard uses it now; `crmctl dedupe` builds its groups on the same scores.
"""

from __future__ import annotations

from dataclasses import dataclass

from crmctl.names import normalize_company, normalize_person
from crmctl.store import Crm


@dataclass(frozen=True)
class Match:
    id: str
    name: str
    score: float
    reason: str


def _fuzzy(query: str, rows: list[tuple[str, str, str, str]], threshold: float) -> list[Match]:
    from rapidfuzz import fuzz, process

    if not query:
        return []
    choices = {i: row[3] for i, row in enumerate(rows)}
    # token_sort_ratio, not WRatio: a partial match ("Acme" in "Acme Paper Products") must
    # not make two different companies look alike.
    hits = process.extract(query, choices, scorer=fuzz.token_sort_ratio,
                           score_cutoff=threshold, limit=10)
    found: dict[str, Match] = {}
    for _, score, i in hits:
        _, rid, name, norm = rows[i]
        reason = "same name" if norm == query else "similar name"
        if rid not in found or score > found[rid].score:
            found[rid] = Match(rid, name, score, reason)
    return list(found.values())


def similar_companies(crm: Crm, name: str, domain: str | None = None) -> list[Match]:
    """Existing companies that ``name`` (or ``domain``) likely duplicates, best first."""
    threshold = float(crm.process.duplicate_threshold)
    matches = {m.id: m for m in _fuzzy(normalize_company(name), crm.index.names(["company"]),
                                       threshold)}
    if domain:
        for rid, existing in crm.index.by_contact("company", "domain", domain):
            matches[rid] = Match(rid, existing, 100.0, f"same domain {domain}")
    return sorted(matches.values(), key=lambda m: (-m.score, m.name))


def similar_people(crm: Crm, name: str, company: str, emails: list[str]) -> list[Match]:
    """People with the same email anywhere, or a very similar name in the same company."""
    threshold = float(crm.process.duplicate_threshold)
    in_company = {r.id for r in crm.index.select("person", company=company)}
    rows = [row for row in crm.index.names(["person"]) if row[1] in in_company]
    matches = {m.id: m for m in _fuzzy(normalize_person(name), rows, threshold)}
    for email in emails:
        for rid, existing in crm.index.by_contact("person", "email", email):
            matches[rid] = Match(rid, existing, 100.0, f"same email {email}")
    return sorted(matches.values(), key=lambda m: (-m.score, m.name))
