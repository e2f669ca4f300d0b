"""What reports read: the CRM as it is now (from the index), or as it stood on a past day.

The past comes from git: the last commit made by the end of that day, its record files and
logs read through one ``git cat-file --batch``. No web CRM can show last quarter's pipeline
from its audit log; a CRM kept in git can, exactly.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Iterable

from crmctl.activities import LOG_FOLDER, is_log_path, parse_log
from crmctl.dates import _localize
from crmctl.errors import DataError, UserError
from crmctl.gitops import GitError, Identity
from crmctl.model import KINDS, Record
from crmctl.store import RECORD_FOLDERS, Crm, id_of_path, kind_of_path
from crmctl.tasks import TASK_FOLDER, fold as fold_tasks, is_task_path


def _deal_problem(deal: Record, crm: Crm) -> str | None:
    for field in ("amount", "probability"):
        value = deal.get(field)
        if value is not None and (isinstance(value, bool)
                                  or not isinstance(value, (int, Decimal))):
            return f"{field} {value!r} is not a number"
    probability = deal.get("probability")
    if probability is not None and not 0 <= probability <= 100:
        return f"probability {probability} is not a percentage from 0 to 100"
    stage = deal.get("stage")
    if not isinstance(stage, str) or crm.process.stage(stage) is None:
        return f"stage {stage!r} is not a stage of crm.yaml" if stage else "no stage"
    return None


class Snapshot:
    """Records, log entries (amendments folded in, oldest first) and task states.

    The index reads only the folders a report asks for: a first pipeline report in a fresh
    clone reads deals/ alone. What could not be read in them is what the report left out."""

    def __init__(self, crm: Crm):
        self.crm = crm
        self.broken: list[tuple[str, str]] = []  # deals a report cannot use (_sane)
        self.folders: list[str] = []  # of the index, read by this report
        # The entries of each period asked for: the goals report asks once per goal and
        # owner, and the logs around a period are read from git, not kept by the index.
        self._periods: dict[tuple[date | None, date | None], list[dict[str, Any]]] = {}

    def left_out(self) -> list[tuple[str, str]]:
        """(path, problem) of each file or line the report had to leave out."""
        return self.crm.index.broken(self.folders) + self.broken

    def _reading(self, *folders: str) -> None:
        self.folders += [folder for folder in folders if folder not in self.folders]

    def records(self, kind: str) -> list[Record]:
        self._reading(KINDS[kind].plural)
        return self._sane(kind, self.crm.index.select(kind))

    def _sane(self, kind: str, records: list[Record]) -> list[Record]:
        """Deals whose figures a report can use; the others are left out and named, never
        counted as 0 (a hand edit's "12,000" or probability 150; check says the same)."""
        if kind != "deal":
            return records
        kept = []
        for deal in records:
            problem = _deal_problem(deal, self.crm)
            if problem:
                self.broken.append((deal.path, f"{deal.path}: {problem}"))
            else:
                kept.append(deal)
        return kept

    def records_by_id(self, kind: str, ids: Iterable[str]) -> dict[str, Record]:
        """The records of a kind with these ids: a report that needs a few of a folder's
        records (the companies of a month's calls) reads those alone."""
        found, broken = self.crm.index.records_by_id(kind, ids)
        self.broken += broken
        return found

    def entries(self, first: date | None = None, last: date | None = None) -> list[dict[str, Any]]:
        """Log entries, oldest first; with ``first``/``last`` only those near those days (a
        day's margin either side for time zones: callers still filter by each entry's own
        day). A report of last month reads the logs of that month, and the logs around it
        for their amendments alone, not years."""
        if (first, last) in self._periods:
            return self._periods[first, last]
        since = f"{first - timedelta(days=1)}T00:00:00" if first else None
        until = f"{last + timedelta(days=2)}T00:00:00" if last else None
        index = self.crm.index
        whole, amending = index.period_logs(first.isoformat() if first else None,
                                            last.isoformat() if last else None)
        self._reading(*whole)
        entries = index.entries(since, until, whole)
        self.broken += index.fold_amendments_from(entries, amending)
        self._periods[first, last] = entries
        return entries

    def tasks(self) -> list[dict[str, Any]]:
        # Each task's context (what it is for, the note it came from) is read from the
        # folders of what the tasks name: what is broken there may be missing from it.
        self._reading(*self.crm.index.task_context(named_folders=False))
        tasks = self.crm.index.tasks(status=None, named_folders=False)
        self.broken += self.crm.index.task_context_left_out()
        return tasks


class PastSnapshot(Snapshot):
    """The CRM as the last commit made by the end of ``day`` left it."""

    def __init__(self, crm: Crm, day: date, now: datetime):
        self.crm = crm
        end = _localize(datetime.combine(day + timedelta(days=1), time()), now)
        commit = state_at(crm, end)
        if not commit:
            first = crm.git.text("log", "--reverse", "--format=%ad", "--date=short").split()
            raise UserError(f"the CRM has no history on {day.isoformat()}",
                            f"its first change is from {first[0]}" if first else None)
        self.commit = commit
        listing = crm.git.text("ls-tree", "-r", "--name-only", commit, "--",
                               *RECORD_FOLDERS, LOG_FOLDER, TASK_FOLDER).split("\n")
        paths = [p for p in listing if p]
        texts = dict(zip(paths, crm.git.read_blobs(f"{commit}:{p}" for p in paths)))
        self.broken = []
        self._records: dict[str, list[Record]] = {}
        entries, amendments, events = [], [], []
        for path, data in texts.items():
            kind = kind_of_path(path)
            if kind is not None:
                try:
                    self._records.setdefault(kind, []).append(crm.parse(path, data))
                except DataError as exc:
                    self.broken.append((path, exc.message))
            elif is_log_path(path) or is_task_path(path):
                for _, entry in parse_log(data.decode("utf-8", "replace"), path):
                    if isinstance(entry, DataError):
                        continue
                    if is_task_path(path):
                        events.append(entry)
                    elif entry.get("kind") == "amend":
                        amendments.append(entry)
                    else:
                        entries.append(entry)
        self._entries = _folded(entries, amendments)
        events.sort(key=lambda e: str(e.get("at")))
        self._tasks = list(fold_tasks(events).values())

    def left_out(self) -> list[tuple[str, str]]:
        return self.broken

    def records(self, kind: str) -> list[Record]:
        return self._sane(kind, sorted(self._records.get(kind, []), key=lambda r: r.name.lower()))

    def records_by_id(self, kind: str, ids: Iterable[str]) -> dict[str, Record]:
        wanted = set(ids)  # each the file named by it, as Index.records_by_id has them
        return {id_of_path(r.path): r for r in self._records.get(kind, [])
                if id_of_path(r.path) in wanted}

    def entries(self, first: date | None = None, last: date | None = None) -> list[dict[str, Any]]:
        return self._entries

    def tasks(self) -> list[dict[str, Any]]:
        return self._tasks


def state_at(crm: Crm, end: datetime) -> str | None:
    """The tree of the CRM made of every change committed before ``end``.

    Two clones' work of the same day may sit on two branches that a later sync merged: the
    tips of what was committed by ``end`` are merged (as ``git merge-tree`` would, the logs
    by their union driver), so neither side's work of that day is missing.
    """
    listed = crm.git.text("rev-list", "--parents", f"--before={end.isoformat()}", "HEAD")
    if not listed:
        return None
    commits, parents = [], set()
    for line in listed.splitlines():
        commit, *its_parents = line.split()
        commits.append(commit)
        parents.update(its_parents)
    tips = [c for c in commits if c not in parents]
    merged = tips[0]
    for tip in tips[1:]:
        try:
            tree = crm.git.text("merge-tree", "--write-tree", merged, tip).split()[0]
        except GitError:  # a real conflict, or a git without merge-tree: the newest side
            continue
        merged = crm.git.text("commit-tree", tree, "-p", merged, "-p", tip, "-m",
                              "crmctl report --as-of", env=Identity("crmctl", "crmctl@localhost").env())
    return merged


def _folded(entries: list[dict[str, Any]], amendments: list[dict[str, Any]]) -> list[dict]:
    by_id: dict[str, dict[str, Any]] = {}
    for entry in entries:
        by_id.setdefault(str(entry.get("id")), entry)  # a union merge may repeat a line
    for amend in sorted(amendments, key=lambda a: (str(a.get("at")), str(a.get("id")))):
        target = by_id.get(str(amend.get("amends")))
        if target is not None:
            target.update(amend.get("set") or {})
    return sorted(by_id.values(), key=lambda e: utc_of(e))


def utc_of(entry: dict[str, Any]) -> str:
    """An entry's moment in UTC as sortable text; entries in any zone compare right."""
    try:
        moment = datetime.fromisoformat(str(entry.get("at")))
    except ValueError:
        return ""
    return moment.astimezone(timezone.utc).isoformat()
