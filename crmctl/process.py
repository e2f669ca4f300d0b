"""Reading crm.yaml, the team's process, into a Process."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

from crmctl import __version__, yamlio
from crmctl.errors import DataError
from crmctl.location import PROCESS_FILE, STATE_DIR  # noqa: F401  (named from here too)
from crmctl.model import ActivityType, Goal, Process, Route, Rules, Stage, User, Workflow
from crmctl.schemas import Validator, coerce, load_schema, schema_dir


def load_process(root: Path) -> Process:
    """Parse and validate ``root/crm.yaml``; a DataError names the first problem's line."""
    path = root / PROCESS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError("crm.yaml is missing", PROCESS_FILE,
                        hint="restore it from git: git checkout -- crm.yaml") from None
    # Every command reads crm.yaml: validating it costs a jsonschema import (~50-90 ms) and
    # parsing it a yaml import (~7 ms). So the document of the last text that passed is kept,
    # with the digest of that text, in the machine-local state folder.
    digest = hashlib.sha1(b"\0".join([_code_and_schema(), text.encode("utf-8")])).hexdigest()
    kept = root / STATE_DIR / "process.json"
    document = _kept_document(kept, digest)
    if document is not None:
        try:
            return _build(document)
        except Exception:  # a copy damaged by hand, in whatever way: read crm.yaml again
            pass
    problems = process_problems(text)
    if problems:
        line, message = problems[0]
        raise DataError(message, PROCESS_FILE, line, hint="fix crm.yaml, then run crmctl check")
    document = coerce(yamlio.load(text, PROCESS_FILE), load_schema("crm.schema.json"))
    _keep_document(kept, digest, document)
    return _build(document)


# What makes crm.yaml's document besides its text: the schema, and the code that reads it,
# checks it and types it (a new crmctl reads the same text afresh).
_MAKERS = ("process.py", "schemas.py", "yamlio.py", "libyaml.py", "dates.py", "model.py")


def _code_and_schema() -> bytes:
    here = Path(__file__).parent
    return b"\0".join([(schema_dir() / "crm.schema.json").read_bytes(), __version__.encode(),
                       *(_source(here / name) for name in _MAKERS)])


def _source(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # installed without its sources: the version alone tells crmctls apart
        return path.name.encode()


def _kept_document(kept: Path, digest: str) -> dict | None:
    try:
        saved = json.loads(kept.read_bytes(), object_hook=_from_json)
    except Exception:  # none yet, or damaged (cut short, nested past recursion, ...)
        return None
    if not isinstance(saved, dict) or saved.get("digest") != digest or \
            not isinstance(saved.get("document"), dict):
        return None
    return saved["document"]


def _keep_document(kept: Path, digest: str, document: dict) -> None:
    text = json.dumps({"digest": digest, "document": document}, default=_to_json)
    if not _same(json.loads(text, object_hook=_from_json)["document"], document):
        return  # a value JSON cannot carry exactly: no shortcut then
    from crmctl.journal import atomic_write

    try:
        kept.parent.mkdir(exist_ok=True)
        atomic_write(kept, text.encode("utf-8"))  # another command may be reading it
        (kept.parent / "process-valid").unlink(missing_ok=True)  # what crmctl kept before
    except OSError:  # a read-only CRM still works, just without the shortcut
        pass


def _to_json(value: object) -> object:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    raise TypeError(f"{type(value).__name__} is not kept in process.json")


def _from_json(value: dict) -> object:
    return Decimal(value["$decimal"]) if value.keys() == {"$decimal"} else value


def _same(a: object, b: object) -> bool:
    """Equal, and of the same types all the way down (1 == Decimal(1) == True in Python)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def process_problems(text: str) -> list[tuple[int, str]]:
    """Every problem in crm.yaml's text as (line, message); empty when it is valid."""
    try:
        raw = yamlio.load(text, PROCESS_FILE)
    except DataError as exc:
        return [(exc.line or 1, exc.message)]
    schema = load_schema("crm.schema.json")
    document = coerce(raw, schema)
    problems = [(raw.line_of(key) if key else 1, message)
                for key, message in Validator(schema, "crm.yaml has no such setting").errors(
                    document)]
    if not problems:
        stage_ids = [stage["id"] for stage in document["pipeline"]]
        for label, ids in (("pipeline stage", stage_ids),
                           ("activity type", [t["id"] for t in document["activity_types"]]),
                           ("user", [u["id"] for u in document.get("users") or []])):
            for dup in sorted({i for i in ids if ids.count(i) > 1}):
                problems.append((1, f"{label} {dup!r} is declared twice"))
        if not any(not stage.get("closed") for stage in document["pipeline"]):
            problems.append((raw.line_of("pipeline"), "the pipeline has no open stage"))
        rules = document.get("rules") or {}
        line = raw.line_of("rules")
        statuses = document["statuses"]
        if rules.get("deal_details_required_from") not in (None, *stage_ids):
            problems.append((line, f"rules: deal_details_required_from "
                                   f"{rules['deal_details_required_from']!r} is not a stage"))
        named = [rules.get("do_not_contact_status")] + list(
            (rules.get("first_contact_promotes") or {}).values()) + list(
            rules.get("inactive_statuses") or ())
        for status in named:
            if status is not None and status not in statuses:
                problems.append((line, f"rules: {status!r} is not one of the statuses"))
        problems += _workflow_problems(document, raw.line_of("workflows"),
                                       raw.line_of("routing"))
        problems += _goal_problems(document, raw.line_of("goals"))
    return problems


def _workflow_problems(document: dict, line: int, routing_line: int) -> list[tuple[int, str]]:
    from datetime import datetime, timezone

    from crmctl.dates import parse_date
    from crmctl.errors import UserError

    stages = [s["id"] for s in document["pipeline"]]
    users = [u["id"] for u in document.get("users") or []]
    problems = []
    seen = set()
    for rule in document.get("workflows") or []:
        name, when, task = rule["id"], rule["when"], rule["task"]
        if name in seen:
            problems.append((line, f"workflow {name!r} is declared twice"))
        seen.add(name)
        triggers = [k for k in ("deal_enters", "added", "assigned") if k in when]
        if len(triggers) != 1:
            problems.append((line, f"workflow {name!r}: when: needs exactly one of deal_enters, "
                                   "added, assigned"))
        if when.get("deal_enters") and when["deal_enters"] not in stages:
            problems.append((line, f"workflow {name!r}: {when['deal_enters']!r} is not a stage"))
        if when.get("status") and when["status"] not in document["statuses"]:
            problems.append((line, f"workflow {name!r}: {when['status']!r} is not a status"))
        if task.get("assign", "owner") not in ("owner", "actor", *users):
            problems.append((line, f"workflow {name!r}: assign {task['assign']!r} is not owner, "
                                   "actor or a declared user"))
        if task.get("due"):
            try:
                parse_date(task["due"], datetime(2026, 1, 1, tzinfo=timezone.utc))
            except UserError:
                problems.append((line, f"workflow {name!r}: due {task['due']!r} is not a date "
                                       "offset such as +1d, +2w or in 11 months"))
    for route in document.get("routing") or []:
        if route["owner"] not in users:
            problems.append((routing_line, f"routing: owner {route['owner']!r} is not a "
                                           "declared user"))
    return problems


def _goal_problems(document: dict, line: int) -> list[tuple[int, str]]:
    users = [u["id"] for u in document.get("users") or []]
    types = [t["id"] for t in document["activity_types"]]
    problems = []
    for goal in document.get("goals") or []:
        if goal.get("owner") is not None and goal["owner"] not in users:
            problems.append((line, f"goal {goal['id']!r}: owner {goal['owner']!r} is not a "
                                   f"declared user (users: {', '.join(users) or 'none'})"))
        if goal.get("type") is not None and goal["type"] not in types:
            problems.append((line, f"goal {goal['id']!r}: {goal['type']!r} is not an activity "
                                   f"type (types: {', '.join(types)})"))
        if goal.get("type") is not None and goal["measure"] != "activities":
            problems.append((line, f"goal {goal['id']!r}: type is only for measure: activities"))
    return problems


def _build(doc: dict) -> Process:
    return Process(
        statuses=tuple(doc["statuses"]),
        stages=tuple(Stage(s["id"], s["probability"], s.get("closed"), s.get("rotting_days"))
                     for s in doc["pipeline"]),
        activity_types=tuple(
            ActivityType(t["id"], t["contact"], t.get("direction", "none"),
                         t.get("note", "optional"), tuple(t.get("outcomes") or ()))
            for t in doc["activity_types"]),
        users=tuple(User(u["id"], u["name"], u.get("email")) for u in doc.get("users") or []),
        fields={kind: dict(spec or {}) for kind, spec in (doc.get("fields") or {}).items()},
        currency=doc.get("currency", "USD"),
        sync=doc.get("sync", "manual"),
        require_signed=bool(doc.get("require_signed", False)),
        duplicate_threshold=doc.get("duplicate_threshold", 90),
        rules=_rules(doc.get("rules") or {}),
        workflows=tuple(_workflow(w) for w in doc.get("workflows") or []),
        routing=tuple(Route(dict(r["when"]), r["owner"]) for r in doc.get("routing") or []),
        goals=tuple(Goal(g["id"], g["measure"], g["per"], g["target"], g.get("type"),
                         g.get("owner")) for g in doc.get("goals") or []),
    )


def _workflow(doc: dict) -> Workflow:
    when, task = doc["when"], doc["task"]
    trigger = next(k for k in ("deal_enters", "added", "assigned") if k in when)
    return Workflow(doc["id"], trigger, when[trigger], when.get("status"), task["text"],
                    task.get("due"), task.get("priority", "normal"), task.get("assign", "owner"))


def _rules(doc: dict) -> Rules:
    promotes = doc.get("first_contact_promotes")
    return Rules(
        deal_details_required_from=doc.get("deal_details_required_from"),
        do_not_contact_status=doc.get("do_not_contact_status"),
        first_contact_promotes=(promotes["from"], promotes["to"]) if promotes else None,
        heads_up_days=int(doc.get("heads_up_days", 0)),
        inactive_statuses=tuple(doc.get("inactive_statuses") or ()),
    )
