"""The one family of errors crmctl raises for anything a user can get wrong.

Each class carries its exit code (documented in the README); ``app.py`` is the only place that
turns them into a single line on stderr. Any other exception is a bug.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USER = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_AMBIGUOUS = 4
EXIT_CONFLICT = 5
EXIT_DATA = 6


class CrmError(Exception):
    """A problem the user can fix; ``hint`` says how."""

    exit_code = EXIT_USER

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UserError(CrmError):
    """Bad input: an unknown status, a malformed date, an empty name."""


class UsageError(CrmError):
    """Options that cannot go together: the command line itself is wrong."""

    exit_code = EXIT_USAGE


class NotFound(CrmError):
    exit_code = EXIT_NOT_FOUND


class Ambiguous(CrmError):
    exit_code = EXIT_AMBIGUOUS


class Conflict(CrmError):
    """The change collides with the CRM's state: a likely duplicate, a held lock."""

    exit_code = EXIT_CONFLICT


class DataError(CrmError):
    """A file in the CRM is broken; ``path`` and ``line`` say where."""

    exit_code = EXIT_DATA

    def __init__(self, message: str, path: str | None = None, line: int | None = None,
                 hint: str | None = None):
        super().__init__(message, hint)
        self.path = path
        self.line = line

    @property
    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line or 1}"

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.path else self.message
        return f"{text} ({self.hint})" if self.hint else text
