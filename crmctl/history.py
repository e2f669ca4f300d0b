"""The git history of the CRM as an activity feed, and blame per field.

Every crmctl commit names its records in ``Crm-Record:`` trailers; a commit without them was
made by hand and is shown by its author and the files it changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

from crmctl.change import RECORD_TRAILER
from crmctl.commit_index import CommitIndex
from crmctl.gitops import GitError
from crmctl.model import Record
from crmctl.store import Crm, record_path

_FIELD_SEP, _RECORD_SEP = "\x1f", "\x1e"
_FORMAT = _RECORD_SEP + _FIELD_SEP.join(
    ["%H", "%an", "%ae", "%aI", "%s", f"%(trailers:key={RECORD_TRAILER},valueonly,separator=%x1d)"])
PAST = {"Add": "added", "Log": "logged", "Move": "moved", "Convert": "converted",
        "Create": "created", "Edit": "edited", "Merge": "merged", "Assign": "assigned",
        "Delete": "deleted", "Import": "imported", "Declare": "declared",
        "Complete": "completed", "Snooze": "snoozed"}


@dataclass(frozen=True)
class Change:
    commit: str
    at: datetime
    author: str
    email: str
    subject: str
    records: Sequence[str] = field(default_factory=tuple)
    files: Sequence[str] = field(default_factory=tuple)

    @property
    def by_hand(self) -> bool:
        return not self.records

    def feed_line(self) -> str:
        when = self.at.strftime("%Y-%m-%d %H:%M")
        if self.by_hand:
            shown = ", ".join(self.files[:3]) + (f" and {len(self.files) - 3} more"
                                                 if len(self.files) > 3 else "")
            return f"{when} {self.author} edited {shown or 'nothing'} by hand: {self.subject}"
        verb, _, rest = self.subject.partition(" ")
        return f"{when} {self.author} {PAST.get(verb, verb.lower())} {rest}".rstrip()


def history(crm: Crm, record: Record | None = None, *, since: datetime | None = None,
            by: str | None = None, limit: int | None = None,
            all_files: bool = True) -> list[Change]:
    """Newest first: all changes, or those that touched ``record``'s file or name it.

    Without ``all_files`` the files are named only of the changes made by hand (a feed
    shows no others): git diffs each commit it names the files of, 40 ms of 50 ms for the
    newest 50 at 100,000 records.
    """
    args = ["log", f"--format={_FORMAT}", "--name-only", "--no-renames"]
    if since:
        args.append(f"--since={since.isoformat()}")
    if limit and not by and record is None:
        # git stops after the newest ``limit``: a feed of 50 does not read 100,000 commits.
        args.append(f"--max-count={limit}")
    changes: dict[str, Change] = {}
    if record is None and all_files:
        changes.update(_parse(crm.git.run(*args, "--").decode("utf-8", "replace")))
    elif record is None:
        changes.update(_parse(crm.git.run(*[a for a in args if a != "--name-only"],
                                          "--").decode("utf-8", "replace")))
        by_hand = [c.commit for c in changes.values() if c.by_hand]
        if by_hand:
            out = crm.git.run("log", f"--format={_FORMAT}", "--name-only", "--no-renames",
                              "--no-walk=unsorted", "--stdin", "--",
                              input="\n".join(by_hand).encode())
            changes.update(_parse(out.decode("utf-8", "replace")))
    else:
        # A record's past includes that of the duplicates merged into it; commits that only
        # appended to a shared log name it in a trailer.
        ids = [record.id, *(record.get("merged") or [])]
        paths = [record_path(record.kind, i) for i in ids]
        touching, naming = CommitIndex(crm).commits_about(
            [f"{record.kind}/{i}" for i in ids], paths)
        # The files shown of a commit that changed the record's file are that file only
        # (an import's commit holds thousands more).
        for commits, pathspec in ((touching, paths), (naming, [])):
            if commits:
                out = crm.git.run(*args, "--no-walk=unsorted", "--stdin", "--", *pathspec,
                                  input="\n".join(commits).encode())
                changes.update(_parse(out.decode("utf-8", "replace")))
    found = sorted(changes.values(), key=lambda c: c.at, reverse=True)
    if by:
        wanted = by.lower()
        user = crm.process.user(by)
        names = {wanted} | ({user.name.lower(), (user.email or "").lower()} if user else set())
        found = [c for c in found if c.author.lower() in names or c.email.lower() in names]
    return found[:limit] if limit else found


def _parse(output: str) -> dict[str, Change]:
    changes = {}
    for chunk in output.split(_RECORD_SEP):
        if not chunk.strip():
            continue
        head, _, files = chunk.partition("\n")
        commit, author, email, at, subject, trailers = head.split(_FIELD_SEP)
        changes[commit] = Change(
            commit, datetime.fromisoformat(at), author, email, subject,
            tuple(r.strip() for r in trailers.split("\x1d") if r.strip()),
            tuple(f for f in files.splitlines() if f.strip()))
    return changes


@dataclass(frozen=True)
class FieldBlame:
    field: str
    value: object
    commit: str | None  # None: changed in the work tree, not committed yet
    author: str
    at: datetime | None
    subject: str


def blame(crm: Crm, record: Record, only: str | None = None) -> list[FieldBlame]:
    """Who set each top-level field of the record's file to its current value, and when."""
    current = crm.read_path(record.path) or record
    keys = list(current.data)
    try:
        porcelain = crm.git.run("blame", "--line-porcelain", "--", record.path).decode(
            "utf-8", "replace")
        lines = _blame_lines(porcelain)
    except GitError:  # a file never committed has no history yet
        lines = []
    starts = sorted((current.line_of(k), k) for k in keys)
    result = []
    for i, (start, key) in enumerate(starts):
        end = starts[i + 1][0] - 1 if i + 1 < len(starts) else len(lines)
        if only and key != only:
            continue
        owners = [lines[n - 1] for n in range(start, end + 1) if 0 < n <= len(lines)]
        newest = max(owners, key=lambda o: o["time"]) if owners else None
        uncommitted = newest is None or set(newest["commit"]) == {"0"}
        result.append(FieldBlame(
            key, current.data[key], None if uncommitted else newest["commit"],
            newest["author"] if newest and not uncommitted else "(not committed yet)",
            datetime.fromisoformat(newest["at"]) if newest and not uncommitted else None,
            newest["summary"] if newest and not uncommitted else ""))
    return result


def _blame_lines(porcelain: str) -> list[dict[str, str]]:
    """One dict per line of the file: commit, author, at (ISO with offset), time, summary."""
    from datetime import timedelta, timezone

    lines, meta = [], {}
    for raw in porcelain.split("\n"):
        if raw.startswith("\t"):
            lines.append(dict(meta))
            continue
        word, _, value = raw.partition(" ")
        if len(word) == 40 and all(c in "0123456789abcdef" for c in word):
            meta["commit"] = word
        elif word == "author":
            meta["author"] = value
        elif word == "author-time":
            meta["time"] = value.zfill(12)
        elif word == "author-tz":
            sign = -1 if value.startswith("-") else 1
            offset = timedelta(hours=int(value[1:3]), minutes=int(value[3:5])) * sign
            meta["at"] = datetime.fromtimestamp(int(meta["time"]), timezone(offset)).isoformat()
        elif word == "summary":
            meta["summary"] = value
    return lines


ALLOWED_SIGNERS = "allowed-signers"
SIGNATURE = {"G": "good", "U": "unknown-key", "B": "bad", "R": "bad", "X": "expired", "Y": "expired",
             "E": "unverifiable", "N": "unsigned"}


def signatures(crm: Crm, revisions: Sequence[str]) -> dict[str, str]:
    """Commit -> good, bad, unknown-key, expired, unverifiable or unsigned, by git's own
    verification, SSH keys judged against the CRM's committed ``allowed-signers`` file.
    ``revisions`` go to git log as they are: a range, or a few commits with --no-walk."""
    if not revisions:
        return {}
    allowed = crm.root / ALLOWED_SIGNERS
    config = ["-c", f"gpg.ssh.allowedSignersFile={allowed}"] if allowed.is_file() else []
    out = crm.git.text(*config, "log", "--format=%H %G?", *revisions)
    found = {}
    for line in out.splitlines():
        commit, _, mark = line.partition(" ")
        found[commit] = SIGNATURE.get(mark.strip(), "unverifiable")
    return found


def unsigned_since_required(crm: Crm, range_: str | None = None) -> list[tuple[str, str, str]]:
    """(commit, author, status) of commits not signed good, since crm.yaml required signing
    (or in ``range_``)."""
    if range_ is None:
        enabled = crm.git.text("log", "--reverse", "--format=%H", "-S", "require_signed: true",
                               "--", "crm.yaml").split()
        if not enabled:
            return []
        range_ = f"{enabled[0]}^..HEAD" if crm.git.text(
            "rev-list", "--parents", "-n", "1", enabled[0]).count(" ") else "HEAD"
    listed = crm.git.text("log", "--format=%H\x1f%an", range_)
    commits = [line.split("\x1f") for line in listed.splitlines() if line]
    marks = signatures(crm, [range_])  # one walk of the range, not a list of commits
    return [(c, author, marks.get(c, "unsigned")) for c, author in commits
            if marks.get(c) != "good"]
