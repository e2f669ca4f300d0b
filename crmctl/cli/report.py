"""crmctl report NAME: what managers and cron mail read."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from crmctl.cli.common import Format, FormatOption, now, open_crm

REPORTS = ("tasks",)


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Which report: tasks (each assignee's due and overdue tasks).")],
    assignee: Annotated[Optional[str], typer.Option(help="tasks: only this user's.")] = None,
    days: Annotated[int, typer.Option(help="tasks: also those due in the next N days.")] = 0,
    fmt: FormatOption = Format.table,
) -> None:
    """Reports for managers and for cron to mail; one clear line when there is nothing."""
    from crmctl.errors import UserError

    if name not in REPORTS:
        raise UserError(f"unknown report {name!r} (reports: {', '.join(REPORTS)})")
    crm = open_crm(ctx)
    _tasks(crm, assignee, days, fmt)


def _tasks(crm, assignee: Optional[str], days: int, fmt: Format) -> None:  # type: ignore[no-untyped-def]
    from crmctl.activities import first_line
    from crmctl.render import write_rows
    from crmctl.reports.tasks import COLUMNS, tasks_report

    today = now().date()
    groups = tasks_report(crm, today, assignee=assignee, days=days)
    if fmt != Format.table:
        write_rows([{**t, "assignee": g.assignee} for g in groups for t in g.tasks],
                   COLUMNS, fmt.value)
        return
    until = today.fromordinal(today.toordinal() + days)
    horizon = "today" if days == 0 else f"by {until.isoformat()}"
    if not groups:
        typer.echo(f"No tasks due {horizon} and none overdue ({today.isoformat()}).")
        return
    for number, group in enumerate(groups):
        if number:
            typer.echo("")
        late = f", {group.overdue} overdue" if group.overdue else ""
        count = f"{len(group.tasks)} task{'s' * (len(group.tasks) != 1)}"
        typer.echo(f"{group.name}: {count} due {horizon}{late} ({today.isoformat()})")
        rows = [{"id": t["id"][:6], "due": ("OVERDUE " if t["overdue"] else "") + t["due"],
                 "priority": t["priority"], "text": t["text"], "about": t.get("about") or "",
                 "from_note": first_line(t.get("from_note"), 48)} for t in group.tasks]
        write_rows(rows, ["id", "due", "priority", "text", "about", "from_note"], "table",
                   headers=["ID", "DUE", "PRI", "TASK", "FOR", "FROM NOTE"])
