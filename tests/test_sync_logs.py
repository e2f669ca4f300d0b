"""Where activities are kept: one JSON line each, appended to activities/<YYYY-MM>/<shard>.jsonl,
merged by git's union driver, so two people logging in their own clones never conflict.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest

from conftest import crmctl, git

ID = re.compile(r"^[a-z2-7]{16}$")  # 80 random bits, base32


def log_files(root: Path) -> list[Path]:
    return sorted((root / "activities").glob("*/*.jsonl"))


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def crm(cli):
    """Acme, already a client, with Jane; Globex, whose id falls in another shard."""
    cli.ok("add", "company", "Acme Products, Inc.", "--status", "client")
    cli.ok("add", "person", "Jane Doe", "--company", "Acme Products", "--status", "client")
    cli.ok("add", "company", "Globex", "--status", "client")
    return cli


# --- one line per entry ----------------------------------------------------------------------

def test_each_activity_is_one_json_object_on_one_line_with_a_unique_id(crm) -> None:
    crm.ok("log", "acme-products", "--type", "phone-call", "--note", "Line one\nLine two")
    crm.ok("log", "Jane Doe", "--type", "phone-attempt", "--outcome", "no-answer")
    crm.ok("log", "acme-products", "--type", "email-received", "--note", "{\"json\": true}")
    [path] = log_files(crm.root)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n") and len(text.splitlines()) == 3
    entries = lines_of(path)
    assert all(isinstance(e, dict) and e["kind"] == "activity" for e in entries)
    ids = [e["id"] for e in entries]
    assert all(ID.match(i) for i in ids) and len(set(ids)) == 3
    assert entries[0]["note"] == "Line one\nLine two"
    assert entries[2]["note"] == "{\"json\": true}"


def test_the_log_file_is_named_by_month_and_company_shard(crm) -> None:
    crm.ok("log", "acme-products", "--type", "email-sent", "--at", "2025-03-10 09:00")
    crm.ok("log", "globex", "--type", "email-sent", "--at", "2025-03-11 09:00")
    assert [p.relative_to(crm.root).as_posix() for p in log_files(crm.root)] == \
        ["activities/2025-03/ac.jsonl", "activities/2025-03/gl.jsonl"]


def test_an_activity_last_month_goes_into_last_months_file(crm) -> None:
    last_month = date.today().replace(day=1) - timedelta(days=1)
    this_month = date.today()
    crm.ok("log", "acme-products", "--type", "email-sent", "--note", "Last month",
           "--at", f"{last_month.isoformat()} 10:00")
    crm.ok("log", "acme-products", "--type", "email-sent", "--note", "Today")
    old = crm.root / "activities" / f"{last_month:%Y-%m}" / "ac.jsonl"
    new = crm.root / "activities" / f"{this_month:%Y-%m}" / "ac.jsonl"
    assert [e["note"] for e in lines_of(old)] == ["Last month"]
    assert [e["note"] for e in lines_of(new)] == ["Today"]


def test_logging_appends_and_never_rewrites_earlier_lines(crm) -> None:
    crm.ok("log", "acme-products", "--type", "phone-call", "--note", "First")
    [path] = log_files(crm.root)
    first = path.read_bytes()
    for n in range(2, 5):
        crm.ok("log", "acme-products", "--type", "email-sent", "--note", f"Entry {n}")
        now = path.read_bytes()
        assert now.startswith(first), "an earlier line changed"
        assert len(now.splitlines()) == n
        assert git(crm.root, "diff", "--numstat", "HEAD~1", "HEAD") == \
            f"1\t0\t{path.relative_to(crm.root).as_posix()}"  # one line added, none removed
        first = now


def test_the_logs_merge_with_gits_union_driver(crm) -> None:
    crm.ok("log", "acme-products", "--type", "email-sent")
    [path] = log_files(crm.root)
    rel = path.relative_to(crm.root).as_posix()
    assert git(crm.root, "check-attr", "merge", "--", rel) == f"{rel}: merge: union"


# --- two clones, one bare remote ---------------------------------------------------------------

def clone_as(remote: Path, branch: str, folder: Path, name: str, email: str) -> Path:
    git(remote.parent, "clone", "-q", "--branch", branch, str(remote), str(folder))
    git(folder, "config", "user.name", name)
    git(folder, "config", "user.email", email)
    return folder


def run_ok(*args: str, cwd: Path) -> str:
    result = crmctl(*args, cwd=cwd)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def sync(folder: Path) -> None:
    """What each salesperson types: pull (a merge), then push."""
    pulled = subprocess.run(["git", "pull", "--no-rebase", "--no-edit", "-q"], cwd=folder,
                            capture_output=True, text=True)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    pushed = subprocess.run(["git", "push", "-q"], cwd=folder, capture_output=True, text=True)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr


def test_two_clones_log_against_the_same_company_and_sync_without_conflict(crm, tmp_path):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    branch = git(crm.root, "rev-parse", "--abbrev-ref", "HEAD")
    git(crm.root, "push", "-q", str(remote), branch)
    sarah = clone_as(remote, branch, tmp_path / "sarah", "Sarah Closer", "sarah@example.com")
    jim = clone_as(remote, branch, tmp_path / "jim", "Jim Seller", "jim@example.com")

    run_ok("log", "acme-products", "--type", "phone-call", "--note", "Sarah: pricing call",
           cwd=sarah)
    run_ok("log", "Jane Doe", "--type", "email-sent", "--note", "Sarah: sent the deck",
           cwd=sarah)
    run_ok("log", "acme-products", "--type", "meeting", "--note", "Jim: contract review",
           cwd=jim)
    sync(sarah)
    sync(jim)  # Jim's pull merges Sarah's lines into the same month's file
    sync(sarah)

    assert len(git(jim, "rev-list", "--parents", "-n", "1", "HEAD").split()) == 3  # a merge
    assert git(sarah, "rev-parse", "HEAD") == git(jim, "rev-parse", "HEAD")
    for folder in (sarah, jim):
        [path] = log_files(folder)
        text = path.read_text(encoding="utf-8")
        assert "<<<<<<<" not in text and ">>>>>>>" not in text
        entries = lines_of(path)
        assert sorted(e["note"] for e in entries) == \
            ["Jim: contract review", "Sarah: pricing call", "Sarah: sent the deck"]
        assert len({e["id"] for e in entries}) == 3
        assert git(folder, "status", "--porcelain") == ""
        checked = crmctl("check", cwd=folder)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stderr == "All CRM files are valid.\n"
        shown = json.loads(run_ok("show", "acme-products", "--format", "json", cwd=folder))
        assert sorted(e["note"] for e in shown["timeline"]) == \
            ["Jim: contract review", "Sarah: pricing call", "Sarah: sent the deck"]
        assert {e["by_name"] for e in shown["timeline"]} == {"Sarah Closer", "Jim Seller"}


def test_after_a_pull_the_heads_up_knows_what_the_others_logged(crm, tmp_path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    branch = git(crm.root, "rev-parse", "--abbrev-ref", "HEAD")
    git(crm.root, "push", "-q", str(remote), branch)
    sarah = clone_as(remote, branch, tmp_path / "sarah", "Sarah Closer", "sarah@example.com")
    jim = clone_as(remote, branch, tmp_path / "jim", "Jim Seller", "jim@example.com")
    run_ok("show", "acme-products", cwd=jim)  # Jim's clone has read its logs once already
    run_ok("log", "acme-products", "--type", "phone-call", "--note", "Sarah: pricing call",
           cwd=sarah)
    sync(sarah)
    sync(jim)
    jims = crmctl("log", "acme-products", "--type", "email-sent", cwd=jim)
    assert jims.returncode == 0, jims.stderr
    assert any(l.startswith("heads-up: Sarah Closer") and "Sarah: pricing call" in l
               for l in jims.stderr.splitlines()), jims.stderr
