"""What reaches a terminal: crmctl's own colours, and nothing raw from the data.

Every line crmctl writes goes through ``Printable`` (installed in ``crmctl.app``), so this
module is on every command's path: it imports nothing but ``os`` and ``re``.
"""

from __future__ import annotations

import os
import re
from typing import Any, TextIO


def color_enabled(stream: TextIO) -> bool:
    """ANSI styling only on a terminal, and never when NO_COLOR is set (cron mail, pipes)."""
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


# What must never reach a terminal raw from the data: C0 and C1 control characters (an
# ESC starts a sequence that can recolour, retitle or rewrite the screen) and the bidi
# controls that make text read differently than it is; a lone CR too (CRLF ends the lines
# of a mail).
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f"
                     "\u202a-\u202e\u2066-\u2069]|\r(?!\n)")
# crmctl's own styles are written with a mark for ESC that no data can hold (a private-use
# character and a number drawn for this process), made a real ESC only after the data
# around them has been made safe.
_OWN_ESC = "\ue01b" + os.urandom(6).hex()
_OWN_STYLE = re.compile(f"{_OWN_ESC}\\[((?:[12]|3[123]|1;3[123]|1;2|0))m")


def printable(text: str) -> str:
    """``text`` with each unsafe character shown as ``\\uXXXX`` (a valid escape in JSON
    strings too, so JSON output still reads back to the same text)."""
    safe = _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return _OWN_STYLE.sub("\x1b[\\1m", safe) if _OWN_ESC in safe else safe


class Printable:
    """A text stream that passes everything through ``printable``: every line crmctl
    writes, tables, reports, feeds and errors quoting what was typed."""

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(printable(text) if isinstance(text, str) else text)
        return len(text)

    @property
    def unguarded(self) -> TextIO:
        """The stream itself, for crmctl's own progress lines (their CR redraws the line)."""
        return self._stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def style(text: str, *, bold: bool = False, fg: str | None = None, enabled: bool) -> str:
    if not enabled:
        return text
    codes = (["1"] if bold else []) + ([{"red": "31", "green": "32", "yellow": "33",
                                         "dim": "2"}[fg]] if fg else [])
    return f"{_OWN_ESC}[{';'.join(codes)}m{text}{_OWN_ESC}[0m" if codes else text
