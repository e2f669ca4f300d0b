"""crmctl report NAME: what managers and cron mail read."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from crmctl.cli.common import Format, FormatOption, now, open_crm

REPORTS = ("pipeline", "forecast", "tasks")


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="Which report: pipeline (open deals per stage), forecast (open deals by expected close month), tasks (each assignee's due and overdue tasks).")],
    owner: Annotated[Optional[str], typer.Option(help="pipeline, forecast: only deals this user owns.")] = None,
    assignee: Annotated[Optional[str], typer.Option(help="tasks: only this user's.")] = None,
    days: Annotated[int, typer.Option(help="tasks: also those due in the next N days.")] = 0,
    fmt: FormatOption = Format.table,
) -> None:
    """Reports for managers and for cron to mail; one clear line when there is nothing."""
    from crmctl.errors import UserError

    if name not in REPORTS:
        raise UserError(f"unknown report {name!r} (reports: {', '.join(REPORTS)})")
    crm = open_crm(ctx)
    if name == "pipeline":
        _pipeline(crm, owner, fmt)
    elif name == "forecast":
        _forecast(crm, owner, fmt)
    else:
        _tasks(crm, assignee, days, fmt)


def _forecast(crm, owner: Optional[str], fmt: Format) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    from crmctl.render import money, write_rows
    from crmctl.reports.forecast import COLUMNS, forecast_report

    today = now().date()
    rows, late = forecast_report(crm, today, owner)
    if fmt != Format.table:
        write_rows([r.as_dict() for r in rows], COLUMNS, fmt.value)
        return
    whose = f" owned by {owner}" if owner else ""
    if not rows:
        typer.echo(f"No open deals{whose} to forecast.")
        return
    for number, currency in enumerate(dict.fromkeys(r.currency for r in rows)):
        if number:
            typer.echo("")
        mine = [r for r in rows if r.currency == currency]
        totals = [r for r in mine if r.owner == "total"]
        typer.echo(f"Forecast{whose} in {currency} ({today.isoformat()}): "
                   f"{money(sum((r.amount for r in totals), Decimal(0)))} open, "
                   f"{money(sum((r.weighted for r in totals), Decimal(0)))} weighted")
        owners_in = {}
        for r in mine:
            owners_in[r.month] = owners_in.get(r.month, 0) + (r.owner != "total")
        table, shown_month = [], None
        for r in mine:
            if r.owner == "total" and owners_in[r.month] < 2:
                continue  # a month with one owner: its total says nothing new
            table.append({"month": "" if r.month == shown_month else r.month,
                          "owner": r.owner, "deals": r.deals, "amount": r.amount,
                          "weighted": r.weighted.quantize(Decimal("0.01")),
                          "past": f"{r.past_close} past close" if r.past_close else ""})
            shown_month = r.month
        write_rows(table, ["month", "owner", "deals", "amount", "weighted", "past"], "table",
                   headers=["CLOSE", "OWNER", "DEALS", "AMOUNT", "WEIGHTED", ""],
                   numeric=["deals", "amount", "weighted"])
    if late:
        typer.echo("")
        typer.echo(f"Past their expected close date ({len(late)}):")
        write_rows([{"close": d.close, "name": d.name, "owner": d.owner,
                     "amount": d.amount, "currency": d.currency, "id": d.id} for d in late],
                   ["close", "name", "owner", "amount", "currency", "id"], "table",
                   headers=["CLOSE", "DEAL", "OWNER", "AMOUNT", "CUR", "ID"], numeric=["amount"])


def _pipeline(crm, owner: Optional[str], fmt: Format) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    from crmctl.render import money, write_rows
    from crmctl.reports.pipeline import COLUMNS, bar, pipeline_report

    rows = pipeline_report(crm, owner)
    if fmt != Format.table:
        write_rows([r.as_dict() for r in rows], COLUMNS, fmt.value)
        return
    whose = f" owned by {owner}" if owner else ""
    if not any(r.deals for r in rows):
        typer.echo(f"No open deals{whose}.")
        return
    for number, currency in enumerate(dict.fromkeys(r.currency for r in rows)):
        mine = [r for r in rows if r.currency == currency]
        largest = max(r.amount for r in mine)
        total = sum((r.amount for r in mine), Decimal(0))
        weighted = sum((r.weighted for r in mine), Decimal(0))
        if number:
            typer.echo("")
        typer.echo(f"Open pipeline{whose} in {currency}: {sum(r.deals for r in mine)} deals, "
                   f"{money(total)} ({money(weighted)} weighted)")
        table = [{"stage": r.stage, "deals": r.deals, "amount": r.amount,
                  "weighted": r.weighted.quantize(Decimal("0.01")),
                  "bar": bar(r.amount, largest)} for r in mine]
        table.append({"stage": "total", "deals": sum(r.deals for r in mine), "amount": total,
                      "weighted": weighted.quantize(Decimal("0.01")), "bar": ""})
        write_rows(table, ["stage", "deals", "amount", "weighted", "bar"], "table",
                   headers=["STAGE", "DEALS", "AMOUNT", "WEIGHTED", ""],
                   numeric=["deals", "amount", "weighted"])


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
