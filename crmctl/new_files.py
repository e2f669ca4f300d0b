"""The files in a few folders that HEAD does not hold, found without git's untracked scan.

A scan of some folders (``Index.narrow_worktree_scan``) asks git only about the files git
tracks (``gitenv.status_command``): git keeps its untracked cache for a scan of the whole
tree alone, and without it, looking for new files in companies/ took git 0.13 s of CPU at
100,000 records, as long as comparing every tracked file there. Yet a record made by hand,
not yet added to git, must be seen: `add` must not let in a duplicate of it.

Every record file lies one folder down (companies/ac/acme.yaml). A folder's modification
time moves whenever a file is made, deleted or renamed in it, so what is on disk there is
what it was the last time it was listed at that time. Each listing is kept with that time and
the tree HEAD held for the folder: its new files are the same while both are. A folder listed
within ``_RACY_NS`` of its last change is not kept: timestamps are coarse, and a file made
in the same tick as the listing would not move them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterable, NamedTuple

from crmctl.gitops import Git

_RACY_NS = 2_000_000_000  # coarse file-system clocks tick in up to 2 s (FAT)


class Listing(NamedTuple):
    """One folder's files that HEAD's tree of it does not hold, as of one state of both."""

    folder: str  # "companies/ac"
    mtime_ns: int  # the folder's, when it was listed
    tree: str  # HEAD's tree of the folder then; "" if HEAD had none
    new: tuple[str, ...]  # paths, "companies/ac/acme.yaml"


def new_files(git: Git, tops: Iterable[str], kept: dict[str, Listing]
              ) -> tuple[list[str], list[Listing]]:
    """The paths of the files one folder down in the ``tops`` that HEAD does not hold,
    and the listings worth keeping for the next call (those of ``kept`` that still hold,
    and the new ones); ``kept`` holds the listings the last call returned."""
    root = git.root
    mtimes = {folder: mtime for top in tops for folder, mtime in _subfolders(root, top)}
    unchanged = {f for f, mtime in mtimes.items() if f in kept and kept[f].mtime_ns == mtime}
    trees, committed = _head_trees(git, tops, [f for f in mtimes if f not in unchanged])
    moved = [f for f in unchanged if kept[f].tree != trees.get(f, "")]  # a pull, a commit
    if moved:
        committed.update(_head_trees(git, (), moved)[1])
    now = time.time_ns()
    listings = []
    for folder, mtime in mtimes.items():
        if folder in unchanged and folder not in moved:
            listings.append(kept[folder])
            continue
        held = committed.get(folder, set())
        new = tuple(sorted(f"{folder}/{name}" for name in _files(root / folder)
                           if f"{folder}/{name}" not in held))
        listings.append(Listing(folder, mtime, trees.get(folder, ""), new))
    paths = [path for listing in listings for path in listing.new]
    return paths, [listing for listing in listings if listing.mtime_ns + _RACY_NS <= now]


def _subfolders(root: Path, top: str) -> list[tuple[str, int]]:
    try:
        with os.scandir(root / top) as entries:
            return [(f"{top}/{entry.name}", entry.stat(follow_symlinks=False).st_mtime_ns)
                    for entry in entries if entry.is_dir(follow_symlinks=False)
                    and _decodable(entry.name)]
    except (FileNotFoundError, NotADirectoryError):
        return []


def _files(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return [entry.name for entry in entries
                    if not entry.is_dir(follow_symlinks=False) and _decodable(entry.name)]
    except (FileNotFoundError, NotADirectoryError):  # gone since it was seen
        return []


def _decodable(name: str) -> bool:
    """Not named in another encoding (café from a Latin-1 machine): no record is, and the
    index keeps text (``gitenv.paths_under`` leaves such paths out of git's status too)."""
    return not any("\udc80" <= ch <= "\udcff" for ch in name)


def _head_trees(git: Git, tops: Iterable[str], listed: list[str]
                ) -> tuple[dict[str, str], dict[str, set[str]]]:
    """In one git call: HEAD's tree of each folder one down in ``tops``, and the paths
    HEAD holds in each of the ``listed`` folders."""
    wanted = [f"{top}/" for top in tops] + [f"{folder}/" for folder in listed]
    if not wanted:
        return {}, {}
    # -t: a folder listed in full comes with its own tree too
    out = git.run("--literal-pathspecs", "ls-tree", "-z", "-t", "HEAD", "--", *wanted)
    trees: dict[str, str] = {}
    committed: dict[str, set[str]] = {folder: set() for folder in listed}
    for entry in out.split(b"\0"):
        if not entry:
            continue
        info, _, raw = entry.partition(b"\t")
        path = raw.decode("utf-8", "surrogateescape")
        folder, _, name = path.rpartition("/")
        if folder in committed:
            committed[folder].add(path)
        elif info.split()[1] == b"tree":
            trees[path] = info.split()[2].decode()
    return trees, committed
