"""The bodies of the writes a salesperson runs between two calls: `log`, `move`, `task add`.

They take the global options and the command's parameters, and import no Typer: the same
body runs under the Typer command (crmctl/cli/log.py, move.py, tasks.py declare them) and
from ``crmctl.cli.quick``, which skips Typer for a plain command line.
"""

from __future__ import annotations

import sys
from typing import Any, Iterable, Optional

from crmctl.cli.session import Globals, actor_of, echo, in_editor, now, opened, say

EDITOR_TEMPLATE = "\n# Note for the {type} with {target}. Lines starting with # are ignored;\n" \
                  "# an empty note logs nothing.\n"


def task_add(where: Globals, *, text: str, for_: Optional[str] = None,
             due: Optional[str] = None, priority: Optional[str] = None,
             assign: Optional[str] = None, quiet: bool = False) -> None:
    from crmctl.tasks import add_task

    with opened(where) as crm:
        result = add_task(crm, text, actor=actor_of(where, crm), now=now(), about=for_,
                          due=due, priority=priority or "normal", assign=assign)
    echo(result.task["id"] if quiet else f"{result.message} as {result.task['id'][:6]}")


def move(where: Globals, *, record: str, target: str, amount: Optional[str] = None,
         probability: Optional[str] = None, close: Optional[str] = None,
         reason: Optional[str] = None) -> None:
    from crmctl.moves import move as move_record

    with opened(where) as crm:
        moved = move_record(crm, record, target, actor=actor_of(where, crm), now=now(),
                            amount=amount, probability=probability, close=close,
                            reason=reason)
    echo(moved.message)
    report_fired(moved.fired)


def log(where: Globals, *, record: str, type_: str, note: Optional[str] = None,
        outcome: Optional[str] = None, at: Optional[str] = None, with_: Optional[str] = None,
        deal: Optional[str] = None, force: bool = False,
        follow_up: Optional[str] = None) -> None:
    from crmctl.dates import parse_moment
    from crmctl.log_activity import activity_type, log_activity, preflight

    with opened(where) as crm:
        moment = now()
        kind = activity_type(crm, type_)
        when = parse_moment(at, moment) if at is not None else None
        if note == "-":
            note = _note_from_stdin()
        elif note is None and kind.note == "required" and sys.stdin.isatty() and \
                sys.stdout.isatty():
            target = preflight(crm, record, type_id=kind.id, now=moment, at=when,
                               with_person=with_, deal=deal, outcome=outcome, force=force,
                               follow_up=follow_up)
            note = in_editor(EDITOR_TEMPLATE.format(type=kind.id, target=target.name),
                             "NOTE.txt", "set $EDITOR, or pass --note TEXT")
        logged = log_activity(
            crm, record, type_id=kind.id, actor=actor_of(where, crm), now=moment, note=note,
            at=when, with_person=with_, deal=deal,
            outcome=outcome, force=force, follow_up=follow_up,
            on_heads_up=lambda recent: _warn(crm, recent))
        echo(logged.message.split(": ", 1)[0] if ": " in logged.message else logged.message)
        if logged.follow_up:
            task = logged.follow_up
            echo(f"  follow-up: task {task['id'][:6]} \"{task['text']}\" due {task['due']}")
        for record_ in logged.promoted:
            say(f"{record_.kind} {record_.name}: status is now {record_.get('status')}")


def _note_from_stdin() -> str:
    try:
        return sys.stdin.buffer.read().decode("utf-8") if hasattr(sys.stdin, "buffer") \
            else sys.stdin.read()
    except UnicodeDecodeError:
        from crmctl.errors import UserError

        raise UserError("the note on stdin is not UTF-8 text",
                        "convert it, e.g. with iconv") from None


def report_fired(fired: Iterable[Any]) -> None:
    """What workflow rules did, after the command's own line."""
    for item in fired:
        echo(f"  {item}")


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
