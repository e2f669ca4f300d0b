"""git's index, read by an `update-index` that the launcher starts before Python imports the
write that needs it.

A write keeps `git status` clean by updating git's index for the paths it commits
(``gitops.IndexUpdate``). At 100,000 records `git update-index` spends 25-35 ms reading the
index (a 20 MB shared index) before it looks at a path. `git update-index --stdin` reads the
index first and only then waits for paths; so for the daily writes, which scan nothing, the
launcher starts it at once when ``cli.quick`` takes their command line. git reads on one
core while Python imports the command on the other, and the write hands it the paths it
writes (``hand``); git writes the index while the write makes its commit.

git holds its index.lock from its start. So it is started only when that lock is free, under
the CRM lock, which the write's ``Change`` takes over (``take_lock``) instead of waiting for
itself, and with a mark of its own (INDEX_AT_WORK): if both are killed, the next command
knows the index.lock left behind as crmctl's (``journal.recover``). A command that commits
nothing ends it unused, and git then writes nothing; a commit that is to be signed ends it
first (``end_unused``), since a passphrase prompt may wait for minutes.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from crmctl.early_status import lock_now, unlinked_file
from crmctl.gitenv import GIT_AT_WORK, INDEX_AT_WORK, JOURNAL, LOCK, clean_env
from crmctl.location import crm_folder

if TYPE_CHECKING:
    from crmctl.cli.quick import Parsed


class _Updater(NamedTuple):
    git_dir: Path
    process: subprocess.Popen[bytes]
    errors: int  # an unlinked file for git's stderr: a pipe could fill and stall git
    lock: int  # the CRM lock: this module's until a Change takes it over
    marker: Path


_updater: _Updater | None = None
_lock_taken = False  # by a Change (``take_lock``): it releases the lock, not ``_finish``
_handed = False  # the paths were handed (``hand``): git is writing the index
_holding: Path | None = None  # the .git whose CRM lock this process holds since its start


def start(parsed: Parsed) -> None:
    """Start `git update-index --stdin` for the daily write ``parsed`` (``quick.parse``), if
    git's index and the CRM lock are free this instant."""
    global _updater, _holding
    if _updater is not None or _waits_for_its_user(parsed):
        return
    root = crm_folder(parsed.where.dir)
    if root is None or not (root / ".git").is_dir():
        return  # no CRM (the command says why), or a linked worktree: the command's own way
    try:
        _updater = _spawn(root, root / ".git")
    except OSError:
        return  # no git, a read-only .git: the command's own update-index says what is wrong
    if _updater is not None:
        _holding = _updater.git_dir
        atexit.register(release)


def _waits_for_its_user(parsed: Parsed) -> bool:
    """Whether the write may wait for its user, for minutes in which git's index.lock must
    not be held: `log --note -` reads the note from stdin, and `log` on a terminal without a
    note may open an editor for one (as ``cli.daily.log`` decides, once crm.yaml says
    whether the type needs a note: a doubt only costs the early start)."""
    if parsed.command.run != "log":
        return False
    if parsed.values["note"] is not None:
        return parsed.values["note"] == "-"
    return sys.stdin is not None and sys.stdin.isatty() and sys.stdout is not None and \
        sys.stdout.isatty()


def running(git_dir: Path) -> bool:
    """Whether this process's `update-index` is at work in ``git_dir``: the index.lock and
    the mark there are its own, not a killed command's."""
    return _updater is not None and _updater.git_dir == git_dir and \
        _updater.process.poll() is None


def holds_lock(git_dir: Path) -> bool:
    """Whether this process has held the CRM lock of ``git_dir`` since its start, for its
    `update-index` (alive or not): no other command can have left anything to recover."""
    return _holding == git_dir


def take_lock(git_dir: Path) -> int | None:
    """The CRM lock of ``git_dir``, held since the launcher started git, for the write's
    ``Change`` to hold and release; None if this process holds none."""
    global _lock_taken
    if _updater is None or _updater.git_dir != git_dir or _lock_taken:
        return None
    _lock_taken = True
    return _updater.lock


def hand(git_dir: Path, paths: list[str]) -> bool:
    """Hand ``paths`` to this process's `update-index` in ``git_dir``, which then writes
    git's index while the caller makes its commit (``finish`` waits for it); False if none
    is at work there (then the caller runs its own)."""
    global _handed
    if not running(git_dir):
        _finish()
        return False
    assert _updater is not None and _updater.process.stdin
    try:
        _updater.process.stdin.write(b"".join(os.fsencode(p) + b"\0" for p in paths))
        _updater.process.stdin.close()
    except BrokenPipeError:
        pass  # git stopped: its exit code and message say why
    _handed = True
    return True


def finish() -> tuple[int, str]:
    """Wait for the `update-index` handed its paths: git's exit code and its error."""
    return _finish()


def reap() -> None:
    """Finish with this process's `update-index` if it has died (its index.lock cleared if
    a signal left it), so that its mark is not taken for another command's."""
    if _updater is not None and _updater.process.poll() is not None:
        _finish()


def end_unused() -> None:
    """End the `update-index` if it was given no paths, before a wait that git's index.lock
    must not last through (a passphrase prompt for a signed commit, a long read); the write
    then runs its own. One handed its paths ends by itself, in moments."""
    if not _handed:
        _finish()


def release() -> None:
    """End an `update-index` that was given no paths, and forget the CRM lock it ran
    under (its ``Change`` releases the lock next, if it took it over). git, given no
    paths, writes nothing and removes its index.lock. (It is not stopped by a signal: a
    `git` on PATH may be a wrapper, and the real git would outlive it.)"""
    global _holding
    _finish()
    _holding = None


def _finish() -> tuple[int, str]:
    """Close git's input, wait for it, then drop the mark and, unless a Change took it over,
    the lock: the mark never outlives the lock it was made under."""
    global _updater, _lock_taken, _holding, _handed
    updater, _updater = _updater, None
    _handed = False
    if updater is None:
        return 0, ""
    assert updater.process.stdin
    try:
        updater.process.stdin.close()
    except BrokenPipeError:
        pass
    code = updater.process.wait()
    os.lseek(updater.errors, 0, os.SEEK_SET)
    with os.fdopen(updater.errors, "rb") as errors:
        error = errors.read().decode("utf-8", "replace")
    if code < 0:  # killed by a signal: a SIGKILL leaves git's index.lock behind
        from crmctl.journal import clear_lock_of_killed_git

        clear_lock_of_killed_git(updater.git_dir, INDEX_AT_WORK)  # and the mark
    else:
        updater.marker.unlink(missing_ok=True)
    if not _lock_taken:
        os.close(updater.lock)  # and so unlocked
        _holding = None
    _lock_taken = False
    return code, error


def _spawn(root: Path, git_dir: Path) -> _Updater | None:
    lock = os.open(git_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    if not lock_now(lock):
        os.close(lock)
        return None  # another crmctl is writing: this one waits for it, as it always has
    # Looked at under the lock: a write killed before it was taken may have left these.
    if any((git_dir / name).exists() for name in (JOURNAL, GIT_AT_WORK, INDEX_AT_WORK,
                                                  "index.lock")):
        os.close(lock)
        return None  # a killed write to recover, a git at work: the command's own way
    errors = marker = None
    try:
        errors = unlinked_file(git_dir, "index-errors")
        marker = git_dir / INDEX_AT_WORK
        marker.write_bytes(b"")
        process = subprocess.Popen(
            ["git", "update-index", "--add", "--remove", "-z", "--stdin"], cwd=root,
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors, env=clean_env(),
            pass_fds=(lock,), restore_signals=False)
    except OSError:
        if errors is not None:
            os.close(errors)
        if marker is not None:
            marker.unlink(missing_ok=True)
        os.close(lock)
        raise
    return _Updater(git_dir, process, errors, lock, marker)
