"""yamlio's parser and writer by PyYAML and libyaml: the only module that imports yaml."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import yaml

from crmctl.errors import DataError
from crmctl.model import format_decimal
from crmctl.yamlio import MAX_DEPTH, Document

try:
    _Parser = yaml.CSafeLoader  # libyaml: ~6x faster than the pure-Python parser
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Parser = yaml.SafeLoader


def parse(text: str | bytes, path: str = "<string>") -> Document:
    """``yamlio.load`` of a file in any other shape than crmctl writes."""
    parser = _Parser(text)
    try:
        return _build(parser, path)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and "end of stream" in (exc.problem or ""):
            # Past the end of the file helps nobody: name where the broken construct began
            # (the opening quote of an unterminated string).
            mark = exc.context_mark
        line = mark.line + 1 if mark else None
        raise DataError(f"not valid YAML: {exc.problem or exc.context}", path, line) from None
    except yaml.YAMLError as exc:  # e.g. a reader error: bytes that are not UTF-8 text
        reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
        position = getattr(exc, "position", None)
        where = f" at byte {position}" if position is not None else ""
        line = None
        if position is not None:
            newline = b"\n" if isinstance(text, bytes) else "\n"
            line = text[:position].count(newline) + 1  # type: ignore[arg-type]
        raise DataError(f"not valid text: {reason}{where}", path, line) from None
    finally:
        parser.dispose()


def _build(parser: Any, path: str) -> Document:
    # Dispatch on the exact event class, in one loop with the innermost frame's work
    # inlined: an index build parses 200,000 records, and this loop was most of each.
    def fail(message: str, event: Any) -> DataError:
        return DataError(message, path, event.start_mark.line + 1)

    get = parser.get_event
    get()  # StreamStart
    first = get()
    if isinstance(first, yaml.StreamEndEvent):
        raise DataError("the file is empty; it should hold a mapping of fields", path, 1)
    event = get()
    if type(event) is not _MappingStart:
        raise fail("the file should hold a mapping of fields (key: value lines)", event)
    _check_node(event, fail)
    root = Document()
    root.lines = {}
    # Each frame: [container, pending_key, pending_key_line]
    stack: list[list[Any]] = [[root, None, None]]
    while stack:
        event = get()
        kind = type(event)
        value: Any
        if kind is _Scalar:
            _check_node(event, fail)
            # An empty plain scalar (`key:`) means "no value"; quoted '' is an empty string.
            value = None if (event.value == "" and event.implicit[0]) else event.value
        elif kind is _MappingStart or kind is _SequenceStart:
            _check_node(event, fail)
            if len(stack) >= MAX_DEPTH:
                raise fail(f"nested deeper than {MAX_DEPTH} levels", event)
            if kind is _MappingStart:
                value = Document()
                value.lines = {}
            else:
                value = []
        elif kind is _MappingEnd or kind is _SequenceEnd:
            stack.pop()
            continue
        elif kind is yaml.AliasEvent:
            raise fail("YAML aliases (*name) are not allowed in CRM files; write the value out", event)
        else:  # pragma: no cover - libyaml emits nothing else inside a document
            raise fail("unexpected YAML content", event)
        frame = stack[-1]
        container = frame[0]
        if type(container) is list:
            container.append(value)
        elif frame[1] is None:  # this value is a key
            if type(value) is not str:
                raise fail("a key must be a plain word, not a list, a mapping or empty", event)
            if value in container:
                first_line = container.lines[value]
                raise fail(f"duplicate key {value!r} (first at line {first_line}); keep one", event)
            frame[1] = value
            frame[2] = event.start_mark.line + 1
        else:
            container[frame[1]] = value
            container.lines[frame[1]] = frame[2]
            frame[1] = None
        if kind is not _Scalar:
            stack.append([value, None, None])
    get()  # DocumentEnd
    following = get()
    if not isinstance(following, yaml.StreamEndEvent):
        raise fail("the file holds more than one YAML document", following)
    return root


_Scalar, _MappingStart, _SequenceStart = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
_MappingEnd, _SequenceEnd = yaml.MappingEndEvent, yaml.SequenceEndEvent
_ALLOWED_TAGS = (None, "!", "tag:yaml.org,2002:str")


def _check_node(event: Any, fail: Any) -> None:
    if event.anchor is not None:
        raise fail("YAML anchors (&name) are not allowed in CRM files", event)
    if event.tag not in _ALLOWED_TAGS:
        raise fail(f"YAML tags such as {event.tag} are not allowed in CRM files", event)


# --- writing -------------------------------------------------------------------------------

# Plain scalars another reader (YAML 1.1 or 1.2) could resolve to a bool, null, number, date or
# time. Anything starting with a digit, sign or dot is quoted: cheap and never wrong.
_AMBIGUOUS = re.compile(
    r"""^(?:[-+.0-9].*
        |~|null|Null|NULL
        |y|Y|yes|Yes|YES|n|N|no|No|NO
        |true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF
        |=|<<)$""",
    re.X | re.S,
)


# libyaml's emitter writes the same bytes as the pure-Python one (checked on every record
# shape crmctl writes) about five times faster: an import of 10,000 rows notices.
class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    pass


# Characters YAML treats as line breaks (or drops) in plain and block scalars: only a
# double-quoted scalar, with escapes, carries them exactly.
_NEEDS_ESCAPES = re.compile("[\r\x85\u2028\u2029\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if _NEEDS_ESCAPES.search(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    style = "'" if _AMBIGUOUS.match(value) or value != value.strip() else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = format_decimal(value)
    # The tag only tells the emitter the text may stay plain (unquoted); it is not written.
    tag = "tag:yaml.org,2002:float" if "." in text else "tag:yaml.org,2002:int"
    return dumper.represent_scalar(tag, text)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(Decimal, _represent_decimal)
_Dumper.add_representer(Document, yaml.SafeDumper.represent_dict)
_Dumper.add_representer(int, lambda dumper, value: _represent_decimal(dumper, Decimal(value)))


def emit(data: dict[str, Any]) -> str:
    """``yamlio.dump``."""
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=4096,
        indent=2,
    )
