"""Dates and times as people type them, read against an explicit ``now``.

ISO forms are read by the standard library. Everything else ("yesterday 15:30", "friday",
"next monday", "+3d", "in 11 months") goes to dateparser, a well-kept library that knows
these forms; it is imported only when such a form is typed (~50 ms), never at start-up.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from crmctl.errors import UserError

# "+3d", "+2w", "-1m": shorthands dateparser does not read; spelled out for it.
_SHORTHAND = re.compile(r"^([+-])\s*(\d+)\s*([dwmy])$")
_UNITS = {"d": "days", "w": "weeks", "m": "months", "y": "years"}
# "12/01/2026", "01.12.26", "12/01": day first or month first depends on who typed it, and a
# wrong guess files a call a month away. Refused with both readings, never guessed.
_NUMERIC_DATE = re.compile(r"^(\d{1,4})[/.](\d{1,2})(?:[/.](\d{1,4}))?[/.]?(?=$|[\sT])")
EXAMPLES = "e.g. 2026-11-25, 2026-11-25 15:30, yesterday 15:30, friday, +3d, in 2 weeks"


def _refuse_numeric(text: str, now: datetime) -> None:
    match = _NUMERIC_DATE.match(text)
    if not match:
        return
    first, second, year = match.groups()
    if len(first) == 4:  # 2026/12/01 is year first everywhere
        readings = [(int(first), int(second), int(year or 0))]
    else:
        full = now.year if year is None else int(year) + (2000 if len(year) <= 2 else 0)
        readings = [(full, int(second), int(first)), (full, int(first), int(second))]
    valid = []
    for y, m, d in dict.fromkeys(readings):
        try:
            valid.append(date(y, m, d).isoformat())
        except ValueError:
            pass
    rest = text[match.end():]
    if not valid:
        raise UserError(f"{text!r} is not a date", EXAMPLES)
    if len(valid) == 1:
        raise UserError(f"{text!r}: write dates year first", f"write it as {valid[0]}{rest}")
    raise UserError(f"{text!r} could be day first or month first",
                    "write it as " + " or ".join(f"{v}{rest}" for v in valid))


def _natural(text: str, now: datetime, prefer: str) -> datetime | None:
    _refuse_numeric(text.strip(), now)
    quick = _in_days(text.strip().lower(), now.replace(tzinfo=None))
    if quick is not None:
        return quick
    import dateparser

    match = _SHORTHAND.match(text.strip().lower())
    if match:
        sign, count, unit = match.groups()
        text = f"in {count} {_UNITS[unit]}" if sign == "+" else f"{count} {_UNITS[unit]} ago"
    # Read against ``now``'s own wall clock, so "today" is the same day for every command
    # that is given the same ``now``; _localize() then attaches an offset.
    return dateparser.parse(text, languages=["en"], settings={
        "RELATIVE_BASE": now.replace(tzinfo=None), "PREFER_DATES_FROM": prefer,
        "RETURN_AS_TIMEZONE_AWARE": False,
        "DATE_ORDER": "YMD"})


_DAYS_AWAY = re.compile(r"^(?:([+-])\s*(\d+)\s*([dw])|in\s+(\d+)\s+(day|week)s?)$")
_NAMED_DAYS = {"today": 0, "now": 0, "tomorrow": 1, "yesterday": -1}


def _in_days(text: str, base: datetime) -> datetime | None:
    """Today, tomorrow, yesterday, +3d, -2w, in 5 days: the forms typed after every call,
    read here at once; dateparser alone costs 0.1-0.3 s to start."""
    if text in _NAMED_DAYS:
        return base + timedelta(days=_NAMED_DAYS[text])
    match = _DAYS_AWAY.match(text)
    if not match:
        return None
    sign, count, unit, in_count, in_unit = match.groups()
    days = int(count or in_count) * (7 if (unit or in_unit)[0] == "w" else 1)
    return base + timedelta(days=-days if sign == "-" else days)


def parse_moment(text: str, now: datetime, prefer: str = "past") -> datetime:
    """A point in time with its UTC offset; a bare date means its start, in ``now``'s zone."""
    value = text.strip()
    if not value:
        raise UserError("an empty date or time", EXAMPLES)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = _natural(value, now, prefer)
        if moment is None:
            raise UserError(f"{text!r} is not a date or time I can read", EXAMPLES) from None
    if moment.tzinfo is None:
        moment = _localize(moment, now)
    return moment


def _localize(naive: datetime, now: datetime) -> datetime:
    """A wall-clock time in ``now``'s zone. When ``now`` is this machine's local time, the
    zone's rules give the offset in force on that date (summer or winter time); a ``now``
    given with another offset ($CRMCTL_NOW) lends its offset as it is."""
    if now.utcoffset() == now.astimezone().utcoffset():
        return naive.astimezone()
    return naive.replace(tzinfo=now.tzinfo)


def parse_date(text: str, now: datetime, prefer: str = "future") -> date:
    """A calendar day: YYYY-MM-DD, today, tomorrow, friday, +3d, in 11 months, ..."""
    value = text.strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    if re.match(r"^\d{4}-\d{1,2}-\d{1,2}$", value):  # ISO-looking but impossible: 2027-02-30
        raise UserError(f"{text!r} is not a date", EXAMPLES)
    moment = _natural(value, now, prefer) if value else None
    if moment is None:
        raise UserError(f"{text!r} is not a date", EXAMPLES)
    return moment.date()


def start_of_day(day: date, now: datetime) -> datetime:
    """Midnight at the start of ``day`` in ``now``'s zone."""
    return _localize(datetime(day.year, day.month, day.day), now)


def stamp(moment: datetime) -> str:
    """The stored form of a moment: ISO 8601 to the second, with its UTC offset."""
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return moment.isoformat(timespec="seconds")
