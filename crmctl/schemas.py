"""The shipped JSON Schemas: typing the strings read from YAML, then validating them.

YAML is read with every scalar a string (see yamlio); the schema says which fields are numbers
or booleans, so ``coerce`` converts exactly those, and ``validate`` runs jsonschema over the
result. Record schemas are specialised per CRM: the team's statuses, stages, users and own
fields from crm.yaml become enums and properties.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from crmctl.model import Process

_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
_INTEGER = re.compile(r"^-?[0-9]+$")


@lru_cache(maxsize=None)
def schema_dir() -> Path:
    """Where the schemas and the default process live, installed or in a source checkout."""
    # Looked for beside the package first: importlib.resources costs every command ~2 ms
    # to import, and is needed only where crmctl runs from a zip.
    here = Path(__file__).parent
    for folder in (here / "_schema", here.parent / "schema"):
        if (folder / "crm.schema.json").is_file():
            return folder
    from importlib import resources

    return Path(str(resources.files("crmctl._schema")))


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict[str, Any]:
    return json.loads((schema_dir() / name).read_text(encoding="utf-8"))


def default_process_text() -> str:
    return (schema_dir() / "default-crm.yaml").read_text(encoding="utf-8")


def _resolve(prop: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = prop.get("$ref")
    if not ref:
        return prop
    document, _, pointer = ref.partition("#")
    target: Any = load_schema(document) if document else root
    for part in pointer.strip("/").split("/"):
        if part:
            target = target[part]
    return target


def _types(prop: Mapping[str, Any]) -> set[str]:
    declared = prop.get("type", ())
    return {declared} if isinstance(declared, str) else set(declared)


def coerce(value: Any, schema: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> Any:
    """Turn the strings of a loaded document into the types its schema declares.

    A string that does not parse is left alone, so validation reports it with the field name.
    """
    return Coercer(schema, root)(value)


class Coercer:
    """``coerce`` for one schema, compiled once: its references resolved and each field's
    conversion chosen up front (an index build types 200,000 records with a few schemas)."""

    def __init__(self, schema: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> None:
        self._convert = _compile(schema, schema if root is None else root, {})

    def __call__(self, value: Any) -> Any:
        return self._convert(value)


Convert = Callable[[Any], Any]


def _compile(schema: Mapping[str, Any], root: Mapping[str, Any], done: dict[int, Convert]) -> Convert:
    schema = _resolve(schema, root)
    if id(schema) in done:
        return done[id(schema)]
    compiled: list[Convert] = []
    pending = done[id(schema)] = lambda value: compiled[0](value)  # a schema that refers to itself
    types = _types(schema)
    integer, number, boolean = "integer" in types, "number" in types, "boolean" in types
    extra = schema.get("additionalProperties")
    other = _compile(extra if isinstance(extra, dict) else _ANY, root, done)
    fields = {key: _compile(sub, root, done)
              for key, sub in schema.get("properties", {}).items()}
    items = _compile(schema.get("items", _ANY), root, done)

    def convert(value: Any) -> Any:
        if isinstance(value, str):
            if integer and _INTEGER.match(value):
                return int(value)
            if number and _NUMBER.match(value):
                try:
                    return Decimal(value)
                except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
                    return value
            if boolean and value in ("true", "false"):
                return value == "true"
            return value
        if isinstance(value, list):
            return [items(item) for item in value]
        if isinstance(value, dict):
            out = type(value)()
            if hasattr(value, "lines"):
                out.lines = value.lines
            for key, item in value.items():
                out[key] = fields.get(key, other)(item)
            return out
        return value

    # Its own parts that are the schema itself call it directly (the empty schema's are).
    other = convert if other is pending else other
    items = convert if items is pending else items
    compiled.append(convert)
    done[id(schema)] = convert
    return convert


_ANY: Mapping[str, Any] = {}  # the schema that says nothing: one object, so compiled once


@lru_cache(maxsize=None)
def _registry() -> Any:
    from referencing import Registry, Resource

    shared = load_schema("record.schema.json")
    return Registry().with_resources([(shared["$id"], Resource.from_contents(shared))])


@lru_cache(maxsize=None)
def _format_checker() -> Any:
    import datetime

    from jsonschema import FormatChecker

    checker = FormatChecker(["date"])

    @checker.checks("date-time", raises=ValueError)
    def _is_datetime(value: object) -> bool:
        if isinstance(value, str):
            datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return True

    return checker


def record_schema(kind: str, process: Process) -> dict[str, Any]:
    """The kind's shipped schema with this CRM's statuses, stages, users and fields added."""
    schema = json.loads(json.dumps(load_schema(f"{kind}.schema.json")))
    props = schema["properties"]
    if "status" in props:
        props["status"] = {"enum": list(process.statuses)}
    if "stage" in props:
        props["stage"] = {"enum": process.stage_ids}
    if process.users and "owner" in props:
        props["owner"] = {"enum": process.user_ids}
    for name, spec in (process.fields.get(kind) or {}).items():
        custom = {k: v for k, v in spec.items() if k != "description"}
        if custom.get("type") == "date":
            custom.update(type="string", format="date", pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
        props.setdefault(name, custom)
    return schema


def field_order(kind: str, process: Process) -> list[str]:
    """Key order in a record file: built-in fields, the team's fields, then notes and stamps."""
    builtin = list(load_schema(f"{kind}.schema.json")["properties"])
    tail = [k for k in ("notes", "created", "updated") if k in builtin]
    head = [k for k in builtin if k not in tail]
    custom = sorted(k for k in (process.fields.get(kind) or {}) if k not in builtin)
    return head + custom + tail


class Validator:
    """Validates documents of one schema; built once per command, reused for every file.

    ``unknown_field`` says what to do about a field the schema does not know.
    """

    def __init__(self, schema: dict[str, Any],
                 unknown_field: str = "declare it under fields: in crm.yaml"):
        from jsonschema import Draft202012Validator

        self.schema = schema
        self.unknown_field = unknown_field
        self._validator = Draft202012Validator(
            schema, registry=_registry(), format_checker=_format_checker()
        )

    def errors(self, document: Any) -> Iterator[tuple[str | None, str]]:
        """(top-level field or None, message) for each problem, once, in a stable order."""
        found = sorted(self._validator.iter_errors(document), key=lambda e: list(map(str, e.path)))
        seen = set()
        for error in found:
            for key, message in self._explain(error):
                if (key, message) not in seen:  # a value can fail a pattern and a format
                    seen.add((key, message))
                    yield key, message

    def _explain(self, error: Any) -> Iterator[tuple[str | None, str]]:
        if error.validator == "additionalProperties" and not error.path:
            known = ", ".join(self.schema.get("properties", {}))
            for extra in sorted(set(error.instance) - set(self.schema.get("properties", {}))):
                yield extra, f"unknown field {extra} ({self.unknown_field}; known: {known})"
            return
        yield (str(error.path[0]) if error.path else None), describe(error)


def describe(error: Any) -> str:
    """A jsonschema error as a sentence a salesperson can act on."""
    where = ".".join(str(p) for p in error.path)
    validator = error.validator
    value = error.instance
    if validator == "enum":
        choices = ", ".join(str(c) for c in error.validator_value)
        text = f"{value!r} is not one of: {choices}"
    elif validator == "required":
        missing = re.search(r"'([^']+)'", error.message)
        text = f"missing field {missing.group(1) if missing else ''}".rstrip()
    elif validator == "additionalProperties":
        extra = re.findall(r"'([^']+)'", error.message)
        text = (f"unknown field {', '.join(extra)}; declare it under fields: in crm.yaml"
                if extra else error.message)
    elif validator == "pattern" or validator == "format":
        field = where.split(".")[0] or "value"
        if len(error.path) > 1 and field.endswith("s"):  # emails.0 -> "a valid email"
            field = field[:-1]
        text = f"{value!r} is not a valid {field}"
    elif validator == "type":
        wanted = error.validator_value
        names = {"array": "a list", "object": "a mapping", "integer": "a whole number",
                 "number": "a number", "string": "text", "boolean": "true or false"}
        text = f"{value!r} is not " + (names.get(wanted, wanted) if isinstance(wanted, str)
                                       else " or ".join(names.get(w, w) for w in wanted))
    elif validator == "minimum":
        text = f"{value} is below the minimum {error.validator_value}"
    elif validator == "maximum":
        text = f"{value} is above the maximum {error.validator_value}"
    else:
        text = error.message
    return f"{where}: {text}" if where else text
