"""How fast deals move: days in each stage, the sales cycle (created to won) and the
touches (activities) it took, all from the stage history in the log."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from statistics import mean, median
from typing import Any

from crmctl.reports import Options
from crmctl.reports.common import counted, within
from crmctl.reports.document import COUNT, DAYS, Column, Report, Table
from crmctl.reports.snapshot import Snapshot, utc_of
from crmctl.store import Crm

STATS = [Column("count", "DEALS", COUNT), Column("average_days", "AVERAGE DAYS", DAYS),
         Column("median_days", "MEDIAN DAYS", DAYS)]


def _days(start: Any, end: Any) -> Decimal | None:
    try:
        seconds = (datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start)))
    except (TypeError, ValueError):
        return None
    return Decimal(seconds.total_seconds() / 86400).quantize(Decimal("0.1"))


def _stats(values: list[Decimal]) -> dict[str, Any]:
    if not values:
        return {"count": 0, "average_days": None, "median_days": None}
    tenth = Decimal("0.1")
    return {"count": len(values),
            "average_days": Decimal(mean(values)).quantize(tenth, rounding=ROUND_HALF_UP),
            "median_days": Decimal(median(values)).quantize(tenth, rounding=ROUND_HALF_UP)}


def stage_spans(deal, moves: list[dict[str, Any]]) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    """(stage, entered, left) for each stage the deal has left, oldest first."""
    spans = []
    stage = moves[0].get("from") if moves else deal.get("stage")
    entered = deal.get("created")
    for move in moves:
        spans.append((str(stage), str(entered), str(move.get("at"))))
        stage, entered = move.get("to"), move.get("at")
    return spans


def build(crm: Crm, snapshot: Snapshot, options: Options) -> Report:
    """Stage times count the stages left in the period; cycle and touches the deals won in
    it. The period defaults to the last 365 days."""
    first, last = options.period(365)
    whose = f" owned by {options.owner}" if options.owner else ""
    report = Report("velocity", f"Velocity{whose}", options.today, since=first, until=last)
    deals = [d for d in snapshot.records("deal")
             if options.owner is None or d.get("owner") == options.owner]
    moves: dict[str, list[dict[str, Any]]] = {}
    touches: dict[str, list[str]] = {}
    for entry in snapshot.entries():
        if entry.get("kind") == "move" and entry.get("field") == "stage" and entry.get("deal"):
            moves.setdefault(str(entry["deal"]), []).append(entry)
        elif entry.get("kind") == "activity":
            touches.setdefault(str(entry.get("company")), []).append(utc_of(entry))
    in_stage: dict[str, list[Decimal]] = {}
    cycles, touch_counts = [], []
    won = {s.id for s in crm.process.stages if s.closed == "won"}
    for deal in deals:
        history = moves.get(deal.id, [])
        for stage, entered, left in stage_spans(deal, history):
            days = _days(entered, left)
            if days is not None and within(left, first, last):
                in_stage.setdefault(stage, []).append(days)
        if deal.get("stage") in won and within(deal.get("closed_at"), first, last):
            days = _days(deal.get("created"), deal.get("closed_at"))
            if days is not None:
                cycles.append(days)
            start, end = utc_of({"at": deal.get("created")}), utc_of({"at": deal.get("closed_at")})
            touch_counts.append(Decimal(sum(1 for t in touches.get(str(deal.get("company")), [])
                                            if start <= t <= end)))
    if not in_stage and not cycles:
        report.empty = (f"No deal{whose} left a stage or was won from {first.isoformat()} "
                        f"to {last.isoformat()}.")
        return report
    order = [s.id for s in crm.process.stages if not s.closed]
    stage_rows = [{"stage": s, **_stats(in_stage.get(s, []))} for s in order]
    stage_rows += [{"stage": s, **_stats(v)} for s, v in sorted(in_stage.items())
                   if s not in order]  # stages since renamed or closed ones reopened
    cycle, touched = _stats(cycles), _stats(touch_counts)
    report.facts = {"won": cycle["count"], "cycle_average_days": cycle["average_days"],
                    "cycle_median_days": cycle["median_days"],
                    "touches_average": touched["average_days"],
                    "touches_median": touched["median_days"]}
    if cycles:
        report.summary.append(
            f"{counted(cycle['count'], 'deal')} won: a sales cycle of {cycle['average_days']} days on "
            f"average ({cycle['median_days']} median), {touched['average_days']} touches on "
            f"average ({touched['median_days']} median).")
    report.tables.append(Table("stages", "Days in each stage (stages left in the period)",
                               [Column("stage", "STAGE"), *STATS], stage_rows,
                               bar="average_days"))
    report.tables.append(Table(
        "cycle", "Won deals: sales cycle and touches",
        [Column("measure", "MEASURE"), Column("count", "DEALS", COUNT),
         Column("average_days", "AVERAGE", DAYS), Column("median_days", "MEDIAN", DAYS)],
        [{"measure": "cycle length (created to won), days", **cycle},
         {"measure": "touches (activities with the company) to close",
          **{k: v for k, v in touched.items()}}], empty="no deal won in the period"))
    return report
