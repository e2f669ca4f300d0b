"""The read index: a SQLite cache of every record, kept outside git and rebuilt at will.

It is keyed by the commit it reflects. Each read brings it up to date from ``git diff`` since
that commit plus the work-tree files that differ from HEAD (hand edits), so it always shows the
files' truth; deleting it loses nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import time
from decimal import Decimal
from typing import Any, Container, Iterable, Iterator, NamedTuple, Sequence

from crmctl import early_index, early_status
from crmctl.errors import Conflict, DataError
from crmctl.gitops import GitError
from crmctl.journal import crm_lock, git_at_work, recover_if_needed
from crmctl.model import KINDS, Record, exact_json
from crmctl.names import fold, normalize_company, normalize_person, sorted_words
from crmctl.new_files import Listing, new_files
from crmctl.activities import LOG_FOLDER, is_log_path, lines, parse_line, parse_log
from crmctl.tasks import TASK_FOLDER, fold as fold_tasks, is_task_path
from crmctl.store import RECORD_FOLDERS, Crm, id_of_path, kind_of_path, record_path

SCHEMA_VERSION = "21"
_BUSY_MS = 30_000  # how long a command waits for another's write to the index
FOLDERS = (*RECORD_FOLDERS, LOG_FOLDER, TASK_FOLDER)  # what the index reads
_TABLES = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS records(
    path TEXT PRIMARY KEY, kind TEXT NOT NULL, id TEXT NOT NULL, name TEXT, company TEXT,
    status TEXT, stage TEXT, owner TEXT, tags TEXT, data TEXT, error TEXT);
CREATE INDEX IF NOT EXISTS records_kind_id ON records(kind, id);
CREATE INDEX IF NOT EXISTS records_company ON records(company);
-- Only the unreadable files: every read asks for them (a scan of 230,000 rows: 50 ms).
CREATE INDEX IF NOT EXISTS records_broken ON records(path) WHERE error IS NOT NULL;
-- seq never goes back, not even after a delete: the names after a point are those with a
-- higher seq (``name_forms``).
CREATE TABLE IF NOT EXISTS names(seq INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT, kind TEXT,
    id TEXT, name TEXT, folded TEXT, norm TEXT, company TEXT);
CREATE INDEX IF NOT EXISTS names_path ON names(path);
CREATE INDEX IF NOT EXISTS names_id ON names(id);  -- every record named by its id
CREATE INDEX IF NOT EXISTS names_folded ON names(folded);
CREATE INDEX IF NOT EXISTS names_norm ON names(norm);
-- Every name of a kind, read from the index alone (the duplicate guard's ``name_forms``
-- are made from them): 0.08 s for 100,000 companies, against 0.2 s from the table.
CREATE INDEX IF NOT EXISTS names_kind_norm ON names(kind, norm, id);
-- Every name of a kind up to names.seq ``upto``, in the forms the duplicate guard matches,
-- one per line (``name_forms``): a cache that the names after ``upto`` complete. ``gone``:
-- how many of those lines have been deleted from names since, counted as they go (counting
-- the ones left took 2-4 ms of each guard at 100,000 companies).
CREATE TABLE IF NOT EXISTS name_forms(kind TEXT PRIMARY KEY, upto INTEGER, lines INTEGER,
    ids TEXT, width INTEGER, sorted TEXT, squashed TEXT, gone INTEGER NOT NULL DEFAULT 0);
CREATE TRIGGER IF NOT EXISTS name_forms_gone AFTER DELETE ON names
    WHEN OLD.seq <= (SELECT upto FROM name_forms WHERE kind = OLD.kind)
    BEGIN UPDATE name_forms SET gone = gone + 1 WHERE kind = OLD.kind; END;
CREATE INDEX IF NOT EXISTS names_kind_seq ON names(kind, seq);
CREATE TABLE IF NOT EXISTS contacts(path TEXT, kind TEXT, id TEXT, type TEXT, value TEXT);
CREATE INDEX IF NOT EXISTS contacts_value ON contacts(type, value);
CREATE INDEX IF NOT EXISTS contacts_path ON contacts(path);
CREATE TABLE IF NOT EXISTS worktree(path TEXT PRIMARY KEY, digest TEXT);
-- What a narrowed scan last found new in each folder one down (``new_files``).
CREATE TABLE IF NOT EXISTS listings(folder TEXT PRIMARY KEY, mtime_ns INTEGER, tree TEXT,
    new TEXT);
CREATE TABLE IF NOT EXISTS activities(path TEXT, line INTEGER, id TEXT, kind TEXT, at TEXT,
    utc TEXT, type TEXT, company TEXT, person TEXT, deal TEXT, by TEXT, data TEXT);
CREATE INDEX IF NOT EXISTS activities_path ON activities(path);
CREATE INDEX IF NOT EXISTS activities_company ON activities(company, utc);
-- Only the entries that name a person or a deal: a query names one (person=?), and a first
-- load of logs where most calls name none sorts no rows for nothing (0.15 s of 180,000).
CREATE INDEX IF NOT EXISTS activities_person ON activities(person, utc) WHERE person IS NOT NULL;
CREATE INDEX IF NOT EXISTS activities_deal ON activities(deal, utc) WHERE deal IS NOT NULL;
CREATE INDEX IF NOT EXISTS activities_utc ON activities(utc);
CREATE INDEX IF NOT EXISTS activities_id ON activities(id);
CREATE TABLE IF NOT EXISTS amendments(path TEXT, id TEXT, amends TEXT, utc TEXT, data TEXT);
CREATE TABLE IF NOT EXISTS task_events(path TEXT, line INTEGER, id TEXT, task TEXT, utc TEXT,
    data TEXT);
CREATE INDEX IF NOT EXISTS task_events_path ON task_events(path);
CREATE TABLE IF NOT EXISTS tasks(id TEXT PRIMARY KEY, status TEXT, assignee TEXT, due TEXT,
    data TEXT);
CREATE INDEX IF NOT EXISTS amendments_path ON amendments(path);
-- amending: 1 if the line may be an amendment, naming one as it is or escaped (_may_amend).
CREATE TABLE IF NOT EXISTS broken_lines(path TEXT, line INTEGER, error TEXT, amending INTEGER);
CREATE INDEX IF NOT EXISTS broken_lines_path ON broken_lines(path);
"""


def normalize(kind: str, name: str) -> str:
    return normalize_company(name) if kind == "company" else normalize_person(name)


class Index:
    def __init__(self, crm: Crm):
        self.crm = crm
        self.path = crm.state_dir / "index.sqlite"
        self._db: sqlite3.Connection | None = None
        self._fresh = False
        # The folders the next refresh asks git about for hand edits: all of them, some
        # (``narrow_worktree_scan``), or none (``defer_worktree_scan``).
        self.scan_folders: tuple[str, ...] = FOLDERS
        self.reread_records = True  # without a full scan: see defer_worktree_scan
        # The folders read in full (refresh): top folders, or months of the logs
        # ("activities/2025-11", see ``log_months``).
        self._loaded: set[str] = set()
        self._seen_version: int | None = None  # SQLite's data_version (_written_by_another)
        self._unfolded: set[str] = set()  # entries whose amendments were dropped
        self._task_context: tuple[str, ...] | None = None  # until the tasks change
        self._named_broken: list[tuple[str, str]] = []  # task_context_left_out
        self._listings: list[Listing] | None = None  # a narrowed scan's, to keep (_update)

    @property
    def scan_worktree(self) -> bool:
        """Whether the index has seen every hand edit in the work tree (a full scan)."""
        return self.scan_folders == FOLDERS

    def defer_worktree_scan(self) -> None:
        """For a write that names its records (log, move, task): skip the scan of the whole
        work tree for hand edits (git status: 0.2-0.5 s at 100,000 records, most of such a
        write). Each record it reads is re-read from its file instead, and a name it cannot
        find or tell apart makes resolve scan after all (``scan_now``) and look again."""
        self.scan_folders = ()

    def read_committed(self) -> None:
        """For history: no scan, and each record as the index last read it (committed, or as
        last scanned), not read again from its file. A past in commits has no uncommitted
        edits, and reading a file costs YAML, the schemas and crm.yaml: ~30 ms of a
        `history RECORD`. A name it cannot find still makes resolve scan (``scan_now``)."""
        self.scan_folders = ()
        self.reread_records = False

    def narrow_worktree_scan(self, folders: Sequence[str]) -> None:
        """For a command whose every answer comes from files in ``folders`` (the ids of the
        open tasks: tasks/; an add: the folders of the records it looks up): look for hand
        edits there alone. git status over tasks/ took 0.12 s at 100,000 records, and
        0.3-0.5 s over all 230,000 files, most of its time the ``lstat`` of each. A query
        of another folder widens the scan to all of them (``refresh``)."""
        self.scan_folders = tuple(folders)

    def scan_now(self) -> bool:
        """Do the deferred or narrowed scan in full; False if there was none to do."""
        if self.scan_worktree:
            return False
        self.scan_folders = FOLDERS
        self._fresh = False
        return True

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                self._db = self._open()
            except sqlite3.DatabaseError:  # a damaged cache: it holds nothing worth keeping
                self._remove_files()
                self._db = self._open()
        return self._db

    def close(self) -> None:
        """Close the SQLite connection, if open: the last one to close folds the write-ahead
        log into the file and removes it."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def _remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=_BUSY_MS / 1000, isolation_level=None)
        try:
            version = db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
        except sqlite3.OperationalError:  # a new file: no tables yet
            version = None
        if version is not None and version[0] != SCHEMA_VERSION:
            # Written by another version of crmctl, maybe with other columns: start afresh.
            db.close()
            self._remove_files()
            db = sqlite3.connect(self.path, timeout=_BUSY_MS / 1000, isolation_level=None)
        # Larger pages than SQLite's 4 KiB: a first load writes 100 MB through the WAL and
        # then again into the file, and sorts six indexes of 180,000 log lines (0.92 s at
        # 4 KiB, 0.74 at 16). It takes only while the file is new, before any table.
        db.execute("PRAGMA page_size=16384")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA cache_size=-65536")  # KiB
        db.executescript(_TABLES)
        return db

    def mark_stale(self) -> None:
        self._fresh = False

    def _stored_loaded(self) -> set[str]:
        """The folders the index holds in full, as it says itself (``refresh``)."""
        return set(filter(None, (self._meta("loaded") or "").split(",")))

    def _written_by_another(self) -> bool:
        """Whether another connection has written the index since this was last asked
        (SQLite's data_version moves on each commit of another connection only)."""
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        written, self._seen_version = version != self._seen_version, version
        return written

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        """Reads that see one state of the index, whatever another crmctl commits meanwhile."""
        if self.db.in_transaction:
            yield
            return
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    # --- keeping it true -----------------------------------------------------------------------
    def refresh(self, folders: Iterable[str] = FOLDERS) -> None:
        """Bring the index up to the files' truth (HEAD plus any uncommitted edits) for the
        ``folders`` a query reads. Each folder is read in full the first time a query needs
        it: a first pipeline report in a fresh clone reads deals/, not 200,000 other records
        and 1,000,000 log lines as well."""
        if self.scan_folders and any(_folder(f) not in self.scan_folders for f in folders):
            self.scan_now()  # beyond a narrowed scan: hand edits there must be seen too
        if not self._fresh:
            self._update()
        elif self._written_by_another():
            # It may have read crm.yaml anew, cleared the index and read back only some
            # folders: those this process read before must be read again.
            self._loaded = self._stored_loaded()
            self._task_context = None
        missing = [folder for folder in folders if not _covers(self._loaded, folder)]
        if missing:
            self._load(missing)

    def _update(self) -> None:
        """Bring the folders already read up to HEAD and the work tree."""
        # The launcher's status (waited for here, so that its mark is gone before recovery
        # looks); files a recovery puts back are newer than what it saw.
        scope = self.scan_folders
        early = early_status.take(self.crm.root, self._pathspec(scope))
        if recover_if_needed(self.crm):
            early = None
        git = self.crm.git
        head = git.head()
        scan = bool(scope)
        scanned = self._dirty_paths(early, scope) if head and scan else None
        db = self.db
        self._logs_touched = self._tasks_touched = False
        db.execute("BEGIN IMMEDIATE")
        try:
            if scanned and any(int(self._meta(f"scanned:{folder}") or 0) > scanned[1]
                               for folder in scope):
                # Another crmctl scanned since this git started (the launcher's, or one
                # that ran while this process waited for the CRM lock): it may have noted
                # an edit this scan missed, which must not be dropped. Ask again.
                scanned = self._dirty_paths(None, scope)
            dirty = scanned[0] if scanned else []
            indexed = self._meta("head") or None  # "" was stored for an unborn branch
            if (self._meta("version") != SCHEMA_VERSION or head is None or indexed is None
                    or self._meta("process") != self.crm.process_digest):
                # Records are typed by crm.yaml: when it changes, read every file again.
                # Without a commit, every folder is read from disk each time, and what was
                # read so is dropped once there is one (a new CRM's first commit).
                indexed = None
                self._clear()
            loaded = self._stored_loaded()
            if head and indexed and indexed != head and loaded:
                try:
                    changed = git.changed_between(indexed, head, sorted(loaded))
                except GitError:  # the indexed commit was rewritten away and pruned
                    self._clear()
                    loaded = set()
                else:
                    if len(changed) >= PROGRESS_FROM:  # a pull of thousands: as in _load
                        early_index.end_unused()
                    self._reload(changed, loaded)
            previously = [row[0] for row in db.execute("SELECT path FROM worktree")]
            read = self._reload(set(dirty) | set(previously), loaded)
            if scan:  # without a scan, the paths known to differ from HEAD are all there is
                db.executemany("DELETE FROM worktree WHERE substr(path, 1, ?) = ?",
                               [(len(folder) + 1, f"{folder}/") for folder in scope])
                self._keep_listings(scope)
                db.executemany("INSERT INTO worktree(path, digest) VALUES (?, ?)",
                               [(p, read.get(p)) for p in set(dirty)])
            self._fold_touched()
            db.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                           [("head", head or ""), ("version", SCHEMA_VERSION),
                            ("process", self.crm.process_digest),
                            ("loaded", ",".join(sorted(loaded)))] +
                           [(f"scanned:{folder}", str(scanned[1]))
                            for folder in (scope if scanned else ())])
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # sqlite may have rolled back already (a full disk)
                db.execute("ROLLBACK")
            raise
        self._loaded = loaded
        self._fresh = True
        self._task_context = None
        self._written_by_another()  # what this process has seen

    def _load(self, folders: Sequence[str]) -> None:
        """Read these folders in full, as the commit the index reflects holds them, then
        their files that differ from it."""
        db = self.db
        self._logs_touched = self._tasks_touched = False
        db.execute("BEGIN IMMEDIATE")
        try:
            # Another crmctl may have moved the index on since _update: go by what it holds.
            loaded = self._stored_loaded()
            missing = sorted(f for f in set(folders) if not _covers(loaded, f))
            before = set(loaded)  # whole logs after some of their months: those stay as read

            def new(path: str) -> bool:
                return _covers(missing, path) and not _covers(before, path)
            head = self._meta("head")
            if missing and head:
                blobs = [(oid, path) for oid, path in self.crm.git.tree_blobs(head, missing)
                         if _indexed(path) and not _covers(before, path)]
                if len(blobs) >= PROGRESS_FROM:
                    # Seconds at 100,000 records (the first read of a fresh clone): git's
                    # index.lock, held by a write's early update-index, is let go meanwhile.
                    early_index.end_unused()
                texts = self.crm.git.read_blobs(oid for oid, _ in blobs)
                # Into empty tables, then sorted into their indexes once: faster than
                # keeping a dozen indexes ordered through 1,000,000 inserts.
                empty = {t for f in missing for t in _tables_of(f)} - \
                    {t for f in before for t in _tables_of(f)}
                indexes = [(name, sql) for name, table, sql in db.execute(
                    "SELECT name, tbl_name, sql FROM sqlite_master WHERE type='index' AND "
                    "sql IS NOT NULL").fetchall() if table in empty]
                for name, _ in indexes:
                    db.execute(f"DROP INDEX {name}")
                self._store_many(_with_progress(
                    ((path, text) for (_, path), text in zip(blobs, texts)), len(blobs)),
                    empty=True)
                for _, statement in indexes:
                    db.execute(statement)
                loaded.update(missing)
                worktree = [row[0] for row in db.execute("SELECT path FROM worktree")]
                self._reload([p for p in worktree if new(p)], loaded)
            elif missing:  # no commit yet: the files are all there is
                loaded.update(missing)
                self._reload([p for p in self._files_on_disk(missing) if new(p)], loaded)
            if LOG_FOLDER in loaded:
                loaded = {f for f in loaded if _folder(f) != LOG_FOLDER or f == LOG_FOLDER}
            self._fold_touched()
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('loaded', ?)",
                       (",".join(sorted(loaded)),))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self._loaded = loaded

    def _fold_touched(self) -> None:
        if self._logs_touched:
            self._apply_amendments()
        if self._tasks_touched:
            self._fold_tasks()

    def _dirty_paths(self, early: tuple[bytes, int] | None,
                     scope: tuple[str, ...]) -> tuple[list[str], int]:
        """The paths under ``scope`` that differ from HEAD, and when git started looking
        (``time.time_ns``). git status runs under the CRM lock, marked (``GitAtWork``), so
        that it may save git's untracked cache (a stale one costs each later read ~35 ms at
        100,000 records); a read takes the lock only if it is free this instant, and
        otherwise takes no lock of git's at all. ``early``: the output of the same status,
        started by the launcher, and when."""
        git = self.crm.git
        pathspec = self._pathspec(scope)
        if early is not None:
            paths, started = git.dirty_from(early[0], scope), early[1]
        else:
            held = contextlib.nullcontext() if git.pass_fds else crm_lock(self.crm, timeout=0)
            started = time.time_ns()
            try:
                with held, git_at_work(self.crm):
                    paths = git.dirty_paths(scope, may_lock=True, pathspec=pathspec)
            except (Conflict, OSError):  # a write is at work, or .git cannot be written
                started = time.time_ns()
                paths = git.dirty_paths(scope, pathspec=pathspec)
        if pathspec:  # git looked at the files it tracks alone (``status_command``)
            new, self._listings = new_files(git, scope, self._kept_listings(scope))
            paths += new
        return paths, started

    def _kept_listings(self, tops: Sequence[str]) -> dict[str, Listing]:
        rows = self.db.execute(
            "SELECT folder, mtime_ns, tree, new FROM listings WHERE "
            + " OR ".join(["substr(folder, 1, ?) = ?"] * len(tops)),
            [x for top in tops for x in (len(top) + 1, f"{top}/")])
        return {folder: Listing(folder, mtime, tree, tuple(json.loads(new)))
                for folder, mtime, tree, new in rows}

    def _keep_listings(self, tops: Sequence[str]) -> None:
        """Within _update's transaction: the listings of this scan's ``new_files``, in
        place of those kept of its folders before."""
        if self._listings is None:
            return
        self.db.executemany("DELETE FROM listings WHERE substr(folder, 1, ?) = ?",
                            [(len(top) + 1, f"{top}/") for top in tops])
        self.db.executemany("INSERT INTO listings VALUES (?, ?, ?, ?)",
                            [(l.folder, l.mtime_ns, l.tree, json.dumps(l.new))
                             for l in self._listings])
        self._listings = None

    @staticmethod
    def _pathspec(scope: tuple[str, ...]) -> tuple[str, ...]:
        """What git status is asked about: the whole tree (where git keeps its untracked
        cache) for a full scan, else just the folders of a narrowed one."""
        return () if scope == FOLDERS else scope

    def _clear(self) -> None:
        self._task_context = None
        # name_forms first: its trigger then has nothing to count for each name deleted.
        for table in ("name_forms", "records", "names", "contacts", "worktree", "meta",
                      "activities", "amendments", "task_events", "tasks", "broken_lines"):
            self.db.execute(f"DELETE FROM {table}")

    def _files_on_disk(self, folders: Iterable[str]) -> list[str]:
        paths = []
        for folder in folders:
            base = self.crm.root / folder
            if base.is_dir():  # a top folder's files are in shards or months; a month's, in it
                paths += [p.relative_to(self.crm.root).as_posix()
                          for p in base.glob("*" if "/" in folder else "*/*")]
        return paths

    def _reload(self, paths: Iterable[str], loaded: Iterable[str]) -> dict[str, str]:
        """Re-read ``paths`` from the work tree (a missing file drops its row); returns a
        digest of the bytes read of each. A path in a folder not ``loaded`` (not read yet)
        is only digested: its folder is read in full, with it, when a query needs it."""
        read: dict[str, str] = {}
        loaded = set(loaded)

        def texts() -> Iterator[tuple[str, bytes | None]]:
            for path in paths:
                if not _indexed(path):
                    continue
                try:
                    data = (self.crm.root / path).read_bytes()
                except (FileNotFoundError, IsADirectoryError):
                    read[path] = "absent"
                    data = None
                else:
                    read[path] = hashlib.sha256(data).hexdigest()
                if _covers(loaded, path):
                    yield path, data
        self._store_many(texts())
        return read

    def state(self) -> str | None:
        """A digest of what the index holds after a full refresh: the commit, crm.yaml, and
        the exact bytes it read of every file that differs from the commit. Two equal
        digests mean equal answers to every query (the report cache is keyed by it)."""
        self.scan_now()
        self.refresh(())
        if not self._meta("head"):
            return None  # no commit yet: every file is read from disk, nothing to key by
        digest = hashlib.sha256(f"{SCHEMA_VERSION}\0{self._meta('head')}\0"
                                f"{self.crm.process_digest}".encode())
        for path, read in self.db.execute("SELECT path, digest FROM worktree ORDER BY path"):
            digest.update(f"\0{path}\0{read}".encode())
        return digest.hexdigest()

    def _store_many(self, items: Iterable[tuple[str, bytes | None]], empty: bool = False) -> None:
        """Index these files' texts (None: the file is gone); ``empty``: nothing to replace.
        Record rows go in a few thousand at a time (a statement per row was a quarter of a
        first build); each path comes once, so its deletes never meet its own pending rows."""
        db = self.db
        rows = _Rows()
        for path, text in items:
            if len(rows.records) >= 5000:
                rows.insert_into(db)
            if is_log_path(path):
                self._store_log(path, text, empty)
                continue
            if is_task_path(path):
                self._store_task_events(path, text, empty)
                continue
            if not empty:
                for table in ("records", "names", "contacts"):
                    db.execute(f"DELETE FROM {table} WHERE path=?", (path,))
            if text is None:
                continue
            kind = kind_of_path(path)
            assert kind is not None
            # Records are typed by crm.yaml: a broken one fails the refresh here (and rolls
            # it back), never becomes an error of each record. Read only when a record is.
            self.crm.process
            try:
                record = self.crm.parse(path, text)
            except DataError as exc:
                db.execute("INSERT INTO records(path, kind, id, error) VALUES (?,?,?,?)",
                           (path, kind, id_of_path(path), str(exc)))
                continue
            self._insert(record, rows)
        rows.insert_into(db)

    def _store_log(self, path: str, text: bytes | None, empty: bool) -> None:
        """Index every entry of one activity log (a broken line is left to crmctl check)."""
        self._logs_touched = True
        if not empty:
            # What this log amended may be amended no more: folded again (_apply_amendments).
            self._unfolded.update(row[0] for row in self.db.execute(
                "SELECT amends FROM amendments WHERE path=?", (path,)))
            self.db.execute("DELETE FROM activities WHERE path=?", (path,))
            self.db.execute("DELETE FROM amendments WHERE path=?", (path,))
            self.db.execute("DELETE FROM broken_lines WHERE path=?", (path,))
        if text is None:
            return
        rows, amendments = [], []
        for line, entry, raw in parse_log(self._log_text(path, text), path, with_text=True):
            if not isinstance(entry, dict) or not isinstance(entry.get("at"), str):
                self._broken_line(path, line, entry, raw)
                continue
            at = entry["at"]
            utc = _utc(at)
            if utc is None:
                continue
            # The line itself is the entry's JSON: kept as it is, not dumped again (a third
            # of the time of a first index build of 1,000,000 lines went into dumping).
            get = entry.get
            if get("kind") == "amend":  # one that names no entry by its id amends none
                amends = get("amends")
                amendments.append((path, get("id"), amends if type(amends) is str else None,
                                   utc, raw))
                continue
            # Written out, not _text five times: a first load calls it for every line.
            type_, company, person, deal, by = (
                get("type"), get("company"), get("person"), get("deal"), get("by"))
            rows.append((path, line, get("id"), get("kind"), at, utc,
                         type_ if type(type_) is str else None,
                         company if type(company) is str else None,
                         person if type(person) is str else None,
                         deal if type(deal) is str else None,
                         by if type(by) is str else None, raw))
        self.db.executemany("INSERT INTO activities VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        self.db.executemany("INSERT INTO amendments VALUES (?,?,?,?,?)", amendments)

    def _store_task_events(self, path: str, text: bytes | None, empty: bool) -> None:
        self._tasks_touched = True
        if not empty:
            self.db.execute("DELETE FROM task_events WHERE path=?", (path,))
            self.db.execute("DELETE FROM broken_lines WHERE path=?", (path,))
        if text is None:
            return
        rows = []
        for line, event, raw in parse_log(self._log_text(path, text), path, with_text=True):
            if not isinstance(event, dict) or not isinstance(event.get("at"), str):
                self._broken_line(path, line, event, "")
                continue
            utc = _utc(event["at"])
            if utc is not None:
                rows.append((path, line, _text(event.get("id")), _text(event.get("task")),
                             utc, raw))
        self.db.executemany("INSERT INTO task_events VALUES (?,?,?,?,?,?)", rows)

    def _log_text(self, path: str, text: bytes) -> str:
        decoded, undecodable = _decoded(path, text)
        if undecodable:
            self.db.execute("INSERT INTO broken_lines VALUES (?,?,?,?)", undecodable)
        return decoded

    def _broken_line(self, path: str, line: int, entry: Any, raw: str) -> None:
        """Note a line of a log that is no entry, for reads to say what they left out."""
        self.db.execute("INSERT INTO broken_lines VALUES (?,?,?,?)",
                        (path, line, _broken_message(path, line, entry), _may_amend(raw)))

    def _fold_tasks(self) -> None:
        """Task states from all their events, oldest first (a few per task: cheap)."""
        self._task_context = None
        events = [json.loads(data) for (data,) in self.db.execute(
            "SELECT data FROM task_events ORDER BY utc, path, line")]
        self.db.execute("DELETE FROM tasks")
        self.db.executemany(
            "INSERT INTO tasks(id, status, assignee, due, data) VALUES (?,?,?,?,?)",
            [(t["id"], t["status"], t.get("assignee"), t.get("due"),
              json.dumps(t, ensure_ascii=False)) for t in fold_tasks(events).values()])

    def _apply_amendments(self) -> None:
        """Fold amend lines onto the entries they name, oldest first.

        Entries are re-read from their files whenever a log changes, so folding again from
        the originals after every refresh keeps the result exact. An entry whose last
        amendment is gone (a merge reverted) is put back as its line has it.
        """
        db = self.db
        amended = {r[0] for r in db.execute("SELECT DISTINCT amends FROM amendments")}
        unamended, self._unfolded = self._unfolded - amended, set()
        # None: amend lines that name no entry (a hand edit); they amend none.
        for target in sorted(t for t in amended | unamended if t is not None):
            row = db.execute("SELECT rowid, data FROM activities WHERE id=? ORDER BY rowid LIMIT 1",
                             (target,)).fetchone()
            if row is None:
                continue
            rowid, data = row
            entry = json.loads(data)
            if entry.get("original") is None and target in unamended:
                continue  # read again from its own line since: as it is there
            _refold(entry, [json.loads(change) for (change,) in db.execute(
                "SELECT data FROM amendments WHERE amends=? ORDER BY utc, id", (target,))])
            db.execute("UPDATE activities SET company=?, person=?, deal=?, data=? WHERE rowid=?",
                       (_text(entry.get("company")), _text(entry.get("person")),
                        _text(entry.get("deal")), json.dumps(entry, ensure_ascii=False), rowid))

    def _insert(self, record: Record, rows: "_Rows") -> None:
        """Add one record's rows to ``rows`` (inserted by ``_store_many``)."""
        record = _with_an_id(record)
        data = record.data
        tags = data.get("tags")
        rows.records.append(
            (record.path, record.kind, record.id, record.name, _text(data.get("company")),
             _text(data.get("status")), _text(data.get("stage")), _text(data.get("owner")),
             "|" + "|".join(map(str, tags)) + "|" if isinstance(tags, list) else None,
             exact_json(dict(data), ensure_ascii=False)))
        names = [record.name] + [a for a in data.get("aliases") or [] if isinstance(a, str)]
        company = record.id if record.kind == "company" else _text(data.get("company"))
        rows.names.extend(
            (record.path, record.kind, record.id, n, " ".join(fold(n).split()),
             normalize(record.kind, n), company) for n in names if n)
        contacts = []
        if isinstance(data.get("domain"), str):
            contacts.append(("domain", data["domain"].lower()))
        for email in data.get("emails") or []:
            if isinstance(email, str):
                contacts.append(("email", email.lower()))
        for merged in data.get("merged") or []:  # ids of duplicates merged into it
            if isinstance(merged, str):
                contacts.append(("merged", merged))
        rows.contacts.extend((record.path, record.kind, record.id, t, v) for t, v in contacts)

    # --- reading ----------------------------------------------------------------------------
    def _record(self, kind: str, data_json: str, path: str) -> Record:
        return Record(kind, _exact(data_json), path)

    def get(self, kind: str, record_id: str) -> Record | None:
        if not isinstance(record_id, str):  # a hand edit put a list or a mapping there
            return None
        folder = KINDS[kind].plural
        self.refresh((folder,))
        # Without a scan of its folder (log, move), the record as its file is now. A scan
        # narrowed to its folder (add) has seen every hand edit there already.
        if self.reread_records and not _covers(self.scan_folders, folder):
            self._reread_record(kind, record_id)
        row = self.db.execute(
            "SELECT data, path FROM records WHERE kind=? AND id=? AND data IS NOT NULL",
            (kind, record_id)).fetchone()
        return self._record(kind, row[0], row[1]) if row else None

    def records_by_id(self, kind: str, ids: Iterable[str]
                      ) -> tuple[dict[str, Record], list[tuple[str, str]]]:
        """The records of a kind with these ids, and (path, error) of each of their files
        that cannot be read. From the index when it holds the kind's folder; else from their
        files alone, as a read of the folder would take them (the indexed commit's, or the
        work tree's for a file that differs from it), and not kept: the sources of a month's
        35,000 companies, or the names of what 10,000 tasks are for, in 0.3-1 s, where
        reading all 100,000 company files took 4 s."""
        wanted = {rid for rid in ids if isinstance(rid, str) and rid}
        folder = KINDS[kind].plural
        self.refresh(())
        if not wanted:
            return {}, []
        # Each id's record is the file named by it, loaded or not: a file whose id: says
        # otherwise (crmctl check names it) reads the same either way.
        paths = {record_path(kind, rid): rid for rid in wanted}
        if _covers(self._loaded, folder):
            found, broken = {}, []
            listed = sorted(paths)
            for start in range(0, len(listed), 500):  # SQLite's limit on variables
                chunk = listed[start:start + 500]
                for path, data, error in self.db.execute(
                        "SELECT path, data, error FROM records WHERE path IN "
                        f"({','.join('?' * len(chunk))})", chunk):
                    if data is not None:
                        found[paths[path]] = self._record(kind, data, path)
                    elif error is not None:
                        broken.append((path, error))
            return found, sorted(broken)
        found, broken = {}, []
        for path, text in sorted(self._files_as_indexed([folder], paths).items()):
            try:
                found[paths[path]] = _with_an_id(self.crm.parse(path, text))
            except DataError as exc:
                broken.append((path, str(exc)))
        return found, broken

    def _files_as_indexed(self, folders: Sequence[str], only: Container[str] | None = None
                          ) -> dict[str, bytes]:
        """The files under ``folders`` (those in ``only``, if given) as a read of the
        folders would take them, read now and not kept: the indexed commit's, or the work
        tree's for a file that differs from it."""
        with self._snapshot():  # the commit and the paths that differ from it, as one
            head = self._meta("head")
            # Only paths git named are read from the work tree: an id is a hand-typed string.
            differ = {row[0] for folder in folders for row in self.db.execute(
                "SELECT path FROM worktree WHERE substr(path, 1, ?) = ?",
                (len(folder) + 1, f"{folder}/"))} if head else None
        if differ is None:
            differ = set(self._files_on_disk(folders))
        texts: dict[str, bytes] = {}
        for path in sorted(differ):
            if (only is None or path in only) and _indexed(path):
                with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                    texts[path] = (self.crm.root / path).read_bytes()
        if head:
            blobs = [(oid, path) for oid, path in self.crm.git.tree_blobs(head, folders, only)
                     if path not in differ and _indexed(path)]
            texts.update(zip((path for _, path in blobs),
                             self.crm.git.read_blobs(oid for oid, _ in blobs)))
        return texts

    def error_of(self, kind: str, record_id: str) -> str | None:
        """Why this record's file cannot be read (``path:line: problem``), if it cannot."""
        row = self.db.execute("SELECT error FROM records WHERE kind=? AND id=? AND error IS "
                              "NOT NULL", (kind, record_id)).fetchone()
        return row[0] if row else None

    def _reread_record(self, kind: str, record_id: str) -> None:
        """Without the work-tree scan: this record as its file is now. Its path is noted
        as differing from HEAD, so that the next full refresh reads it again either way."""
        row = self.db.execute("SELECT path FROM records WHERE kind=? AND id=?",
                              (kind, record_id)).fetchone()
        if row is not None:
            self.read_files([row[0]])

    def read_files(self, paths: Sequence[str]) -> None:
        """Index these files as they are now, whatever the last scan said of them. Each is
        noted as differing from HEAD, so that the next full refresh reads it again."""
        self.refresh(())  # a folder not read yet reads them when it is
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self._reload(paths, self._stored_loaded())
            self.db.executemany("INSERT OR IGNORE INTO worktree(path) VALUES (?)",
                                [(path,) for path in paths])
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise

    def latest_amendments(self, entry_ids: Sequence[str]) -> dict[str, str]:
        """Entry id -> the UTC time of its latest amendment, for entries that have one."""
        self.refresh((LOG_FOLDER,))
        found: dict[str, str] = {}
        ids = list(entry_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            found.update(self.db.execute(
                f"SELECT amends, MAX(utc) FROM amendments WHERE amends IN "
                f"({','.join('?' * len(chunk))}) GROUP BY amends", chunk).fetchall())
        return found

    def merged_into(self, kind: str, record_id: str) -> Record | None:
        """The record that a duplicate with this id was merged into, if any."""
        self.refresh((KINDS[kind].plural,))
        row = self.db.execute("SELECT id FROM contacts WHERE type='merged' AND value=? AND kind=?",
                              (record_id, kind)).fetchone()
        return self.get(kind, row[0]) if row else None

    def kinds_with_id(self, record_id: str, kinds: Iterable[str],
                      company: str | None = None) -> list[str]:
        kinds = list(kinds)
        self.refresh(_folders_of(kinds))
        where, args = _kinds_clause(kinds, company)
        return [r[0] for r in self.db.execute(
            f"SELECT DISTINCT kind FROM names WHERE id=? AND {where}", (record_id, *args))] or \
            [r[0] for r in self.db.execute(  # a file that cannot be read has no names row
                f"SELECT kind FROM records WHERE id=? AND kind IN "
                f"({','.join('?' * len(list(kinds)))}) AND error IS NOT NULL",
                (record_id, *kinds))]

    def select(self, kind: str, *, status: str | None = None, stage: str | None = None,
               owner: str | None = None, tag: str | None = None,
               company: str | None = None) -> list[Record]:
        """Records of a kind, filtered, ordered by name."""
        self.refresh((KINDS[kind].plural,))
        where, args = ["kind=?", "data IS NOT NULL"], [kind]
        for column, value in (("status", status), ("stage", stage), ("owner", owner),
                              ("company", company)):
            if value is not None:
                where.append(f"{column}=?")
                args.append(value)
        if tag is not None:
            where.append("instr(tags, ?) > 0")
            args.append(f"|{tag}|")
        rows = self.db.execute(
            f"SELECT data, path FROM records WHERE {' AND '.join(where)} "
            "ORDER BY name COLLATE NOCASE, id", args)
        return [self._record(kind, data, path) for data, path in rows]

    def names(self, kinds: Iterable[str],
              company: str | None = None) -> list[tuple[str, str, str, str]]:
        """(kind, id, name, normalised name) of every name and alias of these kinds."""
        kinds = list(kinds)
        self.refresh(_folders_of(kinds))
        where, args = _kinds_clause(kinds, company)
        return self.db.execute(
            f"SELECT kind, id, name, norm FROM names WHERE {where}", args).fetchall()

    def kept_name_forms(self, kind: str) -> NameForms | None:
        """The names of a kind as the guard last kept them, read without bringing the index
        up to date first: an ``add`` reads them while git status looks for hand edits, and
        ``name_forms`` completes them after. None if there are none (or no index yet)."""
        try:
            kept = self.db.execute("SELECT upto, lines, ids, width, sorted, squashed "
                                   "FROM name_forms WHERE kind=?", (kind,)).fetchone()
        except sqlite3.Error:
            return None
        if kept is None:
            return None
        upto, lines, ids, width, sorted_lines, squashed = kept
        return NameForms(ids, width, sorted_lines.split("\n"), squashed.split("\n"),
                         kept=(upto, lines))

    def name_forms(self, kind: str, ready: NameForms | None = None) -> NameForms:
        """Every name and alias of a kind, as the duplicate guard of ``add`` matches them
        all; ``ready``: those ``kept_name_forms`` read earlier. Kept ready in the index: at
        100,000 companies, reading the names as rows took 45 ms and sorting their words 16
        more, of a guard meant to take 30 in all."""
        self.refresh((KINDS[kind].plural,))
        db = self.db
        row = db.execute("SELECT upto, lines, gone FROM name_forms WHERE kind=?",
                         (kind,)).fetchone()
        state, gone = (row[:2], row[2]) if row else (None, 0)
        forms = ready if ready is not None and ready.kept == state else None
        if forms is None and state is not None:
            forms = self.kept_name_forms(kind)  # kept anew since (by another crmctl)
        if forms is not None and forms.kept is not None and forms.kept == state:
            upto, lines = forms.kept
            # The names written since, and how many of those kept are gone since (they
            # stay, leading to no record or to its name as it is now).
            newer = db.execute("SELECT id, norm FROM names WHERE kind=? AND seq > ?",
                               (kind, upto)).fetchall()
            if len(newer) + gone <= _NEWER_NAMES:
                for rid, norm in newer:
                    forms.add(rid, norm)
                forms.stale = gone
                forms.kept = None  # completed: not to be completed twice
                return forms
        rows = db.execute("SELECT seq, id, norm FROM names WHERE kind=?", (kind,)).fetchall()
        forms = NameForms.made((rid, norm) for _, rid, norm in rows)
        if not rows:
            return forms
        try:
            db.execute("PRAGMA busy_timeout=0")  # kept only if no other crmctl is writing
            db.execute("INSERT OR REPLACE INTO name_forms VALUES (?,?,?,?,?,?,?,0)",
                       (kind, max(seq for seq, _, _ in rows), len(rows), forms.id_text,
                        forms.width, "\n".join(forms.sorted), "\n".join(forms.squashed)))
        except sqlite3.OperationalError:
            pass  # a busy or read-only index: the guard goes on without keeping them
        finally:
            db.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        return forms

    def norms(self, kind: str) -> dict[tuple[str, str], str]:
        """(id, name or alias) -> that name normalised, for every record of a kind."""
        self.refresh((KINDS[kind].plural,))
        return {(rid, name): norm for rid, name, norm in self.db.execute(
            "SELECT id, name, norm FROM names WHERE kind=?", (kind,))}

    def by_folded_name(self, folded: str, kinds: Iterable[str],
                       company: str | None = None) -> list[tuple[str, str, str]]:
        kinds = list(kinds)
        self.refresh(_folders_of(kinds))
        where, args = _kinds_clause(kinds, company)
        return self.db.execute(
            f"SELECT DISTINCT kind, id, name FROM names WHERE folded=? AND {where}",
            (folded, *args)).fetchall()

    def by_normalized_name(self, text: str, kinds: Iterable[str],
                           company: str | None = None) -> list[tuple[str, str, str]]:
        """Records whose name or alias normalises like ``text`` (legal suffixes set aside)."""
        kinds = list(kinds)
        self.refresh(_folders_of(kinds))
        found = []
        for kind in kinds:
            where, args = _kinds_clause([kind], company)
            found += self.db.execute(
                f"SELECT DISTINCT kind, id, name FROM names WHERE norm=? AND {where}",
                (normalize(kind, text), *args)).fetchall()
        return found

    def by_name_words(self, text: str, kinds: Iterable[str],
                      company: str | None = None) -> list[tuple[str, str, str]]:
        """Records with a name in which every word of ``text`` begins a word: "acme"
        finds "Acme Products", "gen mot" finds "General Motors"."""
        kinds = list(kinds)
        self.refresh(_folders_of(kinds))
        found: dict[tuple[str, str], str] = {}
        for kind in kinds:
            words = normalize(kind, text).split()
            if not words:
                continue
            where, args = _kinds_clause([kind], company)
            for word in words:
                like = _like_prefix(word)
                where += " AND (norm LIKE ? ESCAPE '\\' OR norm LIKE ? ESCAPE '\\')"
                args += [like, "% " + like]
            for kind_, rid, name in self.db.execute(
                    f"SELECT kind, id, name FROM names WHERE {where} ORDER BY name", args):
                found.setdefault((kind_, rid), name)
        return [(kind, rid, name) for (kind, rid), name in found.items()]

    def by_contact(self, kind: str, type_: str, value: str) -> list[tuple[str, str]]:
        self.refresh((KINDS[kind].plural,))
        return self.db.execute(
            "SELECT DISTINCT c.id, r.name FROM contacts c JOIN records r ON r.path = c.path "
            "WHERE c.kind=? AND c.type=? AND c.value=?", (kind, type_, value.lower())).fetchall()

    def completions(self, prefix: str, kinds: Iterable[str],
                    limit: int = 50) -> list[tuple[str, str]]:
        """(value, description) for shell completion: ids that start with ``prefix`` (with
        the name as description), and names that start with it exactly (the shell keeps only
        what begins with the text typed)."""
        kinds = list(kinds)
        self.refresh(_folders_of(kinds))
        where, args = _kinds_clause(kinds, None)
        like = _like_prefix(prefix.lower())
        found = [(rid, name) for rid, name in self.db.execute(
            f"SELECT DISTINCT id, name FROM names WHERE id LIKE ? ESCAPE '\\' AND {where} "
            "AND name IS NOT NULL ORDER BY id LIMIT ?", (like, *args, limit))]
        found += [(name, rid) for name, rid in self.db.execute(
            f"SELECT DISTINCT name, id FROM names WHERE name LIKE ? ESCAPE '\\' AND {where} "
            "ORDER BY name LIMIT ?", (_like_prefix(prefix), *args, limit))
            if name.startswith(prefix)]
        return found[:limit]

    def timeline(self, *, company: str | None = None, person: str | None = None,
                 deal: str | None = None, since_utc: str | None = None,
                 kind: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Log entries about a company (with its people and deals), a person or a deal,
        newest first; each entry is the folded JSON object of its line."""
        # Entries since a day are in the logs of its month on (``log_months``): heads_up
        # of the last fortnight reads weeks, not years.
        self.refresh(self.log_months(since_utc[:10]) if since_utc else (LOG_FOLDER,))
        where, args = [], []
        for column, value in (("company", company), ("person", person), ("deal", deal),
                              ("kind", kind)):
            if value is not None:
                where.append(f"{column}=?")
                args.append(value)
        if since_utc is not None:
            where.append("utc >= ?")
            args.append(since_utc)
        sql = "SELECT data FROM activities"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY utc DESC, path DESC, line DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        seen, entries = set(), []
        for (data,) in self.db.execute(sql, args):
            entry = _exact(data)
            if entry.get("id") in seen:  # a union merge may repeat a line
                continue
            seen.add(entry.get("id"))
            entries.append(entry)
        return entries

    def log_months(self, first: str | None = None) -> tuple[str, ...]:
        """The folders of the logs that hold every entry of day ``first`` (YYYY-MM-DD, as
        the entry's own time reads) or later, and every amendment of those: the months from
        the one before to the newest. An entry is filed in the month of its own time; an
        amendment in the month it was made where its maker was, never a month before what
        it amends (a merge made in London on 31 March may amend a call of 1 April logged
        in Berlin). All of the logs without ``first``."""
        if first is None:
            return (LOG_FOLDER,)
        try:
            months = os.listdir(self.crm.root / LOG_FOLDER)
        except (FileNotFoundError, NotADirectoryError):
            months = []
        year, month = int(first[:4]), int(first[5:7])
        since = f"{year - 1}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"
        # A folder that is no month (made by hand) is read whatever the period.
        return tuple(sorted(f"{LOG_FOLDER}/{name}" for name in months
                            if not _MONTH.fullmatch(name) or name >= since))

    def entries(self, since_utc: str | None = None, until_utc: str | None = None,
                folders: Sequence[str] = (LOG_FOLDER,)) -> list[dict[str, Any]]:
        """Every activity and move in the logs of ``folders`` (between two UTC times, when
        given), amendments folded in, oldest first (for reports). A report of last month
        reads the months it needs (``log_months``), not years."""
        self.refresh(folders)
        seen, entries = set(), []
        where, args = [], []
        if since_utc:
            where.append("utc >= ?")
            args.append(since_utc)
        if until_utc:
            where.append("utc < ?")
            args.append(until_utc)
        sql = "SELECT data FROM activities" + (" WHERE " + " AND ".join(where) if where else "")
        for (data,) in self.db.execute(sql + " ORDER BY utc, path, line", args):
            entry = _exact(data)
            if entry.get("id") not in seen:
                seen.add(entry.get("id"))
                entries.append(entry)
        return entries

    def period_logs(self, first: str | None, last: str | None
                    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The log folders a period from day ``first`` to ``last`` (as entries' own times
        read them) reads in full, its days' months, and those it reads for their amendments
        alone: the month before and the months after (``log_months``). An entry is filed
        in the month of its own time; a folder that is no month is read in full."""
        every = self.log_months(first)
        if first is None or last is None:
            return every, ()
        month = {folder: folder[len(LOG_FOLDER) + 1:] for folder in every}
        whole = tuple(folder for folder in every if not _MONTH.fullmatch(month[folder])
                      or first[:7] <= month[folder] <= last[:7])
        return whole, tuple(folder for folder in every if folder not in whole)

    def fold_amendments_from(self, entries: list[dict[str, Any]], folders: Sequence[str]
                             ) -> list[tuple[str, str]]:
        """Fold into ``entries`` (as ``entries`` gave them) the amendments filed in the log
        ``folders`` the index has not read: read from their files and not kept. A report of
        November reads October and December only for amendments of its entries (140,000
        lines here, 1 s to index in full). Returns (path, error) of each line there that
        may be an amendment and cannot be read."""
        unread = [folder for folder in folders if not _covers(self._loaded, folder)]
        # Of the months read in full before, the broken lines that may be amendments.
        broken: list[tuple[str, str]] = [
            (path, error) for folder in folders if folder not in unread
            for path, error in self.db.execute(
                "SELECT path, error FROM broken_lines WHERE amending AND substr(path, 1, ?) = ?",
                (len(folder) + 1, f"{folder}/"))]
        by_id = {entry.get("id"): entry for entry in entries}
        found: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
        for path, data in sorted((self._files_as_indexed(unread) if unread else {}).items()):
            if not is_log_path(path):
                continue
            text, undecodable = _decoded(path, data)
            if undecodable and undecodable.amending:
                broken.append((path, undecodable.error))
            for number, line in lines(text):
                if not _may_amend(line):
                    continue
                entry = parse_line(line, path, number)
                if entry is None:
                    continue
                if not isinstance(entry, dict) or not isinstance(entry.get("at"), str):
                    broken.append((path, _broken_message(path, number, entry)))
                    continue
                utc, target = _utc(entry["at"]), entry.get("amends")
                if entry.get("kind") == "amend" and utc and isinstance(target, str) \
                        and target in by_id:
                    found.setdefault(target, []).append((utc, entry.get("id"), _exact(line)))
        for target, extra in found.items():
            kept = [(utc, rid, _exact(data)) for rid, utc, data in self.db.execute(
                "SELECT id, utc, data FROM amendments WHERE amends=?", (target,))]
            # In time order, then by id, as _apply_amendments has SQL order them.
            _refold(by_id[target], [change for _, _, change in sorted(
                kept + extra, key=lambda c: (c[0], c[1] is not None, str(c[1] or "")))])
        return broken

    def task_context(self, named_folders: bool = True) -> tuple[str, ...]:
        """The folders that the context of the tasks (``tasks``) is read from in full: the
        tasks, the logs if one came from an activity (10,000 tasks for companies need not
        read 1,000,000 log lines), and, with ``named_folders``, the folder of each kind of
        record one of them is for (else those records are read by id)."""
        self.refresh((TASK_FOLDER,))
        if self._task_context is None:  # asked again by each read of tasks: one pass, once
            fields = ("deal", "person", "company", "activity")
            named = self.db.execute("SELECT " + ", ".join(
                f"max(json_extract(data, '$.{field}') IS NOT NULL)" for field in fields) +
                " FROM tasks").fetchone()
            self._task_context = tuple([TASK_FOLDER] + [
                LOG_FOLDER if field == "activity" else KINDS[field].plural
                for field, there in zip(fields, named) if there])
        if named_folders:
            return self._task_context
        return tuple(f for f in self._task_context if f in (TASK_FOLDER, LOG_FOLDER))

    def task_context_left_out(self) -> list[tuple[str, str]]:
        """(path, error) of the files of what the tasks last read with their context are
        for that could not be read: those tasks show the id instead of the name."""
        return list(self._named_broken)

    def tasks(self, status: str | None = "open", context: bool = True,
              named_folders: bool = True) -> list[dict[str, Any]]:
        """Task states, each with ``about`` (the name of what it is for) and ``from_note``
        (the first line of the note of the activity it came from), unless not ``context``.
        Without ``named_folders``, what they are for is read by id, not with its whole
        folder: a report, kept once built (a cold task report at 100,000 companies: 1.3 s,
        not 5), where a listing run again and again does better with the folder in the
        index (0.5 s a `task list --all`, not 1)."""
        self.refresh(self.task_context(named_folders) if context else (TASK_FOLDER,))
        if not context:
            return [json.loads(data) for (data,) in self.db.execute(
                "SELECT data FROM tasks" + (" WHERE status=?" if status else ""),
                (status,) if status else ())]
        return self._tasks_with_context("WHERE status=?" if status else "",
                                        (status,) if status else ())

    def task_exists(self, task_id: str) -> bool:
        self.refresh((TASK_FOLDER,))
        return self.db.execute("SELECT 1 FROM tasks WHERE id=?", (task_id,)).fetchone() is not None

    def tasks_with_prefix(self, prefix: str) -> list[dict[str, Any]]:
        self.refresh(self.task_context())
        return self._tasks_with_context("WHERE id LIKE ? ESCAPE '\\' ORDER BY id",
                                        (_like_prefix(prefix),))

    def _tasks_with_context(self, where: str, args: Sequence[str]) -> list[dict[str, Any]]:
        """Tasks with ``about`` (the name of the deal, person or company, most specific
        first) and ``from_note`` (the first activity's note): the notes in one query (one
        per task took 0.1 s for 10,000), the names by id, one read per kind."""
        rows = self.db.execute(
            "SELECT t.data, (SELECT a.data FROM activities a WHERE "
            f"a.id=json_extract(t.data, '$.activity') LIMIT 1) FROM tasks t {where}", args)
        tasks = [(json.loads(data), activity) for data, activity in rows]
        named: dict[str, dict[str, Record]] = {}
        self._named_broken = []
        for kind in ("deal", "person", "company"):
            named[kind], broken = self.records_by_id(kind, (task.get(kind) for task, _ in tasks))
            self._named_broken += broken
        for task, activity in tasks:
            about = None
            for kind in ("deal", "person", "company"):
                if task.get(kind):
                    record = named[kind].get(task[kind]) if isinstance(task[kind], str) else None
                    about = record.name if record else task[kind]
                    break
            task["about"] = about
            task["from_note"] = json.loads(activity).get("note") if activity else None
        return [task for task, _ in tasks]

    def timeline_count(self, *, company: str | None = None, person: str | None = None,
                       deal: str | None = None) -> int:
        self.refresh((LOG_FOLDER,))
        column, value = next((c, v) for c, v in (("company", company), ("person", person),
                                                 ("deal", deal)) if v is not None)
        return self.db.execute(f"SELECT COUNT(DISTINCT id) FROM activities WHERE {column}=?",
                               (value,)).fetchone()[0]

    def broken(self, folders: Sequence[str] = FOLDERS) -> list[tuple[str, str]]:
        """(path, error) of record files in ``folders`` the index could not read, and of
        log lines that are no entry (each left out of every read)."""
        self.refresh(folders)
        found = self.db.execute(
            "SELECT path, error FROM records WHERE error IS NOT NULL UNION ALL "
            "SELECT path, error FROM broken_lines ORDER BY 1, 2").fetchall()
        if self.scan_folders and not self.scan_worktree:  # a narrowed scan knows its folders
            folders = [f for f in folders if _covers(self.scan_folders, f)]
        return [row for row in found if _covers(folders, row[0])]


# Names written since the guard's forms were kept, past which they are made again (80 ms at
# 100,000 companies): a thousand adds or imported rows.
_NEWER_NAMES = 1000


class NameForms:
    """The names of a kind, line by line: ``sorted`` with their words in order (plain
    ratio on two normalised names so is rapidfuzz's token_sort_ratio), ``squashed`` without
    spaces, and the record ids, padded to one width so that the few lines that come close
    are read without splitting 100,000. ``stale``: lines that may be of names gone since;
    a match on one of them must not take the place of a live name."""

    def __init__(self, id_text: str, width: int, sorted_names: list[str],
                 squashed: list[str], kept: tuple[int, int] | None = None) -> None:
        self.id_text, self.width = id_text, width
        self._extra: list[str] = []
        self.sorted, self.squashed = sorted_names, squashed
        self.stale = 0
        self.kept = kept  # (upto, lines) as read from the index, until completed

    @classmethod
    def made(cls, names: Iterable[tuple[str, str]]) -> "NameForms":
        """The forms of these (id, normalised name) pairs."""
        pairs = list(names)
        # Each id as JSON, padded to one width: any id, spaces and line breaks included.
        encoded = [json.dumps(rid) for rid, _ in pairs]
        width = max(map(len, encoded), default=0)
        return cls("".join(e.ljust(width) for e in encoded), width,
                   [sorted_words(norm) for _, norm in pairs],
                   [norm.replace(" ", "") for _, norm in pairs])

    def add(self, rid: str, norm: str) -> None:
        self._extra.append(rid)
        self.sorted.append(sorted_words(norm))
        self.squashed.append(norm.replace(" ", ""))

    def id_at(self, position: int) -> str:
        kept = len(self.sorted) - len(self._extra)
        if position >= kept:
            return self._extra[position - kept]
        return json.loads(self.id_text[position * self.width:(position + 1) * self.width])


class _Rows:
    """Rows of records, their names and their contacts, to be inserted together."""

    def __init__(self) -> None:
        self.records: list[tuple] = []
        self.names: list[tuple] = []
        self.contacts: list[tuple] = []

    def insert_into(self, db: sqlite3.Connection) -> None:
        db.executemany("INSERT INTO records(path, kind, id, name, company, status, stage, "
                       "owner, tags, data) VALUES (?,?,?,?,?,?,?,?,?,?)", self.records)
        db.executemany("INSERT INTO names(path, kind, id, name, folded, norm, company) "
                       "VALUES (?,?,?,?,?,?,?)", self.names)
        db.executemany("INSERT INTO contacts(path, kind, id, type, value) VALUES (?,?,?,?,?)",
                       self.contacts)
        self.records, self.names, self.contacts = [], [], []


def _may_amend(line: str) -> bool:
    """Whether a log line may be an amendment: an amend line names its kind, as it is or
    escaped (\\u0061mend)."""
    return "amend" in line or "\\u" in line


class _BrokenLine(NamedTuple):
    """A row of broken_lines."""

    path: str
    line: int
    error: str
    amending: bool  # it may be an amendment (_may_amend)


def _decoded(path: str, data: bytes) -> tuple[str, _BrokenLine | None]:
    """A log's text, and its first line that is not UTF-8, if one is not (the rest read
    with U+FFFD in its place)."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", "replace")
        line = data[:exc.start].count(b"\n") + 1
        return text, _BrokenLine(path, line, f"{path}:{line}: not valid UTF-8 text",
                                 _may_amend(text.split("\n")[line - 1]))


def _broken_message(path: str, line: int, entry: Any) -> str:
    return str(entry) if isinstance(entry, DataError) else \
        f"{path}:{line}: an entry without its time (at)"


def _refold(entry: dict[str, Any], changes: Iterable[dict[str, Any]]) -> None:
    """``entry`` back to what its own line says, then each amendment's ``set`` in the
    order given; what its line said is kept as its ``original`` if any was applied."""
    original = entry.pop("original", None) or \
        {k: entry.get(k) for k in ("company", "person", "deal")}
    for key, value in original.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    applied = False
    for change in changes:
        entry.update(change.get("set") or {})
        applied = True
    if applied:
        entry["original"] = original


def _kinds_clause(kinds: Iterable[str], company: str | None) -> tuple[str, list[str]]:
    kinds = list(kinds)
    # +kind: the kind narrows little; the planner is kept to the index of what does (an
    # id, a name), not led to names_kind_norm by the kind alone (40 ms at 100,000 records).
    where = f"+kind IN ({','.join('?' * len(kinds))})"
    args = list(kinds)
    if company is not None:
        where += " AND company=?"
        args.append(company)
    return where, args


PROGRESS_FROM = 5000  # files: below this an index build is quick enough to pass unseen


def _with_progress(items: Iterator[Any], total: int) -> Iterator[Any]:
    """The items, counted on stderr when it is a terminal and the build is a long one (the
    first command in a fresh clone of a large CRM); nothing at all otherwise."""
    import sys

    if total < PROGRESS_FROM or not sys.stderr.isatty():
        yield from items
        return
    step = max(1, total // 100)
    terminal = getattr(sys.stderr, "unguarded", sys.stderr)
    for done, item in enumerate(items, 1):
        if done % step == 0 or done == total:
            terminal.write(f"\rIndexing the CRM (once per clone): {done}/{total} files")
            terminal.flush()
        yield item
    terminal.write("\n")


# json.loads with any option builds a new decoder per call: a tenth of reading 100,000 rows.
_exact = json.JSONDecoder(parse_float=Decimal).decode  # numbers exactly as stored


def _with_an_id(record: Record) -> Record:
    """A hand edit dropped the id: the record is listed under its file name (check says so)."""
    if isinstance(record.data.get("id"), str) and record.data.get("id"):
        return record
    return Record(record.kind, {**record.data, "id": id_of_path(record.path)}, record.path)


def _folders_of(kinds: Iterable[str]) -> tuple[str, ...]:
    """The folders that the records of these kinds live in: all a query about them reads."""
    return tuple(KINDS[kind].plural for kind in kinds)


def _tables_of(folder: str) -> tuple[str, ...]:
    """The tables that the files of a folder fill."""
    top = _folder(folder)
    if top == LOG_FOLDER:
        return ("activities", "amendments")
    if top == TASK_FOLDER:
        return ("task_events",)
    return ("records", "names", "contacts")


def _folder(path: str) -> str:
    return path.split("/", 1)[0]


def _covers(folders: Iterable[str], path: str) -> bool:
    """Whether ``path`` (a file or a folder) lies in one of ``folders``: top folders, or
    months of the logs ("activities/2025-11")."""
    folders = folders if isinstance(folders, (set, frozenset)) else set(folders)
    top = _folder(path)
    if top in folders:
        return True
    return top == LOG_FOLDER and "/".join(path.split("/", 2)[:2]) in folders


_MONTH = re.compile(r"\d{4}-\d\d")


def _indexed(path: str) -> bool:
    return bool(kind_of_path(path)) or is_log_path(path) or is_task_path(path)


_PLAIN_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", re.ASCII)


def _utc(stamp: str) -> str | None:
    """A sortable UTC form of a stored timestamp: entries from many time zones interleave."""
    if len(stamp) == 25 and stamp.endswith("+00:00") and stamp[10] == "T" and \
            _PLAIN_UTC.fullmatch(stamp):
        return stamp[:19]  # most stamps are UTC already: no datetime needed
    from datetime import datetime, timezone

    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
