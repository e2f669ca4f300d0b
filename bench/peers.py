"""The plain-text peers crmctl is measured against, set up with the same amount of data.

hledger (plain-text accounting: a journal file read whole on every report) and taskwarrior
(plain-text tasks) are what a terminal user would otherwise use. Each is set up here in its
own folder, deterministically, and only when it is installed; ``missing`` says which are not.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

ACCOUNT_WORDS = ("sales marketing travel software hardware rent payroll fees meals freight "
                 "training hosting support licences insurance").split()


def missing() -> list[str]:
    return [name for name, command in (("taskwarrior", "task"), ("hledger", "hledger"))
            if not shutil.which(command)]


def hledger_journal(folder: Path, transactions: int, seed: int = 42) -> Path:
    """A journal of ``transactions`` two-posting transactions over 300 accounts."""
    rng = random.Random(seed)
    accounts = [f"expenses:{a}:{b}:{n}" for a in ACCOUNT_WORDS for b in ACCOUNT_WORDS[:4]
                for n in range(5)]
    start = date(2024, 1, 1)
    lines = []
    for n in range(transactions):
        day = start + timedelta(days=n * 700 // max(1, transactions))
        cents = rng.randrange(100, 1_000_000)
        lines.append(f"{day.isoformat()} Payee {n % 997}\n"
                     f"    {rng.choice(accounts)}    ${cents // 100}.{cents % 100:02d}\n"
                     f"    assets:bank\n")
    journal = folder / "bench.journal"
    journal.write_text("\n".join(lines))
    return journal


def taskwarrior_env(folder: Path, tasks: int) -> dict[str, str]:
    """TASKRC and TASKDATA of a taskwarrior holding ``tasks`` pending tasks."""
    data = folder / "taskdata"
    data.mkdir(parents=True, exist_ok=True)
    rc = folder / "taskrc"
    # No confirmation prompts, no hooks, no colour: what a script (and this benchmark) runs.
    rc.write_text(f"data.location={data}\nconfirmation=off\nhooks=off\ncolor=off\n"
                  "verbose=nothing\nnews.version=9.9.9\n")
    # taskwarrior 2.6.2 crashes (SIGSEGV) when HOME is unset: give it a home of its own.
    env = {"TASKRC": str(rc), "TASKDATA": str(data), "HOME": str(folder)}
    start = date(2026, 1, 1)
    exported = [{"description": f"Task {n}", "status": "pending", "entry": "20260101T090000Z",
                 "due": (start + timedelta(days=n % 90)).strftime("%Y%m%dT090000Z"),
                 "priority": "M", "project": f"company{n % 1000}"}
                for n in range(tasks)]
    dump = folder / "tasks.json"
    dump.write_text(json.dumps(exported))
    subprocess.run(["task", "import", str(dump)], check=True, capture_output=True,
                   env={"PATH": "/usr/bin:/bin", **env})
    return env
