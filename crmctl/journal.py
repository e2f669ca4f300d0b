"""Files on disk, written so that a kill at any moment can be undone or finished.

``atomic_write`` never leaves a half file. Before a write touches the work tree, the original
bytes of every path go into a journal under ``.git/``; ``recover`` (run under the CRM lock by
the next command, read or write) restores them if the commit never landed, or finishes the
bookkeeping if it did.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

from crmctl import early_index, early_status
from crmctl.errors import Conflict, UserError
from crmctl.faults import crash_point
from crmctl.gitenv import GIT_AT_WORK, INDEX_AT_WORK, JOURNAL, LOCK
from crmctl.gitops import RepoLock
from crmctl.store import Crm

TEMP_SUFFIX = ".crmctl-tmp"
KEPT_FOLDER = "crmctl-kept"
DEFAULT_LOCK_TIMEOUT = 30.0
# Lock files git leaves behind when it is killed; a stale HEAD.lock blocks every later commit.
# git's locks a write may die holding: the index and HEAD, and the commit-graph (kept now and
# then within a write, ``Git.commit_paths``: a lock of it left behind stops every later update).
GIT_LOCKS = ("index.lock", "HEAD.lock", "objects/info/commit-graph.lock",
             "objects/info/commit-graphs/commit-graph-chain.lock")
# A git lock made while the killed write ran (within this many seconds of its journal) is
# that write's; any other lock younger than STALE_AFTER may be a git command the user is
# running right now (`git commit` holds index.lock while its editor is open).
OUR_WINDOW = 5.0
STALE_AFTER = 600.0


def temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}{TEMP_SUFFIX}")


def kept_path(git_dir: Path, path: str) -> Path:
    """Where the original of ``path`` is kept during a write: in git's own folder, out of
    sight of git status and of the user (``.git`` may be a file: a worktree's)."""
    return git_dir / KEPT_FOLDER / path.replace("/", "%")


def keep_originals(root: Path, git_dir: Path, paths: list[str]) -> None:
    """A second name (a hard link) for each file about to be replaced, so that putting it
    back takes a rename: no new file, which a disk out of space or inodes could refuse."""
    for path in paths:
        kept = kept_path(git_dir, path)
        try:
            kept.unlink(missing_ok=True)
            kept.parent.mkdir(exist_ok=True)
            os.link(root / path, kept)
        except FileNotFoundError:
            continue  # a new file: nothing to keep
        except OSError:
            continue  # no hard links here: restore writes the bytes from the journal


def drop_originals(root: Path, git_dir: Path, paths: list[str]) -> None:
    for path in paths:
        kept_path(git_dir, path).unlink(missing_ok=True)
        if not (root / path).exists():
            remove(root / path)  # a deleted file: its shard folder may be empty now
    _drop_kept_folder(git_dir)


def _drop_kept_folder(git_dir: Path) -> None:
    try:
        (git_dir / KEPT_FOLDER).rmdir()
    except OSError:
        pass  # absent, or a .git that is a file: nothing to tidy


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, fsync, rename: never a half file."""
    atomic_write_many([(path, data)])


def atomic_write_many(files: list[tuple[Path, bytes]], crash_points: bool = False) -> None:
    """Each file written whole or not at all. Many files (an import) are all written to
    temporary files and made durable by one ``sync`` before any is renamed into place,
    rather than an fsync each (20,000 fsyncs took 4.5 s here). A temporary file that
    cannot be written whole (a full disk, a size limit) is removed before the error
    goes on. ``crash_points``: the records' write, where the battery's hooks are."""
    temps = []
    try:
        for path, data in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = temp_path(path)
            temps.append((temp, path))
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                if len(files) == 1:
                    os.fsync(handle.fileno())
        if len(files) > 1:
            os.sync()
    except BaseException:
        for temp, _ in temps:
            _unlink_if_there(temp)
        raise
    if crash_points:
        crash_point("temp-written")
    for number, (temp, path) in enumerate(temps):
        os.replace(temp, path)
        if number == 0 and crash_points:
            crash_point("renamed-one")
    if crash_points:
        crash_point("written")


def _unlink_if_there(path: Path) -> None:
    """On a read-only file system even unlinking a file that is not there fails (EROFS):
    look first, so that undoing a refused write does not fail in turn."""
    if os.path.lexists(path):
        path.unlink()


def remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        return
    # Leave no empty shard folders behind (git does not track them anyway).
    for folder in (path.parent, path.parent.parent):
        try:
            folder.rmdir()
        except OSError:
            break


def lock_timeout() -> float:
    text = os.environ.get("CRMCTL_LOCK_TIMEOUT")
    if not text:
        return DEFAULT_LOCK_TIMEOUT
    try:
        return float(text)
    except ValueError:
        raise UserError(f"$CRMCTL_LOCK_TIMEOUT={text!r} is not a number of seconds",
                        "e.g. CRMCTL_LOCK_TIMEOUT=60, or unset it") from None


class CrmLock:
    """The CRM lock, held and passed to git's children for as long as it is held (so a
    killed crmctl cannot release it while its git still runs)."""

    def __init__(self, crm: Crm, timeout: float, take_over: bool = False):
        """``take_over``: a write's lock, which takes over the one held for the launcher's
        `update-index` (``early_index``) if there is one."""
        self.crm = crm
        self.timeout = timeout
        self.take_over = take_over
        self.taken_over = False
        self._lock = RepoLock(crm.git.git_dir() / LOCK, 0)

    def __enter__(self) -> "CrmLock":
        early_status.settle()  # the launcher's git may hold this lock: it is done first
        held = early_index.take_lock(self._lock.path.parent) if self.take_over else None
        try:
            if held is not None:
                self._lock.hold(held)
                self.taken_over = True
            else:
                self._lock.__enter__()
        except Conflict:
            if not self.timeout:
                raise
            early_status.discard()  # another command wrote meanwhile: git's view is old
            self._lock = RepoLock(self._lock.path, self.timeout)
            self._lock.__enter__()
        self.crm.git.pass_fds = (self._lock.fd,) if self._lock.fd is not None else ()
        return self

    def __exit__(self, *exc: object) -> None:
        self.crm.git.pass_fds = ()
        if self.taken_over:
            early_index.release()  # a write that failed: its git must not outlive the lock
        self._lock.__exit__()


def crm_lock(crm: Crm, timeout: float | None = None, take_over: bool = False) -> CrmLock:
    """``timeout`` seconds to wait for it: $CRMCTL_LOCK_TIMEOUT by default, 0 to try once."""
    return CrmLock(crm, lock_timeout() if timeout is None else timeout, take_over)


def write_journal(crm: Crm, parent: str | None, originals: dict[str, bytes | None]) -> Path:
    entry = {"parent": parent,
             "files": {p: None if data is None else base64.b64encode(data).decode()
                       for p, data in originals.items()}}
    journal = crm.git.git_dir() / JOURNAL
    atomic_write(journal, json.dumps(entry).encode())
    return journal


def restore(root: Path, git_dir: Path, originals: dict[str, bytes | None]) -> None:
    """Put back the original bytes of each path; a file still as it was is left alone
    (so undoing a write that failed for want of space or permission needs neither)."""
    for path, data in originals.items():
        _unlink_if_there(temp_path(root / path))
        kept = kept_path(git_dir, path)
        if data is not None and kept.exists() and kept.read_bytes() == data:
            if (root / path).exists() and os.path.samefile(kept, root / path):
                kept.unlink()  # never replaced (rename onto the same file does nothing)
            else:
                os.replace(kept, root / path)
            continue
        kept.unlink(missing_ok=True)
        try:
            current = (root / path).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            current = None
        if current == data:
            continue
        if data is None:
            remove(root / path)
        else:
            atomic_write(root / path, data)
    _drop_kept_folder(git_dir)


def recover_if_needed(crm: Crm) -> bool:
    """Before reading: if a killed write left a journal, take the lock and clean up after it."""
    git_dir = crm.git.git_dir()
    if early_index.holds_lock(git_dir):
        return False  # this process has held the CRM lock since it started: nothing is left
    if any((git_dir / name).exists() for name in
           (JOURNAL, temp_path(git_dir / JOURNAL).name, GIT_AT_WORK)):
        with crm_lock(crm):
            return recover(crm)
    if (git_dir / INDEX_AT_WORK).exists():
        # A write's index update at work (the read need not wait for it), or a killed one's
        # index.lock left behind (then the lock is free, and it is cleared).
        try:
            with crm_lock(crm, timeout=0):
                return recover(crm)
        except Conflict:
            return False
    return False


def recover(crm: Crm) -> bool:
    """Undo or finish a write that was killed part-way; True if there was one.

    Called under the CRM lock, so a journal found here belongs to a dead process.
    """
    git_dir = crm.git.git_dir()
    journal = git_dir / JOURNAL
    temp_path(journal).unlink(missing_ok=True)  # killed while writing the journal itself
    clear_lock_of_killed_git(git_dir, GIT_AT_WORK)
    early_index.reap()  # this process's own, if it died: by its exit code, not by a guess
    if not early_index.running(git_dir):  # else the mark and index.lock are its live git's
        clear_lock_of_killed_git(git_dir, INDEX_AT_WORK)
    try:
        entry = json.loads(journal.read_text())
    except FileNotFoundError:
        return False
    except ValueError:  # killed while writing the journal itself: nothing was touched yet
        journal.unlink(missing_ok=True)
        return True
    _clear_stale_git_locks(crm, git_dir, journal.stat().st_mtime)
    originals = {p: None if v is None else base64.b64decode(v)
                 for p, v in entry["files"].items()}
    head = crm.git.head()
    committed = head is not None and head != entry["parent"] and crm.git.matches_head(
        list(originals))
    if not committed:
        restore(crm.root, git_dir, originals)
        # git's index may have been written for them beside the commit (IndexUpdate).
        crm.git.unstage(list(originals), entry["parent"])
    else:  # committed; only the temp files and git's index may lag
        for path in originals:
            _unlink_if_there(temp_path(crm.root / path))
            kept_path(git_dir, path).unlink(missing_ok=True)
        _drop_kept_folder(git_dir)
        crm.git.stage(list(originals))
    journal.unlink(missing_ok=True)
    return True


def git_at_work(crm: Crm) -> "GitAtWork":
    return GitAtWork(crm.git.git_dir() / GIT_AT_WORK)


class GitAtWork:
    """Marks a git command that may take git's index.lock, run under the CRM lock (the
    status of a write). If crmctl is killed meanwhile, the next holder of the lock knows
    that an index.lock made since is the dead command's, not the user's own git."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> None:
        self.path.write_bytes(b"")

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)


def clear_lock_of_killed_git(git_dir: Path, mark: str) -> None:
    """Remove the index.lock that a git marked by ``mark`` (GIT_AT_WORK, INDEX_AT_WORK) left
    when it was killed, and the mark."""
    marker = git_dir / mark
    try:
        started = marker.stat().st_mtime
    except FileNotFoundError:
        return
    lock = git_dir / "index.lock"
    try:
        # The dead status made it within moments of the marker; a later one is someone's
        # git at work now (a `git commit` waiting in its editor).
        if started - 1 <= lock.stat().st_mtime <= started + OUR_WINDOW:
            lock.unlink(missing_ok=True)
    except FileNotFoundError:
        pass
    marker.unlink(missing_ok=True)


def _clear_stale_git_locks(crm: Crm, git_dir: Path, journal_time: float) -> None:
    """Remove the git locks a killed crmctl left; leave (and report) one that may be the
    user's own git at work."""
    ref = crm.git.head_ref()
    names = list(GIT_LOCKS) + ([f"{ref}.lock"] if ref.startswith("refs/") else [])
    for name in names:
        lock = git_dir / name
        try:
            made = lock.stat().st_mtime
        except FileNotFoundError:
            continue
        ours = journal_time - 1 <= made <= journal_time + OUR_WINDOW
        if not ours and time.time() - made < STALE_AFTER:
            raise Conflict(f"git is busy: {lock} exists", "wait for the git command holding "
                           "it to finish, or delete the file if none is running")
        lock.unlink(missing_ok=True)
