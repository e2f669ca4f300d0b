"""Where the CRM folder is (--dir, else $CRMCTL_DIR, else the nearest folder with crm.yaml),
and the names in it that the launcher needs.

Standard library only: the launcher asks it before Python has imported the rest of crmctl.
"""

from __future__ import annotations

import os
from pathlib import Path

PROCESS_FILE = "crm.yaml"
STATE_DIR = ".crmctl"  # machine-local, ignored by git
TASK_FOLDER = "tasks"


ADDED_KINDS = ("company", "person", "deal")  # `crmctl add KIND`


def folders_an_add_reads(kind: str, with_person: bool = False) -> tuple[str, ...]:
    """The folders of the records an `add` of ``kind`` looks up (the company, the contact
    person, the likely duplicates, the ids taken): its scan for hand edits covers them
    alone (``Index.narrow_worktree_scan``), and the launcher starts that scan."""
    return {"company": ("companies",), "person": ("companies", "people"),
            "deal": ("companies", *(("people",) if with_person else ()), "deals")}[kind]


def chosen_folder(explicit: str | None) -> str | None:
    """The folder the user named (--dir, else $CRMCTL_DIR), as typed; None to search."""
    return explicit or os.environ.get("CRMCTL_DIR") or None


def crm_folder(explicit: str | None = None, cwd: Path | None = None) -> Path | None:
    """The CRM folder a command works in, resolved; None if there is none (the caller
    says why: ``store.find_root``)."""
    chosen = chosen_folder(explicit)
    if chosen:
        root = Path(chosen).expanduser().resolve()
        return root if (root / PROCESS_FILE).is_file() else None
    here = (cwd or Path.cwd()).resolve()
    return next((folder for folder in (here, *here.parents)
                 if (folder / PROCESS_FILE).is_file()), None)
