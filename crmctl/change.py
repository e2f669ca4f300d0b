"""One write to the CRM: lock, recover, write atomically, commit, or leave it exactly as it was.

Files are staged in memory first (callers validate before staging). ``commit`` journals the
original bytes of every path, writes the new files atomically, makes one git commit and drops
the journal. A failure before the commit lands is undone at once; a kill at any point is
undone or finished by ``journal.recover`` at the start of the next command.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Sequence

from crmctl import early_index
from crmctl.errors import Conflict, DataError
from crmctl.faults import crash_point
from crmctl.terminal import printable
from crmctl.gitops import GitError, Identity
from crmctl.journal import (atomic_write_many, crm_lock, drop_originals, keep_originals,
                            recover, remove, restore, write_journal)
from crmctl.store import Crm

RECORD_TRAILER = "Crm-Record"


class Change:
    """``with Change(crm, actor, now) as change: change.write(path, text); change.commit(msg)``."""

    def __init__(self, crm: Crm, actor: Identity, now: datetime, lock_held: bool = False):
        """``lock_held``: the caller (sync) holds the CRM lock already and keeps it."""
        self.crm = crm
        self.actor = actor
        self.now = now
        self.lock_held = lock_held
        self.pending: dict[str, bytes | None] = {}
        self.made_tasks: set[str] = set()  # rule-made task ids staged in this change
        self.committed = False
        self._lock = crm_lock(crm, take_over=True)

    def __enter__(self) -> "Change":
        if self.lock_held:
            return self
        self._lock.__enter__()
        try:
            recover(self.crm)
            git_dir = self.crm.git.git_dir()
            index_lock = git_dir / "index.lock"
            if index_lock.exists() and not early_index.running(git_dir):
                # Another git is at work (a `git commit` waiting in its editor): a commit
                # now would be undone by the tree that git writes when it finishes.
                raise Conflict(f"git is busy: {index_lock} exists",
                               "wait for the git command holding it to finish, or delete "
                               "the file if none is running")
            crash_point("locked")
            if (self.crm.git.git_dir() / "MERGE_HEAD").exists():
                # A commit now would drop the open merge's other parent: the sync first.
                raise Conflict("a sync is waiting for conflicts to be settled",
                               "crmctl resolve lists them; then crmctl sync")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.lock_held:
            return
        self._lock.__exit__()
        if exc_type is None and self.committed:
            from crmctl.autosync import kick

            kick(self.crm, self.actor)  # after the lock is released: the sync takes it

    def read(self, path: str) -> str | None:
        """The file as this change will leave it: staged text, else the work tree's."""
        if path in self.pending:
            data = self.pending[path]
            return None if data is None else data.decode("utf-8")
        try:
            data = (self.crm.root / path).read_bytes()
        except FileNotFoundError:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(f"not valid UTF-8 text at byte {exc.start}", path,
                            data[:exc.start].count(b"\n") + 1,
                            hint="save the file as UTF-8 (crmctl check lists every problem)"
                            ) from None

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
        head = self.crm.git.head_state()
        journal = write_journal(self.crm, head.commit, changed)
        crash_point("journalled")
        paths = sorted(changed)
        git_dir = self.crm.git.git_dir()
        index_update = None
        try:
            keep_originals(root, git_dir, paths)
            for path in paths:
                if self.pending[path] is None:
                    remove(root / path)
            atomic_write_many([(root / p, self.pending[p]) for p in paths  # type: ignore[misc]
                               if self.pending[p] is not None], crash_points=True)
            # git's index is written while the commit is made (gitops.IndexUpdate); after a
            # commit to be signed, whose passphrase prompt may wait for minutes: meanwhile
            # the user's own `git commit` would take in what the index showed staged.
            if not self.crm.git.config_bool("commit.gpgsign"):
                index_update = self.crm.git.start_index_update(paths)
            # git refuses a NUL in a message, and a feed line shows no control character.
            message = printable(message)
            trailers = "".join(f"\n{RECORD_TRAILER}: {r}" for r in dict.fromkeys(records))
            full = f"{message}\n{trailers}" if trailers else message
            commit = self.crm.git.commit_paths(head, paths, full, self.actor, self.now)
            crash_point("ref-updated")
        except BaseException as failure:
            try:
                restore(root, git_dir, changed)
                if index_update is not None:
                    index_update.undo(self.crm.git, head.commit)
            except (OSError, GitError):
                # The journal stays: the next command (with space again) undoes it. The
                # user needs the first error, not the undo's.
                raise failure from None
            journal.unlink(missing_ok=True)
            raise
        drop_originals(root, git_dir, paths)
        # The commit has landed: from here on nothing is undone. If git's index could not
        # be updated (another git held index.lock), the journal stays and the next
        # command's recovery updates it.
        self.committed = True
        try:
            (index_update or self.crm.git.start_index_update(paths)).finish()
        except (GitError, OSError):  # git could not start: the commit stands all the same
            return commit
        crash_point("staged")
        journal.unlink(missing_ok=True)
        self.crm.forget_reads()
        return commit
