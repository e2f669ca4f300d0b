"""A team on one CRM: fetch, merge field by field, push; and joining or starting a shared one.

``sync`` holds the CRM lock throughout, so no crmctl command writes while it merges. When
someone pushed in between, it fetches and merges again (a few times) before it gives up. A
real conflict (one field changed to two values) stops it with the merge left open and no
conflict marker in any file: ``crmctl resolve`` chooses, and the next ``sync`` pushes. Any
other conflict (a file deleted on one side and changed on the other, crm.yaml edited on both
sides) undoes the merge and says which files, so the CRM is never left half-merged.
"""

from __future__ import annotations

import shlex
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from crmctl.errors import Conflict, CrmError, UserError
from crmctl.gitops import GitError, Identity
from crmctl.journal import crm_lock, recover
from crmctl.mergedriver import (ATTRIBUTES, DRIVER_NAME, FieldConflict, conflicts_dir,
                                pending_conflicts, record_conflicts)
from crmctl.store import Crm

ATTEMPTS = 4  # fetch-merge-push rounds before giving up on a busy remote


@dataclass
class Synced:
    remote: str
    branch: str
    came_in: Counter = field(default_factory=Counter)   # author -> changes received
    went_out: Counter = field(default_factory=Counter)  # author -> changes sent
    pushed: bool = False
    created_remote_branch: bool = False
    unsigned: list = field(default_factory=list)  # (commit, author, status), if required
    reconciled: list = field(default_factory=list)  # lines re-pointed after the merge


class SyncConflict(Conflict):
    """The merge stopped on fields changed to two values; ``conflicts`` says which."""

    def __init__(self, message: str, hint: str, conflicts: list[dict[str, Any]]):
        super().__init__(message, hint)
        self.conflicts = conflicts


def register_merge_driver(crm: Crm) -> None:
    """Tell this clone's git how to merge record files (local config: not shared by git)."""
    python = shlex.quote(sys.executable)
    crm.git.run("config", f"merge.{DRIVER_NAME}.name", "crmctl: record files, field by field")
    crm.git.run("config", f"merge.{DRIVER_NAME}.driver",
                f"{python} -m crmctl merge-driver %O %A %B %P")


def attributes_text(existing: str) -> str:
    if f"merge={DRIVER_NAME}" in existing:
        return existing
    return existing + ("\n" if existing and not existing.endswith("\n") else "") + ATTRIBUTES


def merge_in_progress(crm: Crm) -> bool:
    return (crm.git.git_dir() / "MERGE_HEAD").exists()


def _authors(crm: Crm, *revisions: str) -> Counter:
    names = crm.git.text("log", "--no-merges", "--format=%an", *revisions)
    return Counter(n for n in names.splitlines() if n)


def sync(crm: Crm, *, actor: Identity, now: datetime, remote: str = "origin") -> Synced:
    git = crm.git
    if git.config(f"remote.{remote}.url") is None:
        raise UserError(f"this CRM has no remote {remote!r} to sync with",
                        "join one with crmctl clone URL, or add it: "
                        f"git -C {crm.root} remote add {remote} URL")
    ref = git.head_ref()
    if not ref.startswith("refs/heads/"):
        default = git.text("symbolic-ref", "-q", "--short", f"refs/remotes/{remote}/HEAD",
                           check=False).removeprefix(f"{remote}/")
        branch_name = default or git.text("for-each-ref", "--count=1", "--format=%(refname:short)",
                                          "refs/heads/", check=False) or "BRANCH"
        raise UserError("the CRM's git is not on a branch (detached HEAD)",
                        f"check one out: git -C {crm.root} switch {branch_name}")
    branch = ref.removeprefix("refs/heads/")
    register_merge_driver(crm)
    result = Synced(remote, branch)
    with crm_lock(crm):
        try:
            recover(crm)
            if merge_in_progress(crm):
                raise _waiting(crm)
            known = git.text("rev-parse", "-q", "--verify",
                             f"refs/remotes/{remote}/{branch}^{{commit}}", check=False)
            for _ in range(ATTEMPTS):
                if _round(crm, result, actor, now):
                    if crm.process.require_signed:
                        from crmctl.history import unsigned_since_required

                        # What this sync moved: in from the remote, or out from here.
                        result.unsigned = unsigned_since_required(
                            crm, f"{known}...HEAD" if known else "HEAD")
                    return result
            raise Conflict(f"the remote {remote} kept changing while crmctl synced",
                           "run crmctl sync again in a moment")
        finally:
            crm.forget_reads()


def _round(crm: Crm, result: Synced, actor: Identity, now: datetime) -> bool:
    """One fetch, merge and push; False when the push lost a race and must be retried."""
    git = crm.git
    remote, branch = result.remote, result.branch
    try:
        git.run("fetch", "-q", remote)
    except GitError as exc:
        reason = exc.message.split(" failed: ", 1)[-1]
        raise CrmError(f"cannot reach {remote}: {reason}",
                       "your changes are safe here; check the network and the remote's URL "
                       "(git remote -v), then crmctl sync again") from None
    theirs = git.text("rev-parse", "-q", "--verify", f"refs/remotes/{remote}/{branch}^{{commit}}",
                      check=False)
    head = git.head()
    if theirs:
        incoming = _authors(crm, f"{head}..{theirs}")
        if incoming:
            _merge(crm, theirs, actor, now, f"{remote}/{branch}")
            result.came_in.update(incoming)
            # Every round: a retry may bring more lines about records merged here.
            result.reconciled += _reconciled(crm, actor, now)
        head = git.head()
        outgoing = _authors(crm, f"{theirs}..{head}")
    else:  # a branch new on the remote: send what the remote has on no branch yet
        outgoing = _authors(crm, head or "HEAD", "--not", f"--remotes={remote}")
        result.created_remote_branch = True
    if not outgoing and theirs:
        return True
    git.run("push", "-q", remote, f"HEAD:refs/heads/{branch}", check=False)
    # A push that landed moved our remote-tracking branch to HEAD; a rejected one did not.
    after = git.text("rev-parse", "-q", "--verify", f"refs/remotes/{remote}/{branch}",
                     check=False)
    if after == git.head():
        result.went_out.update(outgoing)
        result.pushed = True
        if result.created_remote_branch:
            git.run("branch", "-q", f"--set-upstream-to={remote}/{branch}", check=False)
        return True
    return False  # someone pushed in between: fetch and merge again


def _reconciled(crm: Crm, actor: Identity, now: datetime) -> list[str]:
    """Re-point what the merge brought in against records merged or converted here (or
    the reverse), under the lock sync already holds."""
    from crmctl.identity import Actor
    from crmctl.reconcile import reconcile

    crm.forget_reads()
    user = next((u.id for u in crm.process.users
                 if u.email and u.email.lower() == actor.email.lower()), None)
    return reconcile(crm, actor=Actor(actor, user), now=now, locked=True)


def _merge(crm: Crm, theirs: str, actor: Identity, now: datetime, label: str) -> None:
    git = crm.git
    folder = conflicts_dir(crm)
    for stale in folder.glob("*.json") if folder.is_dir() else ():
        stale.unlink()
    git.run("merge", "--no-edit", "-q", "-m", f"Sync with {label}", theirs,
            env=actor.env(now), check=False)
    if not merge_in_progress(crm):
        git.run("update-index", "-q", "--refresh", check=False)
        return
    unmerged = [p for p in git.text("diff", "--name-only", "--diff-filter=U").splitlines() if p]
    fields = {c["path"]: c for c in pending_conflicts(crm)}
    others = [p for p in unmerged if p not in fields]
    if not unmerged:  # merged cleanly but not committed (a hook stopped it): finish it
        git.run("commit", "--no-edit", "-q", env=actor.env(now))
        return
    if others:
        git.run("merge", "--abort", check=False)
        for stale in folder.glob("*.json") if folder.is_dir() else ():
            stale.unlink()
        raise Conflict(f"the changes from {label} collide with yours in "
                       f"{', '.join(others[:5])}{' and more' if len(others) > 5 else ''}; "
                       "nothing was merged",
                       "settle them with git (git merge " + label + "), then crmctl sync")
    raise _waiting(crm)


def _waiting(crm: Crm) -> SyncConflict:
    conflicts = pending_conflicts(crm)
    if not conflicts:
        return SyncConflict("a merge is open in this CRM's git", "finish it with git commit, "
                            "or undo it with git merge --abort", [])
    first = conflicts[0]
    field_name, values = next(iter(first["fields"].items()))
    more = sum(len(c["fields"]) for c in conflicts) - 1
    return SyncConflict(
        f"{first['kind']} {first['name']!r}: {field_name} is {values['ours']!r} here and "
        f"{values['theirs']!r} on the remote" + (f" ({more} more conflict"
                                                 f"{'s' * (more != 1)})" if more else ""),
        f"choose: crmctl resolve {first['id']} {field_name} --ours (or --theirs, or "
        "--value VALUE); crmctl resolve lists them all", conflicts)


def resolve_field(crm: Crm, ref: str, field_name: str, choice: str, value: Any,
                  *, actor: Identity, now: datetime) -> tuple[dict[str, Any], bool]:
    """Settle one conflicting field; returns (the conflict, whether the merge is finished)."""
    from crmctl import yamlio
    from crmctl.edit import check_references
    from crmctl.records import validated

    conflicts = pending_conflicts(crm)
    chosen = next((c for c in conflicts if ref in (c["id"], c["name"], c["path"])), None)
    if chosen is None:
        listed = ", ".join(f"{c['id']}" for c in conflicts) or "none"
        raise UserError(f"no conflict on {ref!r} (conflicts: {listed})",
                        "crmctl resolve lists them")
    if field_name not in chosen["fields"]:
        raise UserError(f"{chosen['kind']} {chosen['name']!r} has no conflict on {field_name!r}"
                        f" (conflicting fields: {', '.join(chosen['fields'])})")
    with crm_lock(crm):
        path = chosen["path"]
        record = crm.read_path(path)
        if record is None:
            raise UserError(f"{path} is gone from the work tree", "git merge --abort, then "
                                                                  "crmctl sync again")
        data = dict(record.data)
        # --value is typed like a hand edit: the schema types it when it is validated.
        picked = value if choice == "value" else chosen["fields"][field_name][choice]
        if picked is None:
            data.pop(field_name, None)
        else:
            data[field_name] = picked
        document = validated(crm, chosen["kind"], data)
        check_references(crm, record, document)
        (crm.root / path).write_text(yamlio.dump(document), encoding="utf-8")
        del chosen["fields"][field_name]
        record_conflicts(crm, path, chosen["kind"], document, [
            FieldConflict(k, v["ours"], v["theirs"]) for k, v in chosen["fields"].items()])
        if not chosen["fields"]:
            crm.git.run("add", "--", path)
        left = [p for p in crm.git.text("diff", "--name-only", "--diff-filter=U").splitlines()
                if p]
        finished = not left
        if finished:
            crm.git.run("commit", "--no-edit", "-q", env=actor.env(now))
        crm.forget_reads()
    return chosen, finished




def clone(url: str, path: Path) -> Crm:
    """Join a shared CRM: clone it and set it up as ``init`` would (hook, merge driver)."""
    from crmctl.gitops import Git
    from crmctl.init import install_hook
    from crmctl.process import PROCESS_FILE

    target = path.expanduser().resolve()
    if target.exists() and any(target.iterdir()):
        raise UserError(f"{target} exists and is not empty", "choose a new folder")
    try:
        Git(target.parent if target.parent.exists() else Path.cwd()).run(
            "clone", "-q", url, str(target))
    except GitError as exc:
        raise CrmError(f"cannot clone {url}: {exc.message.split(': ', 1)[-1]}",
                       "check the URL and your access to it") from None
    crm = Crm(target)
    if not (target / PROCESS_FILE).is_file():
        raise UserError(f"{url} is a git repository but not a CRM (no crm.yaml)",
                        f"it was cloned to {target}; remove it, or crmctl init it")
    install_hook(crm)
    register_merge_driver(crm)
    crm.git.tune_for_many_files()
    return crm
