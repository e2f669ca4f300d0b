"""A commit's tree, made from its parent's by changing a few paths.

A write changes a file a few folders down (tasks/2026-12/tg.jsonl), so the trees on its way
(the root, tasks/, tasks/2026-12/) are read and written again. One `git cat-file --batch`
reads them all, however deep the path. The new trees are written by `git hash-object -t
tree`, a process each side by side (one a batch, when there are many), given the bytes
made here: `git mktree` looks up the type of every entry of a tree it writes, and a folder
of a thousand files still loose in .git/objects (the month's task logs, between two `git
gc`) took it 6-8 ms of CPU at 100,000 records. Their ids are hashed here too, so a
folder's id is known before its own folder is written, and git's answer is checked
against it.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import IO, Mapping

from crmctl.errors import EXIT_DATA, CrmError
from crmctl.gitenv import clean_env, failure_reason

_TREE, _TYPE_BITS = 0o040000, 0o170000
# The trees of a daily write (three or four) are written side by side, a process each; more
# are written BATCH at a time by one process.
SIDE_BY_SIDE, BATCH = 8, 32
# --literally: git checks nothing it did not check of a tree `git mktree` wrote (git 2.40
# runs fsck on a new tree, and would refuse one on the way that an old tool wrote with a
# mode such as 100664). crmctl makes the bytes itself, and checks git's id of them.
_HASH_TREE = ("hash-object", "-w", "-t", "tree", "--literally")

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
        self._id_bytes: int | None = None  # 20 (SHA-1) or 32 (SHA-256), once an id is seen
        self._made: dict[str, bytes] = {}  # the new trees to write: id -> their bytes

    def __enter__(self) -> "TreeEditor":
        # git takes ~2 ms to start: it does so while the caller hashes the new files.
        self._reader = self._start("cat-file", "--batch")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._reader is not None:
            assert self._reader.stdin
            self._reader.stdin.close()
            self._close(self._reader)

    def rewrite(self, treeish: str | None, changes: Mapping[str, str | None]) -> str:
        """The id of a tree like ``treeish`` (a commit's or a tree; None for none) with
        ``changes`` (path -> blob id, None to delete) applied; of the empty tree if nothing
        is left. Every tree it names is written by the time it returns."""
        for oid in filter(None, changes.values()):
            self._id_bytes = len(oid) // 2
        as_bytes = {path.encode("utf-8"): oid for path, oid in changes.items()}
        tree = self._rewrite(treeish, as_bytes) or self._write({})
        self._store()
        return tree

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
        assert self._reader, "trees are read within the with block"
        reader = self._reader
        stdin, stdout = _pipes(reader)
        # A commit's id names its tree with ^{tree}; a tree's id names itself either way.
        stdin.write(f"{treeish}^{{tree}}\n".encode())
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3 or header[1] != b"tree":
            raise self._failed(reader, f"git cat-file could not read the tree of {treeish}")
        data = stdout.read(int(header[2]))
        stdout.read(1)  # the newline after each object
        self._id_bytes = width = len(header[0]) // 2  # SHA-1 or SHA-256, as the repo hashes
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
        """The id of a tree of ``entries``, to be written by ``_store``."""
        # git's order: by name, a folder's as if it ended in "/".
        ordered = sorted(entries.items(), key=lambda item: item[0] + b"/"
                         if item[1][0] & _TYPE_BITS == _TREE else item[0])
        data = b"".join(b"%o %s\0" % (mode, name) + bytes.fromhex(oid)
                        for name, (mode, oid) in ordered)
        if self._id_bytes is None:  # no id seen yet (an empty tree on no parent): git's
            oid = self._written([data])[0]
            self._id_bytes = len(oid) // 2
            return oid
        algorithm = hashlib.sha1 if self._id_bytes == 20 else hashlib.sha256
        oid = algorithm(b"tree %d\0" % len(data) + data).hexdigest()
        self._made[oid] = data
        return oid

    def _store(self) -> None:
        """Write the trees made since the last call."""
        made, self._made = self._made, {}
        for oid, written in zip(made, self._written(list(made.values()))):
            if written != oid:
                raise TreeError(f"git wrote the tree {oid} as {written}: a repository "
                                "hashed differently (see git rev-parse --show-object-format)")

    def _written(self, trees: list[bytes]) -> list[str]:
        """Write ``trees``: the ids git gave them."""
        if len(trees) > SIDE_BY_SIDE:
            return self._written_in_batches(trees)
        writers: list[subprocess.Popen[bytes]] = []
        ids: list[str] = []
        failure = None
        try:
            for _ in trees:
                writers.append(self._start(*_HASH_TREE, "--stdin"))
            for data, writer in zip(trees, writers):
                stdin, stdout = _pipes(writer)
                try:
                    stdin.write(data)
                    stdin.close()
                except BrokenPipeError:
                    pass  # git stopped: its message says why
                ids.append(stdout.read().strip().decode())
                if not ids[-1] and failure is None:
                    failure = self._failed(writer, "git hash-object could not write a tree")
        finally:
            for writer in writers:
                assert writer.stdin
                writer.stdin.close()
                self._close(writer)
        if failure is not None:
            raise failure
        return ids

    def _written_in_batches(self, trees: list[bytes]) -> list[str]:
        """Many trees (an import across hundreds of folders) by a `git hash-object` for each
        batch of them, from files: a process each would take file descriptors each, and
        seconds. (git 2.39 keeps each file it hashes --literally open until it exits.)"""
        import tempfile

        ids: list[str] = []
        with tempfile.TemporaryDirectory(prefix="crmctl-trees-") as folder:
            for start in range(0, len(trees), BATCH):
                batch = trees[start:start + BATCH]
                paths = []
                for number, data in enumerate(batch, start):
                    paths.append(Path(folder, str(number)))
                    paths[-1].write_bytes(data)
                proc = subprocess.run(
                    ["git", *_HASH_TREE, "--stdin-paths"], cwd=self.root,
                    input="".join(f"{p}\n" for p in paths).encode(), capture_output=True,
                    env=clean_env(), pass_fds=self.pass_fds, restore_signals=False)
                written = proc.stdout.decode().split()
                if proc.returncode != 0 or len(written) != len(batch):
                    reason = failure_reason(proc.stderr.decode("utf-8", "replace"),
                                            proc.returncode)
                    raise TreeError(f"git hash-object could not write the trees: {reason}")
                ids += written
        return ids

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

    @staticmethod
    def _close(process: subprocess.Popen[bytes]) -> None:
        assert process.stdout and process.stderr
        process.stdout.close()
        process.stderr.close()
        process.wait()


def _pipes(process: subprocess.Popen[bytes]) -> tuple[IO[bytes], IO[bytes]]:
    assert process.stdin and process.stdout
    return process.stdin, process.stdout
