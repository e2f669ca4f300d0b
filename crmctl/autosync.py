"""Optional auto-sync after each write: ``sync: auto`` in crm.yaml (the team's choice) or
``git config crmctl.sync auto`` (one person's), off by default.

The write never waits for the network: once its commit has landed and the CRM lock is
released, a detached ``crmctl sync --background`` is started and the command returns. Its
outcome is kept in ``.crmctl/autosync.json``; the next command run by the salesperson says
plainly on stderr when it failed, once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from typing import Any

from crmctl.gitops import Identity
from crmctl.journal import atomic_write
from crmctl.location import STATE_DIR
from crmctl.store import Crm

STATUS_FILE = "autosync.json"


def enabled(crm: Crm) -> bool:
    own = crm.git.config("crmctl.sync")
    if own is not None:
        return own.strip().lower() == "auto"
    return crm.process.sync == "auto"


def kick(crm: Crm, actor: Identity) -> None:
    """Start a background sync if this CRM wants one (never raises, never waits), as the
    person who wrote: a user of crm.yaml when they are one (--as needs no git identity)."""
    try:
        if not enabled(crm) or crm.git.config("remote.origin.url") is None:
            return
        user = next((u.id for u in crm.process.users
                     if u.email and u.email.lower() == actor.email.lower()), None)
        env = {**os.environ, **({"CRMCTL_USER": user} if user else {})}
        with (crm.state_dir / "autosync.log").open("ab") as log:
            subprocess.Popen([sys.executable, "-m", "crmctl", "--dir", str(crm.root), "sync",
                              "--background"], stdin=subprocess.DEVNULL, stdout=log,
                             stderr=log, env=env, start_new_session=True, close_fds=True)
    except Exception:  # auto-sync is a convenience: it must never fail the write
        return


def record(crm: Crm, ok: bool, message: str, now: datetime) -> None:
    # Whole or not at all: the next command reads it, maybe while it is being written.
    atomic_write(crm.state_dir / STATUS_FILE, json.dumps(
        {"ok": ok, "message": message, "at": now.isoformat(timespec="seconds"),
         "reported": ok}).encode("utf-8"))


def unreported_failure(crm: Crm) -> dict[str, Any] | None:
    """The last background sync's failure, once: marked reported as it is returned."""
    path = crm.root / STATE_DIR / STATUS_FILE
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if status.get("ok") or status.get("reported"):
        return None
    status["reported"] = True
    try:
        atomic_write(path, json.dumps(status).encode("utf-8"))
    except OSError:
        pass
    return status
