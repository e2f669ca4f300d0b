"""crmctl log: one command after every call, email, meeting or attempt."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from crmctl.cli import daily
from crmctl.cli.common import complete_records, globals_of


def register(app: typer.Typer) -> None:
    app.command("log")(log)


def log(
    ctx: typer.Context,
    record: Annotated[str, typer.Argument(metavar="RECORD", help="The company, person or deal contacted.",
                                          autocompletion=complete_records(("company", "person", "deal")))],
    type_: Annotated[str, typer.Option("--type", "-t", help="Activity type from crm.yaml, e.g. phone-call, phone-attempt, email-sent, meeting.")],
    note: Annotated[Optional[str], typer.Option("--note", "-n", help="What happened; - reads it from stdin.")] = None,
    outcome: Annotated[Optional[str], typer.Option(help="Outcome the type declares, e.g. left-message, no-answer.")] = None,
    at: Annotated[Optional[str], typer.Option(help="When: 2026-11-24 15:30, yesterday 15:30, 2 hours ago (default now).")] = None,
    with_: Annotated[Optional[str], typer.Option("--with", help="The person spoken to, at the same company.",
                                                 autocompletion=complete_records(("person",)))] = None,
    deal: Annotated[Optional[str], typer.Option(help="The deal it was about.",
                                                autocompletion=complete_records(("deal",)))] = None,
    force: Annotated[bool, typer.Option("--force", help="Log outreach to a do-not-contact record anyway.")] = False,
    follow_up: Annotated[Optional[str], typer.Option("--follow-up", metavar="WHEN: TEXT", help='A task for you, linked to this note, e.g. "+3d: send the proposal".')] = None,
) -> None:
    """Log a contact or an attempt: one commit, on the timeline of the company and its people."""
    daily.log(globals_of(ctx), record=record, type_=type_, note=note, outcome=outcome, at=at,
              with_=with_, deal=deal, force=force, follow_up=follow_up)
