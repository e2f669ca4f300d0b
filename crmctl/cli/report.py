"""crmctl report NAME: what managers read and cron mails."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from crmctl.cli.common import now, open_crm, acting
from crmctl.reports import DEFAULT_DAYS, REPORTS


class ReportFormat(str, Enum):
    text = "text"
    table = "table"  # what every other read command calls text: the same output
    md = "md"
    csv = "csv"
    json = "json"
    html = "html"
    email = "email"


NAME_HELP = "Which report: " + "; ".join(f"{name} ({what})" for name, what in REPORTS.items()) + "."


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help=NAME_HELP)],
    since: Annotated[Optional[str], typer.Option(help=f"First day of the period (default: {DEFAULT_DAYS} days ago).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Last day of the period (default: today).")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="pipeline, forecast, funnel: the CRM as it stood at the end of this day, from git history.")] = None,
    owner: Annotated[Optional[str], typer.Option(help="Only records this user owns.")] = None,
    assignee: Annotated[Optional[str], typer.Option(help="tasks: only this user's.")] = None,
    days: Annotated[int, typer.Option(help="tasks: also those due in the next N days.")] = 0,
    idle_days: Annotated[int, typer.Option("--idle-days", help="stale: a company with no activity for this many days.")] = DEFAULT_DAYS,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="text (aligned tables; table is the same), md, csv (the main table), json, html (one self-contained page), or email (a message for sendmail -t; needs --to).")] = ReportFormat.text,
    to: Annotated[Optional[str], typer.Option(help="email: the recipient(s).")] = None,
    subject: Annotated[Optional[str], typer.Option(help="email: the subject (default: the report's title and date).")] = None,
    sender: Annotated[Optional[str], typer.Option("--from", help="email: the sender (default: you, as git knows you).")] = None,
    fail_if_empty: Annotated[bool, typer.Option("--fail-if-empty", help="Exit 1, printing nothing, when there is nothing to report (so cron mails only what matters).")] = False,
) -> None:
    """Reports for managers and for cron to mail; each says so plainly when it has nothing."""
    from crmctl.dates import parse_date
    from crmctl.errors import UsageError, UserError
    from crmctl.reports import Options, build, build_rendered
    from crmctl.reports.formats import to_email

    if days < 0 or idle_days < 1:
        raise UserError("--days must be 0 or more and --idle-days 1 or more")
    if fmt == ReportFormat.email and not to:
        raise UsageError("--format email needs --to ADDRESS", "e.g. --to manager@example.com")
    if fmt != ReportFormat.email and (to or subject or sender):
        raise UsageError("--to, --subject and --from are for --format email")
    crm = open_crm(ctx)
    moment = now()

    def day(text: Optional[str], option: str):  # type: ignore[no-untyped-def]
        if text is None:
            return None
        try:
            return parse_date(text, moment, prefer="past")
        except UserError as exc:
            raise UserError(f"{option}: {exc.message}", exc.hint) from None

    options = Options(today=moment.date(), now=moment, since=day(since, "--since"),
                      until=day(until, "--until"), as_of=day(as_of, "--as-of"), owner=owner,
                      assignee=assignee, days=days, idle_days=idle_days)
    if fmt == ReportFormat.email:  # addressed and dated anew each time: not kept
        built, text = build(crm, name, options), ""
    else:
        built, text = build_rendered(crm, name, options,
                                     "text" if fmt == ReportFormat.table else fmt.value)
    for path, error in built.broken:
        where = "" if error.startswith(path) else f"{path}: "
        typer.echo(f"crmctl: warning: {where}{error} (left out of the report)", err=True)
    if fail_if_empty and built.empty is not None:
        raise typer.Exit(1)
    if fmt == ReportFormat.email:
        if sender is None:
            try:
                actor = acting(ctx, crm).identity
            except UserError:
                raise UserError("the mail needs a sender", "pass --from ADDRESS, or set the "
                                "CRM's git user.name and user.email") from None
            sender = f"{actor.name} <{actor.email}>"
        typer.echo(to_email(built, to=to or "", subject=subject, now=moment, sender=sender),
                   nl=False)
    else:
        typer.echo(text, nl=False)
