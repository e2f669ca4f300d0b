"""Benchmarks: crmctl's everyday commands against baselines measured in the same run.

    python bench/run.py [--size tiny|1k|10k|100k] [--repeat 5] [--json results.json]
                         [--only TEXT] [--skip TEXT] [--keep DIR]

Generates a CRM with bench/generate.py (companies with people, deals, ten activity lines per
company, tasks, and a history of small commits), then times each scenario as a user runs it
(a new process each time, after a warm-up run) and prints the median, the peak memory and the
ratio to its baseline measured in the same run: a bare ``git add F && git commit`` for writes,
a minimal Typer app for start-up, taskwarrior and hledger when they are installed (it says so
when they are not). The machine is noisy: compare ratios within one run, not milliseconds
across runs. ``--json`` writes every figure for later comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from generate import build  # noqa: E402  (bench/ is on the path when run as a script)
from peers import hledger_journal, missing, taskwarrior_env  # noqa: E402

SIZES = {"tiny": 200, "1k": 1_000, "10k": 10_000, "100k": 100_000}  # tiny: CI proves it runs
# As a user runs it: Python writes and reuses its bytecode (a shell that sets
# PYTHONDONTWRITEBYTECODE compiles every module of every run, ~60 ms more each).
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
       "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
       "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
       "CRMCTL_NOW": "2026-11-25T09:00:00+00:00"}
MINIMAL_TYPER = """
import typer
app = typer.Typer()
@app.command()
def hello(name: str = "x") -> None:
    print(name)
app()
"""


TIME = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)


def run(args: list[str], cwd: Path, ok: tuple[int, ...] = (0,),
        env: dict[str, str] | None = None) -> tuple[float, float]:
    """(seconds, peak MB) of one process, as a user runs it. The peak comes from GNU time
    when it is installed (a forked child's own counter would include this script's memory)."""
    report = cwd.parent / "peak.txt"
    wrapped = [TIME, "-f", "%M", "-o", str(report), *args] if TIME else args
    started = time.perf_counter()
    proc = subprocess.run(wrapped, cwd=cwd, env={**ENV, **(env or {})},
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): "
                         f"{proc.stderr.decode().strip()}")
    try:
        peak = int(report.read_text().split()[-1]) / 1024
    except (OSError, ValueError, IndexError):
        peak = float("nan")
    return elapsed, peak


@dataclass
class Scenario:
    make: Callable[[], list[str]]  # the command line of one run (may prepare the folder)
    baselines: tuple[str, ...] = ()  # labels of the scenarios its time is divided by
    ok: tuple[int, ...] = (0,)
    env: dict[str, str] | None = None
    cwd: Path | None = None
    cold: bool = False  # each run starts with no cache: fewer repeats, no warm-up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="10k")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--only", help="run only the scenarios whose label contains this")
    parser.add_argument("--skip", help="leave out the scenarios whose label contains this "
                        "(e.g. cold: each cold run at 100k rebuilds the index)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="generate the CRM in DIR and keep it, or reuse the one there "
                             "(generating 100k takes about 6 minutes; runs add to it)")
    options = parser.parse_args()
    companies = SIZES[options.size]
    crmctl = [sys.executable, "-m", "crmctl"]
    workdir = options.keep or Path(tempfile.mkdtemp(prefix="crmctl-bench-"))
    root = workdir / "crm"
    try:
        counts = _generated(root, companies)
        results = measure(root, workdir, crmctl, options.repeat, counts, options.only,
                          options.skip)
    finally:
        if not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nmedians of {options.repeat} runs at {options.size} (peak memory of the worst run)")
    for label, figures in results.items():
        ratios = "; ".join(f"x{r:5.2f} {b}" for b, r in figures.get("ratios", {}).items())
        print(f"  {label:<42} {figures['ms']:9.1f} ms {figures['mb']:6.0f} MB   {ratios}")
    if options.json:
        options.json.write_text(json.dumps({"size": options.size, "counts": counts,
                                            "results": results}, indent=2))


def _generated(root: Path, companies: int) -> dict[str, int]:
    """The CRM to measure: made at ``root``, or the one a ``--keep`` run left there."""
    counts_file = root.parent / "counts.json"
    if counts_file.is_file() and (root / ".git").is_dir():
        counts = json.loads(counts_file.read_text())
        if counts["companies"] == companies:
            print(f"reusing the CRM in {root.parent}")
            return counts
        raise SystemExit(f"{root.parent} holds a CRM of another size: choose another --keep")
    started = time.perf_counter()
    # At 100k: 100,000 companies and people, 30,000 deals, 1,000,000 activities,
    # 10,000 open tasks and 100,000 commits, as issue #10 sets the targets.
    counts = build(root, companies, people=1.0, deals=0.3, activities=10.0,
                   tasks=min(10_000, companies), commits=companies)
    for key, value in (("user.name", "Bench"), ("user.email", "bench@example.com")):
        subprocess.run(["git", "config", key, value], cwd=root, check=True)
    print(", ".join(f"{v:,} {k}" for k, v in counts.items())
          + f" generated in {time.perf_counter() - started:.1f} s")
    counts_file.write_text(json.dumps(counts))
    return counts


def measure(root: Path, workdir: Path, crmctl: list[str], repeat: int, counts: dict[str, int],
            only: str | None = None, skip: str | None = None) -> dict[str, dict]:
    rng = random.Random(7)
    companies = sorted(p.stem for p in (root / "companies").glob("*/*.yaml"))
    deals = sorted(p.stem for p in (root / "deals").glob("*/*.yaml"))
    probe = root / "bench-probe.txt"
    counter = iter(range(10**9))
    typer_app = workdir / "minimal_typer.py"
    typer_app.write_text(MINIMAL_TYPER)

    def git_commit() -> list[str]:
        probe.write_text(f"{next(counter)}\n")
        return ["sh", "-c", "git add bench-probe.txt && git commit --no-verify -qm probe"]

    def cold(*args: str) -> Callable[[], list[str]]:
        def make() -> list[str]:
            shutil.rmtree(root / ".crmctl", ignore_errors=True)
            return crmctl + list(args)
        return make

    stages = iter(["meeting-arranged", "contact-made"] * 10**6)
    commit = "git add F && git commit"
    typer = "minimal Typer app --help"
    scenarios: dict[str, Scenario] = {
        commit: Scenario(git_commit),
        typer: Scenario(lambda: [sys.executable, str(typer_app), "--help"]),
        "crmctl --version": Scenario(lambda: crmctl + ["--version"], (typer,)),
        "crmctl --help": Scenario(lambda: crmctl + ["--help"], (typer,)),
        "crmctl log": Scenario(lambda: crmctl + ["log", rng.choice(companies), "--type", "note",
                                                 "--note", "bench"], (commit,)),
        "crmctl add company": Scenario(lambda: crmctl + ["add", "company", "".join(
            rng.choices("bcdfghjklmnpqrstvwxz", k=12)).title() + " Newco"], (commit,), (0, 5)),
        "crmctl move deal": Scenario(lambda: crmctl + ["move", rng.choice(deals[:50]),
                                                       next(stages)], (commit,), (0, 1)),
        "crmctl task add": Scenario(lambda: crmctl + ["task", "add", "Bench task", "--due",
                                                      "+3d"], (commit,)),
        "crmctl task list --all": Scenario(lambda: crmctl + ["task", "list", "--all", "-q"]),
        "crmctl show": Scenario(lambda: crmctl + ["show", rng.choice(companies)]),
        "crmctl history --limit 50": Scenario(lambda: crmctl + ["history", "--limit", "50"]),
        "crmctl history RECORD": Scenario(lambda: crmctl + ["history", rng.choice(companies)]),
        "crmctl dedupe": Scenario(lambda: crmctl + ["dedupe", "--format", "json"]),
    }
    reports = {"pipeline": ["report", "pipeline"], "forecast": ["report", "forecast"],
               # The generated logs span 700 days from January 2024: their last full month.
               "activity": ["report", "activity", "--since", "2025-11-01", "--until", "2025-11-30"],
               "tasks": ["report", "tasks", "--days", "7"]}
    for name, args in reports.items():
        scenarios[f"crmctl report {name} (warm)"] = Scenario(lambda a=args: crmctl + a)
    for name, args in reports.items():
        scenarios[f"crmctl report {name} (cold)"] = Scenario(cold(*args), cold=True)
    peers = workdir / "peers"
    shutil.rmtree(peers, ignore_errors=True)  # a --keep folder: the peers' data made afresh
    peers.mkdir()
    for name in missing():
        print(f"{name} is not installed: its baseline is skipped")
    if shutil.which("hledger"):
        journal = hledger_journal(peers, counts["companies"])
        hledger = f"hledger balance ({counts['companies']:,} transactions)"
        scenarios[hledger] = Scenario(lambda: ["hledger", "-f", str(journal), "balance"])
        for label, scenario in scenarios.items():
            if label.startswith("crmctl report"):
                scenario.baselines += (hledger,)
    if shutil.which("task"):
        task_env = taskwarrior_env(peers, counts["tasks"])
        task_list, task_add = "taskwarrior task list", "taskwarrior task add"
        scenarios[task_list] = Scenario(lambda: ["task", "list"], env=task_env, cwd=peers)
        scenarios[task_add] = Scenario(lambda: ["task", "add", "Bench task", "due:today+3d"],
                                       env=task_env, cwd=peers)
        scenarios["crmctl task list --all"].baselines += (task_list,)
        scenarios["crmctl task add"].baselines += (task_add,)
    if only or skip:
        wanted = {label for label in scenarios
                  if (not only or only in label) and not (skip and skip in label)}
        wanted |= {b for label in wanted for b in scenarios[label].baselines}
        scenarios = {label: s for label, s in scenarios.items() if label in wanted}
    run(crmctl + ["list", "companies", "-q"], root)  # the index, once
    results: dict[str, dict] = {}
    for label, scenario in scenarios.items():
        cwd = scenario.cwd or root
        times = min(repeat, 3) if scenario.cold else repeat
        if not scenario.cold:
            run(scenario.make(), cwd, scenario.ok, scenario.env)  # warm-up
        samples = [run(scenario.make(), cwd, scenario.ok, scenario.env) for _ in range(times)]
        results[label] = {"ms": statistics.median(s for s, _ in samples) * 1000,
                          "mb": max(m for _, m in samples), "runs": times}
        print(f"  {label:<42} {results[label]['ms']:9.1f} ms", file=sys.stderr)
    for label, scenario in scenarios.items():
        results[label]["ratios"] = {b: results[label]["ms"] / results[b]["ms"]
                                    for b in scenario.baselines}
    return results


if __name__ == "__main__":
    main()
