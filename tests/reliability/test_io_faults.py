"""I/O faults (issue #11, item 8): the machine says no in the middle of a write.

A file-size limit (``ulimit -f``: RLIMIT_FSIZE, with SIGXFSZ ignored so the write gets EFBIG,
and with SIGXFSZ at its default), a read-only CRM folder (the records folder, the whole tree,
a read-only mount), and a full disk (a small tmpfs filled up; RLIMIT_FSIZE where mounting is
not permitted). In every case the user sees one clean line (no traceback) and a non-zero exit,
the CRM is byte-identical to before, and once the fault is lifted the next command works.

"Byte-identical": every file of the work tree and of .git, except crmctl's lock file, git's
index (compared by its entries: git rewrites its stat cache whenever it likes), new files
under .git/objects (unreachable objects are git's own garbage, pruned by gc; an existing object
must not change), and .crmctl/ (the read cache, outside git and rebuilt at will; the next
command must still read the truth).

As root, chmod does not stop writes: the chmod cases then run crmctl in a new user namespace
(``unshare --user``), where root's powers over the host's files are gone and the permission
bits apply again; where that is not possible they are skipped, and the read-only mount and the
full disk (both root-only) cover the ground.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import string
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import build_once, git
from reliability.battery import soak

LIMIT = 70_000  # bytes: the file-size limit of the ulimit cases
# A record bigger than LIMIT / 1.34: its journal (the original bytes, base64) cannot be written.
_rng = random.Random("io-faults")
WORDS = " ".join("".join(_rng.choice(string.ascii_lowercase) for _ in range(_rng.randint(2, 9)))
                 for _ in range(17_000))
BIG_NOTES = WORDS[:60_000]
BIG_NOTE = WORDS[:LIMIT + 10_000]  # a note that cannot fit under LIMIT at all
IS_ROOT = os.geteuid() == 0


def a_crm_with_a_big_record(cli) -> None:
    cli.ok("add", "company", "Acme Products", "--domain", "acme.com")
    cli.ok("edit", "acme", "--set", f"notes={BIG_NOTES}")
    cli.ok("add", "company", "Globex", "--domain", "globex.com")
    cli.ok("add", "person", "Jane Doe", "--company", "acme", "--email", "jane@acme.com")
    cli.ok("log", "acme", "--type", "note", "--note", "First call")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_once(tmp_path_factory, a_crm_with_a_big_record)


def place(template: Path, folder: Path) -> Path:
    root = folder / "crm"
    # Not the template's read cache: this process may still hold it open, with a write-ahead
    # log of some MB not yet folded in (as the garbage collector happens to have run), and a
    # small disk would start full. The copy builds its own, before the fault.
    shutil.copytree(template, root, symlinks=True,
                    ignore=lambda folder, names: [n for n in names if n.startswith("index.sqlite")])
    warm = run(root, "list", "companies", "-q")
    assert warm.returncode == 0, warm.stderr
    return root


# --- running crmctl and judging what it did ---------------------------------------------------

def run(root: Path, *args: str, preexec=None,
        prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, sys.executable, "-m", "crmctl", *args], cwd=root,
                          capture_output=True, text=True, preexec_fn=preexec, timeout=300)


def file_size_limit(limit: int, sigxfsz: str = "ignored"):
    def preexec() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN if sigxfsz == "ignored" else signal.SIG_DFL)
    return preexec


def fingerprint(root: Path) -> dict:
    files = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not path.is_symlink() and rel not in (
                ".git/crmctl.lock", ".git/index") and not rel.startswith(".crmctl/"):
            files[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    files["(HEAD)"] = git(root, "rev-parse", "HEAD")
    files["(index entries)"] = git(root, "ls-files", "-s")
    return files


def changes(before: dict, after: dict) -> list[str]:
    """What differs, but for new files under .git/objects/."""
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)
                  and not (k not in before and k.startswith(".git/objects/")))


def clean_failure(proc: subprocess.CompletedProcess) -> list[str]:
    """The problems with how a command failed: it must say one line and exit non-zero."""
    problems = []
    if proc.returncode <= 0:
        problems.append(f"exit {proc.returncode} (0 is success, negative a signal)")
    lines = proc.stderr.strip().splitlines()
    if "Traceback" in proc.stderr:
        problems.append(f"a traceback: ...{lines[-1] if lines else ''}")
    elif len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr: {proc.stderr!r}")
    return problems


def assert_failed_cleanly_and_changed_nothing(proc, root: Path, before: dict) -> None:
    problems = clean_failure(proc)
    changed = changes(before, fingerprint(root))
    assert not problems and not changed, (problems, changed, proc.stderr[-2000:])


def notes_of(root: Path) -> list[str]:
    logs = sorted((root / "activities").glob("*/*.jsonl"))
    return [json.loads(line).get("note") for path in logs
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def assert_works_again(root: Path, write: tuple[str, ...]) -> None:
    """The fault lifted: the same write works, exactly once, and the CRM checks clean."""
    head = git(root, "rev-parse", "HEAD")
    again = run(root, *write)
    assert again.returncode == 0, again.stderr
    assert git(root, "rev-parse", "HEAD~1") == head
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert sorted(p.name for p in (root / ".git").iterdir() if "crmctl" in p.name) == \
        ["crmctl.lock"]
    checked = run(root, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    listed = run(root, "list", "companies", "-q")
    assert listed.returncode == 0, listed.stderr
    assert {"acme-products", "globex"} <= set(listed.stdout.split())
    if write[0] == "log":
        assert notes_of(root).count(write[-1]) == 1


# --- (a) a file-size limit ---------------------------------------------------------------------

@pytest.mark.parametrize("write, limit, sigxfsz", [
    (("edit", "acme", "--set", "campaign=autumn"), LIMIT, "ignored"),
    (("edit", "acme", "--set", "campaign=autumn"), LIMIT, "default"),
    (("log", "globex", "--type", "note", "--note", BIG_NOTE), LIMIT, "ignored"),
    (("log", "acme", "--type", "note", "--note", "Second call"), 4096, "ignored"),
    (("edit", "acme", "--set", "campaign=autumn"), 0, "ignored"),
    (("edit", "acme", "--set", "campaign=autumn"), 0, "default"),
], ids=["record-journal-too-big", "record-journal-too-big-sigxfsz-default",
        "new-log-file-too-big", "tiny-limit", "no-file-may-grow",
        "no-file-may-grow-sigxfsz-default"])
def test_a_write_over_the_file_size_limit_fails_cleanly_and_changes_nothing(
        template, tmp_path, write, limit, sigxfsz) -> None:
    root = place(template, tmp_path)
    before = fingerprint(root)
    proc = run(root, *write, preexec=file_size_limit(limit, sigxfsz))
    assert_failed_cleanly_and_changed_nothing(proc, root, before)
    assert_works_again(root, write)


# --- (b) a read-only CRM folder ----------------------------------------------------------------

def read_only_runner() -> tuple[str, ...]:
    """What makes chmod bite: nothing for a normal user; for root, a user namespace."""
    if not IS_ROOT:
        return ()
    probe = subprocess.run(["unshare", "--user", "true"], capture_output=True) \
        if shutil.which("unshare") else None
    if probe is None or probe.returncode != 0:
        pytest.skip("running as root, where chmod does not stop writes, and no user namespace "
                    "(unshare --user) to drop root's powers in; the read-only mount and the "
                    "full disk cases cover this ground")
    return ("unshare", "--user")


def set_writable(paths, writable: bool) -> None:
    for top in paths:
        for path in [top, *top.rglob("*")]:
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            path.chmod(mode | 0o200 if writable else mode & ~0o222)


READ_ONLY = [
    pytest.param(("companies",), ("edit", "acme", "--set", "campaign=autumn"),
                 id="records-folder-edit"),
    pytest.param((".",), ("log", "acme", "--type", "note", "--note", "Second call"),
                 id="whole-crm-log"),
] + ([
    pytest.param(("companies",), ("add", "company", "Initech"), id="records-folder-add"),
    pytest.param(("activities",), ("log", "acme", "--type", "note", "--note", "Second call"),
                 id="logs-folder-log"),
] if soak(1) > 1 else [])


@pytest.mark.parametrize("folders, write", READ_ONLY)
def test_a_write_to_a_read_only_folder_fails_cleanly_and_changes_nothing(
        template, tmp_path, folders, write) -> None:
    prefix = read_only_runner()
    root = place(template, tmp_path)
    before = fingerprint(root)
    targets = [root / f for f in folders]
    set_writable(targets, False)
    try:
        proc = run(root, *write, prefix=prefix)
        problems = clean_failure(proc)
        changed = changes(before, fingerprint(root))
        # The fault still there: what does not need to write records still works.
        meanwhile = run(root, "list", "companies", "-q", prefix=prefix) \
            if folders == ("companies",) else None
    finally:
        set_writable(targets, True)
    if meanwhile is not None and (meanwhile.returncode != 0 or meanwhile.stdout.split() != [
            "acme-products", "globex"]):
        problems.append(f"while the records folder stays read-only, list companies gives "
                        f"exit {meanwhile.returncode}: {meanwhile.stderr.strip()}")
    assert not problems and not changed, (problems, changed, proc.stderr[-2000:])
    assert_works_again(root, write)


def mount(*args: str) -> bool:
    if not IS_ROOT or not shutil.which("mount"):
        return False
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def umount(point: Path) -> None:
    subprocess.run(["umount", "-l", str(point)], capture_output=True)


def test_a_write_to_a_read_only_mount_fails_cleanly_and_changes_nothing(template, tmp_path):
    root = place(template, tmp_path)
    view = tmp_path / "read-only-view"
    view.mkdir()
    if not mount("--bind", str(root), str(view)):
        pytest.skip("cannot bind-mount here (not root, or mounting is not permitted)")
    try:
        if not mount("-o", "remount,bind,ro", str(view)):
            pytest.skip("cannot remount a bind mount read-only here")
        before = fingerprint(root)
        proc = run(view, "add", "company", "Initech")
        problems = clean_failure(proc)
        changed = changes(before, fingerprint(root))
    finally:
        umount(view)
    assert not problems and not changed, (problems, changed, proc.stderr[-2000:])
    assert_works_again(root, ("add", "company", "Initech"))


# --- (c) a full disk ---------------------------------------------------------------------------

class FullOfBytes:
    """A small tmpfs holding the CRM and a filler file that takes the rest of its space."""

    def __init__(self, point: Path):
        self.point = point
        self.filler = point / "filler"

    def leave(self, room: int) -> None:
        """Fill the disk to the last byte, then free ``room`` bytes of it."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            block = b"\0" * 65536
            while block:
                try:
                    os.write(fd, block)
                except OSError as exc:
                    assert exc.errno in (errno.ENOSPC, errno.EDQUOT), exc
                    block = block[:len(block) // 2]
            os.ftruncate(fd, max(0, os.fstat(fd).st_size - room))
        finally:
            os.close(fd)

    def lift(self) -> None:
        self.filler.unlink(missing_ok=True)


class FullOfFiles:
    """A small tmpfs whose inodes (files) run out while bytes are left: every file a write
    creates (a temporary file, a git object, a lock) takes one, so leaving N of them stops
    a write at a different step for each N."""

    def __init__(self, point: Path):
        self.point = point
        self.folder = point / "filler"
        self.folder.mkdir()
        self.made: list[Path] = []

    def leave(self, room: int) -> None:
        try:
            while True:
                path = self.folder / str(len(self.made))
                path.touch()
                self.made.append(path)
        except OSError as exc:
            assert exc.errno in (errno.ENOSPC, errno.EDQUOT), exc
        for _ in range(min(room, len(self.made))):
            self.made.pop().unlink()

    def lift(self) -> None:
        for _ in range(min(200, len(self.made))):
            self.made.pop().unlink()


def small_disk(tmp_path: Path, options: str):
    point = tmp_path / "disk"
    point.mkdir()
    if not mount("-t", "tmpfs", "-o", options, "tmpfs", str(point)):
        yield None
        return
    try:
        yield point
    finally:
        umount(point)


@pytest.fixture
def disk_of_few_bytes(tmp_path):
    yield from small_disk(tmp_path, "size=4m")


@pytest.fixture
def disk_of_few_files(tmp_path):
    yield from small_disk(tmp_path, "size=16m,nr_inodes=1000")


WRITES = [("edit", "acme", "--set", "campaign=c{step}"),
          ("log", "acme", "--type", "note", "--note", "Call {step} on a full disk"),
          ("task", "add", "Task {step} on a full disk", "--for", "globex"),
          ("add", "company", "Full Disk Company {step}", "--force")]


def sweep(root: Path, steps, disk=None) -> list:
    """Run each (room, write) with that much room left; return every problem seen.

    Before each write the fault is lifted and a read must work (so the previous step left
    nothing behind that blocks the next command, and the read cache is up to date); then
    the disk is filled to leave ``room`` (bytes or files), or without a disk of our own,
    the write runs under a file-size limit of ``room`` bytes. Each write must land whole
    (one commit), or fail with one line and leave the CRM as it was. Once space is back
    for good, the CRM must check clean and hold each note that landed, once."""
    problems, landed, refused = [], [], []
    for step, (room, template) in enumerate(steps):
        write = tuple(arg.format(step=step) for arg in template)
        if disk is not None:
            disk.lift()
        listed = run(root, "list", "companies", "-q")
        if listed.returncode != 0 or "acme-products" not in listed.stdout.split():
            problems.append((room, "the next command once space is back", listed.stderr[-300:]))
        if disk is not None:
            disk.leave(room)
        before = fingerprint(root)
        proc = run(root, *write, preexec=None if disk is not None else file_size_limit(room))
        if proc.returncode == 0:
            landed.append(write)
            if git(root, "rev-parse", "HEAD~1") != before["(HEAD)"]:
                problems.append((room, write[:3], "succeeded without one commit"))
            continue
        refused.append(write)
        changed = changes(before, fingerprint(root))
        for problem in clean_failure(proc) + ([f"changed {changed}"] if changed else []):
            problems.append((room, write[:3], problem, proc.stderr.strip()[-200:]))
    if disk is not None:
        disk.lift()
    assert refused, "the disk was never full enough to refuse a write"
    assert landed, "the disk never had room enough for a write"
    checked = run(root, "check")
    if checked.returncode != 0:
        problems.append(("space back", "check", (checked.stdout + checked.stderr)[-500:]))
    status = git(root, "status", "--porcelain", "--untracked-files=all")
    if status:
        problems.append(("space back", "git status", status))
    notes = notes_of(root)
    for write in landed + refused:
        if write[0] == "log" and notes.count(write[-1]) != (write in landed):
            problems.append(("space back", write[-1], f"{notes.count(write[-1])} times"))
    return problems


# Free bytes left for each write of the sweep; a soak sweeps finer.
ROOM_IN_BYTES = [0, 24576, 45056, 53248, 61440, 1 << 20] if soak(1) == 1 else \
    sorted({4096 * round(i * 48 / soak(8)) for i in range(soak(8))} | {1 << 20})


def test_writes_on_a_disk_out_of_space_fail_cleanly_change_nothing_and_work_once_space_is_back(
        template, tmp_path, disk_of_few_bytes) -> None:
    if disk_of_few_bytes is None:  # no tmpfs here: a file-size limit plays the full disk
        root, disk = place(template, tmp_path), None
    else:
        root, disk = place(template, disk_of_few_bytes), FullOfBytes(disk_of_few_bytes)
    steps = [(room, WRITES[i % len(WRITES)]) for i, room in enumerate(ROOM_IN_BYTES)]
    problems = sweep(root, steps, disk)
    assert not problems, "\n".join(map(str, problems))
    assert_works_again(root, ("log", "acme", "--type", "note", "--note", "Space is back"))


def test_writes_on_a_disk_out_of_files_fail_cleanly_change_nothing_and_work_once_space_is_back(
        template, tmp_path, disk_of_few_files) -> None:
    """Inodes run out: N files left stops a write after its N-th new file, at every step of
    it in turn (the read cache, the journal, the record, git's objects, the branch)."""
    if disk_of_few_files is None:
        pytest.skip("cannot mount a tmpfs here; running out of files needs a disk of our own "
                    "(the out-of-space sweep falls back to a file-size limit)")
    root, disk = place(template, disk_of_few_files), FullOfFiles(disk_of_few_files)
    if soak(1) == 1:  # the edit, past each step of it (0: the read cache ... 64: enough;
        # how many a write needs varies: a git object in a fan-out folder not made yet
        # takes one more, and where it lands depends on the object's hash)
        steps = [(room, WRITES[0]) for room in (0, 2, 3, 4, 7, 10, 12, 13, 16, 64)]
    else:
        steps = [(room, write) for write in WRITES for room in [*range(14 + 2 * soak(1)), 64]]
    problems = sweep(root, steps, disk)
    assert not problems, "\n".join(map(str, problems))
    assert_works_again(root, ("log", "acme", "--type", "note", "--note", "Space is back"))


def test_a_write_to_a_read_only_records_mount_leaves_no_journal_behind(template, tmp_path):
    """Only companies/ read-only (its own mount), git's folder writable: the refused write
    journals, fails, and must undo without touching the read-only folder, even to unlink
    a temporary file that is not there (EROFS, not ENOENT, on a read-only mount)."""
    root = place(template, tmp_path)
    records = root / "companies"
    if not mount("--bind", str(records), str(records)):
        pytest.skip("cannot bind-mount here (not root, or mounting is not permitted)")
    try:
        if not mount("-o", "remount,bind,ro", str(records)):
            pytest.skip("cannot remount a bind mount read-only here")
        before = fingerprint(root)
        proc = run(root, "edit", "acme", "--set", "campaign=autumn")
        problems = clean_failure(proc)
        changed = changes(before, fingerprint(root))
        left = sorted(p.name for p in (root / ".git").iterdir() if p.name.startswith("crmctl")
                      and p.name != "crmctl.lock")
    finally:
        umount(records)
    assert not problems and not changed and left == [], (problems, changed, left,
                                                         proc.stderr[-2000:])
    assert_works_again(root, ("edit", "acme", "--set", "campaign=autumn"))
