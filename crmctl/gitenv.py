"""What every git child of crmctl shares, importable before the rest of crmctl: the
environment git runs in, the status that finds hand edits, and crmctl's own files in .git/.
Standard library only (the launcher starts that status first: ``early_status``)."""

from __future__ import annotations

import os
from typing import Mapping

# In .git/: the CRM lock every write holds, the journal of a write in progress, and the mark
# of a git command that may take git's index.lock under the CRM lock (``journal``).
LOCK = "crmctl.lock"
JOURNAL = "crmctl-journal.json"
GIT_AT_WORK = "crmctl-git-at-work"
# The mark of the launcher's `update-index`, held under the CRM lock for a whole write
# (``early_index``): apart from GIT_AT_WORK, which a read waits to clear up after.
INDEX_AT_WORK = "crmctl-index-at-work"


def failure_reason(stderr: str, code: int) -> str:
    """Why a git command failed: its "fatal:" line (hints and repeats come after it), else
    its last line."""
    lines = stderr.strip().splitlines()
    fatal = [line.removeprefix("fatal: ") for line in lines if line.startswith("fatal: ")]
    return fatal[0] if fatal else lines[-1] if lines else f"exit {code}"

def status_command(may_lock: bool, pathspec: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The git status that lists every path differing from HEAD; a folder with nothing but
    untracked files in it comes as one "folder/" entry (``Git.dirty_from`` lists its files).

    Without a ``pathspec`` it asks about the whole tree: git uses its untracked cache, which
    skips every folder unchanged since the last scan (at 100,000 records: 0.2 s of 0.45),
    only without one and in the mode the cache was saved in. That is the mode of a plain
    `git status` ("normal"): in any other, each crmctl read after the user's `git status`,
    and each `git status` after it, scanned every folder again (0.5-0.8 s). Only when
    ``may_lock`` may git take its index.lock, to save that cache.

    With a ``pathspec``, git keeps no untracked cache: it lists the files it tracks alone,
    and ``new_files`` finds the others.
    """
    untracked = "no" if pathspec else "normal"
    return ["git", *([] if may_lock else ["--no-optional-locks"]),
            "-c", "core.untrackedCache=true", "-c", "status.showUntrackedFiles=normal",
            "status", "--porcelain=v1", "-z", f"--untracked-files={untracked}", "--no-renames",
            "--ignore-submodules", *(["--", *pathspec] if pathspec else [])]


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GIT_") or k in ("GIT_EXEC_PATH", "GIT_CONFIG_NOSYSTEM",
                                                 "GIT_CONFIG_GLOBAL", "GIT_CEILING_DIRECTORIES")}
    # Inside a pre-commit hook of `git commit -a`, git stages into a temporary index named by
    # GIT_INDEX_FILE: keep it (absolute), or `check --staged` would read the wrong index.
    if os.environ.get("GIT_INDEX_FILE"):
        env["GIT_INDEX_FILE"] = os.path.abspath(os.environ["GIT_INDEX_FILE"])
    env["LC_ALL"] = "C"
    # git maps pack files into memory, up to 8 GiB of them: `git log --grep` over 100,000
    # commits peaked at 1.2 GB here, at 108 MB with this cap, in the same time.
    env.update({"GIT_CONFIG_COUNT": "2",
                "GIT_CONFIG_KEY_0": "core.packedGitLimit", "GIT_CONFIG_VALUE_0": "128m",
                "GIT_CONFIG_KEY_1": "core.packedGitWindowSize", "GIT_CONFIG_VALUE_1": "32m"})
    if extra:
        env.update(extra)
    return env


def dirty_in(status: bytes, folders: tuple[str, ...] | list[str]) -> list[str]:
    """The paths under ``folders`` in the output of ``status_command``, an untracked
    folder as "folder/"."""
    return paths_under([entry[3:] for entry in status.split(b"\0") if len(entry) > 3],
                       folders)


def paths_under(paths: list[bytes], folders: tuple[str, ...] | list[str]) -> list[str]:
    """The ``paths`` (as git prints them, -z) under ``folders``, as text."""
    prefixes = tuple(f"{folder.rstrip('/')}/" for folder in folders)
    # A file named in another encoding may sit anywhere in the repository (notes/café
    # from a Latin-1 machine): it is no record, but must not stop the scan.
    texts = (path.decode("utf-8", "surrogateescape") for path in paths)
    return [text for text in texts if text.startswith(prefixes)
            and not any("\udc80" <= ch <= "\udcff" for ch in text)]
