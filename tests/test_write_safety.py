"""Writes are safe: one lock, one commit per change, nothing half-done survives a crash.

Every write takes the CRM lock, journals what it is about to change, writes files atomically
and makes exactly one commit of exactly the paths it changed. A failure leaves the folder as
it was; a killed run is undone (or finished) by the next write.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import USER_EMAIL, USER_NAME, add_users, crmctl, git

JOURNAL = ".git/crmctl-journal.json"
LOCK = ".git/crmctl.lock"
GLOBEX = "companies/gl/globex.yaml"
ACME = "companies/ac/acme-products.yaml"


def status(root: Path) -> str:
    """``git status --porcelain`` exactly as git prints it (leading spaces matter)."""
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root,
                          check=True, capture_output=True, text=True).stdout


def commit_count(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


def work_files(root: Path) -> set[str]:
    """Every file of the work tree except git's own folder and the machine-local index."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*")
            if p.is_file() and not p.relative_to(root).as_posix().startswith((".git/", ".crmctl/"))}


def leftovers(root: Path) -> list[str]:
    """Traces of an unfinished write: journal, stale git locks, temporary files."""
    found = [name for name in (JOURNAL, ".git/index.lock", ".git/HEAD.lock")
             if (root / name).exists()]
    found += [p.relative_to(root).as_posix() for p in (root / ".git" / "refs").rglob("*.lock")]
    found += [p.relative_to(root).as_posix() for p in root.rglob("*.crmctl-tmp")]
    return found


def changed_in(root: Path, rev: str = "HEAD") -> list[str]:
    return git(root, "show", "--name-only", "--format=", rev).splitlines()


def committed_bytes(root: Path, rev: str, path: str) -> bytes:
    return subprocess.run(["git", "show", f"{rev}:{path}"], cwd=root, check=True,
                          capture_output=True).stdout


# --- (a) concurrent writers ---------------------------------------------------------------

NAMES = ["Amber Logistics", "Birch Analytics", "Cobalt Mining", "Delta Foods",
         "Ember Textiles", "Fjord Shipping", "Granite Insurance", "Harbor Pharma"]


def test_eight_adds_started_at_once_all_land(crm_root):
    before = commit_count(crm_root)
    procs = [subprocess.Popen([sys.executable, "-m", "crmctl", "add", "company", name],
                              cwd=crm_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=dict(os.environ))
             for name in NAMES]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        results.append((proc.returncode, out, err))

    assert [code for code, _, _ in results] == [0] * 8, results
    assert all("Traceback" not in err for _, _, err in results)
    assert commit_count(crm_root) == before + 8
    assert git(crm_root, "rev-list", "--merges", "HEAD") == ""
    new_commits = git(crm_root, "rev-list", "HEAD~8..HEAD").splitlines()
    assert sorted(git(crm_root, "log", "-1", "--format=%s", c) for c in new_commits) == \
        sorted(f'Add company "{name}"' for name in NAMES)
    for commit in new_commits:
        assert len(changed_in(crm_root, commit)) == 1, changed_in(crm_root, commit)

    files = sorted(p.relative_to(crm_root).as_posix()
                   for p in (crm_root / "companies").rglob("*.yaml"))
    assert len(files) == 8
    assert sorted(git(crm_root, "ls-files", "companies").splitlines()) == files
    assert status(crm_root) == ""
    assert leftovers(crm_root) == []

    checked = crmctl("check", cwd=crm_root)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    listed = crmctl("list", "companies", "--quiet", cwd=crm_root, check=True).stdout.split()
    assert len(listed) == 8


# --- (b) the lock -------------------------------------------------------------------------

def test_a_held_lock_makes_a_write_give_up_cleanly_then_succeed(cli, crm_root):
    cli.ok("add", "company", "Acme Products, Inc.")
    fd = os.open(crm_root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        before_files = work_files(crm_root)
        result = cli.fails(5, "add", "company", "Globex", env={"CRMCTL_LOCK_TIMEOUT": "0.3"})
        assert "lock" in result.stderr.lower()
        assert result.stdout == ""
        assert work_files(crm_root) == before_files
        assert not (crm_root / GLOBEX).exists()

        # Also from a separate process, the way a second terminal would hit it.
        other = crmctl("add", "company", "Globex", cwd=crm_root,
                       env={"CRMCTL_LOCK_TIMEOUT": "0.3"})
        assert other.returncode == 5
        assert len(other.stderr.strip().splitlines()) == 1 and "lock" in other.stderr.lower()
        assert not (crm_root / GLOBEX).exists()
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    before = commit_count(crm_root)
    done = cli.ok("add", "company", "Globex", env={"CRMCTL_LOCK_TIMEOUT": "0.3"})
    assert done.stdout.strip() == 'Add company "Globex" as globex'
    assert commit_count(crm_root) == before + 1
    assert status(crm_root) == ""


def test_reads_do_not_need_the_lock(cli, crm_root):
    cli.ok("add", "company", "Acme Products, Inc.")
    fd = os.open(crm_root / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        env = {"CRMCTL_LOCK_TIMEOUT": "0.3"}
        assert "Acme Products, Inc." in cli.ok("list", "companies", env=env).stdout
        assert cli.ok("show", "Acme", env=env).stdout.startswith("Acme Products, Inc.")
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# --- (c) recovery from a killed run -------------------------------------------------------

def globex_file() -> bytes:
    return (b"id: globex\nname: Globex\ndomain: globex.com\nstatus: lead\n"
            b"created: '2026-01-05T09:00:00+00:00'\nupdated: '2026-01-05T09:00:00+00:00'\n")


def leave_killed_write(root: Path, originals: dict[str, bytes | None],
                       half_written: dict[str, bytes], parent: str | None = None) -> None:
    """The folder as ``kill -9`` leaves it in the middle of Change.commit.

    The journal names the parent commit and the original bytes of every path; the files are
    half written, their temporary twins are still there, and git died holding its locks.
    """
    git_dir = root / ".git"
    journal = {"parent": parent or git(root, "rev-parse", "HEAD"),
               "files": {p: None if data is None else base64.b64encode(data).decode()
                         for p, data in originals.items()}}
    (git_dir / "crmctl-journal.json").write_text(json.dumps(journal))
    for path, data in half_written.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.with_name(f".{target.name}.crmctl-tmp").write_bytes(data[: len(data) // 2])
    (git_dir / "index.lock").write_bytes((git_dir / "index").read_bytes())
    (git_dir / "HEAD.lock").write_text(f"ref: {git(root, 'symbolic-ref', 'HEAD')}\n")


def test_the_next_write_undoes_a_killed_add_of_another_company(cli, crm_root):
    cli.ok("add", "company", "Acme Products, Inc.")
    parent = git(crm_root, "rev-parse", "HEAD")
    clean_files = work_files(crm_root)
    leave_killed_write(crm_root, {GLOBEX: None}, {GLOBEX: globex_file()[:40]})
    assert (crm_root / GLOBEX).exists() and leftovers(crm_root)

    done = cli.ok("add", "company", "Initech")

    assert done.stdout.strip() == 'Add company "Initech" as initech'
    assert leftovers(crm_root) == []
    assert not (crm_root / GLOBEX).exists()
    assert git(crm_root, "rev-parse", "HEAD~1") == parent
    assert changed_in(crm_root) == ["companies/in/initech.yaml"]
    assert work_files(crm_root) == clean_files | {"companies/in/initech.yaml"}
    assert status(crm_root) == ""
    assert "Globex" not in cli.ok("list", "companies").stdout
    assert cli.ok("check").exit_code == 0


def test_a_commit_graph_lock_left_by_a_killed_write_is_cleared_by_the_next_write(cli, crm_root):
    """crmctl keeps git's commit-graph now and then within a write, its journal still there:
    killed meanwhile, it leaves git's lock of the graph, which would stop every later upkeep
    of it (git writes no graph while that lock is there)."""
    cli.ok("add", "company", "Acme Products, Inc.")
    leave_killed_write(crm_root, {GLOBEX: None}, {GLOBEX: globex_file()[:40]})
    graphs = crm_root / ".git" / "objects" / "info" / "commit-graphs"
    graphs.mkdir(parents=True, exist_ok=True)
    (graphs / "commit-graph-chain.lock").write_text("")

    cli.ok("add", "company", "Initech")

    assert not (graphs / "commit-graph-chain.lock").exists()
    git(crm_root, "commit-graph", "write", "--reachable", "--split")  # git can keep it again


def test_rerunning_the_killed_command_succeeds(cli, crm_root):
    """The natural retry: the same `add` again, after it was killed part-way."""
    cli.ok("add", "company", "Acme Products, Inc.")
    parent = git(crm_root, "rev-parse", "HEAD")
    # Killed after the record file was (half) written, before the commit.
    leave_killed_write(crm_root, {GLOBEX: None}, {GLOBEX: globex_file()[:50]})

    result = cli("add", "company", "Globex", "--domain", "globex.com")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == 'Add company "Globex" as globex'
    assert leftovers(crm_root) == []
    assert git(crm_root, "rev-parse", "HEAD~1") == parent
    assert changed_in(crm_root) == [GLOBEX]
    assert committed_bytes(crm_root, "HEAD", GLOBEX) == (crm_root / GLOBEX).read_bytes()
    assert b"domain: globex.com\n" in (crm_root / GLOBEX).read_bytes()
    assert status(crm_root) == ""


def test_the_next_write_restores_a_half_rewritten_existing_file(cli, crm_root):
    cli.ok("add", "company", "Acme Products, Inc.", "--domain", "acme.com")
    original = (crm_root / ACME).read_bytes()
    parent = git(crm_root, "rev-parse", "HEAD")
    leave_killed_write(crm_root, {ACME: original},
                       {ACME: original.replace(b"Acme Products, Inc.", b"Acme Rockets")[:30]})
    branch = git(crm_root, "symbolic-ref", "--short", "HEAD")
    (crm_root / ".git" / "refs" / "heads" / f"{branch}.lock").write_text(parent + "\n")

    done = cli.ok("add", "company", "Initech")

    assert done.stdout.strip() == 'Add company "Initech" as initech'
    assert (crm_root / ACME).read_bytes() == original
    assert leftovers(crm_root) == []
    assert git(crm_root, "rev-parse", "HEAD~1") == parent
    assert changed_in(crm_root) == ["companies/in/initech.yaml"]
    assert status(crm_root) == ""
    assert cli.ok("show", "acme-products").stdout.startswith("Acme Products, Inc.")


def test_a_read_after_a_killed_write_does_not_show_the_half_written_record(cli, crm_root):
    cli.ok("add", "company", "Acme Products, Inc.")
    leave_killed_write(crm_root, {GLOBEX: None}, {GLOBEX: globex_file()[:50]})

    listed = cli.ok("list", "companies", "--quiet")

    assert listed.stdout.split() == ["acme-products"]
    assert listed.stderr == ""
    assert leftovers(crm_root) == []
    assert status(crm_root) == ""


def test_a_journal_cut_off_while_being_written_is_dropped(cli, crm_root):
    cli.ok("add", "company", "Acme Products, Inc.")
    (crm_root / JOURNAL).write_text('{"parent": "ab')

    cli.ok("add", "company", "Initech")

    assert not (crm_root / JOURNAL).exists()
    assert changed_in(crm_root) == ["companies/in/initech.yaml"]
    assert status(crm_root) == ""


@pytest.mark.parametrize("git_index_updated", [True, False],
                         ids=["killed-before-dropping-the-journal",
                              "killed-before-updating-git-index"])
def test_a_commit_that_landed_before_the_kill_is_kept(cli, crm_root, git_index_updated):
    cli.ok("add", "company", "Acme Products, Inc.")
    parent = git(crm_root, "rev-parse", "HEAD")
    cli.ok("add", "company", "Globex", "--domain", "globex.com")
    landed = git(crm_root, "rev-parse", "HEAD")
    content = (crm_root / GLOBEX).read_bytes()
    # The commit and the branch moved; the process died before it could tidy up.
    git_dir = crm_root / ".git"
    (git_dir / "crmctl-journal.json").write_text(
        json.dumps({"parent": parent, "files": {GLOBEX: None}}))
    (crm_root / "companies/gl/.globex.yaml.crmctl-tmp").write_bytes(content)
    if not git_index_updated:
        git(crm_root, "rm", "-q", "--cached", GLOBEX)
        (git_dir / "index.lock").write_bytes((git_dir / "index").read_bytes())

    done = cli.ok("add", "company", "Initech")

    assert done.stdout.strip() == 'Add company "Initech" as initech'
    assert git(crm_root, "rev-parse", "HEAD~1") == landed, "the landed commit was lost"
    assert (crm_root / GLOBEX).read_bytes() == content
    assert committed_bytes(crm_root, "HEAD", GLOBEX) == content
    assert leftovers(crm_root) == []
    assert status(crm_root) == ""
    assert cli.ok("list", "companies", "--quiet").stdout.split() == \
        ["acme-products", "globex", "initech"]


def test_a_landed_edit_of_an_existing_file_is_kept(cli, crm_root):
    """Killed after update-ref moved the branch but before git's index caught up."""
    cli.ok("add", "company", "Acme Products, Inc.", "--domain", "acme.com")
    original = (crm_root / ACME).read_bytes()
    parent = git(crm_root, "rev-parse", "HEAD")
    edited = original.replace(b"status: lead", b"status: prospect")
    (crm_root / ACME).write_bytes(edited)
    git(crm_root, "commit", "-qam", 'Change status of "Acme Products, Inc." to prospect')
    landed = git(crm_root, "rev-parse", "HEAD")
    git(crm_root, "reset", "-q", parent, "--", ACME)  # git's index still holds the old bytes
    (crm_root / ".git" / "crmctl-journal.json").write_text(
        json.dumps({"parent": parent, "files": {ACME: base64.b64encode(original).decode()}}))

    cli.ok("add", "company", "Initech")

    assert git(crm_root, "rev-parse", "HEAD~1") == landed
    assert (crm_root / ACME).read_bytes() == edited, "the landed edit was undone on disk"
    assert committed_bytes(crm_root, "HEAD", ACME) == edited
    assert leftovers(crm_root) == []
    assert status(crm_root) == ""


# --- (d) a commit that fails --------------------------------------------------------------

def test_a_failing_commit_leaves_the_folder_exactly_as_it_was(cli, crm_root):
    cli.ok("add", "company", "Acme Products, Inc.")
    (crm_root / "notes.txt").write_text("call Acme back\n")  # the user's own, untracked
    branch = git(crm_root, "symbolic-ref", "--short", "HEAD")
    ref_lock = crm_root / ".git" / "refs" / "heads" / f"{branch}.lock"
    ref_lock.write_text(git(crm_root, "rev-parse", "HEAD") + "\n")
    before_head = git(crm_root, "rev-parse", "HEAD")
    before_status = git(crm_root, "status", "--porcelain")
    before_files = work_files(crm_root)

    result = cli("add", "company", "Globex")

    assert result.exit_code != 0
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    assert git(crm_root, "rev-parse", "HEAD") == before_head
    assert git(crm_root, "status", "--porcelain") == before_status
    assert work_files(crm_root) == before_files
    assert not (crm_root / GLOBEX).exists()
    assert not (crm_root / "companies" / "gl").exists()
    assert not (crm_root / JOURNAL).exists()

    ref_lock.unlink()
    assert cli.ok("add", "company", "Globex").stdout.strip() == 'Add company "Globex" as globex'
    assert changed_in(crm_root) == [GLOBEX]


# --- (e) only the changed paths are committed --------------------------------------------

def test_only_the_new_record_is_committed_and_the_users_work_is_untouched(cli, crm_root):
    cli.ok("add", "company", "Acme Products, Inc.")
    cli.ok("add", "company", "Globex")
    (crm_root / "README.md").write_text("Our CRM\n")
    (crm_root / "playbook.md").write_text("1. Call\n")
    git(crm_root, "add", "README.md", "playbook.md")
    git(crm_root, "commit", "-qm", "Add notes")
    # The user's work in progress: untracked, modified, and staged (a record in the same folder).
    (crm_root / "scratch.txt").write_text("todo\n")
    (crm_root / "README.md").write_text("Our CRM, edited\n")
    (crm_root / "playbook.md").write_text("1. Call\n2. Email\n")
    git(crm_root, "add", "playbook.md")
    staged_record = (crm_root / GLOBEX).read_text().replace("status: lead", "status: prospect")
    (crm_root / GLOBEX).write_text(staged_record)
    git(crm_root, "add", GLOBEX)
    before_status = status(crm_root)
    assert sorted(before_status.splitlines()) == [" M README.md", "?? scratch.txt",
                                                  "M  companies/gl/globex.yaml", "M  playbook.md"]
    parent = git(crm_root, "rev-parse", "HEAD")

    cli.ok("add", "company", "Initech")

    assert git(crm_root, "rev-parse", "HEAD~1") == parent
    assert changed_in(crm_root) == ["companies/in/initech.yaml"]
    stat = git(crm_root, "show", "--stat", "--format=", "HEAD")
    assert "1 file changed" in stat and "initech.yaml" in stat
    # Untouched in the commit: the staged and modified files keep their committed version.
    for path in (GLOBEX, "README.md", "playbook.md"):
        assert committed_bytes(crm_root, "HEAD", path) == committed_bytes(crm_root, parent, path)
    # ...and untouched in the user's work tree and staging area.
    assert status(crm_root) == before_status
    assert git(crm_root, "diff", "--cached", "--name-only").splitlines() == [GLOBEX, "playbook.md"]
    assert git(crm_root, "diff", "--name-only").splitlines() == ["README.md"]
    assert (crm_root / "README.md").read_text() == "Our CRM, edited\n"
    assert (crm_root / "scratch.txt").read_text() == "todo\n"
    assert (crm_root / GLOBEX).read_text() == staged_record


# --- (f) one commit per write, by the acting person, worded for an activity feed ----------

def test_each_write_is_one_commit_by_the_acting_person(cli, crm_root):
    writes = [
        (("add", "company", "Acme Products, Inc.", "--domain", "acme.com"),
         'Add company "Acme Products, Inc."', ACME),
        (("add", "person", "Ada Lovelace", "--company", "Acme"),
         'Add person "Ada Lovelace" at "Acme Products, Inc."', "people/ad/ada-lovelace.yaml"),
        (("add", "deal", "Renewal 2027", "--company", "acme-products", "--amount", "12000"),
         'Add deal "Renewal 2027" with "Acme Products, Inc." (12,000 USD, contact-made)',
         "deals/ac/acme-products-renewal-2027.yaml"),
    ]
    for args, message, path in writes:
        before = git(crm_root, "rev-parse", "HEAD")
        cli.ok(*args)
        assert git(crm_root, "rev-parse", "HEAD~1") == before, "exactly one new commit"
        assert git(crm_root, "log", "-1", "--format=%an|%ae|%cn|%ce") == \
            f"{USER_NAME}|{USER_EMAIL}|{USER_NAME}|{USER_EMAIL}"
        assert git(crm_root, "log", "-1", "--format=%s") == message
        # The body holds only trailers naming the records, for `crmctl history RECORD`.
        trailers = git(crm_root, "log", "-1", "--format=%(trailers:key=Crm-Record,valueonly)")
        kind = {"companies": "company", "people": "person", "deals": "deal"}[path.split("/")[0]]
        assert trailers.splitlines()[0] == f"{kind}/{path.rsplit('/', 1)[-1][:-5]}"
        assert changed_in(crm_root) == [path]
        assert committed_bytes(crm_root, "HEAD", path) == (crm_root / path).read_bytes()
        assert status(crm_root) == ""


def test_a_write_as_a_declared_user_is_authored_by_that_user(cli, crm_root):
    add_users(crm_root, ("tess", "Tess Teammate", "tess@example.com"))
    cli.ok("--as", "tess", "add", "company", "Globex")
    assert git(crm_root, "log", "-1", "--format=%an <%ae>|%s") == \
        'Tess Teammate <tess@example.com>|Add company "Globex"'
    cli.ok("add", "company", "Initech", env={"CRMCTL_USER": "tess"})
    assert git(crm_root, "log", "-1", "--format=%an <%ae>") == "Tess Teammate <tess@example.com>"
    assert committed_bytes(crm_root, "HEAD", "companies/in/initech.yaml") == \
        (crm_root / "companies/in/initech.yaml").read_bytes()


# --- (d) git's own index.lock: crmctl's, or the user's ----------------------------------------

def test_an_index_lock_left_by_a_killed_status_of_a_write_is_cleared_by_the_next_write(
        cli, crm_root):
    """A write scans for hand edits with git status, which may take index.lock, under the
    CRM lock and a marker of its own; killed there, it leaves both. The next write knows
    the lock for the dead command's and clears it instead of refusing for ten minutes."""
    cli.ok("add", "company", "Acme Products, Inc.")
    git_dir = crm_root / ".git"
    (git_dir / "crmctl-git-at-work").write_bytes(b"")
    (git_dir / "index.lock").write_bytes((git_dir / "index").read_bytes())

    cli.ok("add", "company", "Globex")

    assert not (git_dir / "index.lock").exists()
    assert not (git_dir / "crmctl-git-at-work").exists()
    assert git(crm_root, "status", "--porcelain", "--untracked-files=all") == ""


def test_an_index_lock_of_the_users_own_git_is_left_alone(cli, crm_root):
    """Without crmctl's marker a fresh index.lock may be the user's `git commit` waiting
    in its editor: a read still works (it takes no lock of git's), a write says why not."""
    cli.ok("add", "company", "Acme Products, Inc.")
    git_dir = crm_root / ".git"
    (git_dir / "index.lock").write_bytes((git_dir / "index").read_bytes())

    assert cli.ok("list", "companies", "-q").stdout.split() == ["acme-products"]
    refused = cli("add", "company", "Globex")

    assert refused.exit_code != 0 and "index.lock" in refused.stderr
    assert (git_dir / "index.lock").exists()
    (git_dir / "index.lock").unlink()
    assert git(crm_root, "status", "--porcelain", "--untracked-files=all") == ""


def test_writes_work_in_a_git_worktree_whose_dot_git_is_a_file(cli, crm_root, tmp_path):
    """A second checkout made with `git worktree add`: .git is a file naming the real one;
    a write keeps its originals there, not under .git/ of the checkout."""
    cli.ok("add", "company", "Acme Products, Inc.")
    other = tmp_path / "second"
    git(crm_root, "worktree", "add", "-q", str(other))
    assert (other / ".git").is_file()

    done = subprocess.run([sys.executable, "-m", "crmctl", "-C", str(other), "log", "Acme",
                           "--type", "note", "--note", "from the worktree"],
                          capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert git(other, "status", "--porcelain", "--untracked-files=all") == ""
    shown = subprocess.run([sys.executable, "-m", "crmctl", "-C", str(other), "show", "Acme"],
                           capture_output=True, text=True)
    assert "from the worktree" in shown.stdout


def test_a_marker_of_a_killed_status_does_not_clear_a_git_lock_made_long_after(cli, crm_root):
    """The marker says a crmctl status died; an index.lock made a minute later is the
    user's own git at work, and is left alone."""
    cli.ok("add", "company", "Acme Products, Inc.")
    git_dir = crm_root / ".git"
    marker = git_dir / "crmctl-git-at-work"
    marker.write_bytes(b"")
    made = marker.stat().st_mtime
    os.utime(marker, (made - 60, made - 60))
    (git_dir / "index.lock").write_bytes((git_dir / "index").read_bytes())

    assert cli.ok("list", "companies", "-q").stdout.split() == ["acme-products"]

    assert (git_dir / "index.lock").exists()
    (git_dir / "index.lock").unlink()
