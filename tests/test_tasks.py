"""Tasks: what a salesperson must do next, for whom, by when.

    crmctl task add TEXT [--for RECORD] [--due WHEN] [--priority P] [--assign USER]
    crmctl log RECORD --type T --note N --follow-up "WHEN: TEXT"
    crmctl task list [--mine | --assignee USER | --all] [--overdue] [--due-before WHEN]
                     [--for RECORD] [--sort due|priority] [--format table|json|csv]
    crmctl task done ID [--note TEXT] | task edit ID [...] | task snooze ID WHEN
    crmctl assign RECORD USER

Every date is read against $CRMCTL_NOW: 2026-11-25 09:00 in Paris, a Wednesday.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from conftest import Cli, add_users, build_once, copy_of, crmctl, git, on_a_terminal

NOW = "2026-11-25T09:00:00+01:00"                  # Wednesday
SATURDAY = {"CRMCTL_NOW": "2026-11-28T09:00:00+01:00"}
TASK_ID = re.compile(r"^[a-z2-7]{10}$")            # 50 random bits, base32


# --- helpers ----------------------------------------------------------------------------------

def task_list(cli: Cli, *args: str, env: dict | None = None) -> list[dict]:
    return json.loads(cli.ok("task", "list", *args, "--format", "json", env=env).stdout)


def texts(tasks: list[dict]) -> list[str]:
    return [t["text"] for t in tasks]


def only(tasks: list[dict], text: str) -> dict:
    [found] = [t for t in tasks if t["text"] == text]
    return found


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


def files_of_last_commit(root: Path) -> list[str]:
    return git(root, "show", "--name-only", "--format=", "HEAD").splitlines()


def add_task(cli: Cli, *args: str, env: dict | None = None) -> str:
    """``task add ... -q``: the new task's full id."""
    return cli.ok("task", "add", *args, "-q", env=env).stdout.strip()


def activities(root: Path) -> list[dict]:
    return [json.loads(line) for path in sorted((root / "activities").glob("*/*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()
            if json.loads(line)["kind"] == "activity"]


# --- the starting CRM: a team of three, two companies ----------------------------------------

def team_and_customers(cli: Cli) -> None:
    """Sam (who acts: the git identity), Sarah and Jim; Acme with Jane and a deal; Globex
    with Hank."""
    add_users(cli.root, ("sam", "Sam Seller", "sam@example.com"),
              ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"))
    now = {"CRMCTL_NOW": NOW}
    cli.ok("add", "company", "Acme Products, Inc.", env=now)
    cli.ok("add", "person", "Jane Doe", "--company", "Acme Products", env=now)
    cli.ok("add", "deal", "Renewal", "--company", "Acme Products", env=now)
    cli.ok("add", "company", "Globex", env=now)
    cli.ok("add", "person", "Hank Scorpio", "--company", "Globex", env=now)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_once(tmp_path_factory, team_and_customers)


@pytest.fixture
def crm(template, tmp_path, monkeypatch) -> Cli:
    monkeypatch.setenv("CRMCTL_NOW", NOW)
    return copy_of(template, tmp_path, monkeypatch)


# --- task add ---------------------------------------------------------------------------------

def test_a_task_is_mine_and_normal_priority_by_default(crm) -> None:
    before = commits(crm.root)
    out = crm.ok("task", "add", "Call the printer").stdout
    assert re.fullmatch(r'Add task "Call the printer" as [a-z2-7]{6}\n', out)
    assert commits(crm.root) == before + 1
    [path] = files_of_last_commit(crm.root)
    assert re.fullmatch(r"tasks/2026-11/[a-z2-7]{2}\.jsonl", path)
    [task] = task_list(crm)
    assert (task["text"], task["assignee"], task["priority"], task["due"], task["status"]) == \
        ("Call the printer", "sam", "normal", None, "open")
    assert task["created_by"] == "Sam Seller" and task["created"] == NOW
    assert out.split()[-1] == task["id"][:6]


@pytest.mark.parametrize("typed, kind, record, about", [
    ("acme", "company", "acme-products", "Acme Products, Inc."),
    ("Jane", "person", "jane-doe", "Jane Doe"),
    ("Renewal", "deal", "acme-products-renewal", "Renewal"),
])
def test_for_names_the_record_loosely(crm, typed, kind, record, about) -> None:
    out = crm.ok("task", "add", "Send the brochure", "--for", typed).stdout
    assert f'for "{about}"' in out
    [task] = task_list(crm)
    assert task[kind] == record and task["about"] == about
    assert task["company"] == "acme-products"  # a person's or deal's company comes along
    assert f"Crm-Record: {kind}/{record}" in git(crm.root, "log", "-1", "--format=%B")


def test_for_an_unknown_record_is_refused(crm) -> None:
    result = crm.fails(3, "task", "add", "Send the brochure", "--for", "Initech")
    assert "Initech" in result.stderr


def test_assign_and_priority_say_who_does_it_and_how_urgent(crm) -> None:
    crm.ok("task", "add", "Chase the invoice", "--assign", "sarah", "--priority", "urgent")
    assert task_list(crm) == []  # not mine
    [task] = task_list(crm, "--assignee", "sarah")
    assert (task["assignee"], task["priority"], task["created_by"]) == \
        ("sarah", "urgent", "Sam Seller")


def test_an_unknown_user_lists_the_known_ones(crm) -> None:
    result = crm.fails(1, "task", "add", "Chase the invoice", "--assign", "bob")
    assert "unknown user 'bob'" in result.stderr and "sam, sarah, jim" in result.stderr


def test_an_unknown_priority_lists_the_valid_ones(crm) -> None:
    result = crm.fails(1, "task", "add", "Chase the invoice", "--priority", "asap")
    assert "unknown priority 'asap'" in result.stderr
    assert "low, normal, high, urgent" in result.stderr


def test_an_empty_text_is_refused(crm) -> None:
    assert "empty" in crm.fails(1, "task", "add", "   ").stderr


@pytest.mark.parametrize("when, due", [
    ("2026-12-01", "2026-12-01"),
    ("today", "2026-11-25"),
    ("tomorrow", "2026-11-26"),
    ("friday", "2026-11-27"),
    ("next monday", "2026-11-30"),
    ("+3d", "2026-11-28"),
    ("+2w", "2026-12-09"),
    ("in 11 months", "2027-10-25"),
])
def test_due_reads_the_forms_people_type(crm, when, due) -> None:
    out = crm.ok("task", "add", "Follow up", "--due", when).stdout
    assert f"(due {due})" in out
    assert [t["due"] for t in task_list(crm)] == [due]


def test_relative_dates_are_read_against_the_injected_now(crm) -> None:
    monday = {"CRMCTL_NOW": "2027-03-01T16:00:00-05:00"}
    add_task(crm, "A", "--due", "friday", env=monday)
    add_task(crm, "B", "--due", "+3d", env=monday)
    add_task(crm, "C", "--due", "in 11 months", env=monday)
    assert [t["due"] for t in task_list(crm, env=monday)] == \
        ["2027-03-04", "2027-03-05", "2028-02-01"]


@pytest.mark.parametrize("when, says", [
    ("someday", "'someday' is not a date"),
    ("2027-02-30", "'2027-02-30' is not a date"),
    ("31/31/2026", "'31/31/2026' is not a date"),
    ("", "date"),  # a script's empty $WHEN must not silently mean "no due date"
], ids=["words", "no-such-day", "garbage", "empty"])
def test_a_bad_due_is_one_clear_line_and_nothing_is_committed(crm, when, says) -> None:
    result = crm.fails(1, "task", "add", "Follow up", "--due", when)
    assert says in result.stderr
    assert not (crm.root / "tasks").exists()


@pytest.mark.parametrize("when, says", [
    ("12/01/2027", "'12/01/2027' could be day first or month first "
                   "(write it as 2027-01-12 or 2027-12-01)"),
    ("31/12/2027", "'31/12/2027': write dates year first (write it as 2027-12-31)"),
    ("3.4.", "'3.4.' could be day first or month first"),
    ("2027/12/01", "write it as 2027-12-01"),
], ids=["day-or-month", "only-one-reading", "dotted", "year-first-slashes"])
def test_a_numeric_date_is_never_guessed(crm, when, says) -> None:
    """12/01 is 12 January in Paris and 1 December in Boston: a wrong guess files the
    follow-up a month away, so crmctl asks instead of guessing."""
    result = crm.fails(1, "task", "add", "Follow up", "--due", when)
    assert says in result.stderr
    assert not (crm.root / "tasks").exists()


def test_today_is_the_same_day_for_add_and_list(crm) -> None:
    """Half past midnight in Paris is still yesterday in UTC: a task due today is due on the
    day the list calls today, not already overdue."""
    just_after_midnight = {"CRMCTL_NOW": "2026-11-25T00:30:00+01:00", "TZ": "UTC"}
    added = crmctl("task", "add", "Morning call", "--due", "today", cwd=crm.root,
                   env=just_after_midnight)
    assert added.returncode == 0, added.stderr
    listed = crmctl("task", "list", cwd=crm.root, env=just_after_midnight).stdout
    header, *rows = listed.splitlines()
    today = re.search(r"today is (\S+)\)", header).group(1)
    assert f"(due {today})" in added.stdout
    assert "overdue" not in header and "OVERDUE" not in listed


def test_task_ids_are_short_and_unique(crm) -> None:
    ids = [add_task(crm, f"Task {n}") for n in range(5)]
    assert all(TASK_ID.match(i) for i in ids) and len(set(ids)) == 5
    table = crm.ok("task", "list").stdout
    for task_id in ids:
        assert re.search(rf"^{task_id[:6]}  ", table, re.M), table
        assert task_id not in table  # the table shows 6 characters, enough to type


# --- log --follow-up ---------------------------------------------------------------------------

def test_a_follow_up_is_logged_with_its_activity_in_one_commit(crm) -> None:
    before = commits(crm.root)
    out = crm.ok("log", "acme", "--type", "phone-call",
                 "--note", "Asked for pricing\nWants it before the board meets",
                 "--follow-up", "+3d: send the proposal").stdout
    assert re.search(r'follow-up: task [a-z2-7]{6} "send the proposal" due 2026-11-28', out)
    assert commits(crm.root) == before + 1
    changed = files_of_last_commit(crm.root)
    assert "activities/2026-11/ac.jsonl" in changed
    assert any(p.startswith("tasks/2026-11/") for p in changed)
    [entry] = activities(crm.root)
    [task] = task_list(crm)
    assert (task["text"], task["due"], task["assignee"], task["company"]) == \
        ("send the proposal", "2026-11-28", "sam", "acme-products")
    assert task["activity"] == entry["id"]
    assert task["from_note"] == "Asked for pricing\nWants it before the board meets"
    table = crm.ok("task", "list").stdout
    assert "FROM NOTE" in table and "Asked for pricing" in table
    assert "Wants it before" not in table  # the note's first line is enough in a table


def test_a_follow_up_on_a_deal_is_for_the_deal(crm) -> None:
    crm.ok("log", "Renewal", "--type", "meeting", "--note", "Walked through the terms",
           "--follow-up", "friday: send the contract")
    [task] = task_list(crm, "--for", "Renewal")
    assert (task["deal"], task["person"], task["due"], task["about"]) == \
        ("acme-products-renewal", None, "2026-11-27", "Renewal")


@pytest.mark.parametrize("follow_up, says", [
    ("+3d send the proposal", "is not WHEN: TEXT"),
    ("+3d:", "is not WHEN: TEXT"),
    (": send the proposal", "is not WHEN: TEXT"),
    ("someday: send the proposal", "'someday' is not a date"),
    ("", "--follow-up"),  # an empty $FOLLOW_UP in a script must not drop the task silently
], ids=["no-colon", "no-text", "no-when", "bad-when", "empty"])
def test_a_malformed_follow_up_is_refused_and_nothing_is_written(crm, follow_up, says) -> None:
    result = crm.fails(1, "log", "acme", "--type", "phone-call", "--note", "Asked for pricing",
                       "--follow-up", follow_up)
    assert says in result.stderr
    assert not (crm.root / "activities").exists() and not (crm.root / "tasks").exists()


# --- task list: the start-of-day screen --------------------------------------------------------

def a_week_of_work(cli: Cli) -> None:
    """Tasks added on Wednesday; the tests look at them on Saturday, 2026-11-28."""
    team_and_customers(cli)
    now = {"CRMCTL_NOW": NOW}
    cli.ok("task", "add", "Send the proposal", "--for", "acme", "--due", "friday",
           "--priority", "high", env=now)                                    # 11-27
    cli.ok("task", "add", "Call Hank back", "--for", "Hank", "--due", "tomorrow", env=now)
    cli.ok("task", "add", "Book the demo room", "--due", "next monday", env=now)  # 11-30
    cli.ok("task", "add", "Plan Q1", "--priority", "low", env=now)           # no due date
    cli.ok("task", "add", "Renewal paperwork", "--for", "Renewal", "--due", "+2w",
           "--priority", "urgent", env=now)                                  # 12-09
    cli.ok("log", "Jane Doe", "--type", "phone-call",
           "--note", "Jane wants a discount\nAsk after the board meets",
           "--follow-up", "+3d: call Jane about the discount", env=now)       # 11-28
    cli.ok("task", "add", "Chase the invoice", "--assign", "sarah", "--due", "today", env=now)
    cli.ok("--as", "jim", "task", "add", "Jim's own call", "--due", "friday", env=now)


@pytest.fixture(scope="module")
def week_template(tmp_path_factory) -> Path:
    return build_once(tmp_path_factory, a_week_of_work)


@pytest.fixture
def week(week_template, tmp_path, monkeypatch) -> Cli:
    """Saturday morning: Hank's call (Thursday) and the proposal (Friday) are overdue."""
    monkeypatch.setenv("CRMCTL_NOW", SATURDAY["CRMCTL_NOW"])
    return copy_of(week_template, tmp_path, monkeypatch)


MY_WEEK = ["Call Hank back", "Send the proposal", "call Jane about the discount",
           "Book the demo room", "Renewal paperwork", "Plan Q1"]


def test_the_default_list_is_my_open_tasks_by_due_date(week) -> None:
    out = week.ok("task", "list").stdout
    header, columns, rule, *rows = out.splitlines()
    assert header == "Your open tasks: 6, 2 overdue (today is 2026-11-28)"
    assert columns.split() == ["ID", "DUE", "PRI", "TASK", "FOR", "FROM", "NOTE"]
    assert "ASSIGNEE" not in columns  # they are all mine
    assert [next(t for t in MY_WEEK if t in row) for row in rows] == MY_WEEK
    assert "Chase the invoice" not in out and "Jim's own call" not in out
    assert texts(task_list(week)) == MY_WEEK == texts(task_list(week, "--mine"))


def test_each_row_names_its_record_and_the_note_it_came_from(week) -> None:
    rows = {line.split("  ")[0]: line for line in week.ok("task", "list").stdout.splitlines()}
    tasks = {t["text"]: t for t in task_list(week)}
    assert "Hank Scorpio" in rows[tasks["Call Hank back"]["id"][:6]]
    assert "Acme Products, Inc." in rows[tasks["Send the proposal"]["id"][:6]]
    jane = rows[tasks["call Jane about the discount"]["id"][:6]]
    assert "Jane Doe" in jane and "Jane wants a discount" in jane
    assert tasks["call Jane about the discount"]["from_note"] == \
        "Jane wants a discount\nAsk after the board meets"


def test_assignee_shows_someone_elses_tasks_and_all_shows_everyones(week) -> None:
    out = week.ok("task", "list", "--assignee", "sarah").stdout
    assert out.splitlines()[0] == "sarah's open tasks: 1, 1 overdue (today is 2026-11-28)"
    assert "ASSIGNEE" in out and "Chase the invoice" in out
    everyone = task_list(week, "--all")
    assert sorted(texts(everyone)) == sorted(MY_WEEK + ["Chase the invoice", "Jim's own call"])
    assert {t["assignee"] for t in everyone} == {"sam", "sarah", "jim"}
    assert week.ok("task", "list", "--all").stdout.startswith(
        "Everyone's open tasks: 8, 4 overdue (today is 2026-11-28)\n")


@pytest.mark.parametrize("options", [(), ("--all",), ("--assignee", "sarah"), ("--overdue",),
                                     ("--all", "--sort", "priority")])
def test_quiet_lists_the_same_tasks_in_the_same_order_by_full_id(week, options) -> None:
    ids = week.ok("task", "list", *options, "--quiet").stdout.split()
    assert ids and ids == [t["id"] for t in task_list(week, *options)]


@pytest.mark.parametrize("options", [("--mine", "--all"), ("--mine", "--assignee", "jim"),
                                     ("--all", "--assignee", "jim")])
def test_mine_assignee_and_all_exclude_each_other(week, options) -> None:
    assert "choose one of --mine, --assignee USER and --all" in \
        week.fails(2, "task", "list", *options).stderr  # a usage error, as the README says


def test_an_unknown_assignee_lists_the_known_users(week) -> None:
    result = week.fails(1, "task", "list", "--assignee", "bob")
    assert "unknown user 'bob'" in result.stderr and "sam, sarah, jim" in result.stderr


def test_overdue_shows_only_what_is_late(week) -> None:
    late = task_list(week, "--overdue")
    assert texts(late) == ["Call Hank back", "Send the proposal"]
    assert all(t["overdue"] for t in late)
    assert texts(task_list(week, "--all", "--overdue")) == \
        ["Chase the invoice", "Call Hank back", "Send the proposal", "Jim's own call"]
    # by due date, then the more urgent first: the proposal (high) before Jim's call (normal)


def test_due_before_cuts_the_list_at_a_date(week) -> None:
    assert texts(task_list(week, "--due-before", "next monday")) == \
        ["Call Hank back", "Send the proposal", "call Jane about the discount"]
    assert texts(task_list(week, "--due-before", "2026-11-27")) == ["Call Hank back"]
    assert "is not a date" in week.fails(1, "task", "list", "--due-before", "soonish").stderr


def test_for_shows_a_records_tasks_and_those_of_its_people_and_deals(week) -> None:
    assert texts(task_list(week, "--for", "Acme Products")) == \
        ["Send the proposal", "call Jane about the discount", "Renewal paperwork"]
    assert texts(task_list(week, "--for", "Jane Doe")) == ["call Jane about the discount"]
    assert texts(task_list(week, "--for", "globex")) == ["Call Hank back"]
    out = week.ok("task", "list", "--for", "globex", "--overdue", "--assignee", "jim").stdout
    assert out.splitlines()[1:] == ["No tasks match."]


def test_sort_priority_puts_urgent_first_then_by_due_date(week) -> None:
    assert texts(task_list(week, "--sort", "priority")) == \
        ["Renewal paperwork", "Send the proposal", "Call Hank back",
         "call Jane about the discount", "Book the demo room", "Plan Q1"]
    assert "--sort due or --sort priority" in \
        week.fails(1, "task", "list", "--sort", "name").stderr


def test_json_for_programs(week) -> None:
    tasks = {t["text"]: t for t in task_list(week)}
    hank = tasks["Call Hank back"]
    assert (hank["due"], hank["overdue"], hank["priority"], hank["assignee"], hank["status"],
            hank["person"], hank["company"], hank["about"]) == \
        ("2026-11-26", True, "normal", "sam", "open", "hank-scorpio", "globex", "Hank Scorpio")
    assert TASK_ID.match(hank["id"])
    assert tasks["call Jane about the discount"]["overdue"] is False  # due today is not late
    assert tasks["Plan Q1"]["due"] is None and tasks["Plan Q1"]["overdue"] is False


def test_csv_for_spreadsheets(week) -> None:
    rows = list(csv.DictReader(io.StringIO(
        week.ok("task", "list", "--format", "csv").stdout)))
    assert [(r["text"], r["due"], r["overdue"]) for r in rows] == [
        ("Call Hank back", "2026-11-26", "yes"), ("Send the proposal", "2026-11-27", "yes"),
        ("call Jane about the discount", "2026-11-28", "no"),
        ("Book the demo room", "2026-11-30", "no"), ("Renewal paperwork", "2026-12-09", "no"),
        ("Plan Q1", "", "no")]
    assert rows[2]["from_note"].startswith("Jane wants a discount")
    assert rows[0]["about"] == "Hank Scorpio"


def test_piped_output_marks_overdue_rows_plainly(week) -> None:
    result = crmctl("task", "list", cwd=week.root, env=SATURDAY)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "\x1b[" not in out
    header, _, _, *rows = out.splitlines()
    assert header == "Your open tasks: 6, 2 overdue (today is 2026-11-28)"
    marked = [row for row in rows if "OVERDUE" in row]
    assert len(marked) == 2
    assert "OVERDUE 2026-11-26" in marked[0] and "Call Hank back" in marked[0]
    assert "OVERDUE 2026-11-27" in marked[1] and "Send the proposal" in marked[1]


def terminal_screen(*args: str, cwd: Path, env: dict) -> str:
    """What crmctl shows when its stdout is a terminal."""
    code, shown, stderr = on_a_terminal(*args, cwd=cwd, env={**env, "COLUMNS": "200"})
    assert code == 0, stderr
    return shown


def test_on_a_terminal_overdue_dates_are_red_and_bold(week) -> None:
    shown = terminal_screen("task", "list", cwd=week.root, env=SATURDAY)
    assert "\x1b[1;31m2026-11-26\x1b[0m" in shown and "\x1b[1;31m2026-11-27\x1b[0m" in shown
    assert "OVERDUE" not in shown
    assert "\x1b[1;31m2026-11-28" not in shown  # due today is not late


def test_a_done_task_leaves_the_default_list(week) -> None:
    hank = only(task_list(week), "Call Hank back")
    week.ok("task", "done", hank["id"][:6])
    assert "Call Hank back" not in texts(task_list(week))
    assert week.ok("task", "list").stdout.splitlines()[0] == \
        "Your open tasks: 5, 1 overdue (today is 2026-11-28)"
    assert only(task_list(week, "--done"), "Call Hank back")["status"] == "done"


def test_someone_with_nothing_to_do_is_told_so(week) -> None:
    week.ok("--as", "jim", "task", "done", only(task_list(week, "--all"), "Jim's own call")["id"])
    assert week.ok("--as", "jim", "task", "list").stdout == \
        "Your open tasks: 0 (today is 2026-11-28)\nNothing to do.\n"


# --- task done, edit, snooze -------------------------------------------------------------------

def test_done_keeps_who_closed_it_and_when(week) -> None:
    proposal = only(task_list(week), "Send the proposal")
    before = commits(week.root)
    out = week.ok("--as", "sarah", "task", "done", proposal["id"][:4], "--note", "Sent v2")
    assert out.stdout == 'Complete task "Send the proposal"\n'
    assert commits(week.root) == before + 1
    assert git(week.root, "log", "-1", "--format=%an <%ae>") == "Sarah Closer <sarah@example.com>"
    done = only(task_list(week, "--done"), "Send the proposal")
    assert (done["status"], done["done_by"], done["done_at"], done["done_note"]) == \
        ("done", "Sarah Closer", SATURDAY["CRMCTL_NOW"], "Sent v2")
    assert done["overdue"] is False  # a done task is never late
    assert done["created_by"] == "Sam Seller"


def test_done_twice_is_refused(week) -> None:
    task_id = only(task_list(week), "Send the proposal")["id"]
    week.ok("task", "done", task_id)
    result = week.fails(1, "task", "done", task_id)
    assert f"task {task_id} was done by Sam Seller on 2026-11-28" in result.stderr


def test_edit_changes_what_it_is_given(week) -> None:
    task_id = only(task_list(week), "Book the demo room")["id"]
    before = commits(week.root)
    out = week.ok("task", "edit", task_id[:6], "--due", "+2w", "--priority", "urgent",
                  "--assign", "sarah", "--text", "Book the big demo room").stdout
    assert out == ('Edit task "Book the demo room": due 2026-12-12, priority urgent, '
                   'assignee sarah\n')
    assert commits(week.root) == before + 1
    assert "Book" not in " ".join(texts(task_list(week)))  # it is Sarah's now
    edited = only(task_list(week, "--assignee", "sarah"), "Book the big demo room")
    assert (edited["id"], edited["due"], edited["priority"]) == (task_id, "2026-12-12", "urgent")


def test_edit_with_nothing_to_change_is_refused(week) -> None:
    task_id = only(task_list(week), "Plan Q1")["id"]
    assert "nothing to change" in week.fails(1, "task", "edit", task_id).stderr


@pytest.mark.parametrize("option, value, says", [
    ("--priority", "asap", "low, normal, high, urgent"),
    ("--assign", "bob", "sam, sarah, jim"),
    ("--due", "someday", "'someday' is not a date"),
    ("--text", "  ", "empty"),
])
def test_edit_refuses_a_bad_value(week, option, value, says) -> None:
    task_id = only(task_list(week), "Plan Q1")["id"]
    assert says in week.fails(1, "task", "edit", task_id, option, value).stderr


def test_a_done_task_cannot_be_edited_or_snoozed(week) -> None:
    task_id = only(task_list(week), "Plan Q1")["id"]
    week.ok("task", "done", task_id)
    assert "is done" in week.fails(1, "task", "edit", task_id, "--priority", "high").stderr
    assert "is done" in week.fails(1, "task", "snooze", task_id, "+1w").stderr


def test_snooze_puts_a_task_off(week) -> None:
    task_id = only(task_list(week), "Call Hank back")["id"]
    out = week.ok("task", "snooze", task_id[:5], "next monday").stdout
    assert out == 'Snooze task "Call Hank back" to 2026-11-30\n'
    snoozed = only(task_list(week), "Call Hank back")
    assert (snoozed["due"], snoozed["overdue"]) == ("2026-11-30", False)
    assert texts(task_list(week, "--overdue")) == ["Send the proposal"]


def test_a_task_added_and_done_within_one_second_is_done(crm) -> None:
    """A script adds tasks and closes them straight away: every event falls in the same
    second (here CRMCTL_NOW pins them all to 09:00:00). Each task's events must still be read
    in the order they were written: add, then done."""
    ids = [add_task(crm, f"Imported call {n}") for n in range(8)]
    for task_id in ids:
        crm.ok("task", "done", task_id)
    assert task_list(crm) == []
    assert [t["status"] for t in task_list(crm, "--done")] == ["done"] * 8


def test_edits_within_one_second_apply_in_the_order_they_were_made(crm) -> None:
    task_id = add_task(crm, "Draft 1")
    for n in range(2, 8):
        crm.ok("task", "edit", task_id, "--text", f"Draft {n}")
    assert texts(task_list(crm)) == ["Draft 7"]


def test_snooze_to_a_bad_date_is_refused(week) -> None:
    task_id = only(task_list(week), "Call Hank back")["id"]
    assert "'whenever' is not a date" in week.fails(1, "task", "snooze", task_id,
                                                    "whenever").stderr


# --- task ids: any unique beginning of four characters or more --------------------------------

def test_a_unique_prefix_of_four_characters_is_enough(week) -> None:
    task_id = only(task_list(week), "Plan Q1")["id"]
    week.ok("task", "done", task_id[:4].upper())
    assert only(task_list(week, "--done"), "Plan Q1")["status"] == "done"


def test_a_prefix_shorter_than_four_characters_is_refused(week) -> None:
    task_id = only(task_list(week), "Plan Q1")["id"]
    result = week.fails(1, "task", "done", task_id[:3])
    assert f"task id '{task_id[:3]}' is too short" in result.stderr
    assert "at least 4 characters" in result.stderr


def test_an_unknown_id_is_not_found(week) -> None:
    assert "no task 'zzzzzz'" in week.fails(3, "task", "done", "zzzzzz").stderr


def test_an_ambiguous_prefix_is_refused_and_names_the_candidates(week) -> None:
    """Two tasks whose ids begin alike, as written by two clones and merged."""
    path = week.root / "tasks" / "2026-11" / "ab.jsonl"
    with path.open("a", encoding="utf-8") as log:
        for task_id, text in (("abcd2222aa", "Water the plants"), ("abcd3333bb", "Feed the cat")):
            log.write(json.dumps({"id": f"ev{task_id}", "task": task_id, "op": "add",
                                  "at": NOW, "text": text, "priority": "normal",
                                  "assignee": "sam", "by": "sam", "by_name": "Sam Seller"})
                      + "\n")
    git(week.root, "add", "tasks")
    git(week.root, "commit", "-qm", "Two tasks from two clones")
    result = week.fails(4, "task", "done", "abcd")
    assert "'abcd' starts more than one task id" in result.stderr
    assert "abcd2222aa" in result.stderr and "abcd3333bb" in result.stderr
    assert "type more of the id" in result.stderr
    week.ok("task", "done", "abcd3")
    assert [t["text"] for t in task_list(week, "--done") if t["status"] == "done"] == \
        ["Feed the cat"]


# --- assign, without any workflow rule --------------------------------------------------------

def test_assign_hands_a_record_to_another_owner_in_one_commit(crm) -> None:
    before = commits(crm.root)
    out = crm.ok("--as", "sarah", "assign", "acme", "jim").stdout
    assert out == 'Assign company "Acme Products, Inc." to Jim Seller\n'
    assert commits(crm.root) == before + 1
    assert git(crm.root, "log", "-1", "--format=%an <%ae>") == "Sarah Closer <sarah@example.com>"
    assert files_of_last_commit(crm.root) == ["companies/ac/acme-products.yaml"]  # no task
    shown = json.loads(crm.ok("show", "acme", "--format", "json").stdout)["record"]
    assert shown["owner"] == "jim"


@pytest.mark.parametrize("ref, path", [("Jane Doe", "people/ja/jane-doe.yaml"),
                                       ("Renewal", "deals/ac/acme-products-renewal.yaml")])
def test_assign_a_person_or_a_deal(crm, ref, path) -> None:
    crm.ok("assign", ref, "sarah")
    assert "owner: sarah\n" in (crm.root / path).read_text()
    assert git(crm.root, "log", "-1", "--format=%an") == "Sam Seller"


def test_assign_to_an_unknown_user_lists_the_known_ones(crm) -> None:
    result = crm.fails(1, "assign", "acme", "bob")
    assert "unknown user 'bob'" in result.stderr and "sam, sarah, jim" in result.stderr


def test_assign_to_the_current_owner_changes_nothing(crm) -> None:
    crm.ok("assign", "acme", "jim")
    assert "already jim's" in crm.fails(1, "assign", "acme", "jim").stderr
