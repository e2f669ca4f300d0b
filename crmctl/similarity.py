"""The duplicate engine: how alike two companies (or two people) are, and why; and groups of
likely duplicates among many, found without comparing every pair.

Pure functions over ``Candidate`` values, so the add-time guard, ``crmctl dedupe``, imports
and the benchmark all score the same way. rapidfuzz is imported only when scores are needed.

Scale: records are compared only within blocks that share a rare name token, the first
letters of the squashed name, a domain, an email or a phone; each block is scored in one
batch (``rapidfuzz.process.cdist``), and tokens so common they say nothing ("international")
make no block. Memory grows with the blocks, never with the square of the records.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable, Sequence

from crmctl.names import LEGAL_SUFFIXES, normalize_company, normalize_person

# Legal forms glued to the name ("SchummPLC") are only cut when this long: cutting "ag" or
# "sa" off the end of any squashed name would cut real names too ("Teag", "Visa").
_GLUED_SUFFIXES = sorted((s for s in LEGAL_SUFFIXES if len(s) >= 3), key=len, reverse=True)
DIFFERENT_DOMAIN_PENALTY = 15
DIFFERENT_ADDRESS_PENALTY = 10
DIFFERENT_NUMBER_PENALTY = 20
DIFFERENT_WORD_PENALTY = 15     # "Deutsche Bank" and "Deutsche Bahn": one word, another name   # "Store 12" and "Store 21" are two branches, not one typo
MAX_BLOCK = 400           # a block bigger than this is split by a second key
PREFIX = 5                # letters of the squashed name that make a block


@dataclass(frozen=True)
class Candidate:
    id: str
    name: str
    kind: str = "company"
    domain: str | None = None
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    company: str | None = None       # people: the company they work at
    address: str | None = None
    aliases: tuple[str, ...] = ()
    # The normalised name when it is known already (the index keeps it): normalising
    # 100,000 names took 1.5 s of a scan.
    known_norm: str | None = field(default=None, compare=False, repr=False)

    # Computed once per candidate (a scan scores each one many times).
    @cached_property
    def norm(self) -> str:
        return self.known_norm if self.known_norm is not None else _norm(self.kind, self.name)

    @cached_property
    def squashed(self) -> str:
        return squash(self.norm)

    @cached_property
    def numbers(self) -> list[str]:
        return _numbers(self.norm)

    @cached_property
    def alias_norms(self) -> list[str]:
        return [_norm(self.kind, alias) for alias in self.aliases]


@dataclass(frozen=True)
class Scored:
    score: float
    reasons: tuple[str, ...]
    groupable: bool = True   # False: worth showing, never enough to group on its own


@dataclass
class Group:
    members: list[Candidate]
    pairs: list[tuple[int, int, Scored]] = field(default_factory=list)  # indexes in members
    tentative: bool = False  # only an acronym links them: shown, never merged as a group

    @property
    def score(self) -> float:
        return min((s.score for _, _, s in self.pairs), default=100.0)

    @property
    def reasons(self) -> list[str]:
        seen: dict[str, None] = {}
        for _, _, scored in self.pairs:
            seen.update(dict.fromkeys(scored.reasons))
        return list(seen)


def squash(norm: str) -> str:
    """The name with its spaces gone and a glued legal form cut: 'schummplc' -> 'schumm'."""
    text = norm.replace(" ", "")
    for suffix in _GLUED_SUFFIXES:
        if text.endswith(suffix) and len(text) - len(suffix) >= 4:
            return text[: -len(suffix)]
    return text


def acronym(norm: str) -> str:
    return "".join(word[0] for word in norm.split() if word not in ("and", "of", "the"))


def plain(squashed: str) -> str:
    """German umlauts spelled out and folded alike: 'mueller', 'muller' -> 'muller'."""
    return squashed.replace("ae", "a").replace("oe", "o").replace("ue", "u")


def name_score(a: str, b: str, a_squashed: str, b_squashed: str) -> float:
    from rapidfuzz import fuzz

    return max(fuzz.token_sort_ratio(a, b), fuzz.ratio(a_squashed, b_squashed),
               fuzz.ratio(plain(a_squashed), plain(b_squashed)))


def _other_word(a: str, b: str) -> tuple[str, str] | None:
    """The one whole word two names differ by, when it is not a typo of the other
    ('deutsche bank' / 'deutsche bahn'): two names, not two spellings of one."""
    from rapidfuzz import fuzz

    only_a, only_b = set(a.split()) - set(b.split()), set(b.split()) - set(a.split())
    if len(only_a) == 1 and len(only_b) == 1:
        x, y = only_a.pop(), only_b.pop()
        if min(len(x), len(y)) >= 3 and not x.isdigit() and not y.isdigit() \
                and fuzz.ratio(plain(x), plain(y)) < 80:
            return x, y
    return None


def score(a: Candidate, b: Candidate) -> Scored:
    """How alike two records are (0-100) and the reasons, evidence against included."""
    reasons: list[str] = []
    best = 0.0
    if a.norm == b.norm:
        best = 100.0
    else:
        best = name_score(a.norm, b.norm, a.squashed, b.squashed)
    for x in [a.norm, *a.alias_norms]:
        for y in [b.norm, *b.alias_norms]:
            if best == 100.0:
                break
            if (x, y) != (a.norm, b.norm):
                best = 100.0 if x == y else max(best, name_score(x, y, squash(x), squash(y)))
    other = _other_word(a.norm, b.norm) if best < 100.0 else None
    if other:
        reasons.append(f"different words ({other[0]} / {other[1]})")
        best -= DIFFERENT_WORD_PENALTY
    numbers_a, numbers_b = a.numbers, b.numbers
    if best < 100.0 and numbers_a and numbers_b and numbers_a != numbers_b:
        reasons.append("different numbers in the names")
        best -= DIFFERENT_NUMBER_PENALTY
    if best == 100.0:
        reasons.append("same name")  # once case, punctuation, accents, legal forms are aside
    elif best >= 80:
        reasons.append("similar name")
    evidence = best
    if a.kind == "person" and b.kind == "person":
        same_company = a.company is not None and a.company == b.company
        if not same_company:
            evidence = min(evidence, 80.0)  # a namesake at another company is someone else
        elif best >= 80:
            reasons.append("same company")
    shared_email = sorted(a.emails & b.emails)
    if shared_email:
        reasons.append(f"same email {shared_email[0]}")
        evidence = 100.0
    shared_phone = sorted(a.phones & b.phones)
    if shared_phone:
        reasons.append(f"same phone {shared_phone[0]}")
        evidence = max(evidence, 95.0)
    if a.domain and b.domain:
        if a.domain == b.domain:
            reasons.append(f"same domain {a.domain}")
            evidence = max(evidence, 95.0)
        else:
            reasons.append(f"different domains ({a.domain}, {b.domain})")
            evidence -= DIFFERENT_DOMAIN_PENALTY
    if a.address and b.address and _norm("person", a.address) != _norm("person", b.address):
        reasons.append("different addresses")
        evidence -= DIFFERENT_ADDRESS_PENALTY
    if a.kind == "company" and evidence < 80:
        short, long_ = sorted((a.norm, b.norm), key=len)
        if " " not in short and 2 <= len(short) <= 6 and len(long_.split()) >= 2 \
                and acronym(long_) == short:
            reasons.append(f"{short.upper()} may stand for {long_.title()}")
            return Scored(max(evidence, 85.0), tuple(reasons), groupable=False)
    return Scored(max(0.0, evidence), tuple(reasons))


def _numbers(norm: str) -> list[str]:
    return sorted("".join(ch for ch in word if ch.isdigit()) for word in norm.split()
                  if any(ch.isdigit() for ch in word))


def _norm(kind: str, name: str) -> str:
    return normalize_company(name) if kind == "company" else normalize_person(name)


def _blocks(candidates: Sequence[Candidate]) -> Iterable[tuple[str, list[int]]]:
    """(what they share, candidate indexes) worth comparing among themselves: "name" for a
    rare token or the first letters, "contact" for a domain, email or phone, "acronym"."""
    keyed: dict[str, list[int]] = defaultdict(list)
    token_counts: dict[str, int] = defaultdict(int)
    norms = [c.norm for c in candidates]
    for norm in norms:
        for token in set(norm.split()):
            token_counts[token] += 1
    common = max(MAX_BLOCK, len(candidates) // 50)
    for i, c in enumerate(candidates):
        squashed = c.squashed
        keyed[f"p:{squashed[:PREFIX]}"].append(i)
        keyed[f"p:{plain(squashed)[:PREFIX]}"].append(i)  # Mueller meets Müller
        words = norms[i].split()
        # Every token that is rare enough; a long common one still blocks with the prefix.
        for token in set(words):
            if len(token) >= 2 and token_counts[token] <= common:
                keyed[f"t:{token}"].append(i)
        if len(words) > 1:
            keyed[f"a:{acronym(norms[i])}"].append(i)
        elif 2 <= len(squashed) <= 6:
            keyed[f"a:{squashed}"].append(i)
        for alias in c.aliases:
            keyed[f"p:{squash(_norm(c.kind, alias))[:PREFIX]}"].append(i)
        if c.domain:
            keyed[f"d:{c.domain}"].append(i)
        for email in c.emails:
            keyed[f"e:{email}"].append(i)
        for phone in c.phones:
            keyed[f"f:{phone}"].append(i)
        if c.kind == "person" and c.company:
            keyed[f"c:{c.company}"].append(i)
    for key, listed in keyed.items():
        members = list(dict.fromkeys(listed))  # a name and its alias may share a key
        if len(members) < 2:
            continue
        shared = {"d": "contact", "e": "contact", "f": "contact", "a": "acronym"}.get(key[0],
                                                                                 "name")
        if len(members) <= MAX_BLOCK or shared == "contact":
            yield shared, members
            continue
        # Too big to compare whole: split by the next letters of the squashed name.
        split: dict[str, list[int]] = defaultdict(list)
        for i in members:
            split[norms[i].replace(" ", "")[:PREFIX + 3]].append(i)
        yield from (("name", m) for m in split.values() if 1 < len(m) <= MAX_BLOCK * 4)


def likely_pairs(candidates: Sequence[Candidate], threshold: float) -> dict[tuple[int, int],
                                                                            Scored]:
    """Every pair of candidates scoring ``threshold`` or more, and the possible acronyms.

    Within a name block only names that alone reach the threshold are scored (evidence from
    a shared contact only ever comes with a contact block, and everything else lowers a
    score); within a contact block every pair is; within an acronym block, each one-word
    name against the others."""
    from rapidfuzz import fuzz, process

    norms = [c.norm for c in candidates]
    squashed = [c.squashed for c in candidates]
    seen: set[tuple[int, int]] = set()
    found: dict[tuple[int, int], Scored] = {}
    for shared, block in _blocks(candidates):
        near: set[tuple[int, int]] = set()
        if shared == "name":
            for texts, scorer in ((norms, fuzz.token_sort_ratio), (squashed, fuzz.ratio)):
                choices = [texts[i] for i in block]
                for x, i in enumerate(block[:-1]):
                    # One C-level batch per record: only those after it in the block.
                    for _, _, y in process.extract(texts[i], choices[x + 1:], scorer=scorer,
                                                   score_cutoff=threshold, limit=None):
                        j = block[x + 1 + y]
                        near.add((min(i, j), max(i, j)))
        elif shared == "contact":
            near = {(min(i, j), max(i, j)) for x, i in enumerate(block) for j in block[x + 1:]}
        else:
            words = [i for i in block if " " not in norms[i]]
            near = {(min(i, j), max(i, j)) for i in words for j in block
                    if j != i and _maybe_acronym(norms[i], norms[j])}
        for pair in near - seen:
            seen.add(pair)
            scored = score(candidates[pair[0]], candidates[pair[1]])
            if scored.score >= threshold or not scored.groupable:
                found[pair] = scored
    return found


def _maybe_acronym(a: str, b: str) -> bool:
    short, long_ = sorted((a, b), key=len)
    return " " not in short and acronym(long_) == short


def group(candidates: Sequence[Candidate], threshold: float) -> list[Group]:
    """Groups of likely duplicates (two or more), most alike first; then, marked tentative,
    pairs that only an acronym links ("AMD", "Advanced Micro Devices"), which never join a
    group on their own."""
    pairs = likely_pairs(candidates, threshold)
    parent = list(range(len(candidates)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for (i, j), scored in pairs.items():
        if scored.groupable:
            parent[root(i)] = root(j)
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(candidates)):
        members[root(i)].append(i)
    # Each group's pairs, found once: asking every pair of every group took 2 s for 2,000
    # groups at 100,000 companies.
    pairs_of: dict[int, list[tuple[int, int, Scored]]] = defaultdict(list)
    for (i, j), scored in pairs.items():
        if scored.groupable:
            pairs_of[root(i)].append((i, j, scored))
    groups = []
    for group_root, indexes in members.items():
        if len(indexes) < 2:
            continue
        position = {i: n for n, i in enumerate(indexes)}
        group_pairs = [(position[i], position[j], s) for i, j, s in pairs_of[group_root]]
        groups.append(Group([candidates[i] for i in indexes], group_pairs))
    for (i, j), scored in pairs.items():
        if not scored.groupable and root(i) != root(j):
            groups.append(Group([candidates[i], candidates[j]], [(0, 1, scored)], True))
    groups.sort(key=lambda g: (g.tentative, -g.score, g.members[0].name.lower()))
    return groups
