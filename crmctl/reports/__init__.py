"""Reports for managers and for cron to mail: each module builds a ``Report`` from a snapshot.

``build`` imports only the report asked for, so ``crmctl report tasks`` pays for nothing else.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from crmctl.errors import UserError

if TYPE_CHECKING:
    from crmctl.reports.document import Report
    from crmctl.reports.snapshot import Snapshot
    from crmctl.store import Crm

# name: what it shows (the help lists these)
REPORTS = {
    "pipeline": "open deals per stage: count, amount, weighted amount",
    "forecast": "open deals by expected close month, per owner",
    "activity": "attempts, contacts and notes per person, type and lead source",
    "tasks": "each assignee's due and overdue tasks",
    "stale": "idle deals, deals with no next task, companies nobody contacted",
    "winloss": "deals won and lost: amounts, win rate, lost reasons, per owner",
    "funnel": "companies per status, conversion, response rate per source",
    "sources": "per lead source and campaign: leads, reached, deals, won revenue",
    "velocity": "days in each stage, sales cycle, touches to close",
    "goals": "each owner against the targets in crm.yaml",
    "calibration": "each owner's probabilities against how deals closed",
}
AS_OF = ("pipeline", "forecast", "funnel")       # can be rebuilt from git history
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Options:
    today: date
    now: datetime
    since: date | None = None
    until: date | None = None
    as_of: date | None = None
    owner: str | None = None
    assignee: str | None = None
    days: int = 0
    idle_days: int = DEFAULT_DAYS

    def period(self, default_days: int = DEFAULT_DAYS) -> tuple[date, date]:
        """(first day, last day) of the period, both included: by default the last 30 days
        (or ``default_days``) up to today."""
        until = self.until or self.today
        return self.since or until - timedelta(days=default_days - 1), until


def build(crm: "Crm", name: str, options: Options) -> "Report":
    return _cached(crm, name, options)[0]


def build_rendered(crm: "Crm", name: str, options: Options, fmt: str) -> tuple["Report", str]:
    """The report and its rendering in ``fmt`` (text, md, csv, json, html), both kept by
    the report cache: the same question asked again is answered from the kept text."""
    from crmctl.reports.formats import render

    report, cache = _cached(crm, name, options)
    text = report.renderings.get(fmt)
    if text is None:
        text = report.renderings[fmt] = render(report, fmt)
        if cache is not None:
            cache.store(report)
    return report, text


def _cached(crm: "Crm", name: str, options: Options) -> tuple["Report", "ReportCache | None"]:
    from crmctl.reports.snapshot import PastSnapshot, Snapshot

    if name not in REPORTS:
        raise UserError(f"unknown report {name!r} (reports: {', '.join(REPORTS)})")
    if options.as_of is not None and name not in AS_OF:
        raise UserError(f"--as-of is for {', '.join(AS_OF)}",
                        f"{name} reads a period: use --since and --until")
    if options.since and options.since > (options.until or options.today):
        raise UserError(f"--since {options.since} is after --until {options.until}"
                        if options.until else
                        f"--since {options.since} is after today ({options.today})",
                        "the period runs from --since to --until, today by default")
    for user in (options.owner, options.assignee):
        if user is not None and crm.process.users:
            crm.user_or_error(user)
    if options.as_of is not None:  # from git history and branch tips: not cached
        return _built(crm, name, options, PastSnapshot(crm, options.as_of, options.now)), None
    cache = ReportCache(crm, name, options)
    report = cache.load()
    if report is None:
        report = _built(crm, name, options, Snapshot(crm))
        cache.store(report)
    return report, cache


def _built(crm: "Crm", name: str, options: Options, snapshot: "Snapshot") -> "Report":
    module = importlib.import_module(f"crmctl.reports.{name}")
    report = module.build(crm, snapshot, options)
    report.broken = list(dict.fromkeys(snapshot.left_out()))  # a deal asked twice: once
    return report


class ReportCache:
    """Built reports, kept in the CRM's machine-local folder (never committed) and keyed by
    the report, its options, the day, and the index's exact state (``Index.state``): the
    same question about the same files gets the same answer without reading them again,
    and any commit, pull, hand edit or crm.yaml change asks a new question."""

    KEEP = 32  # the newest built reports kept; older ones are deleted
    FORMAT = 2  # of what is kept: a Report of another shape is never read back

    def __init__(self, crm: "Crm", name: str, options: Options):
        import hashlib

        from crmctl import __version__

        self.folder = crm.state_dir / "reports"
        state = crm.index.state()
        fields = {**options.__dict__, "now": None}  # reports read the day, not the hour
        self.path = None if state is None else self.folder / (
            hashlib.sha256(repr((__version__, self.FORMAT, state, name, sorted(fields.items())))
                           .encode()).hexdigest()[:32] + ".pickle")

    def load(self) -> "Report | None":
        import pickle

        if self.path is None:
            return None
        try:
            return pickle.loads(self.path.read_bytes())
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError,
                TypeError, ValueError):
            return None  # absent, or written by another version: build it again

    def store(self, report: "Report") -> None:
        import pickle

        from crmctl.journal import atomic_write

        if self.path is None:
            return
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL))
            kept = sorted(self.folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime)
            for old in kept[:-self.KEEP]:
                old.unlink(missing_ok=True)
        except OSError:
            pass  # a cache that cannot be written costs time next run, nothing else
