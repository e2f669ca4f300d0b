"""One write to the CRM: lock, recover, write atomically, commit, or leave it exactly as it was.

Files are staged in memory first (callers validate before staging). ``commit`` journals the
original bytes of every path under ``.git/``, writes the new files atomically, makes one git
commit and drops the journal. A failure, or a kill at any point, is undone: immediately by
``commit`` itself, or by ``recover`` at the start of the next write.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Sequence

from crmctl.gitops import Identity, RepoLock
from crmctl.store import Crm

JOURNAL = "crmctl-journal.json"
RECORD_TRAILER = "Crm-Record"
LOCK = "crmctl.lock"
TEMP_SUFFIX = ".crmctl-tmp"
DEFAULT_LOCK_TIMEOUT = 30.0
# Lock files git leaves behind when it is killed; a stale HEAD.lock blocks every later commit.
GIT_LOCKS = ("index.lock", "HEAD.lock")


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder, fsync, rename: never a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}{TEMP_SUFFIX}")
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def _remove(path: Path) -> None:
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


class Change:
    """``with Change(crm, actor, now) as change: change.write(path, text); change.commit(msg)``."""

    def __init__(self, crm: Crm, actor: Identity, now: datetime):
        self.crm = crm
        self.actor = actor
        self.now = now
        self.pending: dict[str, bytes | None] = {}
        git_dir = crm.git.git_dir()
        self._journal = git_dir / JOURNAL
        self._git_dir = git_dir
        timeout = float(os.environ.get("CRMCTL_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT))
        self._lock = RepoLock(git_dir / LOCK, timeout)

    def __enter__(self) -> "Change":
        self._lock.__enter__()
        self.crm.git.pass_fds = (self._lock.fd,) if self._lock.fd is not None else ()
        recover(self.crm, self._git_dir)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.crm.git.pass_fds = ()
        self._lock.__exit__()

    def read(self, path: str) -> str | None:
        """The file as this change will leave it: staged text, else the work tree's."""
        if path in self.pending:
            data = self.pending[path]
            return None if data is None else data.decode("utf-8")
        try:
            return (self.crm.root / path).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write(self, path: str, text: str) -> None:
        self.pending[path] = text.encode("utf-8")

    def delete(self, path: str) -> None:
        self.pending[path] = None

    def commit(self, message: str, records: Sequence[str] = ()) -> str | None:
        """Write every staged file and commit them as one change; None if nothing changed.

        ``records`` ("company/acme-products", ...) become ``Crm-Record:`` trailers, so that
        ``crmctl history RECORD`` finds the commit even when it only appended to a log.
        """
        root = self.crm.root
        changed = {}
        for path, data in self.pending.items():
            target = root / path
            old = target.read_bytes() if target.exists() else None
            if old != data:
                changed[path] = old
        if not changed:
            return None
        self._write_journal(changed)
        try:
            for path in changed:
                data = self.pending[path]
                if data is None:
                    _remove(root / path)
                else:
                    atomic_write(root / path, data)
            trailers = "".join(f"\n{RECORD_TRAILER}: {r}" for r in dict.fromkeys(records))
            full = f"{message}\n{trailers}" if trailers else message
            commit = self.crm.git.commit_paths(sorted(changed), full, self.actor, self.now)
        except BaseException:
            _restore(root, changed)
            self._journal.unlink(missing_ok=True)
            raise
        self._journal.unlink(missing_ok=True)
        self.crm.forget_reads()
        return commit

    def _write_journal(self, originals: dict[str, bytes | None]) -> None:
        entry = {
            "parent": self.crm.git.head(),
            "files": {p: None if data is None else base64.b64encode(data).decode()
                      for p, data in originals.items()},
        }
        atomic_write(self._journal, json.dumps(entry).encode())


def _restore(root: Path, originals: dict[str, bytes | None]) -> None:
    for path, data in originals.items():
        if data is None:
            _remove(root / path)
        else:
            atomic_write(root / path, data)
        temp = (root / path).with_name(f".{Path(path).name}{TEMP_SUFFIX}")
        temp.unlink(missing_ok=True)


def recover_if_needed(crm: Crm) -> bool:
    """Before reading: if a killed write left a journal, take the lock and clean up after it."""
    git_dir = crm.git.git_dir()
    if not (git_dir / JOURNAL).exists():
        return False
    timeout = float(os.environ.get("CRMCTL_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT))
    with RepoLock(git_dir / LOCK, timeout) as lock:
        crm.git.pass_fds = (lock.fd,) if lock.fd is not None else ()
        try:
            return recover(crm, git_dir)
        finally:
            crm.git.pass_fds = ()


def recover(crm: Crm, git_dir: Path) -> bool:
    """Undo or finish a write that was killed part-way; True if there was one.

    Called under the CRM lock, so a journal found here belongs to a dead process.
    """
    journal = git_dir / JOURNAL
    try:
        entry = json.loads(journal.read_text())
    except FileNotFoundError:
        return False
    except ValueError:  # killed while writing the journal itself: nothing was touched yet
        journal.unlink(missing_ok=True)
        return True
    for name in GIT_LOCKS:
        (git_dir / name).unlink(missing_ok=True)
    ref = crm.git.head_ref()
    if ref.startswith("refs/"):
        (git_dir / f"{ref}.lock").unlink(missing_ok=True)
    originals = {p: None if v is None else base64.b64decode(v)
                 for p, v in entry["files"].items()}
    head = crm.git.head()
    committed = head is not None and head != entry["parent"] and crm.git.matches_head(
        list(originals))
    if not committed:
        _restore(crm.root, originals)
    else:
        for path in originals:  # committed; only the temp files and the index may lag
            (crm.root / path).with_name(f".{Path(path).name}{TEMP_SUFFIX}").unlink(
                missing_ok=True)
        crm.git.run("update-index", "--add", "--remove", "--", *originals)
    journal.unlink(missing_ok=True)
    return True
