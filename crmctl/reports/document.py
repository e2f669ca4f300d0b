"""A report as data: titled tables of plain values, rendered later in any format.

Each report module computes a ``Report``; ``reports.formats`` turns it into text, Markdown,
CSV, JSON, HTML or a mail. Keeping the numbers apart from their presentation is what lets a
test check a total once and trust it in every format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping, Sequence

# A row with this key set is data (JSON, CSV) that would only repeat itself on a page.
QUIET = "_quiet"

# How a column's values are shown (JSON and CSV always carry the plain value).
TEXT, COUNT, MONEY, PERCENT, DAYS, NUMBER = "text", "count", "money", "percent", "days", "number"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    show: str = TEXT

    @property
    def numeric(self) -> bool:
        return self.show != TEXT


@dataclass
class Table:
    """Rows under a title. Tables sharing a ``key`` are one dataset in JSON and CSV (the
    pipeline of each currency, say), so every row carries the fields that tell them apart."""

    key: str
    title: str
    columns: Sequence[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: Mapping[str, Any] | None = None   # a totals row, shown only to people
    bar: str | None = None                   # a numeric column also drawn as a bar
    empty: str = "none"                      # said instead of an empty table

    @property
    def shown_rows(self) -> list[dict[str, Any]]:
        return [row for row in self.rows if not row.get(QUIET)]


@dataclass
class Report:
    name: str
    title: str
    today: date
    since: date | None = None
    until: date | None = None
    as_of: date | None = None
    summary: list[str] = field(default_factory=list)   # sentences above the tables
    facts: dict[str, Any] = field(default_factory=dict)  # the summary's numbers, for JSON
    tables: list[Table] = field(default_factory=list)
    empty: str | None = None      # set when there is nothing to show: what to say instead
    broken: list[tuple[str, str]] = field(default_factory=list)  # (path, error) left out
    # Format -> the report rendered in it, kept with the built report by the report cache
    # (10,000 rows of tasks took 0.27 s to render: a warm report renders nothing again).
    renderings: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def heading(self) -> str:
        if self.as_of is not None:
            when = f"as of {self.as_of.isoformat()}"
        elif self.since is not None:
            when = f"{self.since.isoformat()} to {(self.until or self.today).isoformat()}"
        else:
            when = (self.until or self.today).isoformat()
        return f"{self.title} ({when})"

    @property
    def incomplete(self) -> str | None:
        if not self.broken:
            return None
        count = len(self.broken)
        files = "1 file could not be read and is" if count == 1 else \
            f"{count} files could not be read and are"
        return (f"Incomplete: {files} left out (run crmctl check): "
                + ", ".join(p for p, _ in self.broken))

    def datasets(self) -> dict[str, list[dict[str, Any]]]:
        """The rows of every table, merged by key, in order: what JSON and CSV carry."""
        merged: dict[str, list[dict[str, Any]]] = {}
        for table in self.tables:
            merged.setdefault(table.key, []).extend(
                {k: v for k, v in row.items() if k != QUIET} for row in table.rows)
        return merged
