"""The CRM folder: finding it, where each record lives, reading record files."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from crmctl.errors import DataError, NotFound, UserError
from crmctl.gitops import Git
from crmctl.location import PROCESS_FILE, STATE_DIR, chosen_folder, crm_folder
from crmctl.model import KIND_BY_FOLDER, KINDS, Process, Record

if TYPE_CHECKING:
    from crmctl.index import Index
    from crmctl.schemas import Coercer, Validator

RECORD_FOLDERS = tuple(kind.plural for kind in KINDS.values())


def find_root(explicit: str | None = None, cwd: Path | None = None) -> Path:
    """--dir, else $CRMCTL_DIR, else the nearest folder at or above ``cwd`` with crm.yaml;
    it must be the top of its own git repository (every path crmctl commits is relative
    to it)."""
    root = _find_process_folder(explicit, cwd)
    if not (root / ".git").exists():
        raise NotFound(f"{root} holds crm.yaml but is not the top of its own git repository",
                       f"make it one: git -C {root} init, then commit crm.yaml")
    return root


def _find_process_folder(explicit: str | None, cwd: Path | None) -> Path:
    root = crm_folder(explicit, cwd)
    if root is not None:
        return root
    chosen = chosen_folder(explicit)
    if chosen:
        raise NotFound(f"{Path(chosen).expanduser().resolve()} is not a CRM folder (it has no "
                       f"{PROCESS_FILE})", f"create one with: crmctl init {chosen}")
    raise NotFound("no CRM folder here or above (no crm.yaml found)",
                   "create one with: crmctl init, or pass --dir PATH or set $CRMCTL_DIR")


def shard(record_id: str) -> str:
    """Two-letter subfolder: keeps every folder small, so a commit writes little tree data."""
    return (record_id + "_")[:2]


def record_path(kind: str, record_id: str) -> str:
    return f"{KINDS[kind].plural}/{shard(record_id)}/{record_id}.yaml"


_CONFLICT_MARKER = re.compile(rb"^[ \t]*(?:<{7}|={7}|>{7})(?: |\r?$)", re.MULTILINE)


def _no_conflict_markers(text: str | bytes, path: str) -> None:
    """A merge conflict left in a file, even inside a block of notes where YAML would read
    it as text, is not data: it is a conflict nobody settled."""
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    found = _CONFLICT_MARKER.search(data)
    if found:
        raise DataError("a merge conflict marker: a conflict was left unsettled", path,
                        data[:found.start()].count(b"\n") + 1,
                        hint="keep the right lines and delete the markers (crmctl resolve "
                             "helps during a sync)")


def id_of_path(path: str) -> str:
    """companies/ac/acme-products.yaml -> acme-products"""
    return path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def kind_of_path(path: str) -> str | None:
    parts = path.split("/")
    if len(parts) == 3 and parts[2].endswith(".yaml") and parts[0] in KIND_BY_FOLDER:
        return KIND_BY_FOLDER[parts[0]].name
    return None


class Crm:
    """An open CRM folder: its process, its git repository and its read index."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.git = Git(self.root)

    @classmethod
    def find(cls, explicit: str | None = None) -> "Crm":
        return cls(find_root(explicit))

    # YAML, crm.yaml and the schemas are imported where they are used: a command that reads
    # no record file (`history`) starts ~25 ms sooner without them.
    @cached_property
    def process(self) -> Process:
        from crmctl.process import load_process

        return load_process(self.root)

    @cached_property
    def process_digest(self) -> str:
        """Identifies the crm.yaml the index was typed with."""
        import hashlib

        return hashlib.sha1((self.root / PROCESS_FILE).read_bytes()).hexdigest()

    @cached_property
    def index(self) -> "Index":
        from crmctl.index import Index

        return Index(self)

    @cached_property
    def state_dir(self) -> Path:
        path = self.root / STATE_DIR
        path.mkdir(exist_ok=True)
        return path

    def record_schema(self, kind: str) -> dict:
        """The kind's schema specialised with this CRM's process; built once per command."""
        from crmctl.schemas import record_schema

        return self._per_kind("_schemas", kind, lambda: record_schema(kind, self.process))

    def validator(self, kind: str) -> "Validator":
        """A validator of the kind's schema, built once per command (building one costs
        more than using it)."""
        from crmctl.schemas import Validator

        return self._per_kind("_validators", kind, lambda: Validator(self.record_schema(kind)))

    def coercer(self, kind: str) -> "Coercer":
        """The kind's schema compiled for typing records, once per command (an index build
        types every record of the kind with it)."""
        from crmctl.schemas import Coercer

        return self._per_kind("_coercers", kind, lambda: Coercer(self.record_schema(kind)))

    def _per_kind(self, cache_name: str, kind: str, build: Callable[[], Any]) -> Any:
        cache = self.__dict__.setdefault(cache_name, {})
        if kind not in cache:
            cache[kind] = build()
        return cache[kind]

    def close(self) -> None:
        """Let go of the read index's database (a command ends without Python's teardown:
        ``crmctl.cli.quick.exit_now``)."""
        if "index" in self.__dict__:
            self.index.close()

    def forget_reads(self) -> None:
        """After a write: the next read must bring the index up to date again."""
        if "index" in self.__dict__:
            self.index.mark_stale()

    def parse(self, path: str, text: str | bytes) -> Record:
        """A record from its file text, typed by the schema; DataError on broken YAML."""
        kind = kind_of_path(path)
        if kind is None:
            raise DataError("not a record file (records live in companies/, people/, deals/"
                            " as <shard>/<id>.yaml)", path)
        from crmctl import yamlio

        _no_conflict_markers(text, path)
        document = yamlio.load(text, path)
        typed = self.coercer(kind)(document)
        if not isinstance(typed.get("name"), str) or not typed["name"].strip():
            raise DataError("the record has no name", path, document.line_of("name"),
                            hint="give it a name: line")
        return Record(kind, typed, path, document.lines)

    def read_path(self, path: str) -> Record | None:
        """The record in the work-tree file ``path``, or None if there is none."""
        try:
            data = (self.root / path).read_bytes()
        except FileNotFoundError:
            return None
        return self.parse(path, data)

    def user_or_error(self, user_id: str) -> str:
        """A user id declared in crm.yaml; the error lists the declared ones."""
        if self.process.user(user_id):
            return user_id
        known = ", ".join(self.process.user_ids) or "none are declared"
        raise UserError(f"unknown user {user_id!r} (users in crm.yaml: {known})",
                        "declare users under users: in crm.yaml")
