"""crmctl mail-in: log an email from a .forward/procmail/fetchmail hook, a file or a Maildir."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from crmctl.cli.common import acting, globals_of, now, open_crm, say

if TYPE_CHECKING:
    from datetime import datetime

    from crmctl.identity import Actor
    from crmctl.mailin import Filed
    from crmctl.store import Crm


def register(app: typer.Typer) -> None:
    app.command("mail-in")(mail_in)


def mail_in(
    ctx: typer.Context,
    file: Annotated[Optional[Path], typer.Argument(metavar="[FILE]", help="One message (.eml); - or nothing reads it from stdin.")] = None,
    maildir: Annotated[Optional[Path], typer.Option("--maildir", metavar="DIR", help="File every message in DIR/new and DIR/cur (or every file in DIR); files are not moved.")] = None,
    create_lead: Annotated[bool, typer.Option("--create-lead", help="A message that matches no one adds a company (from the domain) and a person, then logs it.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be logged; write nothing.")] = False,
) -> None:
    """Log an email as email-sent or email-received with the people and companies on it.

    Reads one RFC 5322 message (forwarded or BCC'd to the CRM, or a file). From a user:
    email-sent to To/Cc; to a user: email-received from From; a user's forward of a
    message is logged as that message. Matches people by email, companies by domain;
    one commit per message; a Message-ID already logged is skipped. No match: exit 3."""
    from crmctl.errors import UsageError

    if file is not None and maildir is not None:
        raise UsageError("give a FILE or --maildir DIR, not both")
    crm = open_crm(ctx)
    moment = now()
    fallback = _fallback_actor(ctx, crm)
    if maildir is not None:
        raise typer.Exit(_folder(crm, maildir, moment, fallback, create_lead, dry_run))
    from crmctl.mailin import mail_in as file_message

    filed = file_message(crm, _read(file), now=moment, fallback=fallback,
                         create_lead=create_lead, dry_run=dry_run)
    typer.echo(_line(filed))
    _details(filed)


def _fallback_actor(ctx: typer.Context, crm: "Crm") -> "Optional[Actor]":
    """The person acting (--as, $CRMCTL_USER or git's identity) also counts as one of the
    team's addresses; a hook run with no identity at all still files mail for the users
    declared in crm.yaml."""
    import os

    from crmctl.errors import UserError

    try:
        return acting(ctx, crm)
    except UserError:
        if globals_of(ctx).as_user or os.environ.get("CRMCTL_USER"):
            raise  # an unknown --as is a mistake to report, not to ignore
        return None


def _read(file: Optional[Path]) -> bytes:
    from crmctl.errors import UsageError, UserError

    if file is None or str(file) == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("no message: pipe one in, or give FILE or --maildir DIR",
                             "e.g. crmctl mail-in < message.eml")
        stream = getattr(sys.stdin, "buffer", None)
        return stream.read() if stream is not None else sys.stdin.read().encode("utf-8")
    try:
        return file.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {file}: {exc.strerror or exc}") from None


def _line(filed: "Filed") -> str:
    """One line per message: what happened to it."""
    if filed.status == "already logged":
        return f"already logged: {filed.message_id}" + (f" ({filed.subject})" if filed.subject
                                                        else "")
    verb = "Would log" if filed.status == "would log" else "Logged"
    return verb + filed.message.removeprefix("Mail-in")


def _details(filed: "Filed") -> None:
    for record in filed.created:
        verb = "would add" if filed.status == "would log" else "added"
        say(f"{verb} {record.kind} {record.name} ({record.id})")
    for record in filed.promoted:
        say(f"{record.kind} {record.name}: status is now {record.get('status')}")
    for warning in filed.warnings:
        say(warning)


def _folder(crm: "Crm", folder: Path, moment: "datetime", fallback: "Optional[Actor]",
            create_lead: bool, dry_run: bool) -> int:
    """File every message; one line each on stdout, a tally on stderr; the exit code of the
    first message that failed hard (0 when none did: "no match" is not a failure)."""
    from crmctl.mailin import file_folder

    counts = {"logged": 0, "already logged": 0, "no match": 0, "failed": 0}
    code = 0
    for outcome in file_folder(crm, folder, now=moment, fallback=fallback,
                               create_lead=create_lead, dry_run=dry_run):
        name = outcome.path.relative_to(folder).as_posix() \
            if outcome.path.is_relative_to(folder) else str(outcome.path)
        if outcome.filed is not None:
            counts["already logged" if outcome.filed.status == "already logged"
                   else "logged"] += 1
            typer.echo(f"{name}: {_line(outcome.filed)}")
            _details(outcome.filed)
        elif outcome.hard:
            counts["failed"] += 1
            code = code or outcome.error.exit_code  # type: ignore[union-attr]
            typer.echo(f"{name}: failed: {outcome.error}")
        else:
            counts["no match"] += 1
            typer.echo(f"{name}: no match: {outcome.error.message}")  # type: ignore[union-attr]
    total = sum(counts.values())
    logged = "would log" if dry_run else "logged"
    say(f"{total} message(s): {counts['logged']} {logged}, {counts['already logged']} already "
        f"logged, {counts['no match']} no match, {counts['failed']} failed")
    return code
