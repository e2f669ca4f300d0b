"""Cron (issue #11, item 7): crmctl run the way cron runs it.

``env -i PATH=/usr/bin:/bin:<the venv's bin>`` with the venv's crmctl script called by its
path: no HOME, no LANG, no GIT_CONFIG_GLOBAL, so no global git identity (the test fixture's
identity lives in a global config that env -i drops, which is the point). Reports must work
there exactly as in a login shell; a write must use the repo's own identity (user.name and
user.email in the repo's .git/config) or a declared user named with --as / $CRMCTL_USER, and
without either it must fail with one line that names the fix, committing nothing.
"""

from __future__ import annotations

import email
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import add_users, build_once, copy_of, crmctl

VENV_BIN = Path(sys.executable).parent
CRON_PATH = f"/usr/bin:/bin:{VENV_BIN}"


def crmctl_script() -> list[str]:
    script = shutil.which("crmctl", path=str(VENV_BIN))
    return [script] if script else [sys.executable, "-m", "crmctl"]


def under_cron(root: Path, *args: str, env: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """crmctl as a crontab line runs it: an empty environment but PATH (and ``env``), in /."""
    return subprocess.run(["env", "-i", f"PATH={CRON_PATH}", *env, *crmctl_script(),
                           "-C", str(root), *args],
                          cwd="/", capture_output=True, text=True, timeout=120)


def a_small_sales_team_crm(cli) -> None:
    cli.ok("add", "company", "Acme Products", "--domain", "acme.com")
    cli.ok("add", "person", "Jane Doe", "--company", "acme", "--email", "jane@acme.com")
    cli.ok("add", "deal", "Renewal", "--company", "acme", "--amount", "12000",
           "--close", "+30d")
    cli.ok("log", "acme", "--type", "phone-call", "--note", "Talked renewal terms")
    cli.ok("task", "add", "Send the renewal offer", "--for", "acme", "--due", "today")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_once(tmp_path_factory, a_small_sales_team_crm)


@pytest.fixture
def crm(template, tmp_path, monkeypatch) -> Path:
    system = subprocess.run(["env", "-i", f"PATH={CRON_PATH}", "git", "config", "user.email"],
                            cwd="/", capture_output=True, text=True).stdout.strip()
    if system:
        pytest.skip(f"this machine's system git config names someone ({system}): cron here "
                    "is never without an identity")
    root = copy_of(template, tmp_path, monkeypatch).root
    assert git(root, "config", "--local", "--get-regexp", "^user\\.", check_ok=False) == ""
    return root


def unchanged_by(proc: subprocess.CompletedProcess, root: Path, head: str) -> None:
    assert git(root, "rev-parse", "HEAD") == head, "a failed cron write committed"
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    left = sorted(p.name for p in (root / ".git").iterdir() if "crmctl" in p.name)
    assert left == ["crmctl.lock"], left  # no journal, no temporary file


def git(root: Path, *args: str, check_ok: bool = True) -> str:
    """git in the CRM; ``check_ok=False`` for `git config --get-regexp`, which exits 1 on
    no match."""
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if check_ok:
        assert proc.returncode == 0, (args, proc.stderr)
    return proc.stdout.strip()


# --- reports ---------------------------------------------------------------------------------

@pytest.mark.parametrize("report", ["pipeline", "tasks", "activity", "stale"])
def test_a_report_under_cron_prints_exactly_what_it_prints_in_a_login_shell(crm, report) -> None:
    shell = crmctl("-C", str(crm), "report", report, cwd=crm)
    assert shell.returncode == 0, shell.stderr
    cron = under_cron(crm, "report", report)
    assert (cron.returncode, cron.stderr) == (0, ""), cron.stderr
    assert cron.stdout == shell.stdout
    assert cron.stdout.strip()
    if report == "pipeline":
        assert "contact-made" in cron.stdout and "12,000" in cron.stdout
    if report == "tasks":
        assert "Send the renewal offer" in cron.stdout


def test_a_report_mailed_by_cron_is_a_whole_message_from_the_sender_given(crm) -> None:
    cron = under_cron(crm, "report", "pipeline", "--format", "email", "--to",
                      "boss@example.com", "--from", "CRM Robot <crm@example.com>")
    assert (cron.returncode, cron.stderr) == (0, ""), cron.stderr
    message = email.message_from_string(cron.stdout)
    assert (message["To"], message["From"]) == ("boss@example.com", "CRM Robot <crm@example.com>")
    assert message["Subject"].startswith("Pipeline")
    text = next(part for part in message.walk() if part.get_content_type() == "text/plain")
    assert "12,000" in text.get_payload(decode=True).decode("utf-8")


def test_a_cron_mail_without_a_sender_or_any_identity_says_how_to_give_one(crm) -> None:
    cron = under_cron(crm, "report", "pipeline", "--format", "email", "--to",
                      "boss@example.com")
    assert cron.returncode != 0 and cron.stdout == ""
    assert len(cron.stderr.strip().splitlines()) == 1, cron.stderr
    assert "Traceback" not in cron.stderr and "--from" in cron.stderr
    git(crm, "config", "user.name", "Nightly Reports")
    git(crm, "config", "user.email", "reports@example.com")
    cron = under_cron(crm, "report", "pipeline", "--format", "email", "--to",
                      "boss@example.com")
    assert (cron.returncode, cron.stderr) == (0, ""), cron.stderr
    assert email.message_from_string(cron.stdout)["From"] == \
        "Nightly Reports <reports@example.com>"


# --- writes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("write", [
    ("log", "acme", "--type", "note", "--note", "written by cron"),
    ("task", "add", "Chase the invoice", "--for", "acme"),
    ("add", "company", "Globex"),
], ids=["log", "task-add", "add-company"])
def test_a_cron_write_without_any_identity_fails_with_one_line_naming_the_fix(crm, write) -> None:
    head = git(crm, "rev-parse", "HEAD")
    cron = under_cron(crm, *write)
    assert cron.returncode != 0, cron.stdout
    assert len(cron.stderr.strip().splitlines()) == 1, cron.stderr
    assert "Traceback" not in cron.stderr
    assert f"git -C {crm} config user.name" in cron.stderr, cron.stderr
    assert "user.email" in cron.stderr and "--as" in cron.stderr, cron.stderr
    unchanged_by(cron, crm, head)


def test_a_cron_write_uses_the_identity_the_repo_has_of_its_own(crm) -> None:
    git(crm, "config", "user.name", "Nightly Import")
    git(crm, "config", "user.email", "import@example.com")
    head = git(crm, "rev-parse", "HEAD")
    cron = under_cron(crm, "log", "acme", "--type", "note", "--note", "written by cron")
    assert cron.returncode == 0, cron.stderr
    assert git(crm, "rev-parse", "HEAD~1") == head
    assert git(crm, "log", "-1", "--format=%an <%ae>|%cn <%ce>") == \
        "Nightly Import <import@example.com>|Nightly Import <import@example.com>"
    assert git(crm, "status", "--porcelain", "--untracked-files=all") == ""
    shown = json.loads(crmctl("show", "acme", "--format", "json", cwd=crm, check=True).stdout)
    [note] = [e for e in shown["timeline"] if e.get("note") == "written by cron"]
    assert note["by"] == "import@example.com"


def test_a_cron_write_as_a_declared_user_needs_no_git_identity_at_all(crm) -> None:
    add_users(crm, ("sarah", "Sarah Closer", "sarah@example.com"))
    for how in (("--as", "sarah"), ("CRMCTL_USER=sarah",)):
        head = git(crm, "rev-parse", "HEAD")
        if how[0] == "--as":
            cron = under_cron(crm, *how, "task", "add", "Call Jane", "--for", "acme")
        else:
            cron = under_cron(crm, "task", "add", "Call Jane back", "--for", "acme", env=how)
        assert cron.returncode == 0, cron.stderr
        assert git(crm, "rev-parse", "HEAD~1") == head
        assert git(crm, "log", "-1", "--format=%an <%ae>") == "Sarah Closer <sarah@example.com>"
