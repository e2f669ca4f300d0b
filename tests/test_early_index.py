"""The writes that scan nothing (log, move, task add) hand the paths they committed to a
`git update-index --stdin` that the launcher started before Python imported the command
(crmctl/early_index.py): git reads its index meanwhile.

Every test runs crmctl as its own process (the launcher is the console entry point), with a
`git` first on PATH that notes each call it passes on to the real git.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Cli, crmctl, git, on_a_terminal
from test_early_status import (crmctl_files_in_git_dir, git_shim, hold_lock, lock_is_free,
                               wait_for, waits_for_lock)

WRITES = {
    "log": ("log", "acme products", "--type", "phone-call", "--note", "Asked for a quote"),
    "move": ("move", "acme-products-big-deal", "meeting-arranged"),
    "task add": ("task", "add", "Send the quote", "--for", "acme products", "--due", "+3d"),
}


@pytest.fixture
def acme(cli: Cli) -> Cli:
    cli.ok("add", "company", "Acme Products")
    cli.ok("add", "deal", "Big Deal", "--company", "acme-products", "--amount", "1000")
    return cli


@pytest.fixture
def git_calls(tmp_path: Path) -> tuple[dict, Path]:
    log = tmp_path / "git-calls.log"
    return git_shim(tmp_path / "shim", log), log


def index_updates(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.startswith("update-index")]


def index_state(root: Path) -> tuple[bytes, list[str]]:
    """git's index file and the shared index files beside it, as bytes and names."""
    git_dir = root / ".git"
    return (git_dir / "index").read_bytes(), sorted(p.name for p in git_dir.glob("sharedindex.*"))


@pytest.mark.parametrize("command", list(WRITES))
def test_a_write_hands_its_paths_to_the_update_index_the_launcher_started(
        acme: Cli, git_calls, command: str) -> None:
    env, log = git_calls
    before = git(acme.root, "rev-parse", "HEAD")

    done = crmctl(*WRITES[command], cwd=acme.root, env=env)

    assert done.returncode == 0, done.stderr
    assert index_updates(log) == ["update-index --add --remove -z --stdin"]
    assert git(acme.root, "rev-parse", "HEAD^") == before
    # git's index holds the commit exactly, and the work tree matches both.
    assert git(acme.root, "diff", "--cached", "--name-only") == ""
    assert git(acme.root, "status", "--porcelain", "--untracked-files=all") == ""
    assert crmctl_files_in_git_dir(acme.root) == [] and lock_is_free(acme.root)


def test_a_write_refused_for_bad_input_leaves_gits_index_as_it_was(acme: Cli, git_calls) -> None:
    env, log = git_calls
    acme.ok("log", "acme products", "--type", "note", "--note", "warm up the index")
    before = index_state(acme.root), git(acme.root, "rev-parse", "HEAD")

    refused = crmctl("log", "acme productz corp", "--type", "phone-call", cwd=acme.root, env=env)

    assert refused.returncode != 0 and len(refused.stderr.strip().splitlines()) == 1
    assert "Traceback" not in refused.stderr
    assert index_updates(log) == ["update-index --add --remove -z --stdin"]  # started, unused
    assert (index_state(acme.root), git(acme.root, "rev-parse", "HEAD")) == before
    assert crmctl_files_in_git_dir(acme.root) == [] and lock_is_free(acme.root)


def test_a_users_git_at_work_is_not_raced_for_its_index(acme: Cli, git_calls) -> None:
    env, log = git_calls
    lock = acme.root / ".git" / "index.lock"
    lock.write_bytes(b"the user's git commit, waiting in its editor")
    before = git(acme.root, "rev-parse", "HEAD")

    refused = crmctl(*WRITES["task add"], cwd=acme.root, env=env)

    assert refused.returncode == 5 and "git is busy" in refused.stderr, refused.stderr
    assert index_updates(log) == []  # the launcher saw the lock and started none
    assert lock.read_bytes() == b"the user's git commit, waiting in its editor"
    assert git(acme.root, "rev-parse", "HEAD") == before
    lock.unlink()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc (Linux)")
def test_a_write_waiting_for_another_writes_lock_runs_its_own_update_index(
        acme: Cli, git_calls) -> None:
    """The launcher starts git only if the CRM lock is free that instant; a write that has to
    wait for it updates git's index itself once its turn comes."""
    env, log = git_calls
    fd = hold_lock(acme.root)  # another write at work
    try:
        waiting = subprocess.Popen([sys.executable, "-m", "crmctl", *WRITES["log"]],
                                   cwd=acme.root, env={**os.environ, **env},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_for(lambda: waits_for_lock(waiting.pid, acme.root), "the write to wait")
    finally:
        os.close(fd)
    _, stderr = waiting.communicate()
    assert waiting.returncode == 0, stderr
    [update] = index_updates(log)
    assert update.startswith("update-index --add --remove -- activities/"), update
    assert git(acme.root, "status", "--porcelain", "--untracked-files=all") == ""
    assert crmctl_files_in_git_dir(acme.root) == [] and lock_is_free(acme.root)


def test_a_write_killed_after_its_commit_has_git_s_index_written_beside_it(
        acme: Cli) -> None:
    """git's index is written while the commit is made: a write killed once the commit has
    landed leaves its git to finish (holding the CRM lock), and the next command nothing."""
    before = git(acme.root, "rev-parse", "HEAD")

    killed = crmctl(*WRITES["task add"], cwd=acme.root, env={"CRMCTL_CRASH_AT": "ref-updated"})

    assert killed.returncode == -signal.SIGKILL
    assert git(acme.root, "rev-parse", "HEAD^") == before  # the commit landed
    wait_for(lambda: lock_is_free(acme.root), "the killed write's git to finish")
    assert git(acme.root, "diff", "--cached", "--name-only") == ""  # and git's index with it
    shown = crmctl("task", "list", "--all", cwd=acme.root)
    assert shown.returncode == 0 and "Send the quote" in shown.stdout, shown.stderr
    assert git(acme.root, "status", "--porcelain", "--untracked-files=all") == ""
    assert crmctl_files_in_git_dir(acme.root) == [] and lock_is_free(acme.root)


@pytest.mark.parametrize("line", [WRITES["task add"], ("add", "company", "Initech")],
                         ids=["the launcher's git", "its own git"])
def test_a_write_killed_before_its_commit_landed_has_git_s_index_put_back_too(
        acme: Cli, line: tuple[str, ...]) -> None:
    """The index written beside a commit that never landed: the next command puts back
    the files and git's entries for them, and `git status` is as it was."""
    before = git(acme.root, "rev-parse", "HEAD")

    killed = crmctl(*line, cwd=acme.root, env={"CRMCTL_CRASH_AT": "commit-made"})

    assert killed.returncode == -signal.SIGKILL
    wait_for(lambda: lock_is_free(acme.root), "the killed write's git to finish")
    assert git(acme.root, "rev-parse", "HEAD") == before
    assert git(acme.root, "diff", "--cached", "--name-only") != ""  # the new file, staged
    shown = crmctl("list", "companies", "-q", cwd=acme.root)  # the next command recovers
    assert shown.returncode == 0 and shown.stdout == "acme-products\n", shown.stderr
    assert git(acme.root, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(acme.root, "rev-parse", "HEAD") == before
    assert crmctl_files_in_git_dir(acme.root) == [] and lock_is_free(acme.root)


def test_a_log_that_waits_for_its_note_holds_no_lock_meanwhile(acme: Cli, tmp_path: Path,
                                                               git_calls) -> None:
    """The note typed in an editor, or piped from a slow command, may take minutes: the
    user's own git and other crmctl commands must not wait for it."""
    env, log = git_calls
    seen = tmp_path / "locks-seen"
    editor = tmp_path / "editor.py"
    # As the user types, is git's index or the CRM lock held?
    editor.write_text(f"""#!{sys.executable}
import fcntl, os, sys
git_dir = {str(acme.root / ".git")!r}
held = ["index.lock"] if os.path.exists(git_dir + "/index.lock") else []
with open(git_dir + "/crmctl.lock", "a") as lock:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        held.append("crmctl.lock")
open({str(seen)!r}, "a").write("".join(f"{{name}}\\n" for name in held))
open(sys.argv[1], "a").write("Said yes to a demo\\n")
""")
    editor.chmod(0o755)
    code, shown, stderr = on_a_terminal("log", "acme-products", "--type", "phone-call",
                                        cwd=acme.root, env={**env, "EDITOR": str(editor),
                                                            "VISUAL": str(editor)})
    assert code == 0, (shown, stderr)
    assert seen.read_text() == ""

    piped = crmctl("log", "acme-products", "--type", "phone-call", "--note", "-",
                   cwd=acme.root, env=env, input="From a pipe\n")
    assert piped.returncode == 0, piped.stderr
    # Neither started git early: each updated git's index itself, after its commit.
    assert [u.split(" -- ")[0] for u in index_updates(log)] == ["update-index --add --remove"] * 2
    assert git(acme.root, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_read_does_not_wait_for_a_writes_index_update(acme: Cli) -> None:
    """A write holds the CRM lock with its update-index marked at work: a read goes on
    without the lock (with a one-second lock timeout it would fail if it waited)."""
    fd = hold_lock(acme.root)
    (acme.root / ".git" / "crmctl-index-at-work").write_bytes(b"")
    try:
        shown = crmctl("show", "acme products", cwd=acme.root, env={"CRMCTL_LOCK_TIMEOUT": "1"})
        assert shown.returncode == 0 and "Acme Products" in shown.stdout, shown.stderr
        assert (acme.root / ".git" / "crmctl-index-at-work").exists()  # the write's own
    finally:
        os.close(fd)
        (acme.root / ".git" / "crmctl-index-at-work").unlink()


def test_an_index_lock_left_by_a_killed_writes_update_index_is_cleared_by_the_next_read(
        acme: Cli) -> None:
    """kill -9 of the whole command leaves git's index.lock and the mark made with it."""
    git_dir = acme.root / ".git"
    (git_dir / "crmctl-index-at-work").write_bytes(b"")
    (git_dir / "index.lock").write_bytes(b"")

    shown = crmctl("task", "list", "--all", cwd=acme.root)

    assert shown.returncode == 0, shown.stderr
    assert crmctl_files_in_git_dir(acme.root) == []
    assert not (git_dir / "crmctl-index-at-work").exists()
    assert crmctl(*WRITES["task add"], cwd=acme.root).returncode == 0


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc (Linux)")
# Before the lock is taken over, and after it (before the write hands git its paths).
@pytest.mark.parametrize("kill_at", ["config", "rev-parse HEAD^{commit} --symbolic-full-name"])
def test_a_write_whose_update_index_is_killed_still_commits_and_cleans_up(
        acme: Cli, tmp_path: Path, kill_at: str) -> None:
    """The launcher's git may die during the command (the OOM killer, a kill by hand): the
    write must neither wait for its own lock nor leave git's index.lock behind."""
    (acme.root / "companies" / "zz").mkdir()
    (acme.root / "companies" / "zz" / "zeta-hand.yaml").write_text(
        "id: zeta-hand\nname: Zeta Hand\nstatus: lead\n")  # made by hand: the log scans
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "git").write_text(f"""#!{sys.executable}
import os, signal, subprocess, sys
if " ".join(sys.argv[1:]).startswith({kill_at!r}):  # kill the launcher's git first
    for pid in os.listdir("/proc"):
        try:
            line = open(f"/proc/{{pid}}/cmdline", "rb").read()
            parent = open(f"/proc/{{pid}}/stat").read().rsplit(")", 1)[1].split()[1]
        except OSError:
            continue
        if b"update-index\\0--add\\0--remove\\0-z\\0--stdin" in line and \\
                parent == str(os.getppid()) and not pid == str(os.getpid()):
            os.kill(int(pid), signal.SIGKILL)
            open({str(tmp_path / "killed")!r}, "a").write(" ".join(sys.argv[1:3]) + "\\n")
os.execv({shutil.which("git")!r}, ["git", *sys.argv[1:]])
""")
    (shim / "git").chmod(0o755)
    env = {"PATH": f"{shim}{os.pathsep}{os.environ['PATH']}", "CRMCTL_LOCK_TIMEOUT": "5"}

    done = crmctl("log", "zeta hand", "--type", "note", "--note", "A walk-in", cwd=acme.root,
                  env=env)

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "killed").read_text().count("\n") == 1  # killed by the next git
    assert "A walk-in" in git(acme.root, "show", "HEAD")
    # The write itself cleared what its killed git left and updated git's index.
    assert git(acme.root, "status", "--porcelain") == "?? companies/zz/"
    assert not (acme.root / ".git" / "crmctl-journal.json").exists()
    assert crmctl_files_in_git_dir(acme.root) == [] and lock_is_free(acme.root)


def generated(tmp_path: Path, companies: int) -> Path:
    root = tmp_path / "crm"
    subprocess.run([sys.executable, str(Path(__file__).parent.parent / "bench" / "generate.py"),
                    str(root), "--companies", str(companies), "--people", "0", "--deals", "0",
                    "--activities", "0", "--tasks", "0", "--commits", "1"],
                   check=True, capture_output=True)
    return root


def test_a_write_that_first_reads_thousands_of_files_lets_gits_index_go_meanwhile(
        tmp_path: Path, git_calls) -> None:
    """The first command in a fresh clone of a large CRM reads it whole (seconds at 100,000
    records): the user's own git must not find git's index locked all that while. So too
    the first command after a pull that changed thousands of records."""
    root = generated(tmp_path, 5000)
    env, log = git_calls
    company = git(root, "ls-files", "companies").splitlines()[0].rsplit("/", 1)[1][:-5]

    logs_and_lets_the_index_go(root, company, "First of many", env, log)

    for path in (root / "companies").glob("*/*.yaml"):  # as a pull of a bulk edit would
        path.write_text(path.read_text() + "source: trade-show\n")
    git(root, "commit", "-qam", "Every company came from the trade show", "--no-verify")
    log.unlink()

    logs_and_lets_the_index_go(root, company, "Second", env, log)


def logs_and_lets_the_index_go(root: Path, company: str, note: str, env: dict, log: Path) -> None:
    done = crmctl("log", company, "--type", "note", "--note", note, cwd=root, env=env)
    assert done.returncode == 0, done.stderr
    # The launcher's git ended unused before the read; the write updated the index itself.
    updates = index_updates(log)
    assert updates[0] == "update-index --add --remove -z --stdin"
    assert [u.split(" -- ")[0] for u in updates[1:]] == ["update-index --add --remove"]
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert crmctl_files_in_git_dir(root) == [] and lock_is_free(root)


def test_a_write_killed_before_its_commit_landed_in_a_sha256_repository_is_put_back(
        tmp_path: Path) -> None:
    """git's entries are put back in a repository that names its objects by SHA-256 too:
    a new file is taken out of the index, whatever the length of the ids."""
    root = tmp_path / "crm"
    root.mkdir()
    git(root, "init", "-q", "--object-format=sha256")
    git(root, "config", "user.name", "Sam Seller")
    git(root, "config", "user.email", "sam@example.com")
    git(root, "commit", "-q", "--allow-empty", "-m", "A repository of its own")
    assert crmctl("init", str(root), cwd=tmp_path).returncode == 0
    assert crmctl("add", "company", "Acme Products", cwd=root).returncode == 0
    before = git(root, "rev-parse", "HEAD")
    assert len(before) == 64

    killed = crmctl(*WRITES["task add"], cwd=root, env={"CRMCTL_CRASH_AT": "commit-made"})

    assert killed.returncode == -signal.SIGKILL
    wait_for(lambda: lock_is_free(root), "the killed write's git to finish")
    assert git(root, "diff", "--cached", "--name-only").startswith("tasks/")
    shown = crmctl("list", "companies", "-q", cwd=root)
    assert shown.returncode == 0 and shown.stdout == "acme-products\n", shown.stderr
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(root, "rev-parse", "HEAD") == before
    assert crmctl_files_in_git_dir(root) == [] and lock_is_free(root)
