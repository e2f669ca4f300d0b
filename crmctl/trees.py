"""A commit's tree, made from its parent's by changing a few paths.

A write changes a file a few folders down (tasks/2026-12/tg.jsonl), so the trees on its way
(the root, tasks/, tasks/2026-12/) are read and written again. One `git ls-tree` and one
`git mktree` for each made six git processes, about 2 ms apiece; here one `git cat-file
--batch` reads them all and one `git mktree --batch` writes them all, however deep the path.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import IO, Mapping

from crmctl.errors import EXIT_DATA, CrmError
from crmctl.gitenv import clean_env, failure_reason

_TREE, _SUBMODULE, _TYPE_BITS = 0o040000, 0o160000, 0o170000
_KINDS = {_TREE: b"tree", _SUBMODULE: b"commit"}  # of an entry, by its mode's type bits

Entries = dict[bytes, tuple[int, str]]  # name -> (mode, id)


class TreeError(CrmError):
    """git could not read or write a tree (a damaged repository, a full disk): a data error,
    as ``GitError``."""

    exit_code = EXIT_DATA


class TreeEditor:
    """``with TreeEditor(root, fds) as trees: tree = trees.rewrite(parent, changes)``."""

    def __init__(self, root: Path, pass_fds: tuple[int, ...] = ()):
        self.root = root
        self.pass_fds = pass_fds  # the CRM lock, held by git's children too (``CrmLock``)
        self._reader: subprocess.Popen[bytes] | None = None
        self._writer: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "TreeEditor":
        return self

    def __exit__(self, *exc: object) -> None:
        for process in (self._reader, self._writer):
            if process is not None:
                assert process.stdin and process.stdout and process.stderr
                process.stdin.close()
                process.stdout.close()
                process.stderr.close()
                process.wait()

    def rewrite(self, treeish: str | None, changes: Mapping[str, str | None]) -> str:
        """The id of a tree like ``treeish`` (a commit's or a tree; None for none) with
        ``changes`` (path -> blob id, None to delete) applied; of the empty tree if nothing
        is left."""
        as_bytes = {path.encode("utf-8"): oid for path, oid in changes.items()}
        return self._rewrite(treeish, as_bytes) or self._write({})

    def _rewrite(self, treeish: str | None, changes: Mapping[bytes, str | None]) -> str | None:
        entries = self._read(treeish) if treeish else {}
        by_child: dict[bytes, dict[bytes, str | None]] = {}
        for path, oid in changes.items():
            head, _, rest = path.partition(b"/")
            if rest:
                by_child.setdefault(head, {})[rest] = oid
            elif oid is None:
                entries.pop(head, None)
            else:
                # As the file is now: crmctl writes a new file in its place, never executable
                # (a commit that kept an executable bit would leave `git status` dirty).
                entries[head] = (0o100644, oid)
        for name, sub_changes in by_child.items():
            old = entries.get(name)
            sub = self._rewrite(old[1] if old and old[0] == _TREE else None, sub_changes)
            if sub is None:
                entries.pop(name, None)
            else:
                entries[name] = (_TREE, sub)
        return self._write(entries) if entries else None

    def _read(self, treeish: str) -> Entries:
        self._reader = reader = self._reader or self._start("cat-file", "--batch")
        stdin, stdout = _pipes(reader)
        # A commit's id names its tree with ^{tree}; a tree's id names itself either way.
        stdin.write(f"{treeish}^{{tree}}\n".encode())
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3 or header[1] != b"tree":
            raise self._failed(reader, f"git cat-file could not read the tree of {treeish}")
        data = stdout.read(int(header[2]))
        stdout.read(1)  # the newline after each object
        width = len(header[0]) // 2  # SHA-1 or SHA-256, as the repository hashes
        entries: Entries = {}
        at = 0
        while at < len(data):  # <mode> SP <name> NUL <id as raw bytes>, and again
            space = data.index(b" ", at)
            end = data.index(b"\0", space)
            # As a number: an old tool may have written a folder's mode as 040000.
            entries[data[space + 1:end]] = (int(data[at:space], 8),
                                            data[end + 1:end + 1 + width].hex())
            at = end + 1 + width
        return entries

    def _write(self, entries: Entries) -> str:
        self._writer = writer = self._writer or self._start("mktree", "-z", "--batch")
        stdin, stdout = _pipes(writer)
        stdin.write(b"".join(b"%o %s %s\t%s\0" % (mode, _kind(mode), oid.encode(), name)
                             for name, (mode, oid) in entries.items()) + b"\0")  # its end
        stdin.flush()
        oid = stdout.readline().strip()
        if not oid:
            raise self._failed(writer, "git mktree could not write a tree")
        return oid.decode()

    def _start(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["git", *args], cwd=self.root, env=clean_env(),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, pass_fds=self.pass_fds,
                                restore_signals=False)  # as Git.run: see there

    @staticmethod
    def _failed(process: subprocess.Popen[bytes], what: str) -> TreeError:
        assert process.stdin and process.stderr
        try:
            process.stdin.close()
        except BrokenPipeError:
            pass
        stderr = process.stderr.read().decode("utf-8", "replace")
        return TreeError(f"{what}: {failure_reason(stderr, process.wait())}")


def _kind(mode: int) -> bytes:
    return _KINDS.get(mode & _TYPE_BITS, b"blob")


def _pipes(process: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    assert process.stdin and process.stdout
    return process.stdin, process.stdout
