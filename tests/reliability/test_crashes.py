"""kill -9 at any moment: every write is all or nothing, and the next command just works.

(a) Random kills: a mix of writes, each killed after a random moment, the whole process group
    (Ctrl-C in a terminal, a timeout in cron) or the crmctl parent alone while its git children
    may still run. After each kill the next command, read or write, must succeed with no manual
    repair, the killed write must have landed whole or not at all, and nothing may be left
    behind: no temporary file, no git lock, nothing uncommitted.
(b) Deterministic crashes at every named step of a write (``CRMCTL_CRASH_AT``) for the writes
    beyond ``add company`` (which test_battery_wiring covers): each lands exactly when its
    branch moved, whole, and the folder is clean after the next command; and each step is a
    moment of the record write itself (a five-file merge stopped with one file renamed).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from conftest import build_once, copy_of, git
from test_early_status import lock_is_free, wait_for
from crmctl.faults import STEPS
from reliability.battery import soak

GROUP_KILLS = soak(150)
PARENT_KILLS = soak(100)
HEAVY_EVERY = 25  # crmctl check and git fsck every this many kills (and at the end)
RAW_GIT = ("index.lock", "HEAD.lock", ".lock'", "fatal:", "Unable to create")
STAGES = ("contact-made", "meeting-arranged")
DEAL = "acme-products-big-deal"


def setup_crm(cli) -> None:
    cli.ok("add", "company", "Acme Products")
    cli.ok("add", "company", "Globex")
    cli.ok("add", "company", "Hooli")
    cli.ok("add", "company", "Hooli Europe", "--force")
    cli.ok("add", "person", "Jane Doe", "--company", "acme-products", "--email",
           "jane@acme.example")
    cli.ok("add", "person", "John Roe", "--company", "hooli-europe")
    cli.ok("add", "deal", "Big Deal", "--company", "acme-products", "--amount", "1000")
    cli.ok("log", "hooli-europe", "--type", "note", "--note", "old note")
    cli.ok("task", "add", "Call Hooli Europe", "--for", "hooli-europe")
    cli.ok("task", "add", "Follow up", "--for", "acme-products")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_once(tmp_path_factory, setup_crm)


# --- what is in the CRM, read straight from its files ---------------------------------------

def jsonl(root: Path, folder: str) -> list[dict]:
    return [json.loads(line) for path in sorted((root / folder).glob("*/*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def field_of(root: Path, rel: str, name: str) -> str | None:
    """A top-level scalar of a record file, as written (enough for ids, stages, domains)."""
    path = root / rel
    if not path.exists():
        return None
    match = re.search(rf"^{name}: (.*)$", path.read_text(encoding="utf-8"), re.M)
    return match.group(1).strip("'\"") if match else None


def records(root: Path, folder: str) -> list[str]:
    return sorted(p.stem for p in (root / folder).glob("*/*.yaml"))


def task_ids(root: Path, text: str) -> list[str]:
    return [e["task"] for e in jsonl(root, "tasks") if e["op"] == "add" and e["text"] == text]


def state(root: Path) -> dict:
    """Everything the random writes can change, in a form two states can be compared in."""
    events = jsonl(root, "tasks")
    return {"notes": Counter(e.get("note") for e in jsonl(root, "activities")
                             if e["kind"] == "activity"),
            "companies": records(root, "companies"),
            "people": records(root, "people"),
            "tasks": Counter(e["text"] for e in events if e["op"] == "add"),
            "done": {e["task"] for e in events if e["op"] == "done"},
            "stage": field_of(root, f"deals/ac/{DEAL}.yaml", "stage"),
            "domain": field_of(root, "companies/gl/globex.yaml", "domain")}


def leftovers(root: Path) -> list[str]:
    """Traces of an unfinished write: journal, git locks (not crmctl's own flock file), temp
    files."""
    found = [p.relative_to(root).as_posix() for p in (root / ".git").rglob("*.lock")
             if p.name != "crmctl.lock"]
    if (root / ".git" / "crmctl-journal.json").exists():
        found.append(".git/crmctl-journal.json")
    found += [p.relative_to(root).as_posix() for p in root.rglob("*.crmctl-tmp")]
    return found


def status(root: Path) -> str:
    return git(root, "status", "--porcelain", "--untracked-files=all")


def fsck_problems(root: Path) -> str:
    """``git fsck --strict`` output other than dangling objects (a killed write may leave a
    blob, tree or commit that nothing points at: garbage for gc, not damage)."""
    proc = subprocess.run(["git", "fsck", "--strict", "--no-dangling", "--no-progress"],
                          cwd=root, capture_output=True, text=True)
    return "" if proc.returncode == 0 and not proc.stdout.strip() and not proc.stderr.strip() \
        else f"exit {proc.returncode}\n{proc.stdout}{proc.stderr}"


def group_alive(pgid: int) -> bool:
    """Is any process of this group still running (zombies waiting for a reaper don't
    count)?"""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def wait_for_group(pgid: int) -> None:
    deadline = time.monotonic() + 120  # a guard against a hang, not a timing
    while group_alive(pgid):
        assert time.monotonic() < deadline, f"process group {pgid} never finished"
        time.sleep(0.005)


def crmctl(root: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crmctl", *args], cwd=root,
                          capture_output=True, text=True, **kwargs)


def shown_cleanly(stderr: str) -> bool:
    return "Traceback" not in stderr and not any(text in stderr for text in RAW_GIT)


# --- (a) random kills -----------------------------------------------------------------------

@dataclass
class Op:
    argv: list[str]
    apply: Callable[[dict], None]  # what the state becomes if the write lands


def pick_op(rng: random.Random, number: int, now: dict) -> Op:
    kind = rng.choice(["log", "log", "add company", "add person", "move", "task add",
                       "task done", "edit"])
    if kind == "task done" and not now["open"]:
        kind = "task add"
    if kind == "log":
        note = f"k{number}"
        return Op(["log", "acme-products", "--type", "note", "--note", note],
                  lambda s: s["notes"].update([note]))
    if kind == "add company":
        return Op(["add", "company", f"Kilo {number}", "--force"],
                  lambda s: s.update(companies=sorted(s["companies"] + [f"kilo-{number}"])))
    if kind == "add person":
        return Op(["add", "person", f"Pat Kilo {number}", "--company", "globex", "--force"],
                  lambda s: s.update(people=sorted(s["people"] + [f"pat-kilo-{number}"])))
    if kind == "move":
        target = STAGES[1 - STAGES.index(now["stage"])]
        return Op(["move", DEAL, target], lambda s: s.update(stage=target))
    if kind == "task add":
        text = f"Task {number}"
        return Op(["task", "add", text, "--for", "globex"],
                  lambda s: s["tasks"].update([text]))
    if kind == "task done":
        task = rng.choice(sorted(now["open"]))
        return Op(["task", "done", task], lambda s: s["done"].add(task))
    domain = f"g{number}.example.com"
    return Op(["edit", "globex", "--set", f"domain={domain}"],
              lambda s: s.update(domain=domain))


NEXT_READS = [["list", "companies", "-q"], ["show", "acme-products", "-f", "json"],
              ["task", "list", "--all", "-f", "json"], ["report", "pipeline"],
              ["show", DEAL]]


def open_tasks(root: Path) -> set[str]:
    events = jsonl(root, "tasks")
    return {e["task"] for e in events if e["op"] == "add"} - \
        {e["task"] for e in events if e["op"] == "done"}


def test_hundreds_of_kill_9s_lose_nothing_half_do_nothing_and_need_no_repair(
        template, tmp_path, monkeypatch):
    cli = copy_of(template, tmp_path, monkeypatch)
    root = cli.root
    rng = random.Random(20261125)

    # Kill within a write's own lifetime on this machine (at most 0.5 s): a later kill only
    # finds the write finished, and is no test of anything. Half the kills fall in the
    # second half of that lifetime, where the write itself runs (the first is start-up).
    took = []
    for n in range(3):
        started = time.monotonic()
        assert crmctl(root, "log", "acme-products", "--type", "note", "--note",
                      f"warm{n}").returncode == 0
        took.append(time.monotonic() - started)
    span = min(0.5, sorted(took)[1])

    expected = state(root)
    kills = {"group": 0, "parent": 0}
    finished = mid_write = landed_after_kill = 0
    runs = 0
    while kills["group"] < GROUP_KILLS or kills["parent"] < PARENT_KILLS:
        runs += 1
        assert runs < 6 * (GROUP_KILLS + PARENT_KILLS), (runs, kills)
        open_now = open_tasks(root)
        op = pick_op(rng, runs, {"stage": expected["stage"], "open": open_now})
        how = "group" if kills["group"] < GROUP_KILLS and (
            kills["parent"] >= PARENT_KILLS or rng.random() < 0.6) else "parent"
        before = git(root, "rev-parse", "HEAD")

        proc = subprocess.Popen([sys.executable, "-m", "crmctl", *op.argv], cwd=root,
                                start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            proc.wait(timeout=rng.uniform(0 if rng.random() < 0.5 else span / 2, span))
        except subprocess.TimeoutExpired:
            if how == "group":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                os.kill(proc.pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
        killed = proc.returncode == -signal.SIGKILL
        context = (runs, how, op.argv, proc.returncode, err)
        if killed:
            kills[how] += 1
        else:
            # It finished before the kill: an acknowledged write, or one clear refusal.
            assert proc.returncode == 0, context
            assert shown_cleanly(err), context
            finished += 1
        if killed and how == "parent":
            pass  # its git children may still be running: the next command copes with that
        else:
            wait_for_group(proc.pid)
        if killed and (root / ".git" / "crmctl-journal.json").exists():
            mid_write += 1

        # The next command, at once, read or write, with no repair by anyone. It runs in this
        # process (a subprocess would add nothing but its start-up time to each kill).
        next_write = killed and rng.random() < 0.4
        if killed:
            if next_write:
                after = f"after{runs}"
                nxt = cli("log", "globex", "--type", "note", "--note", after)
            else:
                nxt = cli(*rng.choice(NEXT_READS))
            assert nxt.exit_code == 0 and shown_cleanly(nxt.stderr), \
                (context, nxt.stdout, nxt.stderr)
        wait_for_group(proc.pid)

        # All or nothing: one commit on top of the one before, or none; the files say the same.
        new = git(root, "rev-list", "--first-parent", f"{before}..HEAD").splitlines()
        extra = 1 if next_write else 0
        assert len(new) - extra in (0, 1), (context, len(new))
        landed = len(new) - extra == 1
        assert landed or killed, context  # an acknowledged write is there
        if landed:
            assert git(root, "rev-parse", f"{new[-1]}^") == before, context
            op.apply(expected)
            landed_after_kill += killed
        if next_write:
            assert git(root, "log", "-1", "--format=%s", "HEAD") == \
                f'Log note with "Globex": {after}', context
            expected["notes"].update([after])
        actual = state(root)
        assert actual == expected, (context, landed, {k: (expected[k], actual[k])
                                                      for k in actual if actual[k] != expected[k]})
        assert status(root) == "", (context, status(root))
        assert leftovers(root) == [], (context, leftovers(root))

        if killed and sum(kills.values()) % HEAVY_EVERY == 0:
            checked = cli("check")
            assert checked.exit_code == 0, (context, checked.stdout, checked.stderr)
            assert fsck_problems(root) == "", context

    # At the end: the whole history is sound, every check passes, and a plain write works.
    assert fsck_problems(root) == ""
    assert git(root, "rev-list", "--merges", "HEAD") == ""
    checked = crmctl(root, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    final = crmctl(root, "add", "company", "Zulu Final")
    assert final.returncode == 0 and final.stderr == "", final.stderr
    assert status(root) == "" and leftovers(root) == []
    assert state(root)["notes"] == expected["notes"]
    # Enough of the kills struck inside a write (a journal was left, or the write had
    # landed but was not finished) for the run to have tested recovery at all.
    assert mid_write >= (GROUP_KILLS + PARENT_KILLS) // 20, (mid_write, kills, finished)
    print(f"\nkills {kills}, runs {runs}, finished first {finished}, left a journal "
          f"{mid_write}, landed though killed {landed_after_kill}, span {span:.3f} s")


# --- (b) a crash at every named step --------------------------------------------------------

@dataclass
class Crash:
    argv: list[str]
    subject: str  # the commit's subject when it lands
    files: int  # how many files its commit changes
    facts: Callable[[Path], dict]  # each True once the write has landed, each False before


CRASHES = {
    # A first real contact also promotes the company from lead to contact: two files.
    "log": Crash(["log", "acme-products", "--type", "phone-call", "--note", "crash call"],
                 'Log phone-call with "Acme Products": crash call', 2,
                 lambda root: {
                     "note": [e.get("note") for e in jsonl(root, "activities")].count(
                         "crash call") == 1,
                     "promoted": field_of(root, "companies/ac/acme-products.yaml",
                                          "status") == "contact"}),
    "move": Crash(["move", DEAL, "meeting-arranged", "--amount", "2500"],
                  'Move deal "Big Deal": contact-made -> meeting-arranged', 2,
                  lambda root: {
                      "stage": field_of(root, f"deals/ac/{DEAL}.yaml",
                                        "stage") == "meeting-arranged",
                      "amount": field_of(root, f"deals/ac/{DEAL}.yaml", "amount") == "2500",
                      "move line": any(e["kind"] == "move" for e in jsonl(root, "activities"))}),
    "task add": Crash(["task", "add", "Crash task", "--for", "globex", "--priority", "high"],
                      'Add task "Crash task" for "Globex"', 1,
                      lambda root: {"task": len(task_ids(root, "Crash task")) == 1}),
    # Five files: two companies, a person, and the merge's own activity and task logs.
    "merge": Crash(["merge", "hooli", "hooli-europe"],
                   'Merge company "Hooli Europe" into "Hooli"', 5,
                   lambda root: {
                       "duplicate gone": "hooli-europe" not in records(root, "companies"),
                       "person moved": field_of(root, "people/jo/john-roe.yaml",
                                                "company") == "hooli",
                       "alias": "- Hooli Europe" in (
                           root / "companies/ho/hooli.yaml").read_text(),
                       "activity repointed": any(e["kind"] == "amend" and
                                                 e.get("company") == "hooli"
                                                 for e in jsonl(root, "activities"))}),
    "edit": Crash(["edit", "globex", "--set", "domain=globex.example", "--set",
                   "source=trade-show"],
                  'Edit company "Globex": domain, source', 1,
                  lambda root: {
                      "domain": field_of(root, "companies/gl/globex.yaml",
                                         "domain") == "globex.example",
                      "source": field_of(root, "companies/gl/globex.yaml",
                                         "source") == "trade-show"}),
}


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("command", list(CRASHES))
def test_a_write_killed_at_any_step_is_all_or_nothing_and_the_next_commands_just_work(
        command, step, template, tmp_path, monkeypatch):
    cli = copy_of(template, tmp_path, monkeypatch)
    root = cli.root
    crash = CRASHES[command]
    before = git(root, "rev-parse", "HEAD")
    assert not any(crash.facts(root).values()), crash.facts(root)

    killed = subprocess.run([sys.executable, "-m", "crmctl", *crash.argv], cwd=root,
                            env={**os.environ, "CRMCTL_CRASH_AT": step},
                            capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)

    # The next command, a read, sees the write whole or not at all and leaves a clean folder.
    shown = cli.ok("show", "acme-products", "-f", "json")
    assert json.loads(shown.stdout)["record"]["id"] == "acme-products"
    assert status(root) == "" and leftovers(root) == []

    landed = STEPS.index(step) >= STEPS.index("ref-updated")
    facts = crash.facts(root)
    assert facts == {name: landed for name in facts}, (step, facts)
    if landed:
        assert git(root, "rev-parse", "HEAD^") == before
        assert git(root, "log", "-1", "--format=%s", "HEAD") == crash.subject
        assert len(git(root, "show", "--name-only", "--format=", "HEAD").splitlines()) == \
            crash.files
    else:
        assert git(root, "rev-parse", "HEAD") == before

    # And a write after it: one commit of its own, nothing else dragged into it.
    landed_head = git(root, "rev-parse", "HEAD")
    cli.ok("log", "hooli", "--type", "note", "--note", "next")
    assert git(root, "rev-parse", "HEAD^") == landed_head
    assert [p.split("/")[0] for p in git(root, "show", "--name-only", "--format=",
                                         "HEAD").splitlines()] == ["activities"]
    assert crash.facts(root) == facts
    assert status(root) == "" and leftovers(root) == []
    cli.ok("check")
    assert fsck_problems(root) == ""


def dirty(root: Path) -> list[str]:
    """Work-tree paths that differ from HEAD, crmctl's temporary files left out."""
    return [line[3:] for line in git(root, "status", "--porcelain", "--untracked-files=all",
                                     "--no-renames").splitlines()
            if not line.endswith(".crmctl-tmp")]


@pytest.mark.parametrize("step", STEPS)
def test_the_crash_hook_stops_a_five_file_merge_where_each_step_says(step, template, tmp_path,
                                                                     monkeypatch):
    """Each named step must be a moment of the record write itself: otherwise a crash "at
    every step" never catches a merge with one file of five renamed into place."""
    root = copy_of(template, tmp_path, monkeypatch).root
    before = git(root, "rev-parse", "HEAD")
    killed = subprocess.run([sys.executable, "-m", "crmctl", "merge", "hooli", "hooli-europe"],
                            cwd=root, env={**os.environ, "CRMCTL_CRASH_AT": step},
                            capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)
    # A git it started may outlive it (the index update written beside the commit): it
    # holds the CRM lock until it is done, as the next command would wait for it.
    wait_for(lambda: lock_is_free(root), "the killed write's git to finish")

    journal = (root / ".git" / "crmctl-journal.json").exists()
    temps = [p.relative_to(root).as_posix() for p in root.rglob("*.crmctl-tmp")
             if not p.relative_to(root).as_posix().startswith(".git/")]
    moved = git(root, "rev-parse", "HEAD") != before
    seen = {"journal": journal, "record temp files": len(temps), "changed": len(dirty(root)),
            "branch moved": moved}
    # The merge changes five files: it deletes the duplicate company first, then writes the
    # survivor, a person, the merge's activity log and a task log (four temp files).
    where = {"locked": (False, 0, 0, False),
             "journalled": (True, 0, 0, False),
             "temp-written": (True, 4, 1, False),
             "renamed-one": (True, 3, 2, False),
             "written": (True, 0, 5, False),
             "hashed": (True, 0, 5, False),
             "commit-made": (True, 0, 5, False),
             # The branch has moved, and git's index with it: it was written beside the
             # commit; only the journal is left for the next command to drop.
             "ref-updated": (True, 0, 0, True),
             "staged": (True, 0, 0, True)}[step]
    assert seen == dict(zip(seen, where)), (step, seen, temps, dirty(root))
