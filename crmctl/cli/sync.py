"""crmctl sync, resolve and clone: a team on one CRM through a git remote."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from crmctl.cli.common import acting, now, open_crm, say


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
    app.command("resolve")(resolve)
    app.command("clone")(clone)
    app.command("merge-driver", hidden=True)(merge_driver)


def sync(
    ctx: typer.Context,
    remote: Annotated[str, typer.Option(help="The git remote to sync with.")] = "origin",
    background: Annotated[bool, typer.Option("--background", hidden=True, help="Auto-sync: keep the outcome for the next command to report.")] = False,
) -> None:
    """Fetch the team's changes, merge them field by field, and push yours."""
    from crmctl.sync import sync as sync_crm

    crm = open_crm(ctx)
    if background:
        from crmctl import autosync
        from crmctl.errors import CrmError

        try:
            result = sync_crm(crm, actor=acting(ctx, crm).identity, now=now(), remote=remote)
        except CrmError as exc:
            autosync.record(crm, False, str(exc), now())
            raise
        autosync.record(crm, True, "", now())
        return
    result = sync_crm(crm, actor=acting(ctx, crm).identity, now=now(), remote=remote)
    for line in result.reconciled:
        say(f"  {line}")
    for commit, author, status in result.unsigned:
        say(f"warning: commit {commit[:10]} by {author} is {status}, but crm.yaml requires "
            "signed commits")
    typer.echo(f"In: {_people(result.came_in)}")
    typer.echo(f"Out: {_people(result.went_out)}"
               + (f" (new branch {result.branch} on {result.remote})"
                  if result.created_remote_branch else ""))


def _people(counts) -> str:  # type: ignore[no-untyped-def]
    if not counts:
        return "nothing"
    parts = [f"{n} change{'s' * (n != 1)} from {who}" for who, n in counts.most_common()]
    return ", ".join(parts)


def resolve(
    ctx: typer.Context,
    record: Annotated[Optional[str], typer.Argument(metavar="[RECORD]", help="The record with a conflict (its id or name).")] = None,
    field: Annotated[Optional[str], typer.Argument(metavar="[FIELD]", help="The conflicting field.")] = None,
    ours: Annotated[bool, typer.Option("--ours", help="Keep this clone's value.")] = False,
    theirs: Annotated[bool, typer.Option("--theirs", help="Take the remote's value.")] = False,
    value: Annotated[Optional[str], typer.Option(help="Set another value.")] = None,
) -> None:
    """Settle a sync conflict field by field; without arguments, list what is left."""
    from crmctl.errors import UsageError
    from crmctl.mergedriver import pending_conflicts
    from crmctl.sync import resolve_field

    crm = open_crm(ctx)
    if record is None:
        conflicts = pending_conflicts(crm)
        if not conflicts:
            typer.echo("No conflicts to resolve.")
            return
        for conflict in conflicts:
            for name, values in conflict["fields"].items():
                typer.echo(f"{conflict['kind']} {conflict['name']} ({conflict['id']}): {name}: "
                           f"here {values['ours']!r}, remote {values['theirs']!r}")
                typer.echo(f"  crmctl resolve {conflict['id']} {name} --ours|--theirs|"
                           "--value VALUE")
        return
    chosen = [c for c, on in (("ours", ours), ("theirs", theirs), ("value", value is not None))
              if on]
    if field is None or len(chosen) != 1:
        raise UsageError("give RECORD FIELD and one of --ours, --theirs, --value VALUE",
                         "crmctl resolve lists the conflicts")
    conflict, finished = resolve_field(crm, record, field, chosen[0], value,
                                       actor=acting(ctx, crm).identity, now=now())
    typer.echo(f"Resolved {conflict['kind']} {conflict['name']}: {field}")
    if finished:
        typer.echo("All conflicts resolved and the merge committed; run crmctl sync to push.")
    else:
        left = sum(len(c["fields"]) for c in pending_conflicts(crm))
        say(f"{left} conflict{'s' * (left != 1)} left: crmctl resolve lists them")


def clone(
    url: Annotated[str, typer.Argument(metavar="URL", help="The shared CRM's git URL (or path).")],
    path: Annotated[Optional[Path], typer.Argument(metavar="[PATH]", help="Folder to clone into (default: the repository's name).")] = None,
) -> None:
    """Join a shared CRM: clone it with the hook and merge settings init sets up."""
    from crmctl.sync import clone as clone_crm

    target = path or Path(url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "crm")
    crm = clone_crm(url, target)
    typer.echo(f"Cloned the CRM into {crm.root}")
    say("Next: crmctl sync after your changes; crmctl list companies to look around")


def merge_driver(
    base: Annotated[str, typer.Argument(help="The common ancestor's version (%O).")],
    ours: Annotated[str, typer.Argument(help="Our version, where the result goes (%A).")],
    theirs: Annotated[str, typer.Argument(help="Their version (%B).")],
    path: Annotated[str, typer.Argument(help="The file's path in the CRM (%P).")],
) -> None:
    """git's merge driver for record files (registered by init and clone)."""
    from crmctl.mergedriver import run_driver
    from crmctl.store import Crm, find_root

    raise typer.Exit(run_driver(Crm(find_root(None)), base, ours, theirs, path))
