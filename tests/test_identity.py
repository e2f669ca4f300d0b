"""Who acts: the repo's git identity, or a crm.yaml user named by --as or $CRMCTL_USER."""

from __future__ import annotations

import pytest

from conftest import USER_EMAIL, USER_NAME, add_users, crmctl, git


def author(root) -> str:
    return git(root, "log", "-1", "--format=%an <%ae>|%cn <%ce>")


def test_the_git_identity_of_the_crm_repo_is_the_author(cli) -> None:
    cli.ok("add", "company", "Initech")
    assert author(cli.root) == f"{USER_NAME} <{USER_EMAIL}>|{USER_NAME} <{USER_EMAIL}>"
    git(cli.root, "config", "user.name", "Repo Person")
    git(cli.root, "config", "user.email", "repo@example.com")
    cli.ok("add", "company", "Globex")
    assert author(cli.root).startswith("Repo Person <repo@example.com>|")


def test_as_user_and_crmctl_user_pick_a_declared_user(cli) -> None:
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"))
    cli.ok("--as", "sarah", "add", "company", "Initech")
    assert author(cli.root).startswith("Sarah Closer <sarah@example.com>|")
    cli.ok("add", "company", "Globex", env={"CRMCTL_USER": "jim"})
    assert author(cli.root).startswith("Jim Seller <jim@example.com>|")


def test_an_unknown_user_lists_the_known_ones(cli) -> None:
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"))
    result = cli.fails(1, "--as", "bob", "add", "company", "Initech")
    assert "unknown user 'bob' (users in crm.yaml: sarah)" in result.stderr
    result = cli.fails(1, "add", "company", "Initech", "--owner", "bob")
    assert "unknown user 'bob'" in result.stderr


def test_without_any_identity_under_cron_the_error_says_how_to_set_one(crm_root) -> None:
    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "HOME": str(crm_root.parent)}
    proc = crmctl("add", "company", "Initech", cwd=crm_root, env=env)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "user.name" in proc.stderr and "--as" in proc.stderr
    assert git(crm_root, "status", "--porcelain") == ""
    git(crm_root, "config", "user.name", "Cron Job")
    git(crm_root, "config", "user.email", "cron@example.com")
    assert crmctl("add", "company", "Initech", cwd=crm_root, env=env).returncode == 0
    assert author(crm_root).startswith("Cron Job <cron@example.com>|")


@pytest.mark.parametrize("email", ["root@localhost", "sam", "sam@build-box.(none)", "a b@c.d"])
def test_an_email_that_names_nobody_is_refused_with_the_fix(crm_root, email) -> None:
    git(crm_root, "config", "user.email", email)
    head = git(crm_root, "rev-parse", "HEAD")
    proc = crmctl("add", "company", "Initech", cwd=crm_root)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "is not an email address" in proc.stderr
    assert f"git -C {crm_root} config user.email you@example.com" in proc.stderr
    assert git(crm_root, "rev-parse", "HEAD") == head
