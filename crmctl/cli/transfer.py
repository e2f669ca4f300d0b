"""crmctl import and crmctl export: spreadsheets and vCards in, segments out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from crmctl.cli.common import acting, now, open_crm, say


def register(app: typer.Typer) -> None:
    app.command("import")(import_)


def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A .csv (any delimiter, with or without BOM), .xlsx or .vcf file.")],
    type_: Annotated[Optional[str], typer.Option("--type", "-t", metavar="companies|people|deals", help="What the rows are (a .vcf is people).")] = None,
    map_: Annotated[Optional[list[str]], typer.Option("--map", metavar="COLUMN=FIELD", help="Map a column to a field (or to skip); repeat.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="Show what would be created, updated, skipped and rejected; change nothing.")] = False,
    update: Annotated[bool, typer.Option("--update", help="Update records already in the CRM from their rows (default: skip them).")] = False,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Import the good rows even if some are bad (default: import nothing).")] = False,
) -> None:
    """Import companies, people or deals in one commit, matching every row against the CRM
    (and the rows before it) so nothing is duplicated."""
    from crmctl.errors import UsageError
    from crmctl.importer import import_file

    if file.suffix.lower() == ".vcf":
        type_ = type_ or "people"
    if type_ is None:
        raise UsageError("say what the rows are: --type companies, people or deals")
    crm = open_crm(ctx)
    bar = None
    if sys.stderr.isatty() and not dry_run:
        bar = typer.progressbar(length=1, label="Importing", file=sys.stderr)
        bar.__enter__()

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.length = total
            bar.update(done - bar.pos)

    try:
        result = import_file(crm, file, type_, actor=acting(ctx, crm), now=now(),
                             maps=map_ or [], dry_run=dry_run, update=update,
                             skip_bad=skip_bad, progress=progress)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if result.unmapped:
        say(f"columns not imported: {', '.join(result.unmapped)} "
            "(map them with --map COLUMN=FIELD)")
    if dry_run:
        from crmctl.render import write_rows

        write_rows([o.__dict__ for o in result.outcomes],
                   ["row", "action", "name", "id", "reason"], "table",
                   headers=["ROW", "ACTION", "NAME", "ID", "WHY"])
        say(f"(dry run: nothing changed) {result.message}")
        return
    if result.commit is None:
        typer.echo(f"Nothing to import: {result.message}")
        return
    typer.echo(result.message)
    if result.companies_created:
        typer.echo(f"  and {result.companies_created} companies they belong to")
    for outcome in result.outcomes:
        if outcome.action == "rejected":
            say(f"row {outcome.row} skipped: {outcome.reason}")
