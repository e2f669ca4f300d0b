"""crmctl history and crmctl blame: the audit trail git keeps."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from crmctl.cli.common import Format, FormatOption, complete_records, now, open_crm

ANY = ("company", "person", "deal")


def register(app: typer.Typer) -> None:
    app.command("history")(history)
    app.command("blame")(blame)


def history(
    ctx: typer.Context,
    record: Annotated[Optional[str], typer.Argument(metavar="[RECORD]", help="Only changes to this record (default: everything).",
                                                    autocompletion=complete_records(ANY))] = None,
    since: Annotated[Optional[str], typer.Option(help="Only changes on or after this date.")] = None,
    by: Annotated[Optional[str], typer.Option(help="Only changes by this user (id, name or email).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first (0: all).")] = 50,
    verify: Annotated[bool, typer.Option("--verify", help="Mark each change good, bad or unsigned by its signature (git's own check; SSH keys against the CRM's allowed-signers file).")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """The CRM's git history as an activity feed; hand edits show up by author and files."""
    from crmctl.dates import parse_date, start_of_day
    from crmctl.history import history as read_history
    from crmctl.render import write_rows
    from crmctl.resolve import resolve

    from crmctl.errors import UserError

    if limit < 0:
        raise UserError(f"--limit {limit} is negative", "give a count, or 0 for all")
    crm = open_crm(ctx)
    if record:  # a past in commits: uncommitted hand edits have none
        crm.index.read_committed()
    target = resolve(crm, record) if record else None
    moment = now()
    start = start_of_day(parse_date(since, moment, prefer="past"), moment) if since else None
    changes = read_history(crm, target, since=start, by=by, limit=limit or None,
                           all_files=fmt != Format.table)  # the feed names hand edits' files
    marks: dict[str, str] = {}
    if verify:
        from crmctl.history import signatures

        commits = [c.commit for c in changes]
        # A few commits by name; many (--limit 0) by one walk, not a command line that long.
        marks = signatures(crm, ["--no-walk=unsorted", *commits] if len(commits) <= 500
                           else ["HEAD"])
    if fmt == Format.table:
        width = max((len(m) for m in marks.values()), default=0)
        for change in changes:
            mark = f"{marks.get(change.commit, 'unsigned'):<{width}}  " if verify else ""
            typer.echo(mark + change.feed_line())
        if not changes:
            typer.echo("No changes match.")
        return
    rows = [{"commit": c.commit, "at": c.at.isoformat(), "author": c.author, "email": c.email,
             "message": c.subject, "records": list(c.records), "files": list(c.files),
             "by_hand": c.by_hand, **({"signature": marks.get(c.commit, "unsigned")}
                                      if verify else {})} for c in changes]
    write_rows(rows, list(rows[0]) if rows else ["commit", "at", "author", "email", "message"],
               fmt.value)


def blame(
    ctx: typer.Context,
    record: Annotated[str, typer.Argument(metavar="RECORD", help="A company, person or deal.",
                                          autocompletion=complete_records(ANY))],
    field: Annotated[Optional[str], typer.Argument(metavar="[FIELD]", help="Only this field.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Who set each field to its current value, and when, from the git history."""
    from crmctl.errors import UserError
    from crmctl.history import blame as blame_record
    from crmctl.render import cell, write_rows
    from crmctl.resolve import resolve

    crm = open_crm(ctx)
    target = resolve(crm, record)
    if field is not None and field not in target.data:
        raise UserError(f"{target.name} has no field {field!r} "
                        f"(fields: {', '.join(target.data)})")
    rows = [{"field": b.field,
             "value": b.value if fmt != Format.table else _short(cell(b.value)),
             "by": b.author, "at": b.at.isoformat() if b.at and fmt != Format.table
             else (b.at.strftime("%Y-%m-%d %H:%M") if b.at else ""),
             "commit": (b.commit or "")[:10] if fmt == Format.table else b.commit,
             "change": b.subject} for b in blame_record(crm, target, field)]
    write_rows(rows, ["field", "value", "by", "at", "commit", "change"], fmt.value,
               headers=["FIELD", "VALUE", "SET BY", "WHEN", "COMMIT", "CHANGE"])


def _short(text: str, width: int = 40) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"
