"""Duplicate finding: quality on real names with ground truth, and speed at scale.

    python bench/dedupe.py [--scale 100000] [--data ../shared/data/dedupe]

Quality (skipped with a note when the data folder is absent):
- KU Leuven's patent applicants (patstat_reference.csv): pairwise precision and recall of the
  default ``dedupe`` groups against the verified clusters, with and without the huge Philips
  cluster;
- De Nederlandsche Bank's corrupted names: top-1 and top-3 accuracy of crmctl's record lookup
  ("did you mean") for each corrupted name among the 500 originals.
Beside each: the naive baseline the issue names (rapidfuzz ratio >= 90 on lower-cased names
with punctuation and legal suffixes removed).

Scale: a generated set of N companies with known duplicates planted (spelling variants of
5 % of them): time of the scan, precision and recall, peak memory.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import resource
import sys
import time
from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Iterable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crmctl.names import LEGAL_SUFFIXES  # noqa: E402
from crmctl.similarity import Candidate, group  # noqa: E402

THRESHOLD = 90  # crm.yaml's default duplicate_threshold
DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "dedupe"


def pairs_of(clusters: Iterable[Sequence[int]]) -> set[tuple[int, int]]:
    return {(min(a, b), max(a, b)) for members in clusters for a, b in combinations(members, 2)}


def precision_recall(found: set, truth: set) -> tuple[float, float]:
    hits = len(found & truth)
    return (hits / len(found) if found else 1.0, hits / len(truth) if truth else 1.0)


def baseline_clusters(names: Sequence[str]) -> list[list[int]]:
    """The floor: ratio >= 90 on lower-cased names without punctuation and legal suffixes,
    every pair compared, joined transitively."""
    from rapidfuzz import fuzz, process

    cleaned = [" ".join(w for w in re.sub(r"[^\w\s]", " ", n.lower()).split()
                        if w not in LEGAL_SUFFIXES) for n in names]
    parent = list(range(len(names)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, text in enumerate(cleaned):
        for _, _, j in process.extract(text, cleaned[i + 1:], scorer=fuzz.ratio,
                                       score_cutoff=90, limit=None):
            parent[root(i)] = root(i + 1 + j)
    clusters: dict[int, list[int]] = defaultdict(list)
    for i in range(len(names)):
        clusters[root(i)].append(i)
    return [c for c in clusters.values() if len(c) > 1]


def crmctl_clusters(names: Sequence[str]) -> list[list[int]]:
    candidates = [Candidate(str(i), name) for i, name in enumerate(names)]
    return [[int(m.id) for m in g.members] for g in group(candidates, THRESHOLD)
            if not g.tentative]


def leuven(data: Path) -> None:
    rows = list(csv.DictReader((data / "patstat_reference.csv").open(encoding="utf-8")))
    names = [r["person_name"] for r in rows]
    truth_clusters: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        truth_clusters[row["leuven_id"]].append(i)
    largest = max(truth_clusters, key=lambda k: len(truth_clusters[k]))
    print(f"KU Leuven patent applicants: {len(rows)} names, {len(truth_clusters)} companies "
          f"(largest: {len(truth_clusters[largest])} spellings of "
          f"{rows[truth_clusters[largest][0]]['person_name']!r})")
    for label, clusters_of in (("crmctl dedupe", crmctl_clusters),
                               ("baseline ratio>=90", baseline_clusters)):
        started = time.perf_counter()
        found_clusters = clusters_of(names)
        seconds = time.perf_counter() - started
        for scope, keep in (("all", lambda i: True),
                            ("without the largest cluster",
                             lambda i: rows[i]["leuven_id"] != largest)):
            truth = pairs_of([[i for i in c if keep(i)] for c in truth_clusters.values()])
            found = pairs_of([[i for i in c if keep(i)] for c in found_clusters])
            precision, recall = precision_recall(found, truth)
            print(f"  {label:20} {scope:28} precision {precision:.3f}  recall {recall:.3f}"
                  f"  ({seconds:.2f} s)")


def dnb(data: Path) -> None:
    import tempfile

    originals = [r["company_name"] for r in csv.DictReader(
        (data / "nm_test_names.csv").open(encoding="utf-8"))]
    corrupted = [r["company_name"] for r in csv.DictReader(
        (data / "nm_adjusted_test_names.csv").open(encoding="utf-8"))]
    with tempfile.TemporaryDirectory() as folder:
        crm, ids = _crm_of(Path(folder) / "crm", originals)
        from crmctl.resolve import candidates

        top1 = top3 = 0
        started = time.perf_counter()
        for n, typed in enumerate(corrupted):
            ranked = [c[3] for c in candidates(crm, typed, ["company"], limit=3)]
            top1 += bool(ranked) and ranked[0] == ids[n]
            top3 += ids[n] in ranked
        seconds = time.perf_counter() - started
    base1, base3 = _baseline_lookup(originals, corrupted)
    total = len(corrupted)
    print(f"DNB corrupted names: {total} lookups among {len(originals)} companies")
    print(f"  {'crmctl lookup':20} top-1 {top1 / total:.3f}  top-3 {top3 / total:.3f}"
          f"  ({seconds * 1000 / total:.1f} ms each)")
    print(f"  {'baseline ratio':20} top-1 {base1 / total:.3f}  top-3 {base3 / total:.3f}")


def _baseline_lookup(originals: list[str], corrupted: list[str]) -> tuple[int, int]:
    from rapidfuzz import fuzz, process

    def clean(n: str) -> str:
        return " ".join(w for w in re.sub(r"[^\w\s]", " ", n.lower()).split()
                        if w not in LEGAL_SUFFIXES)

    choices = [clean(n) for n in originals]
    top1 = top3 = 0
    for n, typed in enumerate(corrupted):
        ranked = [i for _, _, i in process.extract(clean(typed), choices, scorer=fuzz.ratio,
                                                   limit=3)]
        top1 += ranked[0] == n
        top3 += n in ranked
    return top1, top3


def _crm_of(root: Path, names: list[str]):  # type: ignore[no-untyped-def]
    """A CRM holding these companies, written straight to files and committed once."""
    import subprocess
    from datetime import datetime, timezone

    from crmctl import yamlio
    from crmctl.gitops import Identity
    from crmctl.init import init_crm
    from crmctl.names import slugify
    from crmctl.store import Crm, record_path

    init_crm(root, Identity("Bench", "bench@example.com"), datetime(2026, 1, 1,
                                                                    tzinfo=timezone.utc))
    ids, seen = [], set()
    for name in names:
        base = slugify(name, "company")
        record_id, n = base, 1
        while record_id in seen:
            n += 1
            record_id = f"{base}-{n}"
        seen.add(record_id)
        ids.append(record_id)
        path = root / record_path("company", record_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yamlio.dump({"id": record_id, "name": name, "status": "lead",
                                     "created": "2026-01-01T00:00:00+00:00",
                                     "updated": "2026-01-01T00:00:00+00:00"}))
    env = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
           "PATH": "/usr/bin:/bin:/usr/local/bin"}
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "companies", "--no-verify"], cwd=root, check=True,
                   env=env)
    return Crm(root), ids


from generate import TRADES, WORDS  # noqa: E402  (one vocabulary for all)


def variant(name: str, rng: random.Random) -> str:
    """A spelling of ``name`` a person might type: a legal form, case, a typo, punctuation."""
    choice = rng.randrange(5)
    if choice == 0:
        return name + rng.choice((" Inc.", ", Inc", " LLC", " Ltd", " GmbH", " Corporation"))
    if choice == 1:
        return name.upper()
    if choice == 2:
        i = rng.randrange(1, len(name) - 1)
        return name[:i] + name[i + 1:]
    if choice == 3:
        return name.replace(" ", "-", 1)
    return name.replace(" ", "  ") + "."


def scale(count: int) -> None:
    rng = random.Random(7)
    names: list[str] = []
    truth: list[list[int]] = []
    seen: set[str] = set()
    while len(names) < count:
        name = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} " \
               f"{rng.choice(TRADES).title()} {rng.choice(WORDS).title()}{rng.randint(1, 99999)}"
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        names.append(name)
        if rng.random() < 0.05 and len(names) < count:
            names.append(variant(name, rng))
            truth.append([len(names) - 2, len(names) - 1])
    started = time.perf_counter()
    found = crmctl_clusters(names)
    seconds = time.perf_counter() - started
    precision, recall = precision_recall(pairs_of(found), pairs_of(truth))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Generated: {len(names)} companies, {len(truth)} planted duplicates")
    print(f"  crmctl dedupe  {seconds:.1f} s  precision {precision:.3f}  recall {recall:.3f}"
          f"  peak memory {peak:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=100_000,
                        help="companies in the generated set (0: skip)")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    if args.data.is_dir():
        leuven(args.data)
        dnb(args.data)
    else:
        print(f"(no real-name data at {args.data}: quality figures skipped)")
    if args.scale:
        scale(args.scale)


if __name__ == "__main__":
    main()
