"""The record kinds and the frozen values that carry records and their source file.

They are NamedTuples, and Record a read-only class of its own, not dataclasses: importing
dataclasses (which imports inspect) and building these ten frozen ones took ~10 ms of every
command, a seventh of a `task add` at 100,000 records.
"""

from __future__ import annotations

import json
import os
import re
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Mapping, NamedTuple


# A string no value holds (drawn once per process; the index writes 230,000 records in a
# row): it stands in for a number until the text is written.
_NUMBER_MARK = os.urandom(6).hex()
_MARKED = re.compile(f'"({_NUMBER_MARK}:\\d+)"')


def format_decimal(value: Decimal) -> str:
    """12000 for Decimal('12000.00'), 12.5 for Decimal('12.50'); never an exponent."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def exact_json(obj: Any, **options: Any) -> str:
    """``json.dumps`` that writes each Decimal as its exact digits: through a float,
    999999999999999.9999 would become 1e15 (readers that keep decimals, like Python's
    ``parse_float=Decimal``, get back exactly what was typed)."""
    digits: dict[str, str] = {}
    fallback = options.pop("default", None)

    def default(value: Any) -> Any:
        if isinstance(value, Decimal) and value.is_finite():
            key = f"{_NUMBER_MARK}:{len(digits)}"
            digits[key] = (str(int(value)) if value == value.to_integral_value()
                           else format(value.normalize(), "f"))
            return key
        if fallback is not None:
            return fallback(value)
        raise TypeError(f"{type(value).__name__} is not JSON")

    text = json.dumps(obj, default=default, **options)
    if not digits:
        return text
    return _MARKED.sub(lambda m: digits[m.group(1)], text)


class Kind(NamedTuple):
    name: str        # company
    plural: str      # companies: also the folder
    id_prefix: str   # for ids of names with no Latin letters: company-3f908597


KINDS: dict[str, Kind] = {
    "company": Kind("company", "companies", "company"),
    "person": Kind("person", "people", "person"),
    "deal": Kind("deal", "deals", "deal"),
}
KIND_BY_FOLDER = {kind.plural: kind for kind in KINDS.values()}


def kind_named(word: str) -> Kind | None:
    """'company', 'companies', 'people', 'person', 'deal', 'deals' -> the Kind."""
    return KINDS.get(word) or KIND_BY_FOLDER.get(word)


class Record:
    """One company, person or deal as it stands in its file.

    ``data`` holds typed values in file order; ``path`` is relative to the CRM folder and
    ``lines`` maps each top-level field to its line, so every error can say ``path:line``.
    """

    __slots__ = ("kind", "data", "path", "lines")
    kind: str
    data: Mapping[str, Any]
    path: str
    lines: Mapping[str, int]

    def __init__(self, kind: str, data: Mapping[str, Any], path: str,
                 lines: Mapping[str, int] | None = None):
        setter = object.__setattr__
        setter(self, "kind", kind)
        setter(self, "data", MappingProxyType(dict(data)))
        setter(self, "path", path)
        setter(self, "lines", {} if lines is None else lines)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a Record is read-only: cannot set {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (self.kind, dict(self.data), self.path, self.lines) == \
            (other.kind, dict(other.data), other.path, other.lines)

    __hash__ = None  # type: ignore[assignment]  # its data is a mapping

    def __reduce__(self) -> tuple[Any, ...]:
        """copy, deepcopy and pickle make it anew: it cannot be set attribute by attribute."""
        return Record, (self.kind, dict(self.data), self.path, self.lines)

    def __repr__(self) -> str:
        return f"Record(kind={self.kind!r}, data={dict(self.data)!r}, path={self.path!r})"

    @property
    def id(self) -> str:
        return str(self.data.get("id", ""))

    @property
    def name(self) -> str:
        return str(self.data.get("name", ""))

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def line_of(self, key: str) -> int:
        return self.lines.get(key, 1)


class Stage(NamedTuple):
    id: str
    probability: Any
    closed: str | None = None
    rotting_days: int | None = None


class ActivityType(NamedTuple):
    id: str
    contact: str
    direction: str = "none"
    note: str = "optional"
    outcomes: tuple[str, ...] = ()


class User(NamedTuple):
    id: str
    name: str
    email: str | None = None


class Rules(NamedTuple):
    """The rules: section of crm.yaml; an absent rule is off."""

    deal_details_required_from: str | None = None
    do_not_contact_status: str | None = None
    first_contact_promotes: tuple[str, str] | None = None
    heads_up_days: int = 0
    inactive_statuses: tuple[str, ...] = ()  # companies no longer worked


class Workflow(NamedTuple):
    """A rule of crm.yaml's workflows: on ``trigger`` (with ``value``), make a task."""

    id: str
    trigger: str            # deal_enters | added | assigned
    value: str              # the stage, or the kind of record ("any" for assigned)
    status: str | None      # added: only records with this status
    text: str
    due: str | None = None
    priority: str = "normal"
    assign: str = "owner"


class Route(NamedTuple):
    when: Mapping[str, Any]
    owner: str

    def matches(self, fields: Mapping[str, Any]) -> bool:
        for name, wanted in self.when.items():
            allowed = wanted if isinstance(wanted, list) else [wanted]
            if str(fields.get(name)) not in allowed:
                return False
        return True


class Goal(NamedTuple):
    """A target of crm.yaml's goals: ``target`` of ``measure`` per week, month or quarter, for
    one owner or (``owner`` None) for each user."""

    id: str
    measure: str          # won_revenue | won_deals | deals_added | activities | contacts | attempts
    per: str              # week | month | quarter
    target: Any
    type: str | None = None    # activities: only this activity type
    owner: str | None = None


class Process(NamedTuple):
    """crm.yaml: the team's statuses, pipeline, activity types, users and own fields."""

    statuses: tuple[str, ...]
    stages: tuple[Stage, ...]
    activity_types: tuple[ActivityType, ...]
    users: tuple[User, ...]
    fields: Mapping[str, Mapping[str, Mapping[str, Any]]]
    currency: str = "USD"
    sync: str = "manual"  # auto: a background sync after every write
    require_signed: bool = False  # check and sync flag commits not signed good
    duplicate_threshold: float = 90
    rules: Rules = Rules()
    workflows: tuple[Workflow, ...] = ()
    routing: tuple[Route, ...] = ()
    goals: tuple[Goal, ...] = ()

    def activity_type(self, type_id: str) -> ActivityType | None:
        return next((t for t in self.activity_types if t.id == type_id), None)

    def stage_index(self, stage_id: str) -> int:
        return self.stage_ids.index(stage_id)

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def stage_or_error(self, stage_id: str) -> Stage:
        from crmctl.errors import UserError

        found = self.stage(stage_id)
        if found is None:
            raise UserError(f"unknown stage {stage_id!r} (stages: {', '.join(self.stage_ids)})",
                            "stages are declared under pipeline: in crm.yaml")
        return found

    def status_or_error(self, status: str) -> str:
        from crmctl.errors import UserError

        if status not in self.statuses:
            raise UserError(f"unknown status {status!r} (statuses: {', '.join(self.statuses)})",
                            "statuses are declared under statuses: in crm.yaml")
        return status

    def user(self, user_id: str) -> User | None:
        return next((u for u in self.users if u.id == user_id), None)

    @property
    def stage_ids(self) -> list[str]:
        return [s.id for s in self.stages]

    @property
    def user_ids(self) -> list[str]:
        return [u.id for u in self.users]
