"""What a command's body needs besides its arguments, without Typer: the global options, the
CRM and who acts in it, the moment, the lines it prints, and the one line an error becomes.

Typer-free, so that the daily writes run without importing Typer (``crmctl.cli.quick``);
``crmctl.cli.common`` gives the Typer commands the same things from their context.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Iterator, NamedTuple, Optional

if TYPE_CHECKING:
    from crmctl.identity import Actor
    from crmctl.store import Crm


class Globals(NamedTuple):
    """The options given before the command word."""
    dir: Optional[str] = None
    as_user: Optional[str] = None


def crm_of(where: Globals) -> "Crm":
    """The CRM the command acts in, after a line on an auto-sync that failed unseen."""
    from crmctl.autosync import unreported_failure
    from crmctl.store import Crm

    crm = Crm.find(where.dir)
    failed = unreported_failure(crm)
    if failed:
        say(f"auto-sync failed at {failed['at'][11:16]}: {failed['message']} "
            "(your changes are safe here; run crmctl sync)")
    return crm


@contextmanager
def opened(where: Globals) -> Iterator["Crm"]:
    """``crm_of(where)``, closed when the command is done with it."""
    crm = crm_of(where)
    try:
        yield crm
    finally:
        crm.close()


def actor_of(where: Globals, crm: "Crm") -> "Actor":
    from crmctl.identity import current_actor

    return current_actor(crm, where.as_user)


def now() -> datetime:
    """The moment a command acts at: the clock, or $CRMCTL_NOW (ISO with an offset) for
    scripts that replay history and for tests that need a fixed "today"."""
    fixed = os.environ.get("CRMCTL_NOW")
    if not fixed:
        return datetime.now().astimezone()
    from crmctl.errors import UserError

    try:
        moment = datetime.fromisoformat(fixed.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise UserError(f"$CRMCTL_NOW={fixed!r} is not an ISO time with an offset",
                        "e.g. CRMCTL_NOW=2026-11-25T09:00:00+01:00, or unset it")
    return moment


def echo(line: str) -> None:
    """A line of the command's output on stdout, flushed as it is written so that it keeps
    its place among the lines on stderr."""
    print(line, flush=True)


def say(message: str) -> None:
    """A progress or confirmation line on stderr, so stdout stays clean for pipes."""
    print(message, file=sys.stderr, flush=True)


def in_editor(text: str, file_name: str, instead: str) -> Optional[str]:
    """``text`` edited by the person in $VISUAL / $EDITOR (else vi), as git commit does, with
    lines starting with # dropped; None when nothing is left. ``instead`` says what to do
    when no editor can start; an editor that fails is a UserError."""
    import shlex
    import subprocess
    import tempfile

    from crmctl.errors import UserError

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory(prefix="crmctl-") as folder:
        path = os.path.join(folder, file_name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            status = subprocess.run([*shlex.split(editor), path]).returncode
        except OSError as exc:
            raise UserError(f"cannot start the editor {editor!r}: {exc.strerror}",
                            instead) from None
        if status != 0:
            raise UserError(f"the editor {editor!r} exited with {status}; nothing changed")
        with open(path, encoding="utf-8") as handle:
            edited = handle.read()
    kept = "\n".join(line for line in edited.splitlines() if not line.startswith("#")).strip()
    return kept or None


def not_text(arg: str) -> bool:
    """Bytes that are not UTF-8 reach Python as lone surrogates (a Latin-1 terminal's é)."""
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@contextmanager
def printable_streams() -> Iterator[None]:
    """stdout and stderr through ``terminal.Printable`` while a command runs: nothing raw
    from the data reaches the terminal."""
    from crmctl.terminal import Printable

    streams = sys.stdout, sys.stderr
    # None where crmctl started with the descriptor closed (>&-): print() then writes nothing.
    sys.stdout, sys.stderr = (None if stream is None else Printable(stream) for stream in streams)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = streams


def failure_of(exc: BaseException) -> Optional[tuple[str, int]]:
    """The one line on stderr and the exit code for an error of the user's or of the
    machine's; None for anything else (a bug, whose traceback must be seen)."""
    from crmctl.errors import EXIT_USER, CrmError

    if isinstance(exc, CrmError):
        # One line, even quoting a value typed by hand with a line break in it.
        return f"crmctl: error: {exc}".replace("\n", "\\n"), exc.exit_code
    if isinstance(exc, OSError):
        # The machine said no (a folder that cannot be written, a disk that is full):
        # not a bug in crmctl, and the user can act on it.
        where = f": {exc.filename}" if exc.filename else ""
        return f"crmctl: error: {exc.strerror or exc}{where}", EXIT_USER
    # sqlite3 is not imported here (10 ms); its errors of the machine, not of code.
    if type(exc).__module__ == "sqlite3" and \
            type(exc).__name__ in ("OperationalError", "DatabaseError"):
        # The read cache could not be read or written: the same kinds of causes.
        return (f"crmctl: error: the read cache in .crmctl/ failed: {exc} (free some space "
                "or make the folder writable; deleting .crmctl/ loses nothing)", EXIT_USER)
    return None
