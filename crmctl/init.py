"""Creating a CRM folder: git repository, crm.yaml, git settings, the check hook, first commit."""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from crmctl.change import Change
from crmctl.errors import UserError
from crmctl.gitops import Git, Identity
from crmctl.identity import git_identity
from crmctl.mergedriver import ATTRIBUTES
from crmctl.process import PROCESS_FILE
from crmctl.schemas import default_process_text
from crmctl.store import STATE_DIR, Crm

GITIGNORE = f"""# crmctl's machine-local state (the read index): never committed
/{STATE_DIR}/
*.crmctl-tmp
"""
GITATTRIBUTES = """# Record files are YAML; logs under activities/ and tasks/ are append-only, one JSON object
# per line with a unique id, the one shape git's union merge keeps intact.
*.yaml text eol=lf
*.jsonl text eol=lf merge=union
""" + ATTRIBUTES
HOOK_MARK = "# installed by crmctl init"


@dataclass(frozen=True)
class Initialized:
    root: Path
    created: bool
    commit: str | None
    hook_installed: bool = True  # False: the repo already had a pre-commit hook of its own


ALLOWED_SIGNERS_TEXT = """# Who may sign this CRM's commits (SSH signing): one line per person,
#   EMAIL namespaces="git" ssh-ed25519 AAAA... (their public key)
# `crmctl history --verify` and, with require_signed in crm.yaml, `crmctl check` and
# `crmctl sync` judge signatures against this file.
"""


def init_crm(path: Path, identity: Identity | None, now: datetime,
             require_signed: bool = False) -> Initialized:
    """Make ``path`` a CRM folder; on an existing CRM change nothing and say so."""
    root = path.expanduser().resolve()
    if (root / PROCESS_FILE).exists():
        return Initialized(root, False, None)
    if root.exists() and not root.is_dir():
        raise UserError(f"{root} is a file, not a folder", "choose a folder for the CRM")
    enclosing = next((f for f in root.parents if (f / PROCESS_FILE).is_file()), None)
    if enclosing is not None:
        raise UserError(f"{root} is inside the CRM at {enclosing}",
                        "choose a folder outside it for a new CRM")
    existing = next(f for f in (root, *root.parents) if f.is_dir())
    identity = identity or git_identity(Git(existing))
    if identity is None:  # checked before anything is created
        raise UserError(
            "who is creating this CRM? git has no user.name/user.email",
            "run: git config --global user.name 'Your Name' && git config --global user.email "
            "you@example.com, or pass --as 'NAME <EMAIL>'")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create {root}: {exc.strerror}", "choose another folder") from None
    crm = Crm(root)
    if not (root / ".git").exists():
        crm.git.run("init", "-q")
    crm.git.tune_for_many_files()
    hook_installed = install_hook(crm)
    from crmctl.sync import register_merge_driver

    register_merge_driver(crm)
    with Change(crm, identity, now) as change:
        process = default_process_text()
        if require_signed:
            process += "\n# Every commit must be signed good (see allowed-signers).\nrequire_signed: true\n"
            change.write("allowed-signers", ALLOWED_SIGNERS_TEXT + _own_key_line(crm, identity))
        change.write(PROCESS_FILE, process)
        for name, text in ((".gitignore", GITIGNORE), (".gitattributes", GITATTRIBUTES)):
            existing_text = (root / name).read_text() if (root / name).exists() else ""
            if text not in existing_text:
                separator = "\n" if existing_text and not existing_text.endswith("\n") else ""
                change.write(name, existing_text + separator + text)
        commit = change.commit("Create the CRM", ["crm"])
    return Initialized(root, True, commit, hook_installed)


def _own_key_line(crm: Crm, identity: Identity) -> str:
    """The creator's own SSH signing key, when their git signs with one."""
    if (crm.git.config("gpg.format") or "") != "ssh":
        return ""
    key = crm.git.config("user.signingkey") or ""
    path = Path(key).expanduser()
    public = path if path.suffix == ".pub" else path.with_name(path.name + ".pub")
    if key.startswith(("ssh-", "key::")):
        text = key.removeprefix("key::")
    elif public.is_file():
        text = public.read_text().strip()
    else:
        return ""
    return f'{identity.email} namespaces="git" {" ".join(text.split()[:2])}\n'


def install_hook(crm: Crm) -> bool:
    """A pre-commit hook that runs ``crmctl check`` so hand edits are checked too."""
    hooks = crm.git.git_dir() / "hooks"
    hooks.mkdir(exist_ok=True)
    hook = hooks / "pre-commit"
    if hook.exists() and HOOK_MARK not in hook.read_text(errors="replace"):
        return False  # the team's own hook: leave it alone (init says so)
    python = shlex.quote(sys.executable)
    hook.write_text(f"""#!/bin/sh
{HOOK_MARK}: check the CRM's files before every commit.
if [ -x {python} ] && {python} -c 'import crmctl' 2>/dev/null; then
    exec {python} -m crmctl --dir "$(git rev-parse --show-toplevel)" check --staged
elif command -v crmctl >/dev/null 2>&1; then
    exec crmctl --dir "$(git rev-parse --show-toplevel)" check --staged
fi
echo "crmctl is not installed here; the CRM files were not checked" >&2
""")
    hook.chmod(0o755)
    return True
