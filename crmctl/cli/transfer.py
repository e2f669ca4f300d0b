"""crmctl import and crmctl export: spreadsheets and vCards in, segments out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from crmctl.cli.common import acting, now, open_crm, say


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command("capture")(capture)
    app.command("export")(export)


def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A .csv (any delimiter, with or without BOM), .xlsx or .vcf file.")],
    type_: Annotated[Optional[str], typer.Option("--type", "-t", metavar="companies|people|deals", help="What the rows are (a .vcf is people).")] = None,
    map_: Annotated[Optional[list[str]], typer.Option("--map", metavar="COLUMN=FIELD", help="Map a column to a field (or to skip); repeat.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="Show what would be created, updated, skipped and rejected; change nothing.")] = False,
    update: Annotated[bool, typer.Option("--update", help="Update records already in the CRM from their rows (default: skip them).")] = False,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Import the good rows even if some are bad (default: import nothing).")] = False,
) -> None:
    """Import companies, people or deals in one commit, matching every row against the CRM
    (and the rows before it) so nothing is duplicated."""
    from crmctl.errors import UsageError, UserError
    from crmctl.importer import import_file

    if file.suffix.lower() == ".vcf":
        if type_ not in (None, "people", "person", "contacts"):
            raise UserError(f"a vCard file holds people, not {type_}", "leave out --type")
        type_ = "people"
    if type_ is None:
        raise UsageError("say what the rows are: --type companies, people or deals")
    crm = open_crm(ctx)
    bar = None
    if sys.stderr.isatty() and not dry_run:
        bar = typer.progressbar(length=1, label="Importing", file=sys.stderr)
        bar.__enter__()

    def progress(done: int, total: int) -> None:
        if bar is not None:
            bar.length = total
            bar.update(done - bar.pos)

    try:
        result = import_file(crm, file, type_, actor=acting(ctx, crm), now=now(),
                             maps=map_ or [], dry_run=dry_run, update=update,
                             skip_bad=skip_bad, progress=progress)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if result.unmapped:
        say(f"columns not imported: {', '.join(result.unmapped)} "
            "(map them with --map COLUMN=FIELD)")
    if dry_run:
        from crmctl.render import write_rows

        write_rows([o.__dict__ for o in result.outcomes],
                   ["row", "action", "name", "id", "reason"], "table",
                   headers=["ROW", "ACTION", "NAME", "ID", "WHY"])
        say(f"(dry run: nothing changed) {result.message}")
        return
    if result.commit is None:
        typer.echo(f"Nothing to import: {result.message}")
        return
    typer.echo(result.message)
    if result.companies_created:
        count = result.companies_created
        typer.echo(f"  and {count} compan{'y it belongs' if count == 1 else 'ies they belong'} to")
    for outcome in result.outcomes:
        if outcome.action == "rejected":
            say(f"row {outcome.row} skipped: {outcome.reason}")


def capture(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="[FILE]", help="A file holding one JSON object; - or nothing reads stdin.")] = "-",
    type_: Annotated[Optional[str], typer.Option("--type", "-t", metavar="company|person", help="What it is (default: a person when it has an email or a company name beside a person's name, else a company).")] = None,
    update: Annotated[bool, typer.Option("--update", help="Update the record if it is already in the CRM (default: refuse, naming it).")] = False,
) -> None:
    """A lead from a web form or a mail filter: one JSON object, with the same validation,
    duplicate guard and routing as add, e.g.
    echo '{"name": "Jane Doe", "email": "jane@acme.com", "company": "Acme", "source": "web", "campaign": "spring"}' | crmctl capture"""
    import json

    from crmctl.errors import Conflict, UserError
    from crmctl.importer import import_rows

    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {file}: {exc}") from None
    except ValueError as exc:
        raise UserError(f"not JSON: {exc}", 'give one object, e.g. {"name": "Acme"}') from None
    if not isinstance(data, dict) or not data:
        raise UserError("the JSON is not an object with fields", 'e.g. {"name": "Acme"}')
    scalar = (str, int, float)
    for key, value in data.items():
        if isinstance(value, bool) or not (value is None or isinstance(value, scalar) or (
                isinstance(value, list) and all(isinstance(v, scalar) for v in value))):
            raise UserError(f"the field {key!r} holds {type(value).__name__} "
                            f"{json.dumps(value)[:40]}", "give text, a number, or a list of them")
    row = {str(k): ", ".join(map(str, v)) if isinstance(v, list) else "" if v is None else str(v)
           for k, v in data.items()}
    keys = {k.lower().replace(" ", "").replace("_", "") for k in row}
    if type_ is None:
        type_ = "person" if keys & {"email", "emailaddress", "firstname", "lastname"} else "company"
    crm = open_crm(ctx)
    def message(result) -> str:  # type: ignore[no-untyped-def]
        [outcome] = result.outcomes
        verb = "Update" if outcome.action == "updated" else "Capture"
        return f'{verb} {outcome.kind} "{outcome.name}" from a form'

    result = import_rows(crm, "a form", list(row), [(1, row)], type_, actor=acting(ctx, crm),
                         now=now(), update=update, strict=True, skip_bad=True, message=message)
    [outcome] = result.outcomes
    if outcome.action == "rejected":
        raise UserError(outcome.reason)
    if outcome.action == "skipped" and update:  # asked to update, and nothing differed
        typer.echo(f'No change to {outcome.kind} "{outcome.name}" ({outcome.id})')
        return
    if outcome.action == "skipped":
        raise Conflict(f"{outcome.kind} {outcome.name!r} is already in the CRM as {outcome.id} "
                       f"({outcome.reason.removeprefix('already in the CRM (').rstrip(')')})",
                       "add --update to update it from the form")
    verb = {"created": "Add", "updated": "Update"}.get(outcome.action, outcome.action)
    typer.echo(f'{verb} {outcome.kind} "{outcome.name}" as {outcome.id}')
    if result.companies_created:
        say("  and its company, which was new")


def export(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(metavar="people|companies", help="What to export.")],
    status: Annotated[Optional[str], typer.Option(help="Only this lifecycle status.")] = None,
    tag: Annotated[Optional[str], typer.Option(help="Only records with this tag.")] = None,
    owner: Annotated[Optional[str], typer.Option(help="Only records this user owns.")] = None,
    source: Annotated[Optional[str], typer.Option(help="Only this lead source.")] = None,
    has_deal_stage: Annotated[Optional[str], typer.Option("--has-deal-stage", metavar="STAGE", help="Only those with a deal (theirs or their company's) in this stage.")] = None,
    include_dnc: Annotated[bool, typer.Option("--include-do-not-contact", help="Include do-not-contact records (never for outreach).")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", metavar="csv|json|vcf", help="csv (the columns mailing tools import), json, or vcf (people).")] = "csv",
) -> None:
    """A segment for email marketing: do-not-contact records and people without an email are
    left out (and counted on stderr)."""
    from crmctl.errors import UsageError, UserError
    from crmctl.export import COMPANY_COLUMNS, PEOPLE_COLUMNS, segment, to_vcards
    from crmctl.render import write_json, write_rows

    chosen = {"people": "person", "person": "person", "companies": "company",
              "company": "company"}.get(kind)
    if chosen is None:
        raise UserError(f"cannot export {kind!r}", "export people or companies")
    if fmt not in ("csv", "json", "vcf"):
        raise UsageError(f"unknown format {fmt!r}", "use csv, json or vcf")
    crm = open_crm(ctx)
    found = segment(crm, chosen, status=status, tag=tag, owner=owner, source=source,
                    has_deal_stage=has_deal_stage, include_do_not_contact=include_dnc)
    if fmt == "vcf":
        typer.echo(to_vcards(found), nl=False)
    elif fmt == "json":
        write_json(found.rows)
    else:
        write_rows(found.rows, PEOPLE_COLUMNS if chosen == "person" else COMPANY_COLUMNS, "csv")
    count = len(found.rows)
    noun = ("person" if count == 1 else "people") if chosen == "person" else \
        ("company" if count == 1 else "companies")
    left = ", ".join(f"{found.left_out[why]} {why}" for why in ("do-not-contact", "no email")
                     if found.left_out[why])
    say(f"{count} {noun} exported" + (f"; left out: {left}" + (
        " (--include-do-not-contact to include them)" if found.left_out["do-not-contact"]
        else "") if left else ""))
