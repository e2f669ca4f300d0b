"""The launcher starts the work tree's git status before Python imports the command
(crmctl/early_status.py), and the ids of the open tasks ask git about task files alone.

Every test runs crmctl as its own process (the launcher is the console entry point), with a
`git` first on PATH that notes each call it passes on to the real git.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import Cli, crmctl, git


def git_shim(folder: Path, log: Path, *, status_takes: float = 0) -> dict:
    """An environment whose `git` logs each call's arguments, a line each, once the call is
    done; its status takes ``status_takes`` seconds longer (a slow disk, a big repo)."""
    folder.mkdir()
    shim = folder / "git"
    shim.write_text(f"""#!/bin/sh
case " $* " in *" status "*) sleep {status_takes};; esac
"{shutil.which("git")}" "$@"
code=$?
echo "$*" >> "{log}"
exit $code
""")
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


@pytest.fixture
def git_calls(tmp_path: Path) -> tuple[dict, Path]:
    """An environment whose `git` logs its arguments, one call a line, and the log."""
    log = tmp_path / "git-calls.log"
    return git_shim(tmp_path / "shim", log), log


def statuses(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if " status " in f" {line} "]


def crmctl_files_in_git_dir(root: Path) -> list[str]:
    """What a command could leave behind in .git/: its marks of a git at work (a status's,
    an index update's), their output files, git's own index.lock."""
    return sorted(p.name for p in (root / ".git").iterdir()
                  if p.name.startswith(("crmctl-git-at-work", "crmctl-status", "crmctl-index"))
                  or p.name == "index.lock")


def lock_is_free(root: Path) -> bool:
    fd = os.open(root / ".git" / "crmctl.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


@pytest.fixture
def acme(cli: Cli) -> Cli:
    cli.ok("add", "company", "Acme Products")
    cli.ok("add", "company", "Globex")
    cli.ok("task", "add", "Send the proposal", "--for", "acme-products", "--due", "2026-12-10")
    return cli


def test_a_read_asks_git_status_first_and_sees_the_hand_edits_made_before_it(
        acme: Cli, git_calls, tmp_path: Path) -> None:
    env, log = git_calls
    path = acme.root / "companies" / "ac" / "acme-products.yaml"
    path.write_text(path.read_text().replace("Acme Products", "Acme Products International"))
    made = acme.root / "companies" / "in" / "initech.yaml"
    made.parent.mkdir(exist_ok=True)
    made.write_text("name: Initech\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for cwd, extra in ((acme.root, {}), (acme.root / "companies", {}),
                       (elsewhere, {"CRMCTL_DIR": str(acme.root)})):
        log.unlink(missing_ok=True)
        shown = crmctl("list", "companies", "--format", "csv", cwd=cwd, env={**env, **extra})
        assert shown.returncode == 0, shown.stderr
        assert "Acme Products International" in shown.stdout and "Initech" in shown.stdout
        calls = log.read_text().splitlines()  # each logged when done: the status ran alone
        assert len(statuses(log)) == 1 and " status " in f" {calls[0]} ", calls
    log.unlink()
    shown = crmctl("--dir", str(acme.root), "show", "acme-products", cwd=elsewhere, env=env)
    assert "Acme Products International" in shown.stdout, shown.stderr
    assert " status " in f" {log.read_text().splitlines()[0]} "
    assert crmctl_files_in_git_dir(acme.root) == [] and lock_is_free(acme.root)


def test_the_ids_of_open_tasks_ask_git_about_task_files_alone(acme: Cli, git_calls) -> None:
    env, log = git_calls
    acme.ok("task", "add", "Call Globex back", "--for", "globex", "--due", "2026-12-04")
    ids = acme.ok("task", "list", "--quiet").stdout.split()
    git(acme.root, "reset", "--soft", "HEAD~1")  # the newest task is now an uncommitted edit

    listed = crmctl("task", "list", "--quiet", cwd=acme.root, env=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ids and len(ids) == 2
    assert [s.split(" -- ")[1:] for s in statuses(log)] == [["tasks"]]

    log.unlink()  # the table names what each task is for: it asks about every file
    table = crmctl("task", "list", cwd=acme.root, env=env)
    assert "Call Globex back" in table.stdout and "Globex" in table.stdout
    assert [" -- " in s for s in statuses(log)] == [False]


def test_an_add_asks_git_about_the_tracked_files_of_the_folders_it_looks_up(
        acme: Cli, git_calls) -> None:
    """git's lstat of every tracked file is most of a scan: an add asks about the folders
    of the records it looks up alone, and finds new files there itself (new_files.py)."""
    env, log = git_calls
    made = acme.root / "companies" / "in" / "initech.yaml"
    made.parent.mkdir()
    made.write_text("id: initech\nname: Initech\nstatus: lead\n")  # by hand, not in git
    for args, folders in [
            (("add", "company", "Initech, Inc."), ["companies"]),
            (("add", "person", "Peter Gibbons", "--company", "initech"), ["companies", "people"]),
            (("add", "deal", "TPS reports", "--company", "initech"), ["companies", "deals"]),
            (("add", "deal", "TPS covers", "--company", "initech", "--person", "peter-gibbons"),
             ["companies", "people", "deals"])]:
        log.unlink(missing_ok=True)
        done = crmctl(*args, cwd=acme.root, env=env)
        if args[1] == "company":  # the hand-made company is seen: a duplicate
            assert done.returncode == 5 and "Initech (initech, 100%" in done.stderr, done.stderr
        else:
            assert done.returncode == 0, done.stderr
        called = statuses(log)
        assert len(called) == 1 and called[0].split(" -- ")[1].split() == folders, called
        assert "--untracked-files=no" in called[0]
    assert git(acme.root, "status", "--porcelain") == "?? companies/in/"


def test_a_narrowed_scan_keeps_what_the_full_one_knows_of_other_folders(acme: Cli) -> None:
    path = acme.root / "companies" / "ac" / "acme-products.yaml"
    path.write_text(path.read_text().replace("Acme Products", "Acme Renamed By Hand"))
    assert "Acme Renamed By Hand" in crmctl("show", "acme-products", cwd=acme.root).stdout
    assert crmctl("task", "list", "--quiet", cwd=acme.root).returncode == 0  # tasks/ only
    git(acme.root, "checkout", "--", "companies/ac/acme-products.yaml")  # the edit undone

    shown = crmctl("show", "acme-products", cwd=acme.root).stdout
    assert "Acme Products" in shown and "Renamed" not in shown


def test_a_command_that_fails_before_reading_stops_its_status_and_leaves_nothing(
        acme: Cli, git_calls) -> None:
    env, log = git_calls
    before = git(acme.root, "status", "--porcelain", "--untracked-files=all")
    failed = crmctl("report", "pipeline", "--no-such-option", cwd=acme.root, env=env)
    assert failed.returncode == 2 and len(failed.stderr.strip().splitlines()) == 1
    assert "Traceback" not in failed.stderr
    assert len(statuses(log)) == 1  # started, then stopped unread
    assert crmctl_files_in_git_dir(acme.root) == [] and lock_is_free(acme.root)
    assert git(acme.root, "status", "--porcelain", "--untracked-files=all") == before


def test_a_read_while_a_write_holds_the_lock_takes_no_lock_of_gits(acme: Cli, git_calls) -> None:
    env, log = git_calls
    path = acme.root / "companies" / "gl" / "globex.yaml"
    path.write_text(path.read_text().replace("Globex", "Globex Corporation"))
    fd = os.open(acme.root / ".git" / "crmctl.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a write at work
    try:
        shown = crmctl("show", "globex", cwd=acme.root, env=env)
        assert "Globex Corporation" in shown.stdout, shown.stderr
        assert [s.startswith("--no-optional-locks ") for s in statuses(log)] == [True]
        assert crmctl_files_in_git_dir(acme.root) == []
    finally:
        os.close(fd)
    assert lock_is_free(acme.root)


def hold_lock(root: Path) -> int:
    fd = os.open(root / ".git" / "crmctl.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def wait_for(condition, what: str) -> None:
    """Poll until ``condition()``; the limit guards against a hang, it times nothing."""
    for _ in range(600):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"waited 30 s for {what}")


def test_a_users_git_lock_is_never_taken_for_one_the_launchers_git_left(acme: Cli) -> None:
    """The launcher's mark of its git at work is gone before the CRM lock is free, so a
    write does not mistake the user's running `git commit` for a killed crmctl's git."""
    lock = acme.root / ".git" / "index.lock"
    lock.write_text("")  # the user's `git commit`, waiting in its editor
    before = git(acme.root, "rev-parse", "HEAD")
    added = crmctl("add", "company", "Initech", cwd=acme.root)
    assert added.returncode == 5 and "git is busy" in added.stderr, added.stderr
    assert lock.exists() and git(acme.root, "rev-parse", "HEAD") == before
    lock.unlink()


def waits_for_lock(pid: int, root: Path) -> bool:
    """Whether process ``pid`` has the CRM lock file open: it is trying to take the lock
    (its launcher's git, not let have the lock, closed its own copy at once)."""
    lock = str(root / ".git" / "crmctl.lock")
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == lock:
                return True
        except FileNotFoundError:
            continue
    return False


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc (Linux)")
def test_add_waiting_for_another_write_asks_git_again_for_records_made_meanwhile(
        acme: Cli, tmp_path: Path) -> None:
    env = git_shim(tmp_path / "shim", tmp_path / "calls.log")
    fd = hold_lock(acme.root)  # another command is writing
    try:
        adding = subprocess.Popen([sys.executable, "-m", "crmctl", "add", "company",
                                   "Initrode"], cwd=acme.root, env={**os.environ, **env},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: waits_for_lock(adding.pid, acme.root), "add to wait for the lock")
        made = acme.root / "companies" / "in" / "initrode-inc.yaml"
        made.parent.mkdir()
        made.write_text("id: initrode-inc\nname: Initrode Inc\n")  # made meanwhile, by hand
    finally:
        os.close(fd)
    out, err = adding.communicate()
    assert adding.returncode != 0 and "Initrode Inc" in err, (out, err)
    assert not (acme.root / "companies" / "in" / "initrode.yaml").exists()


def test_a_slow_status_of_the_launcher_does_not_time_out_its_own_write(
        acme: Cli, tmp_path: Path) -> None:
    env = git_shim(tmp_path / "shim", tmp_path / "calls.log", status_takes=1.0)
    added = crmctl("add", "company", "Initech", cwd=acme.root,
                   env={**env, "CRMCTL_LOCK_TIMEOUT": "0.2"})
    assert added.returncode == 0, added.stderr
    assert "initech" in acme.ok("list", "companies", "--quiet").stdout.split()


def test_an_early_status_older_than_another_commands_scan_is_not_used(
        acme: Cli, tmp_path: Path) -> None:
    """A read whose launcher ran git before a hand edit, and that refreshes after another
    read noted the edit, must not drop the note: reverting the edit is then seen."""
    ready, go = tmp_path / "ready", tmp_path / "go"
    paused = subprocess.Popen([sys.executable, "-c", f"""
import pathlib, sys, time
from crmctl import early_status
early_status.start(["list", "companies"])
early_status.settle()  # git is done, and the CRM lock free for the other read
pathlib.Path({str(ready)!r}).write_text("")
while not pathlib.Path({str(go)!r}).exists():
    time.sleep(0.02)
sys.argv = ["crmctl", "list", "companies"]
from crmctl.app import main
main()
"""], cwd=acme.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(ready.exists, "the paused read's status")
        path = acme.root / "companies" / "gl" / "globex.yaml"
        path.write_text(path.read_text().replace("Globex", "Globex By Hand"))
        assert "Globex By Hand" in crmctl("list", "companies", cwd=acme.root).stdout
    finally:
        go.write_text("")
    out, err = paused.communicate()
    assert paused.returncode == 0 and "Globex By Hand" in out, err

    git(acme.root, "checkout", "--", "companies/gl/globex.yaml")
    shown = crmctl("show", "globex", cwd=acme.root).stdout
    assert "Globex" in shown and "By Hand" not in shown


def test_the_ids_of_open_tasks_warn_only_of_what_their_scan_looked_at(acme: Cli) -> None:
    path = acme.root / "companies" / "gl" / "globex.yaml"
    good = path.read_text()
    path.write_text("name: [broken\n")
    git(acme.root, "commit", "--no-verify", "-qam", "A broken file, committed by hand")
    assert "left out as unreadable" in crmctl("list", "companies", cwd=acme.root).stderr
    path.write_text(good)  # mended by hand, not committed

    listed = crmctl("task", "list", "--all", "--quiet", cwd=acme.root)
    assert listed.returncode == 0 and listed.stderr == "", listed.stderr
    assert crmctl("list", "companies", cwd=acme.root).stderr == ""
