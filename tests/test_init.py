"""crmctl init, --version, and finding the CRM folder (--dir, $CRMCTL_DIR, the nearest crm.yaml)."""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from conftest import USER_EMAIL, USER_NAME, crmctl, git
from crmctl import __version__
from crmctl.app import app

runner = CliRunner()


def test_init_creates_a_git_crm_with_process_settings_and_one_commit(tmp_path: Path) -> None:
    root = tmp_path / "sales"
    result = runner.invoke(app, ["init", str(root)])
    assert result.exit_code == 0, result.stderr
    assert f"Created a CRM in {root}" in result.stdout

    crm_yaml = (root / "crm.yaml").read_text()
    for word in ("lead", "do-not-contact", "contact-made", "in-negotiation", "phone-attempt",
                 "probability: 10"):
        assert word in crm_yaml
    assert "/.crmctl/" in (root / ".gitignore").read_text()
    assert "merge=union" in (root / ".gitattributes").read_text()
    assert git(root, "log", "--format=%an <%ae>|%s") == f"{USER_NAME} <{USER_EMAIL}>|Create the CRM"
    assert git(root, "ls-files").split() == [".gitattributes", ".gitignore", "crm.yaml"]
    assert git(root, "status", "--porcelain") == ""
    hook = root / ".git" / "hooks" / "pre-commit"
    assert os.access(hook, os.X_OK) and "check --staged" in hook.read_text()


def test_init_on_an_existing_crm_says_so_and_changes_nothing(crm_root: Path) -> None:
    head = git(crm_root, "rev-parse", "HEAD")
    (crm_root / "crm.yaml").write_text((crm_root / "crm.yaml").read_text() + "# my edit\n")
    result = runner.invoke(app, ["init", str(crm_root)])
    assert result.exit_code == 0
    assert "already a CRM; nothing changed" in result.stderr
    assert git(crm_root, "rev-parse", "HEAD") == head
    assert (crm_root / "crm.yaml").read_text().endswith("# my edit\n")


def test_init_in_an_existing_git_repo_keeps_its_files_and_branch(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "sales-data")
    (tmp_path / "README.txt").write_text("our notes\n")
    (tmp_path / ".gitignore").write_text("*.log\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "start")
    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    assert git(tmp_path, "symbolic-ref", "--short", "HEAD") == "sales-data"
    assert git(tmp_path, "log", "--format=%s") == "Create the CRM\nstart"
    gitignore = (tmp_path / ".gitignore").read_text()
    assert gitignore.startswith("*.log\n") and "/.crmctl/" in gitignore
    assert (tmp_path / "README.txt").read_text() == "our notes\n"


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"crmctl {__version__}"


def test_python_dash_m_runs_the_same_cli(crm_root: Path) -> None:
    proc = crmctl("add", "company", "Initech", cwd=crm_root)
    assert proc.returncode == 0, proc.stderr
    assert crmctl("list", "companies", "-q", cwd=crm_root).stdout == "initech\n"


def test_the_crm_is_found_from_a_subfolder(crm_root: Path, monkeypatch) -> None:
    runner.invoke(app, ["add", "company", "Initech"])
    deep = crm_root / "companies" / "in"
    monkeypatch.chdir(deep)
    result = runner.invoke(app, ["list", "companies", "-q"])
    assert result.stdout == "initech\n"


def test_dir_option_and_environment_variable(crm_root: Path, tmp_path: Path, monkeypatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert runner.invoke(app, ["--dir", str(crm_root), "add", "company", "Initech"]).exit_code == 0
    assert runner.invoke(app, ["-C", str(crm_root), "list", "companies", "-q"]).stdout == "initech\n"
    result = runner.invoke(app, ["list", "companies", "-q"], env={"CRMCTL_DIR": str(crm_root)})
    assert result.stdout == "initech\n"


def test_no_crm_gives_one_line_suggesting_init(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["list", "companies"])
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1
    assert "crmctl init" in result.stderr
    result = runner.invoke(app, ["--dir", str(tmp_path / "nope"), "list", "companies"])
    assert result.exit_code == 3 and "crmctl init" in result.stderr


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    for command in ("init", "add", "show", "list", "check"):
        assert f"  {command} " in result.stdout
    assert "\x1b[" not in result.stdout
