"""crmctl log: one command after every call, email, meeting or attempt."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Optional

import typer

from crmctl.cli.common import acting, complete_records, in_editor, now, open_crm, say

EDITOR_TEMPLATE = "\n# Note for the {type} with {target}. Lines starting with # are ignored;\n" \
                  "# an empty note logs nothing.\n"


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
    from crmctl.dates import parse_moment
    from crmctl.log_activity import activity_type, log_activity, preflight

    crm = open_crm(ctx)
    moment = now()
    kind = activity_type(crm, type_)
    when = parse_moment(at, moment) if at is not None else None
    if note == "-":
        try:
            note = sys.stdin.buffer.read().decode("utf-8") if hasattr(sys.stdin, "buffer") \
                else sys.stdin.read()
        except UnicodeDecodeError:
            from crmctl.errors import UserError

            raise UserError("the note on stdin is not UTF-8 text", "convert it, e.g. with iconv") from None
    elif note is None and kind.note == "required" and sys.stdin.isatty() and sys.stdout.isatty():
        target = preflight(crm, record, type_id=kind.id, now=moment, at=when, with_person=with_,
                           deal=deal, outcome=outcome, force=force, follow_up=follow_up)
        note = _note_from_editor(kind.id, target.name)
    logged = log_activity(
        crm, record, type_id=kind.id, actor=acting(ctx, crm), now=moment, note=note,
        at=when, with_person=with_, deal=deal,
        outcome=outcome, force=force, follow_up=follow_up,
        on_heads_up=lambda recent: _warn(crm, recent))
    typer.echo(logged.message.split(": ", 1)[0] if ": " in logged.message else logged.message)
    if logged.follow_up:
        task = logged.follow_up
        typer.echo(f"  follow-up: task {task['id'][:6]} \"{task['text']}\" due {task['due']}")
    for record_ in logged.promoted:
        say(f"{record_.kind} {record_.name}: status is now {record_.get('status')}")


def _note_from_editor(type_id: str, target: str) -> Optional[str]:
    return in_editor(EDITOR_TEMPLATE.format(type=type_id, target=target), "NOTE.txt",
                     "set $EDITOR, or pass --note TEXT")


def _warn(crm: Any, recent: list[dict[str, Any]]) -> None:
    from crmctl.activities import first_line

    for entry in recent[:5]:
        who = entry.get("by_name") or entry.get("by")
        what = entry.get("type", "") + (f"/{entry['outcome']}" if entry.get("outcome") else "")
        person = crm.index.get("person", entry["person"]) if entry.get("person") else None
        with_ = f" with {person.name if person else entry['person']}" if entry.get("person") else ""
        note = first_line(entry.get("note"))
        say(f"heads-up: {who} logged {what}{with_} at {str(entry.get('at'))[:16].replace('T', ' ')}"
            + (f": {note}" if note else ""))
