"""Which commits touched which record files, and which name which records: a cache of
every commit's changed paths and ``Crm-Record:`` trailers.

``history RECORD`` needs the commits that changed the record's file, and those that only
appended a line about it to a shared log (a call, a move), found by their trailers. Asking
git each time walks every commit: ``git log --grep`` read every message (0.6 s at 100,000
commits), and even ``git log -- PATH`` with changed-path filters checks every commit
(0.14 s). This cache keeps both in SQLite (``.crmctl/commits.sqlite``, machine-local like the
read index), caught up from the commits since the one it reflects (one ``git log`` of the new
commits), and read again from scratch when that commit is no longer in HEAD's past (a
reset, a rebase). The first build reads the whole history once (~2 s at 100,000 commits).
Deleting it loses nothing.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from typing import Iterable, Iterator

from crmctl.change import RECORD_TRAILER
from crmctl.store import Crm

_VERSION = "1"
_TABLES = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS named(record TEXT NOT NULL, commit_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS named_record ON named(record);
CREATE TABLE IF NOT EXISTS touched(path TEXT NOT NULL, commit_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS touched_path ON touched(path);
"""
_COMMIT, _FIELD = "\x1e", "\x1f"


class CommitIndex:
    def __init__(self, crm: Crm):
        self.crm = crm
        self.path = crm.state_dir / "commits.sqlite"

    def commits_about(self, records: Iterable[str],
                      paths: Iterable[str]) -> tuple[list[str], list[str]]:
        """The commits in HEAD's past that changed one of ``paths`` (a merge: when its
        result differs from every parent's), and the others that name one of ``records``
        (``kind/id``) in a trailer; each in no particular order."""
        head = self.crm.git.head()
        if head is None:
            return [], []
        db = self._open()
        try:
            self._catch_up(db, head)
            touching = _values(db, "SELECT commit_id FROM touched WHERE path=?", paths)
            naming = _values(db, "SELECT commit_id FROM named WHERE record=?", records)
            return list(touching), [c for c in naming if c not in touching]
        finally:
            db.close()

    def _open(self) -> sqlite3.Connection:
        try:
            return _connect(self.path)
        except sqlite3.DatabaseError:  # a damaged cache: it holds nothing worth keeping
            for suffix in ("", "-wal", "-shm"):
                self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
            return _connect(self.path)

    def _catch_up(self, db: sqlite3.Connection, head: str) -> None:
        if _meta(db, "head") == head and _meta(db, "version") == _VERSION:
            return  # the common case: nothing committed since the last read
        db.execute("BEGIN IMMEDIATE")  # another reader may be catching up at the same time
        try:
            indexed = _meta(db, "head") if _meta(db, "version") == _VERSION else None
            if indexed != head:
                if indexed and self.crm.git.is_ancestor(indexed, head):
                    revisions = [head, f"^{indexed}"]
                else:
                    db.execute("DELETE FROM named")
                    db.execute("DELETE FROM touched")
                    revisions = [head]
                named, touched = [], []
                with _reading_history(len(revisions) == 1):
                    for commit, records, paths in self._commits(revisions):
                        named += [(record, commit) for record in records]
                        touched += [(path, commit) for path in paths]
                db.executemany("INSERT INTO named(record, commit_id) VALUES (?, ?)", named)
                db.executemany("INSERT INTO touched(path, commit_id) VALUES (?, ?)", touched)
                db.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                               [("head", head), ("version", _VERSION)])
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _commits(self, revisions: list[str]) -> Iterator[tuple[str, list[str], list[str]]]:
        """(commit, records its trailers name, paths it changed) of each commit."""
        out = self.crm.git.run(
            "log", f"--format={_COMMIT}%H{_FIELD}"
                   f"%(trailers:key={RECORD_TRAILER},valueonly,separator=%x1f)",
            "--name-only", "--no-renames", "--cc", "-z", *revisions, "--")
        for chunk in out.decode("utf-8", "surrogateescape").split(_COMMIT):
            if not chunk:
                continue
            # -z ends the message with NUL; a commit's file list then starts with a newline,
            # a merge's (--cc: the files that differ from every parent) with another NUL.
            head, _, files = chunk.partition("\0")
            commit, *records = head.split(_FIELD)
            yield (commit, [r.strip() for r in records if r.strip()],
                   [f for f in files.removeprefix("\n").split("\0") if f])


@contextlib.contextmanager
def _reading_history(whole: bool) -> Iterator[None]:
    """A line on stderr, when it is a terminal, while the whole history is read (the first
    ``history RECORD`` in a clone: seconds at 100,000 commits); nothing otherwise."""
    terminal = getattr(sys.stderr, "unguarded", sys.stderr)
    shown = whole and sys.stderr.isatty()
    if shown:
        terminal.write("Reading the CRM's history (once per clone)...")
        terminal.flush()
    try:
        yield
    finally:
        if shown:
            terminal.write("\r\033[K")
            terminal.flush()


def _connect(path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_TABLES)
    except BaseException:
        db.close()
        raise
    return db


def _values(db: sqlite3.Connection, query: str, keys: Iterable[str]) -> dict[str, None]:
    found: dict[str, None] = {}
    for key in keys:
        found.update(dict.fromkeys(row[0] for row in db.execute(query, (key,))))
    return found


def _meta(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return row[0] if row else None
