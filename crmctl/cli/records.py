"""init, add company|person|deal, show, list."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from crmctl.cli.common import (FormatOption, ForceOption, Format, QuietOption, SetOption,
                               TagOption, acting, complete_records, globals_of, in_editor, now,
                               open_crm, say, warn_broken)
from crmctl.errors import UserError

add_app = typer.Typer(help="Add a company, a person (of a company) or a deal (with a company).",
                      no_args_is_help=True)

ANY_RECORD = ("company", "person", "deal")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(add_app, name="add")
    app.command("show")(show)
    app.command("list")(list_)
    app.command("edit")(edit)


def init(
    ctx: typer.Context,
    path: Annotated[Optional[Path], typer.Argument(metavar="PATH", help="Folder for the CRM (default: --dir or here).")] = None,
    remote: Annotated[Optional[str], typer.Option(help="A shared git remote (an empty bare repository) to push the new CRM to, as origin.")] = None,
    require_signed: Annotated[bool, typer.Option("--require-signed", help="Every commit must be signed: check and sync flag unsigned ones; keys go in allowed-signers.")] = False,
) -> None:
    """Create a CRM folder: a git repository with crm.yaml, git settings and a first commit."""
    from crmctl.identity import parse_identity
    from crmctl.init import init_crm

    target = path or Path(globals_of(ctx).dir or ".")
    as_user = globals_of(ctx).as_user
    result = init_crm(target, parse_identity(as_user) if as_user else None, now(),
                      require_signed=require_signed)
    if result.created:
        typer.echo(f"Created a CRM in {result.root}")
        if not result.hook_installed:
            say("note: the repo has a pre-commit hook of its own; add `crmctl check --staged` "
                "to it to check hand edits")
        if remote:
            from crmctl.store import Crm
            from crmctl.sync import sync as sync_crm

            crm = Crm(result.root)
            crm.git.run("remote", "add", "origin", remote)
            identity = parse_identity(as_user) if as_user else None
            from crmctl.identity import git_identity

            sync_crm(crm, actor=identity or git_identity(crm.git), now=now())
            typer.echo(f"Pushed it to {remote} (origin); teammates join with: "
                       f"crmctl clone {remote}")
        say("Next: crmctl add company NAME, then crmctl add person NAME --company COMPANY")
    else:
        say(f"{result.root} is already a CRM; nothing changed")


def _report_added(added, quiet: bool) -> None:  # type: ignore[no-untyped-def]
    from crmctl.cli.daily import report_fired

    if quiet:
        typer.echo(added.record.id)
        return
    typer.echo(f"{added.message} as {added.record.id}")
    if added.routed_to:
        typer.echo(f"  routing: owner {added.routed_to}")
    report_fired(added.fired)


@add_app.command("company")
def add_company(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The company's name, as it should be shown.")],
    domain: Annotated[Optional[str], typer.Option(help="Web domain, e.g. acme.com.")] = None,
    status: Annotated[Optional[str], typer.Option(help="Lifecycle status from crm.yaml (default lead).")] = None,
    owner: Annotated[Optional[str], typer.Option(help="The user who owns it.")] = None,
    source: Annotated[Optional[str], typer.Option(help="Where the lead came from.")] = None,
    tag: TagOption = None,
    set_: SetOption = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
) -> None:
    """Add a company. Refuses a likely duplicate of an existing one unless --force."""
    from crmctl.records import add_company as add, parse_assignments

    crm = open_crm(ctx)
    added = add(crm, name, actor=acting(ctx, crm), now=now(), domain=domain, status=status,
                owner=owner, source=source, tags=tag or (),
                extra=parse_assignments(set_ or (), "company", crm), force=force)
    _report_added(added, quiet)


@add_app.command("person")
def add_person(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The person's full name.")],
    company: Annotated[str, typer.Option(help="The company they work at (name or id); it must exist.",
                                         autocompletion=complete_records(("company",)))],
    email: Annotated[Optional[list[str]], typer.Option(help="Email address (repeat for more).")] = None,
    phone: Annotated[Optional[list[str]], typer.Option(help="Phone number (repeat for more).")] = None,
    title: Annotated[Optional[str], typer.Option(help="Job title.")] = None,
    status: Annotated[Optional[str], typer.Option(help="Lifecycle status from crm.yaml (default lead).")] = None,
    owner: Annotated[Optional[str], typer.Option(help="The user who owns them.")] = None,
    source: Annotated[Optional[str], typer.Option(help="Where the lead came from.")] = None,
    tag: TagOption = None,
    set_: SetOption = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
) -> None:
    """Add a person at an existing company (company first, then person)."""
    from crmctl.records import add_person as add, parse_assignments

    crm = open_crm(ctx)
    added = add(crm, name, company=company, actor=acting(ctx, crm), now=now(),
                emails=email or (), phones=phone or (), title=title, status=status, owner=owner,
                source=source, tags=tag or (), extra=parse_assignments(set_ or (), "person", crm),
                force=force)
    _report_added(added, quiet)


@add_app.command("deal")
def add_deal(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(metavar="TITLE", help="The deal's title, e.g. \"Renewal 2027\".")],
    company: Annotated[str, typer.Option(help="The company the deal is with (name or id).",
                                         autocompletion=complete_records(("company",)))],
    person: Annotated[Optional[str], typer.Option(help="The contact person at that company.",
                                                  autocompletion=complete_records(("person",)))] = None,
    amount: Annotated[Optional[str], typer.Option(help="Value of the deal, e.g. 12000 or 12,000.50.")] = None,
    currency: Annotated[Optional[str], typer.Option(help="ISO currency code (default from crm.yaml).")] = None,
    stage: Annotated[Optional[str], typer.Option(help="Pipeline stage (default: the first).")] = None,
    probability: Annotated[Optional[str], typer.Option(help="Win probability in percent (default: the stage's).")] = None,
    close: Annotated[Optional[str], typer.Option(help="Expected close date: YYYY-MM-DD, +30d, ...")] = None,
    owner: Annotated[Optional[str], typer.Option(help="The user who owns it.")] = None,
    source: Annotated[Optional[str], typer.Option(help="Where the deal came from.")] = None,
    tag: TagOption = None,
    set_: SetOption = None,
    force: ForceOption = False,
    quiet: QuietOption = False,
) -> None:
    """Add a deal with an existing company."""
    from crmctl.records import add_deal as add, parse_assignments

    crm = open_crm(ctx)
    added = add(crm, title, company=company, actor=acting(ctx, crm), now=now(), person=person,
                amount=amount, currency=currency, stage=stage, probability=probability,
                close=close, owner=owner, source=source, tags=tag or (),
                extra=parse_assignments(set_ or (), "deal", crm), force=force)
    _report_added(added, quiet)


# Columns of `list` per kind: (field, header, numeric?)
LIST_COLUMNS = {
    "company": [("id", "ID"), ("name", "NAME"), ("status", "STATUS"), ("owner", "OWNER"),
                ("domain", "DOMAIN"), ("tags", "TAGS")],
    "person": [("id", "ID"), ("name", "NAME"), ("company", "COMPANY"), ("title", "TITLE"),
               ("status", "STATUS"), ("emails", "EMAIL")],
    "deal": [("id", "ID"), ("name", "TITLE"), ("company", "COMPANY"), ("stage", "STAGE"),
             ("amount", "AMOUNT"), ("currency", "CUR"), ("probability", "PROB %"),
             ("close", "CLOSE"), ("owner", "OWNER")],
}
NUMERIC = {"amount", "probability"}


def list_(
    ctx: typer.Context,
    what: Annotated[str, typer.Argument(metavar="companies|people|deals",
                                        help="Which records to list.")],
    status: Annotated[Optional[str], typer.Option(help="Only this lifecycle status.")] = None,
    stage: Annotated[Optional[str], typer.Option(help="Only deals in this stage.")] = None,
    owner: Annotated[Optional[str], typer.Option(help="Only records this user owns.")] = None,
    tag: Annotated[Optional[str], typer.Option(help="Only records with this tag.")] = None,
    company: Annotated[Optional[str], typer.Option(help="Only people or deals of this company.",
                                                   autocompletion=complete_records(("company",)))] = None,
    open_: Annotated[bool, typer.Option("--open", help="Only deals in open (not won or lost) stages.")] = False,
    fmt: FormatOption = Format.table,
    quiet: QuietOption = False,
) -> None:
    """List companies, people or deals, filtered; ordered by name."""
    from crmctl.errors import UserError
    from crmctl.model import kind_named
    from crmctl.records import list_records
    from crmctl.render import write_ids, write_rows

    kind = kind_named(what)
    if kind is None:
        raise UserError(f"cannot list {what!r}", "choose companies, people or deals")
    crm = open_crm(ctx)
    records = list_records(crm, kind.name, status=status, stage=stage, owner=owner, tag=tag,
                           company=company, open_only=open_)
    warn_broken(crm, (kind.plural,))  # a list reads its kind's folder alone
    if quiet:
        write_ids(r.id for r in records)
        return
    columns = LIST_COLUMNS[kind.name]
    rows = [dict(r.data) for r in records] if fmt != Format.table else [
        {c: r.get(c) for c, _ in columns} for r in records]
    write_rows(rows, [c for c, _ in columns] if fmt != Format.json else [], fmt.value,
               headers=[h for _, h in columns], numeric=NUMERIC,
               empty=f"No {kind.plural} match." if any((status, stage, owner, tag, company, open_))
               else f"No {kind.plural} yet.")


def show(
    ctx: typer.Context,
    record: Annotated[str, typer.Argument(metavar="RECORD", help="A company, person or deal: id, name or a close spelling.",
                                          autocompletion=complete_records(ANY_RECORD))],
    limit: Annotated[int, typer.Option(help="Timeline entries to show in a table (0: all).")] = 20,
    fmt: FormatOption = Format.table,
    quiet: QuietOption = False,
) -> None:
    """Show a record with its company, people, deals and timeline (newest first)."""
    from crmctl.records import show as show_record
    from crmctl.render import write_json, write_rows
    from crmctl.terminal import color_enabled, style

    crm = open_crm(ctx)
    shown = show_record(crm, record, timeline_limit=limit or None
                        if fmt == Format.table and not quiet else None)
    warn_broken(crm)
    rec = shown.record
    if quiet:  # the id the name resolved to, for scripts
        typer.echo(rec.id)
        return
    if fmt == Format.json:
        write_json({"kind": rec.kind, "record": dict(rec.data),
                    "company": dict(shown.company.data) if shown.company else None,
                    "people": [dict(p.data) for p in shown.people],
                    "deals": [dict(d.data) for d in shown.deals],
                    "timeline": list(shown.timeline)})
        return
    if fmt == Format.csv:
        fields = [k for k in rec.data]
        write_rows([dict(rec.data)], fields, "csv")
        return
    colored = color_enabled(sys.stdout)
    typer.echo(style(f"{rec.name}", bold=True, enabled=colored) + f"  ({rec.kind} {rec.id})")
    width = max(len(k) for k in rec.data)
    from crmctl.render import cell, money
    for key, value in rec.data.items():
        if key in ("id", "name") or value in (None, [], ""):
            continue
        if key == "company" and shown.company:
            value = f"{shown.company.name} ({value})"
        text = money(value) if key == "amount" else cell(value)
        if "\n" in text:
            text = text.rstrip("\n").replace("\n", "\n" + " " * (width + 4))
        typer.echo(f"  {key.ljust(width)}  {text}")
    for title, items, kind in (("People", shown.people, "person"), ("Deals", shown.deals, "deal")):
        if rec.kind == kind or (rec.kind != "company" and not items):
            continue
        typer.echo("")
        typer.echo(style(f"{title} ({len(items)})", bold=True, enabled=colored))
        if items:
            columns = [c for c, _ in LIST_COLUMNS[kind] if c != "company"]
            headers = [h for c, h in LIST_COLUMNS[kind] if c != "company"]
            write_rows([{c: i.get(c) for c in columns} for i in items], columns, "table",
                       headers=headers, numeric=NUMERIC)
        else:
            typer.echo("  none yet")
    typer.echo("")
    typer.echo(style(f"Timeline ({shown.timeline_total})", bold=True, enabled=colored))
    if not shown.timeline:
        typer.echo("  nothing logged yet")
        return
    known = {r.id: r.name for r in (rec, shown.company, *shown.people, *shown.deals) if r}

    def name_of(kind: str, record_id: str) -> str:
        if record_id not in known:
            found = crm.index.get(kind, record_id)
            known[record_id] = found.name if found else record_id
        return known[record_id]

    write_rows([timeline_row(e, name_of) for e in shown.timeline],
               ["at", "by", "what", "with", "note"],
               "table", headers=["WHEN", "WHO", "WHAT", "WITH", "NOTE"])
    if len(shown.timeline) < shown.timeline_total:
        typer.echo(f"  ... {shown.timeline_total - len(shown.timeline)} older "
                   "(--limit 0 shows all)")


def timeline_row(entry, name_of) -> dict:  # type: ignore[no-untyped-def]
    """One log entry as a row: an activity, or a move of stage or status; ``name_of(kind,
    id)`` gives the names of the people and deals it was with."""
    from crmctl.activities import first_line

    if entry.get("kind") == "move":
        what = f"{entry.get('field')}: {entry.get('from')} -> {entry.get('to')}"
    else:
        what = str(entry.get("type", "")) + (f"/{entry['outcome']}" if entry.get("outcome") else "")
    parties = [name_of(k, entry[k]) for k in ("person", "deal") if entry.get(k)]
    return {"at": str(entry.get("at", ""))[:16].replace("T", " "),
            "by": entry.get("by_name") or entry.get("by"), "what": what,
            "with": ", ".join(parties),
            "note": first_line(entry.get("note") or entry.get("reason"), 60)}


def edit(
    ctx: typer.Context,
    record: Annotated[str, typer.Argument(metavar="RECORD", help="The company, person or deal to edit.",
                                          autocompletion=complete_records(ANY_RECORD))],
    set_: Annotated[Optional[list[str]], typer.Option("--set", metavar="FIELD=VALUE", help="Set a field (repeat); lists take comma-separated values.")] = None,
    unset: Annotated[Optional[list[str]], typer.Option("--unset", metavar="FIELD", help="Remove a field (repeat).")] = None,
) -> None:
    """Change a record's fields: in $EDITOR (validated on save), or with --set/--unset."""
    from crmctl.edit import edit as edit_record
    from crmctl.errors import UsageError

    crm = open_crm(ctx)
    in_editor = None
    if not set_ and not unset:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise UsageError("without a terminal, say what to change",
                             "crmctl edit RECORD --set FIELD=VALUE [--unset FIELD]")
        in_editor = _edit_in_editor
    edited = edit_record(crm, record, actor=acting(ctx, crm), now=now(), set_=set_ or [],
                         unset=unset or [], in_editor=in_editor)
    if edited.commit is None:
        say(f"No change to {edited.record.kind} {edited.record.name}")
        return
    typer.echo(edited.message)


def _edit_in_editor(text: str, error: Optional[str]) -> Optional[str]:
    """The record's YAML in $EDITOR, the errors of the last try on top as comments; None
    when the person empties it (nothing is changed then)."""
    header = "".join(f"# {line}\n" for line in (
        [f"error: {error}", "fix it and save, or empty the file to give up"] if error else
        ["Edit and save; lines starting with # are ignored. Empty the file to give up."]))
    body = "\n".join(l for l in text.splitlines() if not l.startswith("#"))
    try:
        edited = in_editor(header + body + "\n", "record.yaml",
                           "set $EDITOR, or use --set FIELD=VALUE")
    except UserError as exc:
        if "exited with" in exc.message:
            return None  # the person quit the editor: give up, as with an empty file
        raise
    return edited + "\n" if edited else None
