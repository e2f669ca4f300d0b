"""Fixtures: a real git CRM in a temporary folder, driven through the real CLI.

Tests read like a page of the manual: the commands a user types, then what they see.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner, Result

from crmctl.app import app
from crmctl.cli import quick

USER_NAME = "Sam Seller"
USER_EMAIL = "sam@example.com"


@pytest.fixture(autouse=True)
def git_identity(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real global git config of the test's own: the person acting, and nothing else."""
    home = tmp_path_factory.mktemp("home")
    config = home / ".gitconfig"
    config.write_text(f"[user]\n\tname = {USER_NAME}\n\temail = {USER_EMAIL}\n"
                      "[init]\n\tdefaultBranch = trunk\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("CRMCTL_DIR", "CRMCTL_USER", "NO_COLOR", "CRMCTL_LOCK_TIMEOUT", "CRMCTL_NOW"):
        monkeypatch.delenv(name, raising=False)


@dataclass
class Cli:
    """``cli("add", "company", "Acme")`` runs crmctl in the CRM folder like a user would."""

    root: Path
    runner: CliRunner

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None):
        return run_cli(self.runner, list(args), input=input, env=env)

    def ok(self, *args: str, **kwargs):
        result = self(*args, **kwargs)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        return result

    def fails(self, code: int, *args: str, **kwargs):
        """Run a command that must fail with ``code`` and one line on stderr, changing nothing."""
        before_head = git(self.root, "rev-parse", "HEAD")
        before_status = git(self.root, "status", "--porcelain", "--untracked-files=all")
        result = self(*args, **kwargs)
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert git(self.root, "rev-parse", "HEAD") == before_head, "a failed command committed"
        assert git(self.root, "status", "--porcelain", "--untracked-files=all") == before_status
        return result


def run_cli(runner: CliRunner, args: list[str], input: str | None = None,
            env: dict | None = None) -> Result:
    """``args`` run as the `crmctl` command runs them (``crmctl.launch``): by the quick path
    of the daily writes if it takes them, else by the Typer app."""
    with runner.isolation(input=input, env=env) as (stdout, stderr, output):
        parsed = quick.parse(args)  # in the isolation: it reads $CRMCTL_DIR
        code = None
        try:
            code = None if parsed is None else quick.run(parsed)
        except SystemExit as exc:  # not expected from a body; kept as CliRunner keeps it
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        if code is not None:
            return Result(runner, stdout.getvalue(), stderr.getvalue(), output.getvalue(),
                          None, code, None)
    return runner.invoke(app, args, input=input, env=env, catch_exceptions=False)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout.strip()


def on_a_terminal(*args: str, cwd: Path, env: dict | None = None,
                  typed: str = "") -> tuple[int, str, str]:
    """crmctl with stdin and stdout on a pseudo-terminal, ``typed`` typed ahead, as at a
    prompt: (exit code, what the terminal showed, stderr)."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "crmctl", *args], cwd=cwd, stdin=slave,
                            stdout=slave, stderr=subprocess.PIPE,
                            env={**os.environ, **(env or {})})
    os.close(slave)
    if typed:
        os.write(master, typed.encode())
    shown = _read_terminal(master)
    code = proc.wait()
    return code, shown.decode(errors="replace"), proc.stderr.read().decode(errors="replace")


def stderr_on_a_terminal(*args: str, cwd: Path) -> tuple[int, str]:
    """crmctl with stderr on a pseudo-terminal (stdout discarded): (exit code, what the
    terminal showed)."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "crmctl", *args], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    shown = _read_terminal(master)
    return proc.wait(), shown.decode(errors="replace")


def _read_terminal(master: int) -> bytes:
    """All a pseudo-terminal shows until the program on it closes it; then closes it."""
    import select

    shown = b""
    while select.select([master], [], [], 120)[0]:  # a guard against a hang, not a timing
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal closed: the program is done
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return shown


def log_lines(root: Path) -> list[dict]:
    """Every line of every activity log, in file order."""
    import json

    return [json.loads(line) for path in sorted((root / "activities").glob("*/*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def activities(root: Path) -> list[dict]:
    """The activity lines (no moves, no amendments), in file order."""
    return [e for e in log_lines(root) if e["kind"] == "activity"]


def crmctl(*args: str, cwd: Path, env: dict | None = None, input: str | None = None,
           check: bool = False) -> subprocess.CompletedProcess:
    """crmctl as a separate process, the way a shell or cron runs it."""
    return subprocess.run([sys.executable, "-m", "crmctl", *args], cwd=cwd, input=input,
                          capture_output=True, text=True, env={**os.environ, **(env or {})},
                          check=check)


@pytest.fixture
def crm_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "crm"
    result = CliRunner().invoke(app, ["init", str(root)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def cli(crm_root: Path) -> Cli:
    return Cli(crm_root, CliRunner())


@pytest.fixture
def read_file(crm_root: Path) -> Callable[[str], str]:
    return lambda rel: (crm_root / rel).read_text(encoding="utf-8")


def add_users(root: Path, *users: tuple[str, str, str]) -> None:
    """Declare users in crm.yaml by hand, as a team lead would, and commit it."""
    text = (root / "crm.yaml").read_text()
    block = "users:\n" + "".join(f"  - id: {uid}\n    name: {name}\n    email: {email}\n"
                                 for uid, name, email in users)
    (root / "crm.yaml").write_text(text.replace("users: []\n", block))
    git(root, "commit", "-qam", "Declare the team")


def build_once(factory: pytest.TempPathFactory, setup, created_at: dict | None = None) -> Path:
    """A CRM made by ``setup(cli)`` once per module, as Sam Seller; tests work on copies.

    Building a CRM command by command costs about half a second; a module that needs the
    same starting point for many tests builds it once and gives each test a copy.
    ``created_at`` ({"CRMCTL_NOW": ...}) dates the CRM's creation too, for tests that read
    its whole history by date."""
    with pytest.MonkeyPatch.context() as mp:
        home = factory.mktemp("template-home")
        (home / ".gitconfig").write_text(f"[user]\n\tname = {USER_NAME}\n\temail = {USER_EMAIL}\n")
        mp.setenv("HOME", str(home))
        mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        for name in ("CRMCTL_DIR", "CRMCTL_USER", "NO_COLOR", "CRMCTL_LOCK_TIMEOUT",
                     "CRMCTL_NOW"):
            mp.delenv(name, raising=False)
        root = factory.mktemp("template") / "crm"
        created = CliRunner().invoke(app, ["init", str(root)], env=created_at)
        assert created.exit_code == 0, created.stderr
        mp.chdir(root)
        setup(Cli(root, CliRunner()))
    return root


def copy_of(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A real git CRM of the test's own, identical to the template, as the working folder."""
    root = tmp_path / "crm"
    # Not the read cache: SQLite may drop its -wal and -shm files (when a connection is
    # collected) while they are being copied; the copy builds its own from git.
    shutil.copytree(template, root, symlinks=True,
                    ignore=lambda folder, names: [n for n in names if n.startswith("index.sqlite")])
    monkeypatch.chdir(root)
    return Cli(root, CliRunner())
