"""What every command shares: the global options, opening the CRM, output options."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from crmctl.cli.session import Globals, actor_of, crm_of, in_editor, now, say

if TYPE_CHECKING:
    from crmctl.identity import Actor
    from crmctl.store import Crm

__all__ = ["Globals", "in_editor", "now", "say"]  # the Typer-free ones, for the commands


def globals_of(ctx: typer.Context) -> Globals:
    root = ctx.find_root()
    if not isinstance(root.obj, Globals):
        root.obj = Globals()
    return root.obj


def open_crm(ctx: typer.Context) -> "Crm":
    return crm_of(globals_of(ctx))


def acting(ctx: typer.Context, crm: "Crm") -> "Actor":
    return actor_of(globals_of(ctx), crm)


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


def warn_broken(crm, folders: tuple[str, ...] | None = None) -> None:  # type: ignore[no-untyped-def]
    """One line on stderr when files or log lines could not be read (so are left out): in
    ``folders``, the ones the command read, or in all of them."""
    broken = crm.index.broken(folders) if folders else crm.index.broken()
    if broken:
        more = f" and {len(broken) - 1} more" if len(broken) > 1 else ""
        say(f"crmctl: warning: left out as unreadable: {broken[0][1]}{more} (run crmctl check)")
