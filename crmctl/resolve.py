"""'acme products inc' -> a record: by id, exact name or alias, then a fuzzy match.

In order: ``kind/id`` or an id; the exact name or an alias in any case; the name with legal
suffixes set aside; a typo of one name (a full-name similarity well above every other);
the words of one name's beginning ("acme" when only one Acme exists). A single clear winner
is used; an ambiguous or weak match is an error that lists the best candidates with their
ids. Never a silent guess.
"""

from __future__ import annotations

from typing import Sequence

from crmctl.errors import Ambiguous, DataError, NotFound, UserError
from crmctl.index import normalize
from crmctl.model import KINDS, Record
from crmctl.names import fold, is_valid_id
from crmctl.store import Crm, id_of_path, record_path

ALL_KINDS = tuple(KINDS)
CLEAR_WIN = 88     # a full-name similarity at or above this can win...
MARGIN = 6         # ...when the runner-up (another record) trails by at least this much
SHOW_FROM = 55     # candidates worth naming in an error
MIN_PREFIX = 3     # shorter words never pick a record by their beginning alone


def _what(kinds: Sequence[str]) -> str:
    return " or ".join(kinds) if len(kinds) < 3 else "record"


def resolve(crm: Crm, ref: str, kinds: Sequence[str] = ALL_KINDS,
            company: str | None = None) -> Record:
    """The one record of ``kinds`` that ``ref`` names; NotFound or Ambiguous otherwise.

    ``company`` limits the search to the people and deals of that company.
    """
    try:
        return _resolve(crm, ref, kinds, company)
    except (NotFound, Ambiguous):
        # A write that deferred the scan for hand edits: a name it cannot find or tell
        # apart may be in a file edited or added by hand since. Look again with it.
        if not crm.index.scan_now():
            raise
        return _resolve(crm, ref, kinds, company)


def _resolve(crm: Crm, ref: str, kinds: Sequence[str], company: str | None) -> Record:
    text = " ".join(ref.split())
    if not text:
        raise UserError(f"an empty {_what(kinds)} name", "give a name or an id")
    index = crm.index
    kind_word, slash, rest = text.partition("/")
    if slash and kind_word in kinds and is_valid_id(rest):
        if index.kinds_with_id(rest, [kind_word], company):
            return _get(crm, kind_word, rest)
        raise NotFound(f"no {kind_word} with the id {rest!r}")
    if is_valid_id(text):
        found = index.kinds_with_id(text, kinds, company)
        if len(found) == 1:
            return _get(crm, found[0], text)
        if len(found) > 1:
            raise Ambiguous(f"{text!r} is the id of a {' and a '.join(found)}",
                            f"say which: {found[0]}/{text}")
        on_disk = [record_path(kind, text) for kind in kinds
                   if (crm.root / record_path(kind, text)).exists()]
        if on_disk and not index.scan_worktree:
            raise NotFound(f"{text!r} is a file the index has not read yet")  # added by hand
        if on_disk:
            # The scan did not list a file that is there: git's untracked cache can miss a
            # file made just after it was saved (git 2.39). The file is the truth; a close
            # name must never stand in for it.
            index.read_files(on_disk)
            found = index.kinds_with_id(text, kinds, company)
            if len(found) == 1:
                return _get(crm, found[0], text)
        if company is None:  # the id of a duplicate merged away names its survivor
            for kind in kinds:
                survivor = index.merged_into(kind, text)
                if survivor is not None:
                    return survivor
    # Exact before normalised before fuzzy: "Acme Products Inc" is exactly one record even
    # when "Acme Paper Products" scores high too.
    for exact in (index.by_folded_name(" ".join(fold(text).split()), kinds, company),
                  index.by_normalized_name(text, kinds, company)):
        distinct = {(kind, rid) for kind, rid, _ in exact}
        if len(distinct) == 1:
            kind, rid = distinct.pop()
            record = _get(crm, kind, rid)
            if not index.scan_worktree and not _named(record, text):
                # Its file was renamed by hand since the index last looked: look again.
                raise NotFound(f"{text!r} is no longer the name of {kind}/{rid}")
            return record
        if len(distinct) > 1:
            listed = "; ".join(f"{name} ({kind}/{rid})" for kind, rid, name in sorted(exact))
            raise Ambiguous(f"{text!r} names more than one record: {listed}", "use the id")
    if not index.scan_worktree:
        # A close spelling is trusted only against every file as it is now: a record added
        # by hand may be the one meant (``resolve`` looks again with the scan).
        raise NotFound(f"no {_what(kinds)} named exactly {text!r} yet")
    return _fuzzy(crm, text, kinds, company)


def _named(record: Record, text: str) -> bool:
    """Whether ``text`` is still the record's name or an alias (as the exact lookups
    compare them: folded, or normalised)."""
    names = [record.name, *(a for a in record.get("aliases") or () if isinstance(a, str))]
    folded = " ".join(fold(text).split())
    norm = normalize(record.kind, text)
    return any(" ".join(fold(n).split()) == folded or normalize(record.kind, n) == norm
               for n in names)


def _get(crm: Crm, kind: str, record_id: str) -> Record:
    record = crm.index.get(kind, record_id)
    if record is None and not crm.index.scan_worktree:
        raise NotFound(f"the {kind} {record_id!r} is gone")  # deleted by hand: look again
    if record is not None and record.get("id") not in (None, id_of_path(record.path)):
        # Writes would spread the wrong id (a log line naming a record that is not there).
        raise DataError(f"the id {record.get('id')!r} is not its file's name "
                        f"({id_of_path(record.path)})", record.path,
                        hint="an id is its file's name: set it back, or rename the file")
    if record is None:  # the file exists but cannot be read
        problem = crm.index.error_of(kind, record_id)
        raise DataError(f"the {kind} {record_id!r} cannot be read"
                        + (f": {problem}" if problem else ""),
                        hint=None if problem else "crmctl check says what is wrong with it")
    return record


def candidates(crm: Crm, text: str, kinds: Sequence[str], company: str | None = None,
               limit: int = 5) -> list[tuple[float, float, str, str, str]]:
    """Best (listing score, full-name score, kind, id, name), one per record, best first.

    The listing score (WRatio) rewards partial matches, good for naming candidates; the
    full-name score (the duplicate engine's name score: word order and squashed spelling)
    is the one that may pick a record by itself. Ties go to the closer spelling as typed,
    legal form included ("Murazik Ltd" picks Murazik Ltd over Murazik LLC).
    """
    from rapidfuzz import fuzz, process

    from crmctl.similarity import name_score, squash

    rows = crm.index.names(kinds, company)
    typed = " ".join(fold(text).split())
    best: dict[tuple[str, str], tuple[float, float, float, str]] = {}
    for kind in kinds:
        query = normalize(kind, text)
        choices = {i: row[3] for i, row in enumerate(rows) if row[0] == kind}
        if not query or not choices:
            continue
        squashed = squash(query)
        for _, score, i in process.extract(query, choices, scorer=fuzz.WRatio,
                                           limit=limit * 4, score_cutoff=SHOW_FROM):
            kind_, rid, name, norm = rows[i]
            full = name_score(query, norm, squashed, squash(norm))
            spelled = fuzz.ratio(typed, fold(name))
            old = best.get((kind_, rid))
            if old is None or (full, spelled, score) > (old[1], old[2], old[0]):
                best[(kind_, rid)] = (score, full, spelled, name)
    ranked = sorted(((score, full, spelled, kind, rid, name)
                     for (kind, rid), (score, full, spelled, name) in best.items()),
                    key=lambda c: (-c[1], -c[2], -c[0], c[5]))
    return [(score, full, kind, rid, name) for score, full, _, kind, rid, name in ranked[:limit]]


def _fuzzy(crm: Crm, text: str, kinds: Sequence[str], company: str | None) -> Record:
    found = candidates(crm, text, kinds, company)
    by_listing = sorted(found, key=lambda c: (-c[0], c[4]))
    listed = "; ".join(f"{name} ({kind}/{rid}, {score:.0f}%)"
                       for score, _, kind, rid, name in by_listing)
    strong = [c for c in found if c[1] >= CLEAR_WIN]
    if strong and (len(strong) == 1 or strong[0][1] - strong[1][1] >= MARGIN):
        return _get(crm, strong[0][2], strong[0][3])
    if len(strong) > 1:
        raise Ambiguous(f"{text!r} could be more than one {_what(kinds)}: {listed}",
                        "use a fuller name or the id")
    starts = crm.index.by_name_words(text, kinds, company) if len(text) >= MIN_PREFIX else []
    if len(starts) == 1:
        return _get(crm, starts[0][0], starts[0][1])
    if len(starts) > 1:
        shown = "; ".join(f"{name} ({kind}/{rid})" for kind, rid, name in starts[:5])
        more = f" and {len(starts) - 5} more" if len(starts) > 5 else ""
        raise Ambiguous(f"{text!r} could be more than one {_what(kinds)}: {shown}{more}",
                        "use a fuller name or the id")
    if found:
        raise NotFound(f"no {_what(kinds)} named {text!r}; closest: {listed}",
                       "use one of those names or ids")
    raise NotFound(f"no {_what(kinds)} named {text!r}",
                   f"see crmctl list {KINDS[kinds[0]].plural}" if len(kinds) == 1
                   else "see crmctl list companies")
