"""A deterministic synthetic CRM of any size, built straight into git with fast-import.

    python bench/generate.py PATH [--companies 100000] [--people 1] [--deals 0.3]
                                  [--activities 10] [--tasks 10000] [--commits 0]

Companies (with planted duplicate spellings, listed in PATH/.crmctl/bench-duplicates.json), people,
deals, activity log lines and task events are written as one commit; ``--commits N`` adds N
small commits after it (one activity each), for history at scale. Nothing goes through
crmctl, so 100,000 records take seconds, not 100,000 commands. The same arguments always
give the same files.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crmctl import yamlio  # noqa: E402
from crmctl.activities import encode, log_path  # noqa: E402
from crmctl.gitops import Identity  # noqa: E402
from crmctl.init import init_crm  # noqa: E402
from crmctl.store import record_path  # noqa: E402
from crmctl.tasks import task_path  # noqa: E402

WORDS = ("acme apex atlas blue bright cedar coastal crown delta eagle east falcon global golden "
         "granite harbor iron keystone lake liberty maple metro north oak pacific peak pioneer "
         "prime quantum red river rock silver summit sun united valley vista west").split()
TRADES = ("products systems logistics foods paper motors mills labs software partners "
          "industries supply bakeries freight tools health energy").split()
FIRST = "Ann Bob Cy Dee Eve Flo Gus Hal Ida Jo Kim Lee Max Ned Oli Pam Ray Sue Tom Val".split()
LAST = "Smith Jones Brown Garcia Miller Davis Lopez Wilson Moore Clark Lewis Young King".split()
SUFFIXES = ("", " Inc.", " LLC", " Ltd", " GmbH", " Corp.")
TYPES = ("phone-attempt", "phone-call", "email-sent", "email-received", "meeting", "note")
START = datetime(2024, 1, 1, 9, 0, tzinfo=timezone.utc)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def build(root: Path, companies: int, people: float, deals: float, activities: float,
          tasks: int, commits: int, seed: int = 42) -> dict[str, int]:
    rng = random.Random(seed)
    init_crm(root, Identity("Bench", "bench@example.com"), START)
    files: dict[str, bytes] = {}
    logs: dict[str, list[str]] = defaultdict(list)
    ids: list[str] = []
    duplicates: list[list[str]] = []
    seen: set[str] = set()
    created = _stamp(START)
    while len(ids) < companies:
        base = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} " \
               f"{rng.choice(TRADES).title()} {rng.randint(1, 99999)}"
        spellings = [base + rng.choice(SUFFIXES)]
        if rng.random() < 0.02:  # a planted duplicate: the same company spelt again
            spellings.append(base + rng.choice([s for s in SUFFIXES if s not in spellings[0]]))
        group = []
        for name in spellings:
            record_id = "-".join(name.lower().replace(".", "").replace(",", "").split())
            if record_id in seen or len(ids) >= companies:
                continue
            seen.add(record_id)
            ids.append(record_id)
            group.append(record_id)
            files[record_path("company", record_id)] = yamlio.dump({
                "id": record_id, "name": name, "status": rng.choice(("lead", "contact",
                                                                     "prospect", "client")),
                "created": created, "updated": created}).encode()
        if len(group) > 1:
            duplicates.append(group)
    person_ids = []
    for n in range(int(companies * people)):
        company = ids[n % len(ids)]
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {n}"
        person_id = f"p{n}-{company}"[:60]
        person_ids.append((person_id, company))
        files[record_path("person", person_id)] = yamlio.dump({
            "id": person_id, "name": name, "company": company,
            "emails": [f"p{n}@{company[:20]}.example"], "status": "lead",
            "created": created, "updated": created}).encode()
    for n in range(int(companies * deals)):
        company = ids[rng.randrange(len(ids))]
        deal_id = f"d{n}-{company}"[:60]
        files[record_path("deal", deal_id)] = yamlio.dump({
            "id": deal_id, "name": f"Deal {n}", "company": company,
            "amount": rng.randrange(1000, 200000), "currency": "USD",
            "stage": "contact-made", "probability": 10, "stage_since": created,
            "created": created, "updated": created}).encode()
    lines = int(companies * activities)
    for n in range(lines):
        company = ids[rng.randrange(len(ids))]
        at = START + timedelta(minutes=n * 7 % (60 * 24 * 700))
        entry = {"id": f"a{n:011d}", "kind": "activity", "at": _stamp(at),
                 "type": rng.choice(TYPES), "company": company, "note": f"note {n}",
                 "by": "bench@example.com", "by_name": "Bench"}
        logs[log_path(company, at)].append(encode(entry))
    for n in range(tasks):
        task_id = f"t{n:09d}"
        due = (START + timedelta(days=700 + n % 90)).date().isoformat()
        event = {"id": f"e{n:011d}", "task": task_id, "op": "add", "at": created,
                 "text": f"Task {n}", "due": due, "priority": "normal",
                 "assignee": "bench@example.com", "company": ids[n % len(ids)],
                 "by": "bench@example.com"}
        logs[task_path(task_id, START)].append(encode(event))
    for path, entries in logs.items():
        files[path] = ("\n".join(entries) + "\n").encode()
    _fast_import(root, files, commits, ids, rng)
    # The planted duplicates, for recall: in crmctl's machine-local folder, never committed.
    (root / ".crmctl").mkdir(exist_ok=True)
    (root / ".crmctl" / "bench-duplicates.json").write_text(json.dumps(duplicates))
    return {"companies": len(ids), "people": len(person_ids), "deals": int(companies * deals),
            "activities": lines, "tasks": tasks, "files": len(files),
            "duplicates": len(duplicates), "commits": commits + 2}


def _fast_import(root: Path, files: dict[str, bytes], commits: int, ids: list[str],
                 rng: random.Random) -> None:
    branch = subprocess.run(["git", "symbolic-ref", "HEAD"], cwd=root, capture_output=True,
                            text=True, check=True).stdout.strip()
    proc = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=root, stdin=subprocess.PIPE)
    out = proc.stdin
    assert out is not None
    when = int(START.timestamp())

    def commit(message: str, changes: dict[str, bytes], first: bool = False) -> None:
        nonlocal when
        when += 60
        text = message.encode()
        out.write(f"commit {branch}\ncommitter Bench <bench@example.com> {when} +0000\n"
                  f"data {len(text)}\n".encode() + text + b"\n")
        if first:
            out.write(f"from {branch}^0\n".encode())
        for path, data in changes.items():
            out.write(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")

    commit("Bench data", files, first=True)
    appended: dict[str, bytes] = {}  # each history commit appends to its log, never replaces
    for n in range(commits):
        company = ids[rng.randrange(len(ids))]
        at = START + timedelta(days=800, minutes=n)
        line = encode({"id": f"c{n:011d}", "kind": "activity", "at": _stamp(at),
                       "type": "note", "company": company, "note": f"history {n}",
                       "by": "bench@example.com"}) + "\n"
        path = log_path(company, at)
        appended[path] = appended.get(path, files.get(path, b"")) + line.encode()
        commit(f"Log note with {company}\n\nCrm-Record: company/{company}",
               {path: appended[path]})
    out.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "reset", "-q", "--hard"], cwd=root, check=True)
    subprocess.run(["git", "commit-graph", "write", "--reachable", "--changed-paths"],
                   cwd=root, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--people", type=float, default=1.0, help="per company")
    parser.add_argument("--deals", type=float, default=0.3, help="per company")
    parser.add_argument("--activities", type=float, default=10.0, help="per company")
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--commits", type=int, default=0, help="small commits after the data")
    args = parser.parse_args()
    if args.path.exists() and any(args.path.iterdir()):
        raise SystemExit(f"{args.path} exists and is not empty")
    started = datetime.now()
    counts = build(args.path, args.companies, args.people, args.deals, args.activities,
                   args.tasks, args.commits)
    seconds = (datetime.now() - started).total_seconds()
    print(", ".join(f"{v:,} {k}" for k, v in counts.items()) + f" in {seconds:.1f} s")


if __name__ == "__main__":
    main()
