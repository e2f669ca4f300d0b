"""Who is acting: --as / $CRMCTL_USER naming a user of crm.yaml, else the repo's git identity."""

from __future__ import annotations

import os
from dataclasses import dataclass

from crmctl.errors import UserError
from crmctl.gitops import Identity
from crmctl.store import Crm


@dataclass(frozen=True)
class Actor:
    identity: Identity
    user_id: str | None = None  # the crm.yaml user, when one was named or matched


def current_actor(crm: Crm, as_user: str | None = None) -> Actor:
    chosen = as_user or os.environ.get("CRMCTL_USER")
    if chosen:
        crm.user_or_error(chosen)
        user = crm.process.user(chosen)
        assert user is not None
        email = user.email or f"{user.id}@users.crmctl.invalid"
        return Actor(Identity(user.name, email), user.id)
    name, email = crm.git.config("user.name"), crm.git.config("user.email")
    if not name or not email:
        raise UserError(
            "who is acting? the CRM repo has no git user.name/user.email",
            f"run: git -C {crm.root} config user.name 'Your Name' && git -C {crm.root} config "
            "user.email you@example.com, or pass --as USER / set $CRMCTL_USER")
    matched = next((u.id for u in crm.process.users
                    if u.email and u.email.lower() == email.lower()), None)
    return Actor(Identity(name, email), matched)
