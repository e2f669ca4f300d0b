"""The activity log: every call, email, meeting and attempt, and every move, one JSON line each.

Logs live in ``activities/<YYYY-MM>/<shard of the company id>.jsonl``: appending rewrites only a
file bounded by one month of one shard, however long a company's history grows. Each entry has a
random id, so clones never collide, and sits on one line, the one shape git's ``merge=union``
merges without loss. Entries are never edited in place: a correction is a new ``amend`` line
naming the id it changes, and readers fold by id.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from crmctl.errors import DataError
from crmctl.model import exact_json

if TYPE_CHECKING:
    from crmctl.change import Change

LOG_FOLDER = "activities"


def new_id() -> str:
    """80 random bits in lowercase base32: unique across clones without coordination."""
    return base64.b32encode(secrets.token_bytes(10)).decode().lower()


def log_path(company_id: str, at: datetime) -> str:
    from crmctl.store import shard

    return f"{LOG_FOLDER}/{at:%Y-%m}/{shard(company_id)}.jsonl"


def is_log_path(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 3 and parts[0] == LOG_FOLDER and parts[2].endswith(".jsonl")


def encode(entry: Mapping[str, Any]) -> str:
    """One line: JSON escapes newlines in notes, and None fields are left out."""
    line = exact_json({k: v for k, v in entry.items() if v is not None},
                      ensure_ascii=False, separators=(",", ":"))
    # Characters that other readers take for line breaks (Python's splitlines, editors)
    # stay escaped, so that one entry is always one line whatever reads it.
    return line.translate(_LINE_BREAKS)


_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def lines(text: str) -> Iterator[tuple[int, str]]:
    """(number, line) of a one-entry-per-line log: lines end at \\n only (a raw U+2028
    inside an entry written by an older crmctl is not a line break)."""
    pieces = text.split("\n")
    if pieces[-1] == "":
        pieces.pop()  # what follows the last line's \n is no line
    for number, line in enumerate(pieces, 1):
        yield number, line.removesuffix("\r")


# json's own scanner, called without json.loads' checks around it: an index build reads
# 1,000,000 lines, and those checks were a third of reading each. A line it does not take
# whole, as an object, goes through json.loads (and its error message).
_scan_object = json.JSONDecoder().scan_once


def parse_log(text: str, path: str, with_text: bool = False) -> Iterator[tuple[Any, ...]]:
    """(line number, entry or the error on that line) for each non-blank line; with
    ``with_text``, (line number, entry or error, the line's text)."""
    for number, line in lines(text):
        entry = parse_line(line, path, number)
        if entry is not None:
            yield (number, entry, line) if with_text else (number, entry)


def parse_line(line: str, path: str, number: int) -> dict[str, Any] | DataError | None:
    """The entry on one line of a log, or the error that names the line; None if blank."""
    if line[:1] == "{":
        try:
            entry, end = _scan_object(line, 0)
        except (StopIteration, ValueError):
            pass
        else:
            if end == len(line):
                return entry  # type: ignore[no-any-return]
    if not line.strip():
        return None
    try:
        entry = json.loads(line)
    except ValueError as exc:
        return DataError(f"not a JSON object: {exc.msg}", path, number)
    if not isinstance(entry, dict):
        return DataError("not a JSON object", path, number)
    return entry  # type: ignore[no-any-return]


def append(change: "Change", entries: list[Mapping[str, Any]]) -> list[str]:
    """Stage ``entries`` at the end of their month's log; returns the paths touched."""
    paths = []
    for entry in entries:
        path = log_path(str(entry["company"]), datetime.fromisoformat(str(entry["at"])))
        append_line(change, path, entry)
        paths.append(path)
    return paths


def append_line(change: "Change", path: str, entry: Mapping[str, Any]) -> None:
    """Stage ``entry`` as the last line of the log at ``path``."""
    text = change.read(path) or ""
    for _, problem in parse_log(text, path):
        if isinstance(problem, DataError):  # appending would commit the broken line too
            problem.hint = "fix or delete that line first (crmctl check lists every problem)"
            raise problem
    if text and not text.endswith("\n"):  # a hand edit may have dropped it
        text += "\n"
    change.write(path, text + encode(entry) + "\n")


def first_line(note: str | None, width: int = 72) -> str:
    line = (note or "").strip().splitlines()[0] if (note or "").strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"
