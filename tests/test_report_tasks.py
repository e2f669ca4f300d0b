"""crmctl report tasks: each assignee's overdue tasks and those due today, for cron to mail."""

from __future__ import annotations

import csv
import io

import pytest

from conftest import add_users

NOW = {"CRMCTL_NOW": "2026-11-25T09:00:00+01:00"}


@pytest.fixture
def team(cli):
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"))
    cli.ok("add", "company", "Initech")
    cli.ok("--as", "sarah", "log", "initech", "--type", "phone-call", "--note",
           "Wants a quote\nby Friday", "--follow-up", "today: send the quote", env=NOW)
    cli.ok("--as", "sarah", "task", "add", "Chase the invoice", "--for", "initech", "--due",
           "2026-11-20", "--priority", "high", env=NOW)
    cli.ok("--as", "sarah", "task", "add", "Plan Q1", "--due", "+5d", env=NOW)
    cli.ok("--as", "sarah", "task", "add", "Call Jim's lead", "--assign", "jim", "--due",
           "tomorrow", env=NOW)
    return cli


def test_each_assignee_gets_overdue_and_today(team) -> None:
    out = team.ok("report", "tasks", env=NOW).stdout
    assert out.splitlines()[:3] == ["Tasks (2026-11-25)", "",
                                     "Sarah Closer: 2 tasks due today, 1 overdue (2026-11-25)"]
    assert "OVERDUE 2026-11-20  high    Chase the invoice" in out
    assert "send the quote" in out and "Wants a quote" in out  # the note it came from
    assert "Plan Q1" not in out and "Jim Seller" not in out  # due later
    assert "\x1b[" not in out


def test_days_widens_the_window_and_assignee_narrows_it(team) -> None:
    out = team.ok("report", "tasks", "--days", "1", "--assignee", "jim", env=NOW).stdout
    assert out.splitlines()[2] == "Jim Seller: 1 task due by 2026-11-26 (2026-11-25)"
    assert "Call Jim's lead" in out and "Sarah" not in out


def test_csv_for_programs(team) -> None:
    rows = list(csv.DictReader(io.StringIO(team.ok("report", "tasks", "--format", "csv",
                                                   env=NOW).stdout)))
    assert [(r["assignee"], r["text"], r["overdue"]) for r in rows] == [
        ("sarah", "Chase the invoice", "yes"), ("sarah", "send the quote", "no")]


def test_tasks_due_the_same_day_come_most_urgent_first(team) -> None:
    for text, priority in (("Low one", "low"), ("Urgent one", "urgent"), ("High one", "high")):
        team.ok("--as", "sarah", "task", "add", text, "--due", "today", "--priority", priority,
                env=NOW)
    rows = list(csv.DictReader(io.StringIO(team.ok("report", "tasks", "--format", "csv",
                                                   env=NOW).stdout)))
    assert [r["text"] for r in rows] == ["Chase the invoice", "Urgent one", "High one",
                                         "send the quote", "Low one"]


def test_an_empty_day_says_so(team) -> None:
    later = {"CRMCTL_NOW": "2026-11-25T09:00:00+01:00"}
    assert team.ok("report", "tasks", "--assignee", "jim", env=later).stdout == \
        "No tasks due today and none overdue (2026-11-25).\n"


def test_an_unknown_report_or_user_is_one_line(team) -> None:
    assert "unknown report 'nope' (reports: pipeline, forecast, activity, tasks, stale," in team.fails(1, "report", "nope").stderr
    assert "unknown user 'bob'" in team.fails(1, "report", "tasks", "--assignee", "bob").stderr


def test_the_cron_script_mails_each_salesperson_with_something_due(team, tmp_path) -> None:
    """examples/cron/daily-tasks.sh through a stand-in sendmail that keeps what it is given:
    Sarah has tasks today and gets one mail; Jim has none today and gets none."""
    import email
    import os
    import stat
    import subprocess
    import sys
    from email import policy
    from pathlib import Path

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    outbox = tmp_path / "outbox"
    sendmail = bin_dir / "sendmail"
    sendmail.write_text(f"#!/bin/sh\n[ \"$1\" = -t ] || exit 64\ncat >> '{outbox}'\n"
                        f"echo '=== end ===' >> '{outbox}'\n")
    crmctl = bin_dir / "crmctl"  # the crmctl under test, whatever venv runs the tests
    crmctl.write_text(f"#!/bin/sh\nexec '{sys.executable}' -m crmctl \"$@\"\n")
    for tool in (sendmail, crmctl):
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    script = Path(__file__).parent.parent / "examples" / "cron" / "daily-tasks.sh"
    result = subprocess.run(
        ["sh", str(script), str(team.root), "sarah:sarah@example.com", "jim:jim@example.com"],
        capture_output=True, text=True,
        env={**os.environ, **NOW, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert (result.returncode, result.stderr) == (0, "")
    [mail] = [m for m in outbox.read_text().split("=== end ===\n") if m.strip()]
    message = email.message_from_string(mail, policy=policy.default)
    assert message["To"] == "sarah@example.com"
    assert message["Subject"].startswith("Your tasks for ")
    body = message.get_body(("plain",)).get_content()
    assert "Sarah Closer: 2 tasks due today, 1 overdue (2026-11-25)" in body
    assert "Chase the invoice" in body and "Call Jim's lead" not in body
