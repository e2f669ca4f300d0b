"""crmctl move and crmctl convert."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from crmctl.cli import daily
from crmctl.cli.common import acting, complete_records, globals_of, now, open_crm


def register(app: typer.Typer) -> None:
    app.command("move")(move)
    app.command("convert")(convert)


def move(
    ctx: typer.Context,
    record: Annotated[str, typer.Argument(metavar="RECORD", help="A deal, or a company or person.",
                                          autocompletion=complete_records(("deal", "company", "person")))],
    target: Annotated[str, typer.Argument(metavar="STAGE|STATUS", help="The deal's new pipeline stage, or the new lifecycle status.")],
    amount: Annotated[Optional[str], typer.Option(help="Set the deal's amount too.")] = None,
    probability: Annotated[Optional[str], typer.Option(help="Win probability in percent (default: the stage's).")] = None,
    close: Annotated[Optional[str], typer.Option(help="Expected close date: YYYY-MM-DD, friday, +30d, ...")] = None,
    reason: Annotated[Optional[str], typer.Option(help="Why: required for lost.")] = None,
) -> None:
    """Move a deal to another stage, or a company or person to another status."""
    daily.move(globals_of(ctx), record=record, target=target, amount=amount,
               probability=probability, close=close, reason=reason)


def convert(
    ctx: typer.Context,
    record: Annotated[str, typer.Argument(metavar="RECORD", help="The company or person entered as the wrong kind.",
                                          autocompletion=complete_records(("company", "person")))],
    to: Annotated[str, typer.Option(metavar="company|person", help="What it really is.")],
    company: Annotated[Optional[str], typer.Option(help="With --to person: the company they work at.",
                                                   autocompletion=complete_records(("company",)))] = None,
) -> None:
    """Turn a person into a company or the reverse, keeping its deals, tasks and activities."""
    from crmctl.convert import convert as convert_record
    from crmctl.model import KINDS

    crm = open_crm(ctx)
    converted = convert_record(crm, record, to=to, actor=acting(ctx, crm), now=now(),
                               company=company)
    typer.echo(f"{converted.message} as {converted.new.id}")
    if converted.tasks_moved:
        typer.echo(f"  {converted.tasks_moved} task(s) now about {converted.new.name}")
    if converted.kept_in_notes:
        plural = KINDS[converted.new.kind].plural
        typer.echo(f"  kept in its notes ({plural} have no such fields): "
                   + ", ".join(converted.kept_in_notes))
