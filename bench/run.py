"""Benchmarks: crmctl's everyday commands against baselines measured in the same run.

    python bench/run.py [--records 10000] [--repeat 7]

Builds a CRM of N companies (written straight to files and committed once, so set-up is quick),
then times each command as a user runs it (a new process each time) and prints the median and
its ratio to a bare ``git add F && git commit --no-verify`` in the same repository. The machine is noisy:
compare ratios within one run, not milliseconds across runs.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from crmctl import yamlio
from crmctl.gitops import Identity
from crmctl.init import init_crm
from crmctl.store import record_path

from generate import SUFFIXES, TRADES, WORDS  # noqa: E402  (one vocabulary for all)
ENV = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
       "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}


def build(root: Path, count: int) -> list[str]:
    """A CRM with ``count`` companies in one commit; returns their names."""
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    init_crm(root, Identity("Bench", "bench@example.com"), when)
    subprocess.run(["git", "config", "user.name", "Bench"], cwd=root, check=True)
    subprocess.run(["git", "config", "user.email", "bench@example.com"], cwd=root, check=True)
    rng = random.Random(42)
    names, seen = [], set()
    while len(names) < count:
        name = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} " \
               f"{rng.choice(TRADES).title()} {rng.randint(1, 999)}{rng.choice(SUFFIXES)}"
        record_id = "-".join(name.lower().replace(".", "").replace(",", "").split())
        if record_id in seen:
            continue
        seen.add(record_id)
        names.append(name)
        path = root / record_path("company", record_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yamlio.dump({"id": record_id, "name": name, "status": "lead",
                                     "created": "2026-01-01T00:00:00+00:00",
                                     "updated": "2026-01-01T00:00:00+00:00"}))
    _history(root, names[0], 50_000, when)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=ENV)
    subprocess.run(["git", "commit", "--no-verify", "-qm", "Bench data"], cwd=root, check=True, env=ENV)
    return names


def _history(root: Path, name: str, count: int, start: datetime) -> None:
    """``count`` logged calls with the first company over five years, one JSON line each."""
    from crmctl import activities

    record_id = "-".join(name.lower().replace(".", "").replace(",", "").split())
    lines: dict[str, list[str]] = {}
    for n in range(count):
        at = start - timedelta(minutes=int(n * 5 * 365 * 24 * 60 / count) + 1)
        entry = {"id": activities.new_id(), "kind": "activity", "at": at.isoformat(),
                 "type": "phone-call", "company": record_id, "note": f"Call {n}",
                 "by": "bench@example.com", "by_name": "Bench"}
        lines.setdefault(activities.log_path(record_id, at), []).append(activities.encode(entry))
    for path, entries in lines.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("".join(e + "\n" for e in reversed(entries)))


def timed(args: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> float:
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True)
    elapsed = time.perf_counter() - started
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(args)} failed: {proc.stderr.decode().strip()}")
    return elapsed


def typo(name: str) -> str:
    return name[0] + name[2] + name[1] + name[3:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    crmctl = [sys.executable, "-m", "crmctl"]
    workdir = Path(tempfile.mkdtemp(prefix="crmctl-bench-"))
    root = workdir / "crm"
    try:
        started = time.perf_counter()
        names = build(root, options.records)
        print(f"{options.records} companies built in {time.perf_counter() - started:.1f} s")
        probe = root / "bench-probe.txt"
        counter = iter(range(10**9))

        def git_commit() -> float:
            probe.write_text(f"{next(counter)}\n")
            return timed(["sh", "-c", "git add bench-probe.txt && git commit --no-verify -qm probe"], root)

        def fresh_index() -> float:
            shutil.rmtree(root / ".crmctl", ignore_errors=True)
            return timed(crmctl + ["list", "companies", "-q"], root)

        rng = random.Random(7)
        cases = {
            "git add F && git commit (baseline)": git_commit,
            "python -c pass": lambda: timed([sys.executable, "-c", "pass"], root),
            "crmctl --version": lambda: timed(crmctl + ["--version"], root),
            "crmctl add company": lambda: timed(
                crmctl + ["add", "company", "".join(rng.choices("bcdfghjklmnpqrstvwxz", k=10))
                          .title() + " Newco"], root),
            "crmctl show NAME (exact)": lambda: timed(crmctl + ["show", rng.choice(names)], root),
            # A typo (two letters swapped) is resolved by fuzzy matching over every name; an
            # ambiguous answer (exit 4) costs the same work.
            "crmctl show NAME (typo)": lambda: timed(
                crmctl + ["show", typo(rng.choice(names))], root, ok=(0, 4)),
            "crmctl list companies -q": lambda: timed(crmctl + ["list", "companies", "-q"], root),
            # Appending must not cost more for a company with years of history: the log is
            # partitioned by month, so both write a file of one month.
            "crmctl log (company with 5 activities)": lambda: timed(
                crmctl + ["log", names[1], "--type", "email-sent"], root),
            "crmctl log (company with 50,000)": lambda: timed(
                crmctl + ["log", names[0], "--type", "email-sent"], root),
            "crmctl show (company with 50,000)": lambda: timed(
                crmctl + ["show", names[0], "--limit", "20"], root),
            "index rebuild (rm .crmctl; list)": fresh_index,
        }
        timed(crmctl + ["list", "companies", "-q"], root)  # build the index once
        for _ in range(5):
            timed(crmctl + ["log", names[1], "--type", "note", "--note", "seed"], root)
        results = {}
        for label, case in cases.items():
            results[label] = statistics.median(case() for _ in range(options.repeat))
        baseline = results["git add F && git commit (baseline)"]
        print(f"\nmedians of {options.repeat} runs at {options.records} records "
              f"(ratio = median / bare git commit)")
        for label, value in results.items():
            print(f"  {label:<38} {value * 1000:8.1f} ms   x{value / baseline:5.2f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
