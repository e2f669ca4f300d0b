"""Every git call crmctl makes, as subprocesses of git's own commands.

Commits are made with plumbing (hash-object, mktree of the changed subtrees, commit-tree, a
compare-and-swap update-ref, then update-index for just those paths): it never rescans or
rewrites the whole tree, never runs the user's hooks, and never commits anything but the
paths given. Every path goes after ``--`` so that no name can become a git option.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Container, Iterable, Iterator, Mapping, NamedTuple, Sequence

from crmctl import early_index
from crmctl.errors import EXIT_DATA, Conflict, CrmError, UserError
from crmctl.faults import crash_point
from crmctl.gitenv import clean_env, dirty_in, failure_reason, paths_under, status_command
from crmctl.trees import TreeEditor

_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1 or SHA-256


class GitError(CrmError):
    """A git command failed in a way the user has to look at (a damaged repository, a
    missing git): a data error, exit 6."""

    exit_code = EXIT_DATA


class Identity(NamedTuple):
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    def env(self, when: datetime | None = None) -> dict[str, str]:
        """git's environment for a commit by this person (at ``when``, if given)."""
        env = {"GIT_AUTHOR_NAME": self.name, "GIT_AUTHOR_EMAIL": self.email,
               "GIT_COMMITTER_NAME": self.name, "GIT_COMMITTER_EMAIL": self.email}
        if when is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.isoformat()
        return env


class Head(NamedTuple):
    commit: str | None  # None on a branch with no commit yet
    ref: str  # refs/heads/<branch>, or HEAD when detached


class Git:
    """git commands run in one work tree; ``pass_fds`` keeps the CRM lock held by children."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.pass_fds: tuple[int, ...] = ()
        self._config: dict[str, str | None] | None = None  # _settings

    def run(self, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None,
            check: bool = True) -> bytes:
        proc = subprocess.run(
            ["git", *args], cwd=self.root, input=input, capture_output=True,
            env=clean_env(env), pass_fds=self.pass_fds,
            # Python ignores SIGXFSZ; so does git then: over a file-size limit it gets an
            # error it reports, instead of dying half-way through writing its index.
            restore_signals=False,
        )
        if args[:1] == ("config",):
            self._config = None  # it may have set one
        if check and proc.returncode != 0:
            raise _failure(args, proc.returncode, proc.stderr.decode("utf-8", "replace"))
        return proc.stdout

    def text(self, *args: str, **kwargs: object) -> str:
        return self.run(*args, **kwargs).decode("utf-8", "replace").strip()  # type: ignore[arg-type]

    # --- repository state ------------------------------------------------------------------
    def git_dir(self) -> Path:
        dot_git = self.root / ".git"
        if dot_git.is_dir():
            return dot_git
        return Path(self.text("rev-parse", "--absolute-git-dir"))

    def head(self) -> str | None:
        out = self.run("rev-parse", "-q", "--verify", "HEAD^{commit}", check=False)
        return out.decode().strip() or None

    def head_state(self) -> Head:
        """HEAD's commit and the ref it is on, from one git process (two on a branch with
        no commit yet)."""
        out = self.run("rev-parse", "HEAD^{commit}", "--symbolic-full-name", "HEAD", "--",
                       check=False).decode().split()
        if len(out) >= 2 and _OBJECT_ID.fullmatch(out[0]) and (
                out[1] == "HEAD" or out[1].startswith("refs/heads/")
                and not out[1].endswith("/HEAD")):
            return Head(out[0], out[1])
        # rev-parse takes a ref named HEAD (a tag, a branch) for HEAD when HEAD's branch has
        # no commit yet, and names none when both have one: symbolic-ref is never misled.
        ref = self.head_ref()
        commit = self.run("rev-parse", "-q", "--verify", f"{ref}^{{commit}}", check=False)
        return Head(commit.decode().strip() or None, ref)

    def is_ancestor(self, commit: str, descendant: str) -> bool:
        """Whether ``commit`` is in the past of ``descendant`` (or is it)."""
        proc = subprocess.run(["git", "merge-base", "--is-ancestor", commit, descendant],
                              cwd=self.root, capture_output=True, env=clean_env(),
                              pass_fds=self.pass_fds)
        return proc.returncode == 0

    def head_ref(self) -> str:
        """refs/heads/<branch> when on a branch, else HEAD (detached): never assumed 'main'."""
        out = self.run("symbolic-ref", "-q", "HEAD", check=False).decode().strip()
        return out or "HEAD"

    def config_bool(self, key: str) -> bool:
        """A boolean setting as git reads one: a key without a value is true."""
        value = self._settings().get(_setting_name(key), "")
        if value is None or value.lower() in ("true", "yes", "on"):
            return True
        number = _GIT_INTEGER.fullmatch(value)  # 1, 0x1, 010, 1k: true unless zero
        return bool(number) and number.group(1).strip("0xX") != ""  # type: ignore[union-attr]

    def config(self, key: str) -> str | None:
        return (self._settings().get(_setting_name(key)) or "").strip() or None

    def _settings(self) -> dict[str, str | None]:
        """Every setting in effect, read once: a write asks for four (who acts, whether to
        sign, whether to sync), each a git process of its own before. The last value of a
        key wins, as with `git config --get`; None for a key without a value."""
        if self._config is None:
            out = self.run("config", "-z", "--list", check=False)
            self._config = {}
            for item in out.decode("utf-8", "replace").split("\0"):
                name, newline, value = item.partition("\n")
                if name:
                    self._config[name] = value if newline else None
        return self._config

    def changed_between(self, old: str, new: str, folders: Sequence[str]) -> list[str]:
        # Folder names as they are: a folder made by hand may hold a * or a [.
        out = self.run("--literal-pathspecs", "diff", "--name-only", "--no-renames", "-z", old,
                       new, "--", *folders)
        return paths_under([p for p in out.split(b"\0") if p], folders)

    def dirty_paths(self, folders: Sequence[str], may_lock: bool = False,
                    pathspec: Sequence[str] = ()) -> list[str]:
        """Paths under ``folders`` whose work-tree file differs from HEAD, untracked included;
        git looks only under ``pathspec`` if one is given (``status_command``).

        git saves its untracked cache (taking git's index.lock) only when ``may_lock``: under
        the CRM lock, where a lock left by a killed status is known as crmctl's (``GitAtWork``).
        """
        return self.dirty_from(self.run(*status_command(may_lock, pathspec)[1:]), folders)

    def dirty_from(self, status: bytes, folders: Sequence[str]) -> list[str]:
        """The paths under ``folders`` in the output of ``status_command``, each file of an
        untracked folder listed (a shard folder made by hand: rare, so asked apart)."""
        paths = dirty_in(status, folders)
        untracked = [p for p in paths if p.endswith("/")]
        if not untracked:
            return paths
        listed = self.run("--literal-pathspecs", "ls-files", "-z", "--others",
                          "--exclude-standard", "--", *untracked)
        return [p for p in paths if not p.endswith("/")] + \
            paths_under([path for path in listed.split(b"\0") if path], folders)

    def tune_for_many_files(self) -> None:
        """Local settings that keep status, commits and history fast on a repo of many
        small files (each measured at 100,000 records; see bench/run.py)."""
        for key, value in (("core.untrackedCache", "true"),  # status skips unchanged folders
                           ("index.version", "4"),  # paths prefix-compressed: a smaller index
                           # Each commit rewrites a small split index, not all of it (20 MB).
                           ("core.splitIndex", "true"),
                           ("fetch.writeCommitGraph", "true")):  # history stays fast on pulls
            self.run("config", key, value)

    def matches_head(self, paths: Sequence[str]) -> bool:
        """True if each work-tree file is byte for byte what HEAD holds (absent if absent)."""
        committed = dict((path, oid) for oid, path in self.tree_blobs("HEAD", paths))
        present = [p for p in paths if (self.root / p).is_file()]
        if set(present) != set(committed):
            return False
        if not present:
            return True
        on_disk = self.text("hash-object", "--", *present).split()  # as commit_paths hashes
        return all(committed[p] == oid for p, oid in zip(present, on_disk))

    def tree_blobs(self, treeish: str, folders: Sequence[str],
                   only: Container[str] | None = None) -> list[tuple[str, str]]:
        """(blob id, path) of every file under ``folders`` in ``treeish``; of those in
        ``only`` alone, if given."""
        out = self.run("--literal-pathspecs", "ls-tree", "-r", "-z", "--full-tree", treeish, "--",
                       *folders)
        blobs = []
        for entry in out.split(b"\0"):
            meta, _, raw = entry.partition(b"\t")
            try:
                path = raw.decode("utf-8")
            except UnicodeDecodeError:  # named in another encoding: no record (paths_under)
                continue
            if (only is None or path in only) and meta[7:12] == b"blob ":  # "100644 blob <id>"
                blobs.append((meta[12:].decode(), path))
        return blobs

    def read_blobs(self, oids: Iterable[str]) -> Iterator[bytes]:
        """Contents of many blobs through one ``git cat-file --batch``, in order."""
        oids = list(oids)
        if not oids:
            return
        proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=self.root, env=clean_env(),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert proc.stdin and proc.stdout
        stdin = proc.stdin

        def feed() -> None:
            # A thread writes every request while we read answers: one request and one
            # answer at a time would pay a pipe round trip per blob (1.3 s at 20,000).
            try:
                stdin.write("".join(f"{oid}\n" for oid in oids).encode())
            except BrokenPipeError:  # git stopped early; the reader reports it
                pass
            finally:
                stdin.close()

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        try:
            for oid in oids:
                header = proc.stdout.readline().split()
                if len(header) < 3 or header[1] == b"missing":
                    raise GitError(f"git cat-file could not read {oid}")
                data = proc.stdout.read(int(header[2]))
                proc.stdout.read(1)
                yield data
        finally:
            proc.stdout.close()
            proc.wait()
            feeder.join()

    # --- writing -----------------------------------------------------------------------------
    def commit_paths(self, head: Head, paths: Sequence[str], message: str, author: Identity,
                     when: datetime) -> str:
        """Commit the work-tree state of ``paths`` (deleted when absent) on top of ``head``
        (``head_state``, read under the CRM lock).

        Only these paths change; the user's other edits and staged changes are untouched.
        Returns the new commit id; raises Conflict if HEAD moved underneath. Git's index is
        left to ``start_index_update``.
        """
        parent = head.commit
        present = [p for p in paths if (self.root / p).exists()]
        with TreeEditor(self.root, self.pass_fds) as trees:
            oids = dict(zip(present, self.text("hash-object", "-w", "--", *present).split())) \
                if present else {}
            crash_point("hashed")
            tree = trees.rewrite(parent, {p: oids.get(p) for p in paths})
        env = author.env(when)
        parents = ["-p", parent] if parent else []
        # commit-tree does not read commit.gpgSign as `git commit` does: a user who signs
        # their commits gets crmctl's signed too (GPG or SSH, as their git is set up).
        sign = ["-S"] if self.config_bool("commit.gpgsign") else []
        if sign:
            early_index.end_unused()  # gpg may ask for a passphrase: git's index stays free
        try:
            commit = self.text("commit-tree", tree, *parents, *sign,
                               input=message.encode("utf-8"), env=env)
        except GitError as exc:
            if not sign:
                raise
            raise UserError(f"git could not sign the commit: {exc.message.split(': ', 1)[-1]}",
                            "check user.signingkey and gpg.format, or turn commit.gpgsign "
                            "off") from None
        crash_point("commit-made")
        ref = head.ref
        try:
            self.run("update-ref", "-m", f"crmctl: {message.splitlines()[0]}", ref, commit,
                     parent or "")  # "": the ref must not exist yet, whatever the hash
        except GitError as exc:
            if self.head() != parent:
                raise Conflict("the CRM's git branch moved while crmctl was committing",
                               "run the command again") from None
            raise Conflict(f"git could not update {ref}: {exc.message.split(': ', 1)[-1]}",
                           "if no other git command is running, delete the stale .lock file "
                           "named there and run the command again") from None
        if commit.endswith("00"):
            # Plumbing never triggers git's automatic housekeeping; do it now and then, and
            # keep the commit-graph with changed-path filters that make `crmctl history
            # RECORD` (git log -- PATH) fast on a long history.
            self.run("gc", "--auto", "--quiet", check=False)
            self.run("commit-graph", "write", "--reachable", "--changed-paths", "--split",
                     check=False)
        return commit

    def stage(self, paths: Sequence[str]) -> None:
        """Make git's index match the work tree for ``paths``, so `git status` stays clean."""
        self.start_index_update(paths).finish()

    def start_index_update(self, paths: Sequence[str]) -> "IndexUpdate":
        """Start making git's index match the work tree for ``paths`` (``IndexUpdate``): by
        the launcher's `update-index` if one is waiting (``early_index``), else by a new one."""
        return IndexUpdate(self, paths)

    def unstage(self, paths: Sequence[str], commit: str | None) -> None:
        """Put git's index entries for ``paths`` back as they are in ``commit`` (none there,
        or no commit: out of the index), after an index update whose commit failed."""
        entries: dict[bytes, bytes] = {}
        if commit:
            # ls-tree matches its paths literally (no wildcards), from the top as run here.
            listed = self.run("ls-tree", "-z", commit, "--", *paths)
            for item in filter(None, listed.split(b"\0")):
                meta, path = item.split(b"\t", 1)
                mode, _, oid = meta.split(b" ")
                entries[path] = mode + b" " + oid
        kept = [path for path in map(os.fsencode, paths) if path in entries]
        if kept:
            self.run("update-index", "-z", "--index-info",
                     input=b"".join(entries[path] + b"\t" + path + b"\0" for path in kept))
        gone = [path for path in paths if os.fsencode(path) not in entries]
        if gone:
            self.run("update-index", "--force-remove", "--", *gone)


class IndexUpdate:
    """git's index brought to the work tree for some paths while the commit of them is made.

    At 100,000 records git takes 11-13 ms to write its index after it has read it (the
    launcher's `update-index`), and 40 ms with the read; the commit's own git processes take
    12-15 ms and touch no index. So they run side by side: ``finish`` waits for git once the
    commit has landed, and ``undo`` puts the entries back if it failed.
    """

    def __init__(self, git: Git, paths: Sequence[str]):
        self.paths = list(paths)
        self.process: subprocess.Popen[bytes] | None = None
        if not early_index.hand(git.git_dir(), self.paths):
            self.process = subprocess.Popen(
                ["git", "update-index", "--add", "--remove", "--", *self.paths], cwd=git.root,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                env=clean_env(), pass_fds=git.pass_fds, restore_signals=False)
        self._result: tuple[int, str] | None = None

    def wait(self) -> tuple[int, str]:
        """git's exit code and its error."""
        if self._result is None:
            if self.process is None:
                self._result = early_index.finish()
            else:
                assert self.process.stderr
                with self.process.stderr:
                    error = self.process.stderr.read()
                self._result = self.process.wait(), error.decode("utf-8", "replace")
        return self._result

    def finish(self) -> None:
        """Wait for git; raise GitError if it could not write the index."""
        code, error = self.wait()
        if code != 0:
            raise _failure(("update-index",), code, error)

    def undo(self, git: Git, commit: str | None) -> None:
        """After a commit that failed: wait for git, and put back what it wrote."""
        if self.wait()[0] == 0:
            git.unstage(self.paths, commit)


class RepoLock:
    """One repo-wide ``flock`` held across read, modify, write and commit.

    The kernel drops it when the process dies, and git children inherit it (``pass_fds``),
    so a killed crmctl cannot release it while its git command still runs.
    """

    def __init__(self, path: Path, timeout: float):
        self.path = path
        self.timeout = timeout
        self.fd: int | None = None

    def __enter__(self) -> "RepoLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise Conflict(
                        f"another crmctl command has held the CRM lock for {self.timeout:g} s",
                        "wait for it to finish, or raise $CRMCTL_LOCK_TIMEOUT") from None
                time.sleep(0.02)
        self.fd = fd
        return self

    def hold(self, fd: int) -> None:
        """Hold a lock that ``fd`` holds already (and release it on exit)."""
        self.fd = fd

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def _failure(args: Sequence[str], code: int, stderr: str) -> GitError:
    command = next((a for a, before in zip(args, ("", *args)) if not a.startswith("-")
                    and before != "-c"), args[0])
    return GitError(f"git {command} failed: {failure_reason(stderr, code)}")


# An integer as git reads one in a boolean setting (strtoimax's base 0, a unit after it);
# false, no, off, "" and anything else git would refuse are false.
_GIT_INTEGER = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)[kKmMgG]?")


def _setting_name(key: str) -> str:
    """A key as `git config --list` prints it: section and name in lower case, the
    subsection between them as written (remote.Origin.URL -> remote.Origin.url)."""
    section, _, rest = key.partition(".")
    subsection, _, name = rest.rpartition(".")
    return ".".join(filter(None, (section.lower(), subsection, name.lower())))
