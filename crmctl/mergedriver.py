"""A git merge driver for record files: three-way, field by field.

Jim changes a company's phone while Sarah moves its status: line-based merging would call
that a conflict whenever the lines sit close together, and a conflict leaves markers in a
YAML file. Field by field it is no conflict at all. Lists (aliases, emails, phones, tags)
merge as sets: what either side added is kept, what either side removed goes. ``updated``
takes the later stamp. Only the same field changed to two different values is a real
conflict: the driver then writes *our* version (no markers, ever), records both values under
``.git/crmctl-conflicts/``, and exits 1 so git leaves the path unmerged until
``crmctl resolve`` chooses.

git runs it as ``crmctl merge-driver %O %A %B %P`` (registered by ``init``/``clone``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from crmctl import yamlio
from crmctl.errors import DataError
from crmctl.records import validated
from crmctl.schemas import field_order
from crmctl.store import Crm, kind_of_path

SET_FIELDS = ("aliases", "emails", "phones", "tags")
CONFLICTS_DIR = "crmctl-conflicts"
DRIVER_NAME = "crmctl-record"
ATTRIBUTES = f"""# Record files merge field by field (crmctl's merge driver; `crmctl init`/`clone` register it).
companies/**/*.yaml merge={DRIVER_NAME}
people/**/*.yaml merge={DRIVER_NAME}
deals/**/*.yaml merge={DRIVER_NAME}
"""
_MISSING = object()


@dataclass(frozen=True)
class FieldConflict:
    field: str
    ours: Any
    theirs: Any


def merge_documents(base: Mapping[str, Any] | None, ours: Mapping[str, Any],
                    theirs: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldConflict]]:
    """The three-way merge of two versions of a record, and the fields both changed."""
    base = base or {}
    merged: dict[str, Any] = {}
    conflicts: list[FieldConflict] = []
    for key in dict.fromkeys([*ours, *theirs, *base]):
        b, o, t = base.get(key, _MISSING), ours.get(key, _MISSING), theirs.get(key, _MISSING)
        if o == t:
            value = o
        elif o == b:
            value = t
        elif t == b:
            value = o
        elif key == "updated":
            value = max((v for v in (o, t) if v is not _MISSING), key=_moment)
        elif key == "created":  # the same record added on both sides: it began earliest
            value = min((v for v in (o, t) if v is not _MISSING), key=_moment)
        elif key in SET_FIELDS:
            value = _merge_sets(b, o, t)
        else:
            conflicts.append(FieldConflict(key, None if o is _MISSING else o,
                                           None if t is _MISSING else t))
            value = o
        if value is not _MISSING:
            merged[key] = value
    return merged, conflicts


def _merge_sets(base: Any, ours: Any, theirs: Any) -> list[Any]:
    b = list(base) if isinstance(base, list) else []
    o = list(ours) if isinstance(ours, list) else []
    t = list(theirs) if isinstance(theirs, list) else []
    kept = [x for x in o if x in t or x not in b]           # ours, minus what they removed
    added = [x for x in t if x not in o and x not in b]    # what they added
    return kept + added


def _moment(value: Any) -> float:
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return float("-inf")


def run_driver(crm: Crm, base_file: str, ours_file: str, theirs_file: str, path: str) -> int:
    """What git calls: merge into ``ours_file``; 0 when clean, 1 on a real conflict."""
    kind = kind_of_path(path)
    texts = [Path(f).read_bytes() for f in (base_file, ours_file, theirs_file)]
    if kind is None:
        return 1
    try:
        base, ours, theirs = (crm.parse(path, text).data if text.strip() else None
                              for text in texts)
    except DataError:
        return 1  # a broken side: git's own conflict handling takes over
    if ours is None or theirs is None:
        return 1
    merged, conflicts = merge_documents(base, ours, theirs)
    try:
        document = validated(crm, kind, merged)
    except Exception:  # the merged whole is invalid: keep ours, call it a conflict
        document = dict(ours)
        conflicts = conflicts or [FieldConflict("(record)", "ours", "theirs")]
    order = field_order(kind, crm.process)
    document = {k: document[k] for k in sorted(document, key=lambda k: (
        order.index(k) if k in order else len(order), k))}
    Path(ours_file).write_text(yamlio.dump(document), encoding="utf-8")
    record_conflicts(crm, path, kind, document, conflicts)
    return 1 if conflicts else 0


def conflicts_dir(crm: Crm) -> Path:
    return crm.git.git_dir() / CONFLICTS_DIR


def record_conflicts(crm: Crm, path: str, kind: str, document: Mapping[str, Any],
                     conflicts: list[FieldConflict]) -> None:
    target = conflicts_dir(crm) / (path.replace("/", "__") + ".json")
    if not conflicts:
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(exist_ok=True)
    from crmctl.model import exact_json
    from crmctl.render import plain

    target.write_text(exact_json(plain({
        "path": path, "kind": kind, "id": document.get("id"), "name": document.get("name"),
        "fields": {c.field: {"ours": c.ours, "theirs": c.theirs} for c in conflicts},
    }), ensure_ascii=False, default=str, indent=1), encoding="utf-8")


def pending_conflicts(crm: Crm) -> list[dict[str, Any]]:
    folder = conflicts_dir(crm)
    if not folder.is_dir():
        return []
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]
