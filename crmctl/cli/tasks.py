"""crmctl task add|list|done|edit|snooze, and crmctl assign."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from crmctl.cli import daily
from crmctl.cli.common import (Format, FormatOption, QuietOption, acting, complete_records,
                               globals_of, now, open_crm, warn_broken)

task_app = typer.Typer(help="Tasks: add, list (your day), done, edit, snooze.",
                       no_args_is_help=True)
ANY = ("company", "person", "deal")
PriorityOption = Annotated[Optional[str], typer.Option(
    help="low, normal, high or urgent.")]


def register(app: typer.Typer) -> None:
    app.add_typer(task_app, name="task")
    app.command("assign")(assign)


@task_app.command("add")
def add(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="What is to be done.")],
    for_: Annotated[Optional[str], typer.Option("--for", help="The company, person or deal it is for.",
                                                autocompletion=complete_records(ANY))] = None,
    due: Annotated[Optional[str], typer.Option(help="When: today, tomorrow, friday, next monday, +3d, +2w, in 11 months, 2026-12-01.")] = None,
    priority: PriorityOption = None,
    assign: Annotated[Optional[str], typer.Option(help="The user who does it (default: you).")] = None,
    quiet: QuietOption = False,
) -> None:
    """Add a task (for you, unless --assign)."""
    daily.task_add(globals_of(ctx), text=text, for_=for_, due=due, priority=priority,
                   assign=assign, quiet=quiet)


@task_app.command("list")
def list_(
    ctx: typer.Context,
    mine: Annotated[bool, typer.Option("--mine", help="Your tasks (the default).")] = False,
    assignee: Annotated[Optional[str], typer.Option(help="This user's tasks.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Everyone's tasks.")] = False,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only tasks past their due date.")] = False,
    due_before: Annotated[Optional[str], typer.Option(help="Only tasks due before this date.")] = None,
    for_: Annotated[Optional[str], typer.Option("--for", help="Only tasks for this record.",
                                                autocompletion=complete_records(ANY))] = None,
    sort: Annotated[str, typer.Option(metavar="due|priority", help="Order by due date or by priority.")] = "due",
    done: Annotated[bool, typer.Option("--done", help="Include done tasks.")] = False,
    fmt: FormatOption = Format.table,
    quiet: QuietOption = False,
) -> None:
    """Open tasks, yours by default, by due date: the start-of-day screen."""
    from crmctl.errors import UsageError
    from crmctl.render import write_ids, write_rows
    from crmctl.terminal import color_enabled, style
    from crmctl.tasks import SHOWN_ID, TASK_FOLDER, list_tasks

    if sum([mine, assignee is not None, all_]) > 1:
        raise UsageError("choose one of --mine, --assignee USER and --all")
    crm = open_crm(ctx)
    actor = acting(ctx, crm)
    moment = now()
    tasks = list_tasks(crm, actor=actor, now=moment, assignee=assignee, everyone=all_,
                       overdue=overdue, due_before=due_before, about=for_, sort=sort,
                       include_done=done, context=not quiet)  # --quiet shows ids only
    if quiet:
        warn_broken(crm, (TASK_FOLDER,))
        write_ids(t["id"] for t in tasks)
        return
    warn_broken(crm, crm.index.task_context())  # the folders of what they are for too
    if fmt != Format.table:
        columns = ["id", "text", "due", "overdue", "priority", "assignee", "status", "about",
                   "company", "person", "deal", "from_note", "rule", "created", "created_by",
                   "done_at", "done_by", "done_note"]
        write_rows(tasks, columns, fmt.value)
        return
    colored = color_enabled(sys.stdout)
    whose = "Everyone's" if all_ else (f"{assignee}'s" if assignee else "Your")
    late = sum(1 for t in tasks if t["overdue"])
    typer.echo(style(f"{whose} {'' if done else 'open '}tasks: {len(tasks)}"
                     + (f", {late} overdue" if late else "")
                     + f" (today is {moment.date().isoformat()})", bold=True, enabled=colored))
    if not tasks:
        typer.echo("Nothing to do." if not (overdue or due_before or for_) else
                   "No tasks match.")
        return
    show_assignee = all_ or assignee is not None
    rows = []
    for task in tasks:
        due = task.get("due") or ""
        if task["overdue"]:
            due = style(due, bold=True, fg="red", enabled=True) if colored else f"OVERDUE {due}"
        rows.append({"id": task["id"][:SHOWN_ID], "due": due, "priority": task["priority"],
                     "text": task["text"] + (" (done)" if task["status"] == "done" else ""),
                     "about": task.get("about") or "", "assignee": task.get("assignee"),
                     "from_note": _first(task.get("from_note"))})
    columns = ["id", "due", "priority", "text", "about"] + ["assignee"] * show_assignee + \
        ["from_note"]
    headers = {"id": "ID", "due": "DUE", "priority": "PRI", "text": "TASK", "about": "FOR",
               "assignee": "ASSIGNEE", "from_note": "FROM NOTE"}
    write_rows(rows, columns, "table", headers=[headers[c] for c in columns])


def _first(note: Optional[str]) -> str:
    from crmctl.activities import first_line

    return first_line(note, 48)


@task_app.command("done")
def done(
    ctx: typer.Context,
    task_id: Annotated[str, typer.Argument(metavar="ID", help="The task's id (or a unique beginning of it).")],
    note: Annotated[Optional[str], typer.Option(help="How it went.")] = None,
) -> None:
    """Mark a task done; it keeps who closed it and when."""
    from crmctl.tasks import complete_task

    crm = open_crm(ctx)
    typer.echo(complete_task(crm, task_id, actor=acting(ctx, crm), now=now(), note=note).message)


@task_app.command("edit")
def edit(
    ctx: typer.Context,
    task_id: Annotated[str, typer.Argument(metavar="ID", help="The task's id (or a unique beginning of it).")],
    text: Annotated[Optional[str], typer.Option(help="New text.")] = None,
    due: Annotated[Optional[str], typer.Option(help="New due date.")] = None,
    priority: PriorityOption = None,
    assign: Annotated[Optional[str], typer.Option(help="Hand it to this user.")] = None,
) -> None:
    """Change a task's text, due date, priority or assignee."""
    from crmctl.tasks import edit_task

    crm = open_crm(ctx)
    typer.echo(edit_task(crm, task_id, actor=acting(ctx, crm), now=now(), text=text, due=due,
                         priority=priority, assign=assign).message)


@task_app.command("snooze")
def snooze(
    ctx: typer.Context,
    task_id: Annotated[str, typer.Argument(metavar="ID", help="The task's id (or a unique beginning of it).")],
    when: Annotated[str, typer.Argument(metavar="WHEN", help="The new due date: tomorrow, next monday, +1w, ...")],
) -> None:
    """Put a task off to a later date."""
    from crmctl.tasks import edit_task

    crm = open_crm(ctx)
    typer.echo(edit_task(crm, task_id, actor=acting(ctx, crm), now=now(), due=when,
                         verb="Snooze").message)


def assign(
    ctx: typer.Context,
    record: Annotated[str, typer.Argument(metavar="RECORD", help="The company, person or deal.",
                                          autocompletion=complete_records(ANY))],
    user: Annotated[str, typer.Argument(metavar="USER", help="The new owner: a user of crm.yaml.")],
) -> None:
    """Hand a company, person or deal to another owner (rules may add a task for them)."""
    from crmctl.assign import assign as assign_record

    crm = open_crm(ctx)
    result = assign_record(crm, record, user, actor=acting(ctx, crm), now=now())
    typer.echo(result.message)
    daily.report_fired(result.fired)
