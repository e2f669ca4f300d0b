"""Built reports are kept (outside git) and reused only for the very same question about the
very same files: any commit, pull, hand edit, revert, crm.yaml change or new day is a new
question. Figures computed by hand: one open deal of 12,000 at contact-made (10%)."""

from __future__ import annotations

import json
import sys
import subprocess

import pytest

from conftest import git

DEAL = "deals/in/initech-renewal.yaml"


@pytest.fixture
def crm(cli):
    cli.ok("add", "company", "Initech")
    cli.ok("add", "deal", "Renewal", "--company", "Initech", "--amount", "12000")
    return cli


def usd(cli, *options: str, env: dict | None = None) -> tuple[int, int]:
    result = cli.ok("report", "pipeline", "--format", "json", *options, env=env)
    rows = json.loads(result.stdout)["stages"]
    return (sum(r["amount"] for r in rows if r["currency"] == "USD"),
            sum(r["weighted"] for r in rows if r["currency"] == "USD"))


def cached(cli) -> int:
    return len(list((cli.root / ".crmctl" / "reports").glob("*.pickle")))


def test_the_same_question_is_answered_once_and_kept_outside_git(crm):
    assert usd(crm) == (12000, 1200)
    assert usd(crm) == (12000, 1200)
    assert cached(crm) == 1
    assert crm.ok("report", "pipeline").stdout == crm.ok("report", "pipeline").stdout
    assert cached(crm) == 1  # the text and the JSON are two renderings of one built report
    crm.ok("report", "pipeline", "--owner", "sam")
    assert cached(crm) == 2  # other options: another question
    assert git(crm.root, "status", "--porcelain", "--untracked-files=all") == ""


def test_each_rendering_is_kept_with_the_built_report(crm):
    """A warm report renders nothing again: the text asked for is kept beside the rows."""
    import pickle

    text = crm.ok("report", "pipeline").stdout
    as_json = crm.ok("report", "pipeline", "--format", "json").stdout
    (kept,) = (crm.root / ".crmctl" / "reports").glob("*.pickle")
    report = pickle.loads(kept.read_bytes())
    assert report.renderings == {"text": text, "json": as_json}
    assert crm.ok("report", "pipeline", "-f", "table").stdout == text
    assert crm.ok("report", "pipeline", "-f", "email", "--to", "a@example.com").stdout \
        .startswith("From: ")
    assert set(pickle.loads(kept.read_bytes()).renderings) == {"text", "json"}


def test_a_commit_is_seen(crm):
    assert usd(crm) == (12000, 1200)
    crm.ok("move", "Renewal", "meeting-arranged")
    assert usd(crm) == (12000, 2400)


def test_a_hand_edit_is_seen_and_its_revert_too(crm):
    assert usd(crm) == (12000, 1200)
    path = crm.root / DEAL
    path.write_text(path.read_text().replace("amount: 12000", "amount: 13000"))
    assert usd(crm) == (13000, 1300)
    git(crm.root, "checkout", "--", DEAL)
    assert usd(crm) == (12000, 1200)


def test_a_second_hand_edit_of_an_already_edited_file_is_seen(crm):
    path = crm.root / DEAL
    path.write_text(path.read_text().replace("amount: 12000", "amount: 13000"))
    assert usd(crm) == (13000, 1300)
    path.write_text(path.read_text().replace("amount: 13000", "amount: 14000"))
    assert usd(crm) == (14000, 1400)


def stages(cli) -> list[str]:
    rows = json.loads(cli.ok("report", "pipeline", "--format", "json").stdout)["stages"]
    return [r["stage"] for r in rows]


def test_a_change_of_the_process_is_seen(crm):
    assert stages(crm)[:2] == ["contact-made", "meeting-arranged"]
    process = crm.root / "crm.yaml"
    text = process.read_text()
    process.write_text(text.replace("  - id: meeting-arranged\n",
                                    "  - id: discovery\n    probability: 15\n"
                                    "  - id: meeting-arranged\n", 1))
    assert stages(crm)[:3] == ["contact-made", "discovery", "meeting-arranged"]


def test_a_pull_is_seen(crm, tmp_path):
    assert usd(crm) == (12000, 1200)
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(crm.root), str(other)], check=True)
    subprocess.run([sys.executable, "-m", "crmctl", "-C", str(other), "move", "Renewal",
                    "meeting-arranged"], check=True, capture_output=True)
    git(crm.root, "pull", "-q", str(other), "HEAD")
    assert usd(crm) == (12000, 2400)


def test_a_new_day_is_a_new_question(crm):
    assert usd(crm, env={"CRMCTL_NOW": "2026-11-25T09:00:00+00:00"}) == (12000, 1200)
    before = cached(crm)
    usd(crm, env={"CRMCTL_NOW": "2026-11-25T17:00:00+00:00"})
    assert cached(crm) == before  # the same day: reports read the day, not the hour
    usd(crm, env={"CRMCTL_NOW": "2026-11-26T09:00:00+00:00"})
    assert cached(crm) == before + 1


def test_a_damaged_cache_entry_is_built_again(crm):
    assert usd(crm) == (12000, 1200)
    for entry in (crm.root / ".crmctl" / "reports").glob("*.pickle"):
        entry.write_bytes(b"not a report")
    assert usd(crm) == (12000, 1200)
