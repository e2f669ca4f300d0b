"""Many terminals at once: writers on one company, movers on one deal, a reader meanwhile.

Every process is a real ``crmctl`` started by a small driver of its own, all released at the
same moment. Nothing acknowledged may be lost or doubled, every commit must be one write on
top of the one before, git must never show its own lock errors to a user, and the reader must
only ever see whole files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from conftest import git
from reliability.battery import soak

WRITERS = 8
LOGS_EACH = soak(25)
MOVERS = 4
MOVES_EACH = soak(10)
STAGES = ("contact-made", "meeting-arranged")
COMPANY = "acme-products"
DEAL = "acme-products-big-deal"
# What git prints when it trips over a lock; a user must never see any of it.
RAW_GIT = ("index.lock", "HEAD.lock", ".lock'", "fatal:", "Unable to create")

# One driver per terminal: wait for the start signal, then run its crmctl commands one after
# the other (or, for the reader, round and round until told to stop); every result as JSON.
DRIVER = r"""
import json, os, subprocess, sys, time
spec = json.loads(sys.argv[1])
while not os.path.exists(spec["go"]):
    time.sleep(0.002)
results = []
def run(argv):
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "crmctl", *argv], capture_output=True,
                          text=True, timeout=600)
    results.append({"argv": argv, "rc": proc.returncode, "stdout": proc.stdout,
                    "stderr": proc.stderr, "started": started})
if spec.get("until"):
    turn = 0
    while not os.path.exists(spec["until"]) or turn < len(spec["commands"]):
        run(spec["commands"][turn % len(spec["commands"])])
        turn += 1
else:
    for argv in spec["commands"]:
        run(argv)
with open(spec["out"], "w") as handle:
    json.dump(results, handle)
"""

READS = [["report", "pipeline"],
         ["show", COMPANY, "--limit", "0", "-f", "json"],
         ["list", "deals", "-f", "json"],
         ["list", "companies", "-q"],
         ["show", DEAL]]


def start(root: Path, work: Path, name: str, commands: list[list[str]],
          until: Path | None = None) -> tuple[subprocess.Popen, Path]:
    out = work / f"{name}.json"
    spec = {"go": str(work / "go"), "out": str(out), "commands": commands,
            "until": str(until) if until else None}
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(spec)], cwd=root,
                            env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc, out


def finish(proc: subprocess.Popen, out: Path) -> list[dict]:
    stdout, stderr = proc.communicate(timeout=1200)  # a guard against a hang only
    assert proc.returncode == 0, (stdout, stderr)
    return json.loads(out.read_text())


def one_clear_line(result: dict) -> bool:
    lines = result["stderr"].strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("crmctl: ")


def test_writers_movers_and_a_reader_at_once_lose_nothing_and_show_nothing_half_done(
        cli, crm_root, tmp_path):
    cli.ok("add", "company", "Acme Products")
    cli.ok("add", "deal", "Big Deal", "--company", "Acme Products", "--amount", "1000")
    before = git(crm_root, "rev-parse", "HEAD")
    before_count = int(git(crm_root, "rev-list", "--count", "HEAD"))
    work = tmp_path / "drivers"
    work.mkdir()
    stop = work / "stop"

    writers = [start(crm_root, work, f"writer{w}",
                     [["log", COMPANY, "--type", "note", "--note", f"w{w}-{n}"]
                      for n in range(LOGS_EACH)])
               for w in range(WRITERS)]
    # Each mover alternates between the two stages, so some moves find the deal already
    # there (another mover was first) and are refused: a clear failure that changes nothing.
    movers = [start(crm_root, work, f"mover{m}",
                    [["move", DEAL, STAGES[(n + m + 1) % 2]] for n in range(MOVES_EACH)])
              for m in range(MOVERS)]
    reader = start(crm_root, work, "reader", READS, until=stop)
    time.sleep(0.5)  # every driver is up and polling
    (work / "go").touch()

    logs = [r for proc, out in writers for r in finish(proc, out)]
    moves = [r for proc, out in movers for r in finish(proc, out)]
    stop.touch()
    reads = finish(*reader)

    # Nobody ever saw a traceback or git's own words about its locks.
    for result in logs + moves + reads:
        assert "Traceback" not in result["stderr"], result
        assert not any(text in result["stderr"] for text in RAW_GIT), result

    # Every acknowledged note is in the log exactly once; a refused one is not there at all.
    logged = [r["argv"][-1] for r in logs if r["rc"] == 0]
    refused_logs = [r for r in logs if r["rc"] != 0]
    notes = [entry.get("note") for entry in _log_entries(crm_root)
             if entry["kind"] == "activity"]
    assert sorted(notes) == sorted(logged), (len(notes), len(logged), refused_logs[:3])
    for result in refused_logs:  # e.g. a lock timeout: one line saying so
        assert one_clear_line(result), result

    # Moves: each accepted move is one move line, and the lines chain (from == previous to),
    # which they would not if two moves had read the same deal and both written.
    done_moves = [r for r in moves if r["rc"] == 0]
    for result in moves:
        if result["rc"] != 0:
            assert result["rc"] == 1 and one_clear_line(result), result
            assert "already in" in result["stderr"] or "lock" in result["stderr"], result
    move_lines = [e for e in _log_entries(crm_root) if e["kind"] == "move"]
    assert len(move_lines) == len(done_moves)
    stage = "contact-made"
    for line in move_lines:  # in file order, which is the order they were appended
        assert line["from"] == stage, move_lines
        stage = line["to"]
    deal = json.loads(subprocess.run(
        [sys.executable, "-m", "crmctl", "list", "deals", "-f", "json"], cwd=crm_root,
        capture_output=True, text=True, check=True).stdout)
    assert [d["stage"] for d in deal] == [stage]

    # One commit per acknowledged write, in one straight line on top of where we began.
    new = git(crm_root, "rev-list", f"{before}..HEAD").splitlines()
    assert len(new) == len(logged) + len(done_moves)
    assert int(git(crm_root, "rev-list", "--count", "HEAD")) == before_count + len(new)
    assert git(crm_root, "rev-list", "--merges", f"{before}..HEAD") == ""
    subjects = [git(crm_root, "log", "-1", "--format=%s", c) for c in new]
    assert sorted(s.rsplit(": ", 1)[1] for s in subjects if s.startswith("Log note")) == \
        sorted(logged)
    assert sum(s.startswith('Move deal "Big Deal"') for s in subjects) == len(done_moves)

    # No write was made and then dropped: with reflogs ignored, every commit object is on
    # the branch (a commit left unreachable is a write some other write overwrote).
    fsck = subprocess.run(["git", "fsck", "--strict", "--unreachable", "--no-reflogs",
                           "--no-progress"], cwd=crm_root, capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert [line for line in fsck.stdout.splitlines() if "commit" in line] == [], fsck.stdout
    assert fsck.stdout == "", "objects written by no surviving write:\n" + fsck.stdout
    strict = subprocess.run(["git", "fsck", "--strict", "--no-progress"], cwd=crm_root,
                            capture_output=True, text=True)
    assert strict.returncode == 0 and strict.stdout == "", strict.stdout + strict.stderr

    assert git(crm_root, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (crm_root / ".git" / "crmctl-journal.json").exists()
    assert sorted(p.name for p in (crm_root / ".git").rglob("*.lock")) == ["crmctl.lock"]
    assert list(crm_root.rglob("*.crmctl-tmp")) == []
    checked = subprocess.run([sys.executable, "-m", "crmctl", "check"], cwd=crm_root,
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # The reader, all along: every read succeeded, said nothing on stderr, and showed whole
    # records; notes only ever appeared, never vanished (nothing it saw was half done).
    assert len(reads) >= len(READS)
    seen = 0
    for result in sorted(reads, key=lambda r: r["started"]):
        assert result["rc"] == 0 and result["stderr"] == "", result
        argv, out = result["argv"], result["stdout"]
        if argv[0] == "report":
            assert "Open pipeline in USD: 1 deal, 1,000 (" in out, out
        elif argv[:2] == ["show", COMPANY]:
            shown = json.loads(out)
            assert shown["record"]["name"] == "Acme Products"
            assert [d["stage"] in STAGES for d in shown["deals"]] == [True], shown["deals"]
            count = sum(1 for e in shown["timeline"] if e["kind"] == "activity")
            assert count >= seen, (count, seen)
            seen = count
        elif argv[:2] == ["list", "deals"]:
            assert [d["stage"] in STAGES for d in json.loads(out)] == [True], out
        elif argv[:2] == ["list", "companies"]:
            assert out.split() == [COMPANY], out
        else:
            assert out.startswith("Big Deal"), out


def _log_entries(root: Path) -> list[dict]:
    return [json.loads(line) for path in sorted((root / "activities").glob("*/*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
