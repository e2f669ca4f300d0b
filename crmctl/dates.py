"""Dates and times as people type them, read against an explicit ``now``."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from crmctl.errors import UserError

_RELATIVE = re.compile(r"^\+(\d+)([dw])$")


def parse_date(text: str, now: datetime) -> date:
    """YYYY-MM-DD, today, tomorrow, yesterday, +3d, +2w."""
    value = text.strip().lower()
    today = now.date()
    if value == "today":
        return today
    if value == "tomorrow":
        return today + timedelta(days=1)
    if value == "yesterday":
        return today - timedelta(days=1)
    match = _RELATIVE.match(value)
    if match:
        count = int(match.group(1))
        return today + timedelta(days=count * (7 if match.group(2) == "w" else 1))
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{text!r} is not a date",
                        "use YYYY-MM-DD, today, tomorrow, yesterday, +3d or +2w") from None


def stamp(moment: datetime) -> str:
    """The stored form of a moment: ISO 8601 to the second, with its UTC offset."""
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.isoformat(timespec="seconds")
