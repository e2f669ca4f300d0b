"""Small helpers the reports share: days of entries, people's names, shares."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Mapping

from crmctl.store import Crm


def day_of(stamp: Any) -> date | None:
    """The calendar day of a stored moment, as the person who logged it saw it."""
    try:
        return datetime.fromisoformat(str(stamp)).date()
    except ValueError:
        return None


def within(stamp: Any, first: date, last: date) -> bool:
    day = day_of(stamp)
    return day is not None and first <= day <= last


def user_name(crm: Crm, user_id: str | None) -> str:
    if not user_id:
        return "(nobody)"
    user = crm.process.user(user_id)
    return user.name if user else user_id


def share(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """part/whole in percent to one decimal, or None when there is no whole."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def by_who(entry: Mapping[str, Any]) -> str:
    return str(entry.get("by") or "(unknown)")


def counted(count: int, word: str, plural: str | None = None) -> str:
    """'1 note', '3 notes', '2 companies'."""
    if count == 1:
        return f"1 {word}"
    return f"{count} {plural or word + 's'}"
