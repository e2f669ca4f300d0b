"""crmctl check."""

from __future__ import annotations

from typing import Annotated

import typer

from crmctl.cli.common import open_crm, say


def register(app: typer.Typer) -> None:
    app.command("check")(check)


def check(
    ctx: typer.Context,
    staged: Annotated[bool, typer.Option(help="Check what is staged for commit (the pre-commit hook).")] = False,
) -> None:
    """Validate every CRM file and the references between records; exit 1 on any problem."""
    from crmctl.check import check_crm

    crm = open_crm(ctx)
    problems = check_crm(crm, staged=staged)
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        say(f"{len(problems)} problem(s) found")
        raise typer.Exit(1)
    say("All CRM files are valid.")
