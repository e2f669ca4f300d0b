"""git status, started by the launcher before Python imports the command that needs it.

A read must see hand edits, so it asks git which record files differ from HEAD: 0.25-0.5 s at
100,000 records, most of what a warm report or `task list` costs. That status needs only the
CRM folder, which the command line and the current folder already name. So the launcher
starts it first. git then stats the work tree on one core while Python imports and builds
the command on the other, 0.1-0.2 s.

The index takes its output (``take``) in its first refresh, before it reads or writes
anything, and uses it only if no other crmctl scanned the work tree since git started
(``Index.refresh``). A command that takes the CRM lock first waits for that git (``settle``),
and forgets what it saw if the lock was held by another command (``discard``). A command
that never asks for it stops it when it exits.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import subprocess
import time
from pathlib import Path
from typing import NamedTuple

from crmctl.commandline import split_globals
from crmctl.gitenv import GIT_AT_WORK, JOURNAL, LOCK, clean_env, status_command
from crmctl.location import ADDED_KINDS, TASK_FOLDER, crm_folder, folders_an_add_reads

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
    lock: int | None  # the CRM lock, held with git until git is done and its mark gone
    marker: Path | None  # GIT_AT_WORK, while git may take git's index.lock under that lock
    started_ns: int  # when git was started: what it saw is no older (``Index.refresh``)


class _Settled(NamedTuple):
    root: Path
    pathspec: tuple[str, ...]
    status: bytes | None  # None: git failed
    started_ns: int


_started: _Started | None = None
_settled: _Settled | None = None


def start(args: list[str]) -> None:
    """Start the status that the command in ``args`` will ask for first, if it asks for one."""
    global _started
    split = split_globals(args)
    if split is None or _started is not None or _settled is not None:
        return
    options, words = split
    if not _scans(words):
        return
    pathspec = _pathspec(words)
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


def take(root: Path, pathspec: tuple[str, ...]) -> tuple[bytes, int] | None:
    """The early status's output, and when it was started, if it was the one for ``root``
    and ``pathspec`` and it succeeded; None otherwise. Only the first call gets it."""
    global _settled
    settle()
    settled, _settled = _settled, None
    if settled is None or settled.status is None or (settled.root, settled.pathspec) != \
            (root, pathspec):
        return None
    return settled.status, settled.started_ns


def settle() -> None:
    """Wait for the early git, then drop its mark and the CRM lock it held: before this
    process takes that lock itself (``journal.CrmLock``), so that it neither waits for its
    own git nor takes the mark for one a killed crmctl left (``recover`` would then delete
    an index.lock that may be the user's own `git commit`'s)."""
    global _started, _settled
    started, _started = _started, None
    if started is None:
        return
    try:
        code = started.process.wait()
        os.lseek(started.output, 0, os.SEEK_SET)
        with os.fdopen(os.dup(started.output), "rb") as output:
            status = output.read()
    finally:
        _release(started)
    _settled = _Settled(started.root, started.pathspec, status if code == 0 else None,
                        started.started_ns)


def discard() -> None:
    """Forget the early status: this process waited for the CRM lock, so a write may have
    changed the files since git looked."""
    global _settled
    settle()
    _settled = None


def _pathspec(words: list[str]) -> tuple[str, ...]:
    """The folders the command's scan covers, as it narrows it; () for the whole tree."""
    options = {w.partition("=")[0] for w in words if w.startswith("-")}
    if words[:2] == ["task", "list"] and QUIET & options and "--for" not in options:
        return (TASK_FOLDER,)  # the ids of the open tasks come from task files alone
    if words[0] == "add" and len(words) > 1 and words[1] in ADDED_KINDS:
        return folders_an_add_reads(words[1], "--person" in options)
    return ()


def _scans(words: list[str]) -> bool:
    if not words or "--help" in words or "-h" in words:
        return False
    return words[0] in SCANNING_COMMANDS or tuple(words[:2]) in SCANNING_SUBCOMMANDS


def _spawn(root: Path, git_dir: Path, pathspec: tuple[str, ...]) -> _Started:
    output = lock = None
    marker: Path | None = None
    try:
        output = unlinked_file(git_dir)
        lock = os.open(git_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        # Under the CRM lock git may save its untracked cache (a stale one costs each later
        # read ~35 ms at 100,000 records); while a write is at work, it takes no lock.
        if lock_now(lock):
            marker = git_dir / GIT_AT_WORK
            marker.write_bytes(b"")
        else:
            os.close(lock)
            lock = None
        started_ns = time.time_ns()
        process = subprocess.Popen(
            status_command(marker is not None, pathspec), cwd=root, stdin=subprocess.DEVNULL,
            stdout=output, stderr=subprocess.DEVNULL, env=clean_env(),
            pass_fds=(lock,) if lock is not None else (), restore_signals=False)
    except OSError:
        if output is not None:
            os.close(output)
        if marker:
            marker.unlink(missing_ok=True)
        if lock is not None:
            os.close(lock)  # and so unlocked
        raise
    return _Started(root, pathspec, process, output, lock, marker, started_ns)


def lock_now(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def unlinked_file(git_dir: Path, purpose: str = "status") -> int:
    """A file in ``git_dir`` for a git child to write into, gone from the folder at once
    (named ``crmctl-<purpose>-<pid>`` for the moment it is there)."""
    path = git_dir / f"crmctl-{purpose}-{os.getpid()}"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    os.unlink(path)
    return fd


def _stop() -> None:
    """At exit, for a command that never asked (a usage error, a name not found)."""
    global _settled
    if _started is not None and _started.process.poll() is None:
        _started.process.terminate()  # git removes its index.lock when it is stopped
    settle()
    _settled = None


def _release(started: _Started) -> None:
    """The mark first, then the lock: the mark never outlives the lock it was made under."""
    os.close(started.output)
    if started.marker:
        started.marker.unlink(missing_ok=True)
    if started.lock is not None:
        os.close(started.lock)
