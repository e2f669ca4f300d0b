"""'acme products inc' -> a record: by id, exact name or alias, then a fuzzy match.

A single clear winner is used; an ambiguous or weak match is an error that lists the best
candidates with their ids. Never a silent guess.
"""

from __future__ import annotations

from typing import Sequence

from crmctl.errors import Ambiguous, NotFound, UserError
from crmctl.index import normalize
from crmctl.model import KINDS, Record
from crmctl.names import fold, is_valid_id
from crmctl.store import Crm

ALL_KINDS = tuple(KINDS)
CLEAR_WIN = 88     # a fuzzy score at or above this can win...
MARGIN = 6         # ...when the runner-up (another record) trails by at least this much
SHOW_FROM = 55     # candidates worth naming in an error


def _what(kinds: Sequence[str]) -> str:
    return " or ".join(kinds) if len(kinds) < 3 else "record"


def resolve(crm: Crm, ref: str, kinds: Sequence[str] = ALL_KINDS) -> Record:
    """The one record of ``kinds`` that ``ref`` names; NotFound or Ambiguous otherwise."""
    text = " ".join(ref.split())
    if not text:
        raise UserError(f"an empty {_what(kinds)} name", "give a name or an id")
    index = crm.index
    if is_valid_id(text):
        found = index.kinds_with_id(text, kinds)
        if len(found) == 1:
            return _get(crm, found[0], text)
        if len(found) > 1:
            raise Ambiguous(f"{text!r} is the id of a {' and a '.join(found)}",
                            "name the kind, e.g. crmctl show " + found[0] + f" {text}")
    # Exact before normalised before fuzzy: "Acme Products Inc" is exactly one record even
    # when "Acme Paper Products" scores high too.
    for exact in (index.by_folded_name(" ".join(fold(text).split()), kinds),
                  index.by_normalized_name(text, kinds)):
        distinct = {(kind, rid) for kind, rid, _ in exact}
        if len(distinct) == 1:
            kind, rid = distinct.pop()
            return _get(crm, kind, rid)
        if len(distinct) > 1:
            listed = "; ".join(f"{name} ({kind} {rid})" for kind, rid, name in sorted(exact))
            raise Ambiguous(f"{text!r} names more than one record: {listed}", "use the id")
    return _fuzzy(crm, text, kinds)


def _get(crm: Crm, kind: str, record_id: str) -> Record:
    record = crm.index.get(kind, record_id)
    if record is None:  # the file exists but cannot be read
        raise NotFound(f"the {kind} {record_id!r} cannot be read",
                       "run crmctl check to see what is wrong with its file")
    return record


def candidates(crm: Crm, text: str, kinds: Sequence[str],
               limit: int = 5) -> list[tuple[float, str, str, str]]:
    """Best (score, kind, id, name) fuzzy matches, one per record, best first."""
    from rapidfuzz import fuzz, process

    rows = crm.index.names(kinds)
    if not rows:
        return []
    best: dict[tuple[str, str], tuple[float, str]] = {}
    queries = {kind: normalize(kind, text) for kind in kinds}
    for kind in kinds:
        query = queries[kind]
        choices = {i: row[3] for i, row in enumerate(rows) if row[0] == kind}
        if not query or not choices:
            continue
        for _, score, i in process.extract(query, choices, scorer=fuzz.WRatio,
                                           limit=limit * 3, score_cutoff=SHOW_FROM):
            kind_, rid, name, _ = rows[i]
            if score > best.get((kind_, rid), (-1.0, ""))[0]:
                best[(kind_, rid)] = (score, name)
    ranked = sorted(((score, kind, rid, name) for (kind, rid), (score, name) in best.items()),
                    key=lambda c: (-c[0], c[3]))
    return ranked[:limit]


def _fuzzy(crm: Crm, text: str, kinds: Sequence[str]) -> Record:
    found = candidates(crm, text, kinds)
    listed = "; ".join(f"{name} ({kind} {rid}, {score:.0f}%)" for score, kind, rid, name in found)
    if found and found[0][0] >= CLEAR_WIN and (len(found) == 1 or
                                               found[0][0] - found[1][0] >= MARGIN):
        return _get(crm, found[0][1], found[0][2])
    if found and found[0][0] >= CLEAR_WIN:
        raise Ambiguous(f"{text!r} could be more than one {_what(kinds)}: {listed}",
                        "use a fuller name or the id")
    if found:
        raise NotFound(f"no {_what(kinds)} named {text!r}; closest: {listed}",
                       "use one of those names or ids")
    raise NotFound(f"no {_what(kinds)} named {text!r}",
                   f"see crmctl list {KINDS[kinds[0]].plural}" if len(kinds) == 1
                   else "see crmctl list companies")
