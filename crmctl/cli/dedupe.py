"""crmctl dedupe (find likely duplicates) and crmctl merge (make them one)."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Optional

import typer

from crmctl.cli.common import Format, FormatOption, acting, complete_records, now, open_crm

KIND_WORDS = {"companies": "company", "company": "company", "people": "person",
              "person": "person"}


def register(app: typer.Typer) -> None:
    app.command("dedupe")(dedupe)
    app.command("merge")(merge)


def dedupe(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(metavar="[companies|people]", help="What to look through (default: companies).")] = "companies",
    threshold: Annotated[Optional[float], typer.Option(help="How alike two records must be, 50-100 (default: crm.yaml's duplicate_threshold, 90).")] = None,
    interactive: Annotated[bool, typer.Option("--interactive", "-i", help="On a terminal: go through the groups and merge, skip, or mark each as not duplicates.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Groups of likely duplicates, each with its score and reasons; merge them with
    `crmctl merge KEEP DUPLICATE...` (each group shows the command)."""
    from crmctl.dedupe import scan
    from crmctl.errors import UsageError, UserError

    chosen = KIND_WORDS.get(kind)
    if chosen is None:
        raise UserError(f"cannot dedupe {kind!r}", "choose companies or people")
    if threshold is not None and not 50 <= threshold <= 100:
        raise UserError(f"--threshold {threshold:g} is not between 50 and 100")
    if interactive and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("--interactive needs a terminal", "without one, read the groups and "
                         "run crmctl merge yourself")
    crm = open_crm(ctx)
    groups = scan(crm, chosen, threshold)
    rows = [_describe(crm, g) for g in groups]
    if fmt == Format.json:
        from crmctl.render import write_json

        write_json([{"group": n, "score": round(r["score"], 1), "reasons": r["reasons"],
                     "tentative": r["tentative"], "keep": r["keep"], "merge": r["merge"],
                     "members": r["members"]} for n, r in enumerate(rows, 1)])
        return
    if fmt == Format.csv:
        from crmctl.render import write_rows

        write_rows([{"group": n, "score": round(r["score"], 1), "tentative": r["tentative"],
                     "reasons": "; ".join(r["reasons"]), **m}
                    for n, r in enumerate(rows, 1) for m in r["members"]],
                   ["group", "score", "tentative", "reasons", "id", "name", "status", "owner",
                    "domain" if chosen == "company" else "company", "people", "deals",
                    "activities"], "csv")
        return
    plural = "companies" if chosen == "company" else "people"
    if not rows:
        typer.echo(f"No likely duplicate {plural}.")
        return
    if interactive:
        _walk(ctx, crm, chosen, rows)
        return
    _print_groups(rows, plural, threshold or crm.process.duplicate_threshold)


def _describe(crm, found) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A group as rows: each member with what hangs on it; the one to keep first."""
    index = crm.index
    members = []
    for candidate in found.members:
        record = index.get(candidate.kind, candidate.id)
        if record is None:
            continue
        if record.kind == "company":
            people, deals = len(index.select("person", company=record.id)), \
                len(index.select("deal", company=record.id))
            logged = index.timeline_count(company=record.id)
        else:
            people, deals = 0, sum(1 for d in index.select("deal", company=record.get("company"))
                                   if d.get("person") == record.id)
            logged = index.timeline_count(person=record.id)
        members.append({"id": record.id, "name": record.name, "status": record.get("status"),
                        "owner": record.get("owner"), "domain": record.get("domain"),
                        "company": record.get("company"), "people": people, "deals": deals,
                        "activities": logged, "created": str(record.get("created") or "")})
    # Keep the one with the most on it, then the oldest: the fewest references to move.
    members.sort(key=lambda m: (-(m["people"] + m["deals"] + m["activities"]), m["created"]))
    # People are merged within one company; someone who moved on is not a duplicate to
    # merge (and an acronym alone is no reason to merge anything).
    apart = len({m["company"] for m in members}) > 1 and members[0]["company"] is not None
    mergeable = bool(members) and not found.tentative and not apart
    return {"score": found.score, "reasons": found.reasons, "tentative": found.tentative,
            "apart": apart, "keep": members[0]["id"] if mergeable else None,
            "merge": ["crmctl", "merge", *(m["id"] for m in members)] if mergeable else None,
            "members": members}


def _print_groups(rows: list[dict[str, Any]], plural: str, threshold: float) -> None:
    from crmctl.render import write_rows

    firm = [r for r in rows if not r["tentative"]]
    tentative = [r for r in rows if r["tentative"]]
    typer.echo(f"Likely duplicate {plural} (threshold {threshold:g}): {len(firm)} group"
               f"{'s' * (len(firm) != 1)}, {sum(len(r['members']) for r in firm)} {plural}")
    columns = ["id", "name", "status", "owner", "domain" if plural == "companies" else "company",
               "people" if plural == "companies" else "deals", "deals", "activities"]
    columns = list(dict.fromkeys(columns))
    for n, row in enumerate(firm, 1):
        typer.echo("")
        typer.echo(f"{n}. {row['score']:.0f}%: {', '.join(row['reasons'])}")
        write_rows(row["members"], columns, "table", headers=[c.upper() for c in columns],
                   numeric=["people", "deals", "activities"])
        if row["merge"]:
            typer.echo("   merge: " + " ".join(_quoted(row["merge"])))
        else:
            typer.echo("   at different companies: merge their companies first if those "
                       "are one, or mark them not duplicates (crmctl dedupe people -i)")
    if tentative:
        typer.echo("")
        typer.echo("Possibly the same (an acronym alone links them; never grouped on that):")
        for row in tentative:
            names = " ~ ".join(f"{m['name']} ({m['id']})" for m in row["members"])
            typer.echo(f"  {names}: {', '.join(row['reasons'])}")


def _quoted(words: list[str]) -> list[str]:
    import shlex

    return [shlex.quote(w) for w in words]


def _walk(ctx: typer.Context, crm, kind: str, rows: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    """One group at a time: merge into a chosen member, skip, or mark as not duplicates."""
    from crmctl.dedupe import mark_distinct
    from crmctl.errors import CrmError
    from crmctl.merge import merge as merge_records
    from crmctl.render import write_rows

    actor = acting(ctx, crm)
    for n, row in enumerate(rows, 1):
        members = row["members"]
        typer.echo("")
        typer.echo(f"Group {n} of {len(rows)}, {row['score']:.0f}%: {', '.join(row['reasons'])}")
        write_rows([{"n": i, **m} for i, m in enumerate(members, 1)],
                   ["n", "id", "name", "status", "owner", "deals", "activities"], "table",
                   headers=["#", "ID", "NAME", "STATUS", "OWNER", "DEALS", "ACTIVITIES"])
        choices = "/".join(str(i) for i in range(1, len(members) + 1)) if row["merge"] else ""
        if not choices:
            typer.echo("  (at different companies: they cannot be merged as people)")
        while True:
            question = (f"Keep which ({choices}, merging the others into it), s to skip, "
                        "n for not duplicates, q to quit" if choices else
                        "s to skip, n for not duplicates, q to quit")
            try:
                answer = typer.prompt(question, default="s").strip().lower()
            except (EOFError, typer.Abort):  # input ended (^D): stop here, done is done
                typer.echo("")
                return
            if answer in ("s", "n", "q") or (choices and answer.isdigit()
                                            and 1 <= int(answer) <= len(members)):
                break
            typer.echo(f"  type {choices + ', ' if choices else ''}s, n or q")
        if answer == "q":
            return
        if answer == "s":
            continue
        ids = [m["id"] for m in members]
        if answer == "n":
            mark_distinct(crm, kind, ids, actor=actor, now=now())
            typer.echo("  remembered: not duplicates")
            continue
        keep = ids[int(answer) - 1]
        try:
            merged = merge_records(crm, keep, [i for i in ids if i != keep], actor=actor,
                                   now=now())
        except CrmError as exc:  # say why, and go on with the next group
            typer.echo(f"  not merged: {exc}")
            continue
        _say_merged(merged)


def merge(
    ctx: typer.Context,
    keep: Annotated[str, typer.Argument(metavar="KEEP", help="The company or person to keep.",
                                        autocompletion=complete_records(("company", "person")))],
    duplicates: Annotated[list[str], typer.Argument(metavar="DUPLICATE...", help="Records to merge into it; their files go.",
                                                    autocompletion=complete_records(("company", "person")))],
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="Show the merge as a diff; change nothing.")] = False,
) -> None:
    """Merge duplicates into KEEP: their people, deals, activities and tasks move to it, their
    names become its aliases, nothing is lost; one commit (git revert undoes it)."""
    from crmctl.merge import merge as merge_records

    crm = open_crm(ctx)
    merged = merge_records(crm, keep, duplicates, actor=acting(ctx, crm), now=now(),
                           dry_run=dry_run)
    if dry_run:
        typer.echo(merged.diff, nl=False)
        typer.echo(f"(dry run: nothing changed) {merged.message}", err=True)
        return
    _say_merged(merged)


def _say_merged(merged) -> None:  # type: ignore[no-untyped-def]
    from crmctl.cli.common import say

    typer.echo(merged.message)
    moved = ", ".join(f"{count} {what}" for what, count in merged.moved.items() if count)
    if moved:
        typer.echo(f"  moved to {merged.keep.name}: {moved}")
    for conflict in merged.conflicts:
        say(f"  differing values, both kept (the other in its notes): {conflict}")
