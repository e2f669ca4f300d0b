"""Benchmarks: crmctl's everyday commands against baselines measured in the same run.

    python bench/run.py [--size tiny|1k|10k|100k] [--repeat 5] [--json results.json]

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
from pathlib import Path

from generate import build  # noqa: E402  (bench/ is on the path when run as a script)

SIZES = {"tiny": 200, "1k": 1_000, "10k": 10_000, "100k": 100_000}  # tiny: CI proves it runs
ENV = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
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


def run(args: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """(seconds, peak MB) of one process, as a user runs it. The peak comes from GNU time
    when it is installed (a forked child's own counter would include this script's memory)."""
    report = cwd.parent / "peak.txt"
    wrapped = [TIME, "-f", "%M", "-o", str(report), *args] if TIME else args
    started = time.perf_counter()
    proc = subprocess.run(wrapped, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): "
                         f"{proc.stderr.decode().strip()}")
    try:
        peak = int(report.read_text().split()[-1]) / 1024
    except (OSError, ValueError, IndexError):
        peak = float("nan")
    return elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="10k")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    options = parser.parse_args()
    companies = SIZES[options.size]
    crmctl = [sys.executable, "-m", "crmctl"]
    workdir = Path(tempfile.mkdtemp(prefix="crmctl-bench-"))
    root = workdir / "crm"
    try:
        started = time.perf_counter()
        counts = build(root, companies, people=1.0, deals=0.3, activities=10.0,
                       tasks=min(10_000, companies), commits=min(10_000, companies))
        for key, value in (("user.name", "Bench"), ("user.email", "bench@example.com")):
            subprocess.run(["git", "config", key, value], cwd=root, check=True)
        print(", ".join(f"{v:,} {k}" for k, v in counts.items())
              + f" generated in {time.perf_counter() - started:.1f} s")
        results = measure(root, workdir, crmctl, options.repeat)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nmedians of {options.repeat} runs at {options.size} (peak memory of the slowest run)")
    for label, figures in results.items():
        ratio = f"x{figures['ratio']:5.2f} {figures['baseline']}" if figures.get("ratio") else ""
        print(f"  {label:<40} {figures['ms']:9.1f} ms {figures['mb']:6.0f} MB   {ratio}")
    if options.json:
        options.json.write_text(json.dumps({"size": options.size, "counts": counts,
                                            "results": results}, indent=2))


def measure(root: Path, workdir: Path, crmctl: list[str], repeat: int) -> dict[str, dict]:
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

    def fresh_index() -> list[str]:
        shutil.rmtree(root / ".crmctl", ignore_errors=True)
        return crmctl + ["list", "companies", "-q"]

    stages = iter(["meeting-arranged", "contact-made"] * 10**6)
    scenarios: dict[str, tuple] = {
        # label: (command maker, baseline label, ok exit codes)
        "git add F && git commit": (git_commit, None, (0,)),
        "minimal Typer app --help": (lambda: [sys.executable, str(typer_app), "--help"], None,
                                     (0,)),
        "crmctl --version": (lambda: crmctl + ["--version"], "minimal Typer app --help", (0,)),
        "crmctl --help": (lambda: crmctl + ["--help"], "minimal Typer app --help", (0,)),
        "crmctl log": (lambda: crmctl + ["log", rng.choice(companies), "--type", "note",
                                         "--note", "bench"], "git add F && git commit", (0,)),
        "crmctl add company": (lambda: crmctl + ["add", "company", "".join(
            rng.choices("bcdfghjklmnpqrstvwxz", k=12)).title() + " Newco"],
            "git add F && git commit", (0, 5)),
        "crmctl move deal": (lambda: crmctl + ["move", rng.choice(deals[:50]), next(stages)],
                             "git add F && git commit", (0, 1)),
        "crmctl task add": (lambda: crmctl + ["task", "add", "Bench task", "--due", "+3d"],
                            "git add F && git commit", (0,)),
        "crmctl task list --all": (lambda: crmctl + ["task", "list", "--all", "-q"], None, (0,)),
        "crmctl show": (lambda: crmctl + ["show", rng.choice(companies)], None, (0,)),
        "crmctl history --limit 50": (lambda: crmctl + ["history", "--limit", "50"], None,
                                      (0,)),
        "crmctl history RECORD": (lambda: crmctl + ["history", rng.choice(companies)], None,
                                  (0,)),
        "crmctl report pipeline (warm)": (lambda: crmctl + ["report", "pipeline"], None, (0,)),
        "crmctl report activity (warm)": (lambda: crmctl + ["report", "activity"], None, (0,)),
        "crmctl report tasks (warm)": (lambda: crmctl + ["report", "tasks", "--days", "7"],
                                       None, (0,)),
        "crmctl dedupe": (lambda: crmctl + ["dedupe", "--format", "json"], None, (0,)),
        "index rebuild (cold list)": (fresh_index, None, (0,)),
    }
    if shutil.which("task"):
        scenarios["taskwarrior task list"] = (lambda: ["task", "list"], None, (0, 1))
    else:
        print("taskwarrior is not installed: its baseline is skipped")
    if shutil.which("hledger"):
        print("hledger is installed, but no journal is generated yet: its baseline is skipped")
    else:
        print("hledger is not installed: its baseline is skipped")
    run(crmctl + ["list", "companies", "-q"], root)  # the index, once
    results: dict[str, dict] = {}
    for label, (make, baseline, ok) in scenarios.items():
        run(make(), root, ok)  # warm-up
        samples = [run(make(), root, ok) for _ in range(repeat)]
        results[label] = {"ms": statistics.median(s for s, _ in samples) * 1000,
                          "mb": max(m for _, m in samples), "baseline": baseline}
    for figures in results.values():
        if figures["baseline"]:
            figures["ratio"] = figures["ms"] / results[figures["baseline"]]["ms"]
    return results


if __name__ == "__main__":
    main()
