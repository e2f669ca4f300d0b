"""Which commits name which records: the ``Crm-Record:`` trailers of every commit, indexed.

A record's history includes commits that only appended a line to a shared log (a call, a
move). Such commits are found by their trailers, and ``git log --grep`` reads every commit
message to find them: 0.6 s at 100,000 commits, on every ``history RECORD``. This cache keeps
the trailers of every commit reachable from HEAD in SQLite (``.crmctl/trailers.sqlite``,
machine-local like the read index), brought up to date from the commits since the one it
reflects, and read again from scratch when that commit is no longer in HEAD's past (a reset, a
rebase). Deleting it loses nothing.
"""

from __future__ import annotations

import sqlite3
from typing import Iterator

from crmctl.change import RECORD_TRAILER
from crmctl.store import Crm

_VERSION = "1"
_TABLES = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS named(record TEXT NOT NULL, commit_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS named_record ON named(record);
"""


class TrailerIndex:
    def __init__(self, crm: Crm):
        self.crm = crm
        self.path = crm.state_dir / "trailers.sqlite"

    def commits_naming(self, key: str) -> list[str]:
        """Every commit in HEAD's past with a ``Crm-Record: key`` trailer (``kind/id``)."""
        with self._open() as db:
            head = self.crm.git.head()
            if head is None:
                return []
            self._catch_up(db, head)
            return [row[0] for row in db.execute(
                "SELECT DISTINCT commit_id FROM named WHERE record=?", (key,))]

    def _open(self) -> "_Connection":
        try:
            return _Connection(self.path)
        except sqlite3.DatabaseError:  # a damaged cache: it holds nothing worth keeping
            for suffix in ("", "-wal", "-shm"):
                self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)
            return _Connection(self.path)

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
                    revisions = [head]
                db.executemany("INSERT INTO named(record, commit_id) VALUES (?, ?)",
                               self._trailers(revisions))
                db.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                               [("head", head), ("version", _VERSION)])
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def _trailers(self, revisions: list[str]) -> Iterator[tuple[str, str]]:
        out = self.crm.git.run(
            "log", f"--format=%H%x1f%(trailers:key={RECORD_TRAILER},valueonly,separator=%x1f)",
            *revisions, "--")
        for line in out.decode("utf-8", "replace").splitlines():
            commit, *records = line.split("\x1f")
            for record in records:
                if record.strip():
                    yield record.strip(), commit


class _Connection:
    """A SQLite connection to the cache, closed on leaving the ``with``."""

    def __init__(self, path) -> None:
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_TABLES)

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, *exc: object) -> None:
        self.db.close()


def _meta(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return row[0] if row else None
