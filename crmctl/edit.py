"""`crmctl edit`: change any field of a record, in $EDITOR or with --set/--unset, validated
like every other write and committed with an activity-feed message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

from crmctl import yamlio
from crmctl.change import Change
from crmctl.errors import Conflict, DataError, UserError
from crmctl.identity import Actor
from crmctl.model import Record
from crmctl.records import split_assignment, validated, write_updated
from crmctl.resolve import resolve
from crmctl.store import Crm

FIXED = ("id", "created", "updated", "merged")  # what an edit may not change


@dataclass(frozen=True)
class Edited:
    record: Record
    changed: tuple[str, ...]
    commit: str | None
    message: str


def assignments(crm: Crm, record: Record, pairs: Sequence[str],
                unset: Sequence[str]) -> dict[str, Any]:
    """--set FIELD=VALUE and --unset FIELD as changes (None removes a field)."""
    known = crm.record_schema(record.kind)["properties"]
    changes: dict[str, Any] = {}
    for pair in pairs:
        name, value = split_assignment(pair, "title=CTO")
        changes[name] = _typed(known.get(name, {}), value.strip())
    for name in unset:
        changes[name.strip()] = None
    for name in changes:
        if name in FIXED:
            raise UserError(f"{name} cannot be edited", "it is kept by crmctl")
        if name not in known:
            raise UserError(f"unknown {record.kind} field {name!r} (fields: "
                            f"{', '.join(k for k in known if k not in FIXED)})",
                            f"declare it under fields: {record.kind}: in crm.yaml")
    return changes


def _typed(spec: Mapping[str, Any], value: str) -> Any:
    """A list field takes comma-separated values; the schema types the rest."""
    if spec.get("type") == "array" or str(spec.get("$ref", "")).endswith(("/aliases", "/tags")):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def edit(crm: Crm, ref: str, *, actor: Actor, now: datetime, set_: Sequence[str] = (),
         unset: Sequence[str] = (),
         in_editor: Callable[[str, str | None], str | None] | None = None) -> Edited:
    """Apply --set/--unset, or (``in_editor``) let a person edit the file's text.

    ``in_editor(text, error)`` returns the edited text, or None to abandon; it is called
    again with the error while the text does not validate."""
    record = resolve(crm, ref)
    if in_editor is None:
        changes = assignments(crm, record, set_, unset)
    else:  # the editor runs without the CRM lock: nobody waits while a person types
        edited = _from_editor(crm, record, in_editor)
        if edited is None:
            return Edited(record, (), None, "no change")
        changes = edited
    empty = (None, "", [])  # an empty list or text is no value at all
    changes = {k: v for k, v in changes.items()
               if record.get(k) != v and not (v in empty and record.get(k) in empty)}
    if not changes:
        return Edited(record, (), None, "no change")
    with Change(crm, actor.identity, now) as change:
        current = crm.read_path(record.path)
        if current is None or dict(current.data) != dict(record.data):
            raise Conflict(f"{record.kind} {record.name!r} changed while you were editing it",
                           "run crmctl edit again")
        check_references(crm, record, {**record.data, **changes})
        updated = write_updated(change, record, changes)
        message = f'Edit {record.kind} "{record.name}": {", ".join(changes)}'
        records = [f"{record.kind}/{record.id}"] + (
            [f"company/{record.get('company')}"] if record.get("company") else [])
        commit = change.commit(message, records)
    return Edited(updated, tuple(changes), commit, message)


def _from_editor(crm: Crm, record: Record,
                 in_editor: Callable[[str, str | None], str | None]) -> dict[str, Any] | None:
    original = yamlio.dump(dict(record.data))
    text, error = original, None
    while True:
        edited = in_editor(text, error)
        if edited is None or not edited.strip() or edited == original:
            return None
        text = edited
        try:
            data = dict(crm.parse(record.path, edited).data)
            for name in FIXED:
                if data.get(name) != record.get(name):
                    raise UserError(f"{name} cannot be edited", "it is kept by crmctl")
            validated(crm, record.kind, data)
            check_references(crm, record, data)
        except (DataError, UserError) as exc:
            error = str(exc)
            continue
        changes = {k: v for k, v in data.items() if record.get(k) != v}
        changes.update({k: None for k in record.data if k not in data})
        return changes


def check_references(crm: Crm, record: Record, data: Mapping[str, Any]) -> None:
    if record.kind == "company":
        return
    company = data.get("company")
    if crm.index.get("company", str(company)) is None:
        raise UserError(f"company {company!r} does not exist", "name an existing company's id")
    person = data.get("person")
    if record.kind == "deal" and person:
        found = crm.index.get("person", str(person))
        if found is None or found.get("company") != company:
            raise UserError(f"person {person!r} does not work at {company}",
                            "name one of the company's people")
