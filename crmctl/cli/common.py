"""What every command shares: the global options, opening the CRM, output options."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from crmctl.identity import Actor
    from crmctl.store import Crm


@dataclass
class Globals:
    dir: Optional[str] = None
    as_user: Optional[str] = None


def globals_of(ctx: typer.Context) -> Globals:
    root = ctx.find_root()
    if not isinstance(root.obj, Globals):
        root.obj = Globals()
    return root.obj


def open_crm(ctx: typer.Context) -> "Crm":
    from crmctl.autosync import unreported_failure
    from crmctl.store import Crm

    crm = Crm.find(globals_of(ctx).dir)
    failed = unreported_failure(crm)
    if failed:
        say(f"auto-sync failed at {failed['at'][11:16]}: {failed['message']} "
            "(your changes are safe here; run crmctl sync)")
    return crm


def acting(ctx: typer.Context, crm: "Crm") -> "Actor":
    from crmctl.identity import current_actor

    return current_actor(crm, globals_of(ctx).as_user)


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


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOption = Annotated[Format, typer.Option(
    "--format", "-f", help="Output format: table for people, json or csv for programs.")]
QuietOption = Annotated[bool, typer.Option(
    "--quiet", "-q", help="Print bare ids, one per line, for piping into other commands.")]
ForceOption = Annotated[bool, typer.Option(
    "--force", help="Add it even if it looks like a duplicate of an existing record.")]
TagOption = Annotated[Optional[list[str]], typer.Option(
    "--tag", help="A free tag (repeat, or separate with commas).")]
SetOption = Annotated[Optional[list[str]], typer.Option(
    "--set", metavar="FIELD=VALUE", help="A field declared under fields: in crm.yaml (repeat).")]


def complete_records(kinds: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """Shell completion of record names from the index: no record file is parsed per key."""
    def complete(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
        try:
            from crmctl.store import Crm

            crm = Crm.find(globals_of(ctx).dir)
            return crm.index.completions(incomplete, kinds)
        except Exception:  # completion must never print a traceback into the user's shell
            return []
    return complete


def say(message: str) -> None:
    """A progress or confirmation line on stderr, so stdout stays clean for pipes."""
    typer.echo(message, err=True)


def warn_broken(crm, folders: tuple[str, ...] | None = None) -> None:  # type: ignore[no-untyped-def]
    """One line on stderr when files or log lines could not be read (so are left out): in
    ``folders``, the ones the command read, or in all of them."""
    broken = crm.index.broken(folders) if folders else crm.index.broken()
    if broken:
        more = f" and {len(broken) - 1} more" if len(broken) > 1 else ""
        say(f"crmctl: warning: left out as unreadable: {broken[0][1]}{more} (run crmctl check)")


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
