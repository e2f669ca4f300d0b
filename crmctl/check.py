"""`crmctl check`: every problem in every CRM file, one ``path:line: message`` each.

Problems are collected, never stopped at the first: a broken file does not hide the next one.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from crmctl.errors import DataError
from crmctl.model import KINDS, Record
from crmctl.process import PROCESS_FILE, process_problems
from crmctl.activities import LOG_FOLDER, is_log_path, lines, parse_log
from crmctl.tasks import TASK_FOLDER, is_task_path
from crmctl.schemas import Validator, load_schema
from crmctl.store import RECORD_FOLDERS, Crm, id_of_path, kind_of_path, record_path
from crmctl.journal import TEMP_SUFFIX


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


Reader = Callable[[str], bytes]


def check_crm(crm: Crm, staged: bool = False) -> list[Problem]:
    """All problems in the work tree, or with ``staged`` in what is about to be committed.

    The staged check (the pre-commit hook) reads only the files the commit changes, and
    checks their references against the names of the files staged beside them, so a commit
    stays quick at 100,000 records.
    """
    if staged:
        return sorted(_staged_problems(crm))
    else:
        paths = [PROCESS_FILE] if (crm.root / PROCESS_FILE).exists() else []
        for folder in (*RECORD_FOLDERS, LOG_FOLDER, TASK_FOLDER):
            base = crm.root / folder
            if base.is_dir():
                paths += sorted(p.relative_to(crm.root).as_posix() for p in base.rglob("*")
                                if p.is_file() and not p.name.endswith(TEMP_SUFFIX))
        read = lambda p: (crm.root / p).read_bytes()  # noqa: E731
    return sorted([*_problems(crm, paths, read), *_distinct_problems(crm),
                   *_signature_problems(crm)])


def _signature_problems(crm: Crm) -> Iterator[Problem]:
    """With require_signed in crm.yaml: every commit since must be signed good."""
    try:
        required = crm.process.require_signed
    except Exception:  # a broken crm.yaml is reported by the file checks
        return
    if not required:
        return
    from crmctl.history import unsigned_since_required

    for n, (commit, author, status) in enumerate(unsigned_since_required(crm), 1):
        yield Problem("(git history)", n, f"commit {commit[:10]} by {author} is {status}, "
                                          "but crm.yaml requires signed commits")


def _distinct_problems(crm: Crm) -> Iterator[Problem]:
    """not-duplicates.jsonl: each line a JSON object naming two ids."""
    from crmctl.dedupe import DISTINCT_FILE

    try:
        text = (crm.root / DISTINCT_FILE).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return
    for number, line in lines(text):
        try:
            entry = json.loads(line)
        except ValueError:
            yield Problem(DISTINCT_FILE, number, "not a JSON object (one per line)")
            continue
        ids = entry.get("ids") if isinstance(entry, dict) else None
        if not (isinstance(ids, list) and len(ids) == 2 and all(isinstance(i, str) for i in ids)):
            yield Problem(DISTINCT_FILE, number, 'needs "ids": two record ids')


def _staged_problems(crm: Crm) -> Iterator[Problem]:
    folders = (PROCESS_FILE, *RECORD_FOLDERS, LOG_FOLDER, TASK_FOLDER)
    everything = [p for p in crm.git.text("ls-files", "-z", "--", *folders).split("\0") if p]
    changed = [p for p in crm.git.text("diff", "--cached", "--name-only", "--no-renames", "-z",
                                       "--", *folders).split("\0") if p]
    present = set(everything)
    to_read = [PROCESS_FILE] * (PROCESS_FILE in present) + [p for p in changed
                                                            if p in present and p != PROCESS_FILE]
    staged_bytes = dict(zip(to_read, crm.git.read_blobs(f":{p}" for p in to_read)))
    known: dict[str, set[str]] = defaultdict(set)
    for path in everything:
        kind = kind_of_path(path)
        if kind:
            known[kind].add(id_of_path(path))
    yield from _problems(crm, to_read, staged_bytes.__getitem__, known)
    # A record deleted by this commit must not leave people or deals pointing at it.
    for path in changed:
        kind = kind_of_path(path)
        if path in present or kind not in ("company", "person"):
            continue
        gone = id_of_path(path)
        if gone in known[kind]:
            continue
        if kind == "company":
            dependants = (crm.index.select("person", company=gone)
                          + crm.index.select("deal", company=gone))
        else:
            dependants = [d for d in crm.index.select("deal") if d.get("person") == gone]
        for dependant in dependants:
            if dependant.path in present:
                yield Problem(dependant.path, 1, f"{kind} {gone!r} is deleted by this commit "
                                                 "but still named here")


def _problems(crm: Crm, paths: Iterable[str], read: Reader,
              known: dict[str, set[str]] | None = None) -> Iterator[Problem]:
    """Problems in ``paths``; ``known`` ids (of files not read) count as existing."""
    paths = list(paths)
    if PROCESS_FILE not in paths:
        yield Problem(PROCESS_FILE, 1, "crm.yaml is missing; restore it: git checkout -- crm.yaml")
        return
    process_errors = process_problems(read(PROCESS_FILE).decode("utf-8", "replace"))
    for line, message in process_errors:
        yield Problem(PROCESS_FILE, line, message)
    if process_errors:
        return  # records cannot be judged against a broken process
    validators = {kind: Validator(crm.record_schema(kind)) for kind in KINDS}
    log_validator = Validator(load_schema("activity.schema.json"))
    task_validator = Validator(load_schema("task.schema.json"))
    records: list[Record] = []
    entries: dict[str, list[Entry]] = {"activities": [], "tasks": []}
    unreadable: set[tuple[str, str]] = set()  # (kind, id) of files that exist but do not parse
    for path in paths:
        if path == PROCESS_FILE:
            continue
        if is_log_path(path):
            yield from _log_problems(path, read(path), log_validator, entries["activities"])
            continue
        if is_task_path(path):
            yield from _log_problems(path, read(path), task_validator, entries["tasks"])
            continue
        kind = kind_of_path(path)
        if kind is None:
            yield Problem(path, 1, "not a record file: records are <folder>/<shard>/<id>.yaml")
            continue
        try:
            record = crm.parse(path, read(path))
        except DataError as exc:
            yield Problem(path, exc.line or 1, exc.message)
            unreadable.add((kind, id_of_path(path)))
            continue
        records.append(record)
        for key, message in validators[kind].errors(dict(record.data)):
            yield Problem(path, record.line_of(key) if key else 1, message)
        stem = id_of_path(path)
        if not record.id:
            pass  # "missing field id" was reported by the schema
        elif record.id != stem:
            yield Problem(path, record.line_of("id"),
                          f"id {record.id!r} does not match the file name {stem}.yaml")
        elif path != record_path(kind, record.id):
            yield Problem(path, 1, f"this file belongs at {record_path(kind, record.id)}")
    yield from _reference_problems(records, unreadable, known or {})
    if known is None:
        # Only the whole CRM shows every amendment and task event: a staged check reads
        # a few logs, whose older lines may be re-pointed by lines in logs it did not read.
        existing = {kind: {r.id for r in records if r.kind == kind} | {i for k, i in unreadable
                                                                        if k == kind}
                    for kind in KINDS}
        survivors = {(r.kind, gone): r.id for r in records for gone in r.get("merged") or []}
        yield from _activity_reference_problems(entries["activities"], existing, survivors)
        yield from _task_reference_problems(entries["tasks"], existing, survivors)


@dataclass(frozen=True)
class Entry:
    path: str
    line: int
    data: dict


def _log_problems(path: str, data: bytes, validator: Validator,
                  valid: list[Entry]) -> Iterator[Problem]:
    """Each line of an activity log must be one valid entry; ids must not repeat.

    Valid entries are added to ``valid`` for the reference checks."""
    seen: dict[str, int] = {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield Problem(path, data[:exc.start].count(b"\n") + 1,
                      f"not valid UTF-8 text at byte {exc.start}")
        text = data.decode("utf-8", "replace")
    for line, entry in parse_log(text, path):
        if isinstance(entry, DataError):
            yield Problem(path, line, entry.message)
            continue
        errors = [message for _, message in validator.errors(entry)]
        for message in errors:
            yield Problem(path, line, message)
        if not errors:
            valid.append(Entry(path, line, entry))
        entry_id = entry.get("id")
        if isinstance(entry_id, str):
            if entry_id in seen:
                yield Problem(path, line, f"id {entry_id} is also used on line {seen[entry_id]}"
                                          " (entries are never edited: append an amend line)")
            else:
                seen[entry_id] = line


def _reference_problems(records: list[Record], unreadable: set[tuple[str, str]],
                        known: dict[str, set[str]]) -> Iterator[Problem]:
    """Broken references; an unreadable file is reported once, not again by its dependants."""
    ids: dict[str, dict[str, Record]] = defaultdict(dict)
    for record in records:
        first = ids[record.kind].get(record.id.lower())
        if first is not None:
            yield Problem(record.path, record.line_of("id"),
                          f"id {record.id!r} is also used by {first.path}")
        else:
            ids[record.kind][record.id.lower()] = record
    for record in records:
        company = record.get("company")
        if isinstance(company, str) and company not in ids["company"] and \
                ("company", company) not in unreadable and company not in known.get("company", ()):
            yield Problem(record.path, record.line_of("company"),
                          f"company {company!r} does not exist")
        person = record.get("person")
        if isinstance(person, str):
            target = ids["person"].get(person)
            if target is None and (("person", person) in unreadable
                                   or person in known.get("person", ())):
                continue
            if target is None:
                yield Problem(record.path, record.line_of("person"),
                              f"person {person!r} does not exist")
            elif target.get("company") != company:
                yield Problem(record.path, record.line_of("person"),
                              f"person {person!r} works at {target.get('company')}, "
                              f"not at {company}")


REFERENCES = ("company", "person", "deal")


def _missing(fields: dict, existing: dict[str, set[str]],
             survivors: dict[tuple[str, str], str]) -> Iterator[str]:
    for kind in REFERENCES:
        value = fields.get(kind)
        if isinstance(value, str) and value not in existing[kind]:
            survivor = survivors.get((kind, value))
            if survivor:  # a teammate's line written before they pulled the merge
                yield (f"{kind} {value!r} was merged into {survivor} (move what still names "
                       f"it: crmctl merge {survivor} {value})")
            else:
                yield f"{kind} {value!r} does not exist"


def _activity_reference_problems(entries: list[Entry], existing: dict[str, set[str]],
                                 survivors: dict[tuple[str, str], str]) -> Iterator[Problem]:
    """Every activity and move, as its amend lines leave it, names records that exist."""
    by_id = {e.data["id"]: e for e in entries if e.data.get("kind") != "amend"}
    effective = {entry_id: dict(e.data) for entry_id, e in by_id.items()}
    from crmctl.reports.snapshot import utc_of

    # In UTC order, as the index folds them: teammates' stamps carry their own offsets.
    amends = sorted((e for e in entries if e.data.get("kind") == "amend"),
                    key=lambda e: (utc_of(e.data), e.data["id"]))
    for amend in amends:
        target = effective.get(amend.data["amends"])
        if target is None:
            yield Problem(amend.path, amend.line,
                          f"amends entry {amend.data['amends']}, which no log holds")
        else:
            target.update(amend.data["set"])
    for entry_id, fields in effective.items():
        origin = by_id[entry_id]
        for message in _missing(fields, existing, survivors):
            if "merged into" not in message:
                message += " (restore it, or re-point this entry with an amend line)"
            yield Problem(origin.path, origin.line, message)


def _task_reference_problems(events: list[Entry], existing: dict[str, set[str]],
                             survivors: dict[tuple[str, str], str]) -> Iterator[Problem]:
    """Every task, as its events leave it, is about records that exist."""
    added: dict[str, Entry] = {}
    state: dict[str, dict] = {}
    for event in sorted(events, key=lambda e: (e.data["op"] != "add", e.data["at"], e.path,
                                                e.line)):
        task_id, op = event.data["task"], event.data["op"]
        if op == "add":
            if task_id not in added:
                added[task_id] = event
                state[task_id] = dict(event.data)
        elif task_id not in state:
            yield Problem(event.path, event.line, f"task {task_id} was never added")
        elif op == "set":
            state[task_id].update(event.data["set"])
    for task_id, fields in state.items():
        origin = added[task_id]
        for message in _missing(fields, existing, survivors):
            yield Problem(origin.path, origin.line, f"task {task_id}: {message}")
