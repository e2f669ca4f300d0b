"""The benchmark suite still works: a small generated CRM is valid and readable (no timing
is asserted anywhere: speed is measured by bench/run.py, not tested)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import crmctl, git

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_a_small_generated_crm_is_valid_and_has_what_was_asked(tmp_path) -> None:
    root = tmp_path / "crm"
    out = subprocess.run([sys.executable, str(BENCH / "generate.py"), str(root),
                          "--companies", "300", "--activities", "3", "--tasks", "40",
                          "--commits", "25"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("300 companies, 300 people, 90 deals, 900 activities, 40 tasks")
    checked = crmctl("check", cwd=root)
    assert (checked.returncode, checked.stdout) == (0, "")
    assert int(git(root, "rev-list", "--count", "HEAD")) == 27
    assert git(root, "status", "--porcelain") == ""
    assert len(json.loads(crmctl("list", "companies", "--format", "json", cwd=root).stdout)) \
        == 300
    tasks = json.loads(crmctl("task", "list", "--all", "--format", "json", cwd=root).stdout)
    assert len(tasks) == 40
    planted = json.loads((root / ".crmctl" / "bench-duplicates.json").read_text())
    assert planted  # 2% of 300 companies, spelt twice: there are some to find
    found = json.loads(crmctl("dedupe", "--format", "json", cwd=root).stdout)
    groups = [sorted(m["id"] for m in g["members"]) for g in found if not g["tentative"]]
    assert all(sorted(pair) in groups for pair in planted)


def test_the_benchmark_runs_and_reports_every_scenario(tmp_path) -> None:
    """bench/run.py at its tiny size, once: every scenario measured, every ratio computed
    against its baseline. Nothing about the figures is asserted: speed is measured, not
    tested."""
    results = tmp_path / "results.json"
    done = subprocess.run([sys.executable, str(BENCH / "run.py"), "--size", "tiny",
                           "--repeat", "1", "--json", str(results)], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    figures = json.loads(results.read_text())
    assert figures["size"] == "tiny" and figures["counts"]["companies"] == 200
    measured = figures["results"]
    assert {"git add F && git commit", "crmctl log", "crmctl add company", "crmctl --help",
            "crmctl report pipeline (warm)", "crmctl dedupe"} <= set(measured)
    assert all(f["ms"] > 0 for f in measured.values())
    assert set(measured["crmctl log"]["ratios"]) >= {"git add F && git commit"}
    assert set(measured["crmctl --help"]["ratios"]) == {"minimal Typer app --help"}
    # Each ratio is the scenario's median over its baseline's, from the same run.
    for figures in measured.values():
        for baseline, ratio in figures["ratios"].items():
            assert ratio == figures["ms"] / measured[baseline]["ms"]
    # The plain-text peers are measured when installed, and said to be skipped when not.
    peers = {"hledger": ("hledger", "hledger balance"),
             "task": ("taskwarrior", "taskwarrior task list")}
    for command, (name, label) in peers.items():
        installed = shutil.which(command) is not None
        assert any(m.startswith(label) for m in measured) == installed, (command, done.stderr)
        assert (f"{name} is not installed" in done.stdout) == (not installed)
