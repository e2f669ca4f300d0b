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
from pathlib import Path

import pytest

from conftest import Cli, crmctl, git


@pytest.fixture
def git_calls(tmp_path: Path) -> tuple[dict, Path]:
    """An environment whose `git` logs its arguments, one call a line, and the log."""
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    log = tmp_path / "git-calls.log"
    shim = shim_dir / "git"
    shim.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{shutil.which("git")}" "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    return {"PATH": f"{shim_dir}{os.pathsep}{os.environ['PATH']}"}, log


def statuses(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if " status " in f" {line} "]


def crmctl_files_in_git_dir(root: Path) -> list[str]:
    """What a command could leave behind in .git/: its mark of a git at work, its status
    output, git's own index.lock."""
    return sorted(p.name for p in (root / ".git").iterdir()
                  if p.name.startswith(("crmctl-git-at-work", "crmctl-status")) or
                  p.name == "index.lock")


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
        calls = log.read_text().splitlines()
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
