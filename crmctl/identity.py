"""Who is acting: --as / $CRMCTL_USER naming a user of crm.yaml, else the repo's git identity."""

from __future__ import annotations

import os
import re
from typing import NamedTuple

from crmctl.errors import UserError
from crmctl.gitops import Git, Identity
from crmctl.store import Crm


class Actor(NamedTuple):
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
    identity = git_identity(crm.git)
    if identity is not None and not _plausible(identity.email):
        raise UserError(
            f"git's user.email {identity.email!r} is not an email address: the history would "
            "not say who acted",
            f"run: git -C {crm.root} config user.email you@example.com, or pass --as USER")
    if identity is None:
        raise UserError(
            "who is acting? the CRM repo has no git user.name/user.email",
            f"run: git -C {crm.root} config user.name 'Your Name' && git -C {crm.root} config "
            "user.email you@example.com, or pass --as USER / set $CRMCTL_USER")
    matched = next((u.id for u in crm.process.users
                    if u.email and u.email.lower() == identity.email.lower()), None)
    return Actor(identity, matched)


def git_identity(git: Git) -> Identity | None:
    """git's user.name and user.email as git itself resolves them (repo, then global)."""
    name, email = git.config("user.name"), git.config("user.email")
    return Identity(name, email) if name and email else None


def parse_identity(text: str) -> Identity:
    """'Sarah Closer <sarah@example.com>' -> an Identity (for init, before users exist)."""
    match = re.match(r"^\s*([^<>]+?)\s*<([^<>@\s]+@[^<>\s]+)>\s*$", text)
    if not match:
        raise UserError(f"--as {text!r} is not NAME <EMAIL>",
                        "e.g. crmctl --as 'Sarah Closer <sarah@example.com>' init")
    return Identity(match.group(1), match.group(2))


def _plausible(email: str) -> bool:
    """name@domain.tld, and not a machine's guess such as root@localhost."""
    local, at, domain = email.strip().rpartition("@")
    return bool(at and local and "." in domain and " " not in email.strip()
                and not domain.endswith(("(none)", "localdomain", "localhost")))
