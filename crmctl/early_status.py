"""git status, started by the launcher before Python imports the command that needs it.

A read must see hand edits, so it asks git which record files differ from HEAD: 0.25-0.5 s at
100,000 records, most of what a warm report or `task list` costs. That status needs only the
CRM folder, which the command line and the current folder already name. So the launcher
starts it first. git then stats the work tree on one core while Python imports and builds
the command on the other, 0.1-0.2 s.

The index takes its output (``take``) in its first refresh, before it reads or writes
anything. A command that never asks for it stops it when it exits.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import subprocess
from pathlib import Path
from typing import NamedTuple

from crmctl.commandline import split_globals
from crmctl.gitenv import GIT_AT_WORK, JOURNAL, LOCK, clean_env, status_command
from crmctl.location import TASK_FOLDER, crm_folder

# Commands whose first git call is that status: the reads, and the writes that must see a
# record made by hand (add's duplicate guard, edit). `log`, `move` and `task add` skip it.
SCANNING_COMMANDS = {"show", "list", "report", "dedupe", "blame", "add", "edit"}
SCANNING_SUBCOMMANDS = {("task", "list")}
QUIET = {"-q", "--quiet"}


class _Started(NamedTuple):
    root: Path
    pathspec: tuple[str, ...]  # () for the whole tree (``gitenv.status_command``)
    process: subprocess.Popen[bytes]
    output: int  # an unlinked file git writes into: a pipe could fill and stall git
    marker: Path | None  # GIT_AT_WORK, when git runs under the CRM lock


_started: _Started | None = None


def start(args: list[str]) -> None:
    """Start the status that the command in ``args`` will ask for first, if it asks for one."""
    global _started
    split = split_globals(args)
    if split is None or _started is not None:
        return
    options, words = split
    if not _scans(words):
        return
    # The ids of the open tasks come from task files alone (``list_tasks``).
    pathspec = (TASK_FOLDER,) if words[:2] == ["task", "list"] and QUIET & set(words) \
        and not any(w.partition("=")[0] == "--for" for w in words) else ()
    root = crm_folder(options.get("--dir"))
    if root is None:
        return  # the command will say what is wrong
    git_dir = root / ".git"
    if not git_dir.is_dir() or (git_dir / JOURNAL).exists() or (git_dir / GIT_AT_WORK).exists():
        return  # a linked worktree, or a killed write to recover first: the command's own way
    try:
        _started = _spawn(root, git_dir, pathspec)
    except OSError:
        return  # no git, a read-only .git: the command's own status says what is wrong
    atexit.register(_stop)


def take(root: Path, pathspec: tuple[str, ...]) -> bytes | None:
    """The early status's output if it was the one for ``root`` and ``pathspec`` and it
    succeeded, waiting for it to finish; None otherwise. Only the first call gets it."""
    global _started
    started, _started = _started, None
    if started is None:
        return None
    try:
        code = started.process.wait()
        os.lseek(started.output, 0, os.SEEK_SET)
        with os.fdopen(os.dup(started.output), "rb") as output:
            status = output.read()
    finally:
        _clean_up(started)
    return status if (code, started.root, started.pathspec) == (0, root, pathspec) else None


def _scans(words: list[str]) -> bool:
    if not words or "--help" in words or "-h" in words:
        return False
    return words[0] in SCANNING_COMMANDS or tuple(words[:2]) in SCANNING_SUBCOMMANDS


def _spawn(root: Path, git_dir: Path, pathspec: tuple[str, ...]) -> _Started:
    output = lock = None
    marker: Path | None = None
    try:
        output = _unlinked_file(git_dir)
        lock = os.open(git_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        # Under the CRM lock git may save its untracked cache (a stale one costs each later
        # read ~35 ms at 100,000 records); while a write is at work, it takes no lock.
        if _lock_now(lock):
            marker = git_dir / GIT_AT_WORK
            marker.write_bytes(b"")
        process = subprocess.Popen(
            status_command(marker is not None, pathspec), cwd=root, stdin=subprocess.DEVNULL,
            stdout=output, stderr=subprocess.DEVNULL, env=clean_env(),
            pass_fds=(lock,) if marker else (), restore_signals=False)
    except OSError:
        if output is not None:
            os.close(output)
        if marker:
            marker.unlink(missing_ok=True)
        raise
    finally:
        # Closed, not unlocked: git holds the lock through its copy of this descriptor, and
        # the kernel drops it when git exits. A write of this command waits for that.
        if lock is not None:
            os.close(lock)
    return _Started(root, pathspec, process, output, marker)


def _lock_now(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlinked_file(git_dir: Path) -> int:
    path = git_dir / f"crmctl-status-{os.getpid()}"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.unlink(path)
    return fd


def _stop() -> None:
    """At exit, for a command that never asked (a usage error, a name not found)."""
    global _started
    started, _started = _started, None
    if started is None:
        return
    started.process.terminate()  # git removes its index.lock when it is stopped
    started.process.wait()
    _clean_up(started)


def _clean_up(started: _Started) -> None:
    os.close(started.output)
    if started.marker:
        started.marker.unlink(missing_ok=True)
