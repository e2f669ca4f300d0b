"""crmctl check."""

from __future__ import annotations

from typing import Annotated

import typer

from crmctl.cli.common import Format, FormatOption, open_crm, say


def register(app: typer.Typer) -> None:
    app.command("check")(check)


def check(
    ctx: typer.Context,
    staged: Annotated[bool, typer.Option(help="Check what is staged for commit (the pre-commit hook).")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Validate every CRM file and the references between records; exit 1 on any problem.

    Each problem is one line, path:line: what is wrong (or rows with --format json|csv)."""
    from crmctl.check import check_crm
    from crmctl.render import write_rows

    crm = open_crm(ctx)
    problems = check_crm(crm, staged=staged)
    if fmt == Format.table:
        for problem in problems:
            typer.echo(str(problem))
    else:
        write_rows([{"path": p.path, "line": p.line, "message": p.message} for p in problems],
                   ["path", "line", "message"], fmt.value)
    if problems:
        say(f"{len(problems)} problem(s) found")
        raise typer.Exit(1)
    say("All CRM files are valid.")
