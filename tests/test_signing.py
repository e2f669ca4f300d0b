"""A history that can be trusted: crmctl's commits are signed when the user's git signs, and
history --verify / check / sync judge signatures against the CRM's allowed-signers file.

Each test makes throwaway SSH keys with ssh-keygen (skipped where it is not installed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import crmctl, git

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None,
                                reason="ssh-keygen is needed to make a throwaway key")


def make_key(folder: Path, name: str) -> Path:
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
                   check=True)
    return key


def sign_with(key: Path) -> None:
    """The user's own global git: sign every commit with this SSH key."""
    for setting, value in (("gpg.format", "ssh"), ("user.signingkey", str(key)),
                           ("commit.gpgsign", "true")):
        subprocess.run(["git", "config", "--global", setting, value], check=True)


@pytest.fixture
def signed_crm(tmp_path) -> Path:
    sign_with(make_key(tmp_path, "sam"))
    result = crmctl("init", str(tmp_path / "crm"), "--require-signed", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path / "crm"


def test_init_require_signed_keeps_the_creators_key_and_signs(signed_crm) -> None:
    allowed = (signed_crm / "allowed-signers").read_text()
    assert 'sam@example.com namespaces="git" ssh-ed25519 ' in allowed
    assert "require_signed: true" in (signed_crm / "crm.yaml").read_text()
    result = crmctl("add", "company", "Acme", cwd=signed_crm)
    assert result.returncode == 0, result.stderr
    out = crmctl("history", "--verify", cwd=signed_crm).stdout.splitlines()
    assert [line.split()[0] for line in out] == ["good", "good"]
    checked = crmctl("check", cwd=signed_crm)
    assert (checked.returncode, checked.stdout) == (0, "")


def test_an_unsigned_commit_is_flagged_by_history_and_check(signed_crm) -> None:
    crmctl("add", "company", "Acme", cwd=signed_crm, check=True)
    path = next((signed_crm / "companies").rglob("acme.yaml"))
    path.write_text(path.read_text().replace("status: lead", "status: contact"))
    git(signed_crm, "-c", "commit.gpgsign=false", "commit", "-qam", "Quick fix")
    lines = crmctl("history", "--verify", cwd=signed_crm).stdout.splitlines()
    assert lines[0].startswith("unsigned  ") and "Quick fix" in lines[0]
    assert all(line.startswith("good") for line in lines[1:])
    checked = crmctl("check", cwd=signed_crm)
    assert checked.returncode == 1
    [problem] = checked.stdout.splitlines()
    assert problem.startswith("(git history):1: commit ") and \
        problem.endswith("by Sam Seller is unsigned, but crm.yaml requires signed commits")


def test_a_key_not_in_allowed_signers_is_not_good(signed_crm, tmp_path) -> None:
    sign_with(make_key(tmp_path, "stranger"))
    crmctl("add", "company", "Acme", cwd=signed_crm, check=True)
    [newest, *older] = crmctl("history", "--verify", cwd=signed_crm).stdout.splitlines()
    assert not newest.startswith("good"), newest
    assert all(line.startswith("good") for line in older)
    assert crmctl("check", cwd=signed_crm).returncode == 1


def test_without_signing_set_up_nothing_changes(crm_root) -> None:
    crmctl("add", "company", "Acme", cwd=crm_root, check=True)
    lines = crmctl("history", "--verify", "--format", "json", cwd=crm_root).stdout
    assert '"signature": "unsigned"' in lines
    assert crmctl("check", cwd=crm_root).returncode == 0  # signing is not required here


def test_sync_flags_unsigned_commits_when_signing_is_required(signed_crm, tmp_path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(signed_crm, "remote", "add", "origin", str(remote))
    crmctl("add", "company", "Acme", cwd=signed_crm, check=True)
    path = next((signed_crm / "companies").rglob("acme.yaml"))
    path.write_text(path.read_text().replace("status: lead", "status: contact"))
    git(signed_crm, "-c", "commit.gpgsign=false", "commit", "-qam", "Quick fix")
    synced = crmctl("sync", cwd=signed_crm)
    assert synced.returncode == 0, synced.stderr
    [warning] = synced.stderr.splitlines()
    assert warning.startswith("warning: commit ") and \
        warning.endswith("by Sam Seller is unsigned, but crm.yaml requires signed commits")


def test_while_a_signed_write_waits_for_its_key_git_s_index_shows_nothing_staged(
        signed_crm, tmp_path) -> None:
    """Signing may stop at a passphrase prompt for minutes: meanwhile git's index must be
    neither locked nor show the write's files staged (the user's own `git commit` would take
    them in). It is brought up to date once the signed commit has landed."""
    crmctl("add", "company", "Acme", cwd=signed_crm, check=True)
    seen = tmp_path / "seen-while-signing"
    signer = tmp_path / "signer.sh"
    signer.write_text(f"""#!/bin/sh
cd {signed_crm}
{{ git diff --cached --name-only; [ -e .git/index.lock ] && echo index.lock; }} >> {seen}
exec ssh-keygen "$@"
""")
    signer.chmod(0o755)
    git(signed_crm, "config", "gpg.ssh.program", str(signer))

    for line in (("task", "add", "Send the quote", "--for", "acme"),
                 ("log", "acme", "--type", "note", "--note", "Met at a fair")):
        done = crmctl(*line, cwd=signed_crm)
        assert done.returncode == 0, done.stderr

    assert seen.exists() and seen.read_text() == ""
    assert git(signed_crm, "status", "--porcelain") == ""
    out = crmctl("history", "--verify", "--limit", "2", cwd=signed_crm).stdout.splitlines()
    assert [line.split()[0] for line in out] == ["good", "good"]
