"""crmctl sync, resolve and edit at their edges: each test is a problem a review found (a
teammate's lines about a record merged or converted on another clone, resolve --value naming
nothing, odd branches, an unreachable remote), now fixed. Real clones, a bare remote, crmctl
as real processes."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import crmctl, git
from test_sync import JIM, SARAH, ok, refused, shown, team  # noqa: F401  (the fixture)


def test_resolve_value_naming_a_missing_company_is_refused_and_keeps_the_conflict(team):
    remote, sarah, jim = team
    for name in ("Delta", "Gamma"):
        ok("add", "company", name, "--domain", f"{name.lower()}.com", cwd=sarah, env=SARAH)
    ok("add", "person", "Jane Doe", "--company", "acme", "--email", "jane@acme.com",
       cwd=sarah, env=SARAH)
    ok("sync", cwd=sarah, env=SARAH)
    ok("sync", cwd=jim, env=JIM)
    ok("edit", "jane", "--set", "company=delta", cwd=sarah, env=SARAH)
    ok("sync", cwd=sarah, env=SARAH)
    ok("edit", "jane", "--set", "company=gamma", cwd=jim, env=JIM)
    assert crmctl("sync", cwd=jim, env=JIM).returncode == 5
    status = git(jim, "status", "--porcelain")
    # Today: exit 6 "git commit failed: 1 problem(s) found", the file now says company: nope,
    # staged, the conflict record gone, and the merge cannot be committed.
    err = refused(1, "resolve", "jane-doe", "company", "--value", "nope", cwd=jim, env=JIM)
    assert "nope" in err and "does not exist" in err
    assert git(jim, "status", "--porcelain") == status
    assert "crmctl resolve jane-doe company" in ok("resolve", cwd=jim)


def test_convert_on_one_side_and_logs_on_the_other_lose_nothing(team):
    remote, sarah, jim = team
    ok("add", "company", "Freelance Fred", "--domain", "fred.com", cwd=sarah, env=SARAH)
    ok("sync", cwd=sarah, env=SARAH)
    ok("sync", cwd=jim, env=JIM)
    ok("convert", "fred", "--to", "person", "--company", "acme", cwd=sarah, env=SARAH)
    ok("log", "fred", "--type", "note", "--note", "jim after", cwd=jim, env=JIM)
    ok("task", "add", "jim task", "--for", "fred", cwd=jim, env=JIM)
    ok("sync", cwd=sarah, env=SARAH)
    ok("sync", cwd=jim, env=JIM)
    # Today: check fails ("company 'freelance-fred' does not exist") and Jim's note is on no
    # timeline; no crmctl command can re-point it (convert again is refused).
    checked = crmctl("check", cwd=jim)
    assert checked.returncode == 0, checked.stdout
    notes = [e.get("note") for e in shown(jim, "Freelance Fred")["timeline"]]
    assert "jim after" in notes


def test_merge_on_one_side_and_logs_on_the_other_leave_check_clean_after_sync(team):
    remote, sarah, jim = team
    ok("add", "company", "Initech", "--domain", "initech.com", cwd=sarah, env=SARAH)
    ok("add", "company", "Initech LLC", "--force", cwd=sarah, env=SARAH)
    ok("sync", cwd=sarah, env=SARAH)
    ok("sync", cwd=jim, env=JIM)
    ok("merge", "initech", "initech-2", cwd=sarah, env=SARAH)
    ok("log", "initech-2", "--type", "note", "--note", "from jim", cwd=jim, env=JIM)
    ok("sync", cwd=sarah, env=SARAH)
    ok("sync", cwd=jim, env=JIM)  # exits 0, says nothing, and pushed the dangling note
    checked = crmctl("check", cwd=jim)
    assert checked.returncode == 0, checked.stdout
    assert "from jim" in [e.get("note") for e in shown(jim, "initech")["timeline"]]


def test_an_unreachable_remote_is_named_plainly_and_nothing_is_lost(team, tmp_path):
    remote, sarah, jim = team
    git(jim, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    ok("log", "acme", "--type", "note", "--note", "offline", cwd=jim, env=JIM)
    head = git(jim, "rev-parse", "HEAD")
    err = refused(1, "sync", cwd=jim, env=JIM)
    # Today: "crmctl: error: cannot reach origin: and the repository exists. (...)"
    assert "and the repository exists" not in err, err
    assert "does not appear to be a git repository" in err, err
    assert git(jim, "rev-parse", "HEAD") == head


def test_sync_on_another_branch_counts_only_what_it_really_sends(team):
    remote, sarah, jim = team
    git(jim, "switch", "-q", "-c", "feature")
    ok("log", "acme", "--type", "note", "--note", "on a branch", cwd=jim, env=JIM)
    out = ok("sync", cwd=jim, env=JIM)
    # Today: "Out: 2 changes from Sam Seller, 1 change from Jim Seller, 1 change from Sarah
    # Closer (new branch feature on origin)": commits the remote already holds are counted.
    assert out.splitlines()[1].startswith("Out: 1 change from Jim Seller"), out


def test_detached_head_hint_names_the_crms_real_branch(team):
    remote, sarah, jim = team
    git(jim, "checkout", "-q", "--detach")
    err = refused(1, "sync", cwd=jim, env=JIM)
    # Today the hint says "git -C ... switch main"; this CRM's branch is trunk.
    assert "switch trunk" in err, err


def test_edit_setting_an_empty_list_where_there_was_none_changes_nothing(team):
    remote, sarah, jim = team
    head = git(sarah, "rev-parse", "HEAD")
    result = crmctl("edit", "acme", "--set", "tags=", cwd=sarah, env=SARAH)
    assert result.returncode == 0
    # Today: 'Edit company "Acme Products": tags' is committed, changing only `updated`.
    assert git(sarah, "rev-parse", "HEAD") == head
