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
    snapshot = (PastSnapshot(crm, options.as_of, options.now) if options.as_of
                else Snapshot(crm))
    module = importlib.import_module(f"crmctl.reports.{name}")
    report = module.build(crm, snapshot, options)
    report.broken = list(snapshot.broken)
    return report
