"""The read index always shows the files' truth.

Reads go through a SQLite cache under ``.crmctl/`` (ignored by git), keyed by the commit it
reflects and brought up to date from ``git diff`` plus the uncommitted edits in the work tree.
Whatever happens to the files — hand edits, new or deleted files, a teammate's pull, a reset, a
deleted cache — the very next command shows what the files say, with no rebuild step.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from conftest import crmctl, git

ACME = "companies/ac/acme-products.yaml"
GLOBEX = "companies/gl/globex.yaml"


def company_yaml(record_id: str, name: str, *, domain: str | None = None) -> str:
    """A company file as a person would type it by hand (same shape crmctl writes)."""
    lines = [f"id: {record_id}", f"name: {name}"]
    if domain:
        lines.append(f"domain: {domain}")
    lines += ["status: lead", "created: '2026-01-05T09:00:00+00:00'",
              "updated: '2026-01-05T09:00:00+00:00'"]
    return "\n".join(lines) + "\n"


def folders_read(root: Path) -> set[str]:
    """The folders the index holds in full (its own record of what it has read)."""
    import sqlite3

    with sqlite3.connect(root / ".crmctl" / "index.sqlite") as db:
        [loaded] = db.execute("SELECT value FROM meta WHERE key='loaded'").fetchone()
    return set(filter(None, loaded.split(",")))


def status(root: Path) -> str:
    """What git says differs, asked without its untracked cache: git 2.39's cache can
    miss a file made or unstaged just after it was saved (crmctl reads allow for that)."""
    return git(root, "-c", "core.untrackedCache=false", "status", "--porcelain",
               "--untracked-files=all")


def list_ids(cli, what: str = "companies") -> list[str]:
    return cli.ok("list", what, "--quiet").stdout.split()


def seed(cli) -> None:
    cli.ok("add", "company", "Acme Products, Inc.", "--domain", "acme.com")
    cli.ok("add", "company", "Globex", "--domain", "globex.com")
    cli.ok("add", "person", "Ada Lovelace", "--company", "Acme Products",
           "--email", "ada@acme.com", "--title", "CTO")
    cli.ok("add", "deal", "Renewal 2027", "--company", "acme-products", "--person",
           "Ada Lovelace", "--amount", "12000")


# --- (a) the index is disposable ------------------------------------------------------------

VIEWS = [("list", "companies"), ("list", "people"), ("list", "deals"),
         ("list", "companies", "--format", "json"), ("list", "deals", "--format", "csv"),
         ("show", "Acme Products"), ("show", "ada lovelace"), ("show", "Renewal 2027"),
         ("show", "globex", "--format", "json")]


def test_deleting_the_index_changes_no_output(cli, crm_root):
    seed(cli)
    before = {view: cli.ok(*view).stdout for view in VIEWS}
    assert (crm_root / ".crmctl" / "index.sqlite").is_file()
    assert "Acme Products, Inc." in before[("list", "companies")]
    assert "Ada Lovelace" in before[("show", "Acme Products")]

    shutil.rmtree(crm_root / ".crmctl")

    after = {view: cli.ok(*view).stdout for view in VIEWS}
    assert after == before
    assert (crm_root / ".crmctl" / "index.sqlite").is_file(), "the index is rebuilt on read"


def test_deleting_the_index_keeps_uncommitted_hand_edits_visible(cli, crm_root):
    seed(cli)
    (crm_root / ACME).write_text(company_yaml("acme-products", "Acme Rockets", domain="acme.com"))
    cli.ok("list", "companies")
    shutil.rmtree(crm_root / ".crmctl")

    listed = cli.ok("list", "companies").stdout
    assert "Acme Rockets" in listed
    assert "Acme Products, Inc." not in listed


def test_the_index_is_never_committed(cli, crm_root):
    seed(cli)
    shutil.rmtree(crm_root / ".crmctl")
    cli.ok("list", "companies")
    cli.ok("add", "company", "Initech")
    assert (crm_root / ".crmctl").is_dir()

    assert status(crm_root) == ""
    tracked = git(crm_root, "ls-files").splitlines()
    assert tracked and not [p for p in tracked if p.startswith(".crmctl")]
    ever_committed = git(crm_root, "log", "--all", "--name-only", "--format=").splitlines()
    assert not [p for p in ever_committed if ".crmctl/" in p]
    # git itself says the folder is ignored, so `git add -A` cannot pick it up either.
    assert ".crmctl" not in git(crm_root, "add", "-A", "--dry-run")


# --- (b) uncommitted hand edits ---------------------------------------------------------------

def test_a_hand_edited_name_is_seen_at_once_and_reverting_brings_the_old_name_back(cli, crm_root):
    seed(cli)
    assert "Acme Products, Inc." in cli.ok("list", "companies").stdout  # index now at HEAD
    original = (crm_root / ACME).read_text()

    (crm_root / ACME).write_text(original.replace("name: Acme Products, Inc.",
                                                  "name: Zenith Works"))

    listed = cli.ok("list", "companies").stdout
    assert "Zenith Works" in listed
    assert "Acme Products" not in listed
    shown = cli.ok("show", "Zenith Works").stdout
    assert shown.splitlines()[0] == "Zenith Works  (company acme-products)"
    assert "Ada Lovelace" in shown
    cli.fails(3, "show", "Acme Products")
    # The person's company column still points at the same record, now under its new name.
    assert "Zenith Works (acme-products)" in cli.ok("show", "Ada Lovelace").stdout

    git(crm_root, "checkout", "--", ACME)
    assert status(crm_root) == ""

    listed = cli.ok("list", "companies").stdout
    assert "Acme Products, Inc." in listed
    assert "Zenith Works" not in listed
    assert cli.ok("show", "Acme Products").stdout.splitlines()[0] == \
        "Acme Products, Inc.  (company acme-products)"
    cli.fails(3, "show", "Zenith Works")


def test_a_hand_edit_committed_by_hand_stays_visible(cli, crm_root):
    seed(cli)
    cli.ok("list", "companies")
    text = (crm_root / ACME).read_text().replace("name: Acme Products, Inc.", "name: Zenith Works")
    (crm_root / ACME).write_text(text)
    assert "Zenith Works" in cli.ok("list", "companies").stdout
    git(crm_root, "commit", "-qam", "Rename Acme by hand")

    assert "Zenith Works" in cli.ok("list", "companies").stdout
    assert cli.ok("show", "Zenith Works").stdout.startswith("Zenith Works  (company acme-products)")


# --- (c) files created or deleted by hand ---------------------------------------------------

def test_a_hand_created_record_file_appears(cli, crm_root):
    seed(cli)
    cli.ok("list", "companies")
    new = crm_root / "companies" / "in" / "initech.yaml"
    new.parent.mkdir(parents=True)
    new.write_text(company_yaml("initech", "Initech", domain="initech.com"))
    assert "?? companies/in/initech.yaml" in status(crm_root)

    assert list_ids(cli) == ["acme-products", "globex", "initech"]
    assert cli.ok("show", "Initech").stdout.startswith("Initech  (company initech)")
    assert "initech.com" in cli.ok("list", "companies").stdout
    # The new record is a real one: people can be added to it.
    cli.ok("add", "person", "Peter Gibbons", "--company", "Initech")
    assert "Peter Gibbons" in cli.ok("show", "initech").stdout


def test_a_hand_deleted_record_file_disappears(cli, crm_root):
    seed(cli)
    assert "globex" in list_ids(cli)
    (crm_root / GLOBEX).unlink()

    assert list_ids(cli) == ["acme-products"]
    cli.fails(3, "show", "globex")
    cli.fails(3, "show", "Globex")

    git(crm_root, "checkout", "--", GLOBEX)
    assert list_ids(cli) == ["acme-products", "globex"]


def test_a_record_untracked_with_git_rm_cached_is_still_read(cli, crm_root):
    """`git rm --cached` keeps the file on disk: it is staged as deleted and untracked."""
    seed(cli)
    cli.ok("list", "companies")
    git(crm_root, "rm", "-q", "--cached", GLOBEX)
    assert sorted(status(crm_root).splitlines()) == [f"?? {GLOBEX}", f"D  {GLOBEX}"]

    result = cli("list", "companies", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == ["acme-products", "globex"]


# --- (d) a teammate's commits arrive through git pull ----------------------------------------

def test_a_teammates_company_is_seen_after_git_pull(cli, crm_root, tmp_path):
    seed(cli)
    assert list_ids(cli) == ["acme-products", "globex"]  # the index reflects the old HEAD
    branch = git(crm_root, "symbolic-ref", "--short", "HEAD")
    assert branch == "trunk"

    teammate = tmp_path / "teammate"
    subprocess.run(["git", "clone", "-q", str(crm_root), str(teammate)], check=True,
                   capture_output=True)
    git(teammate, "config", "user.name", "Tess Teammate")
    git(teammate, "config", "user.email", "tess@example.com")
    added = crmctl("add", "company", "Umbrella Corporation", "--domain", "umbrella.com",
                   cwd=teammate)
    assert added.returncode == 0, added.stderr
    assert "umbrella" in added.stdout

    pulled = subprocess.run(["git", "pull", "-q", "--no-rebase", str(teammate), branch],
                            cwd=crm_root, capture_output=True, text=True)
    assert pulled.returncode == 0, pulled.stderr
    assert git(crm_root, "log", "-1", "--format=%an <%ae>") == "Tess Teammate <tess@example.com>"
    assert status(crm_root) == ""

    assert list_ids(cli) == ["acme-products", "globex", "umbrella"]
    shown = cli.ok("show", "Umbrella")
    assert shown.stdout.startswith("Umbrella Corporation  (company umbrella)")
    assert "umbrella.com" in shown.stdout
    # ...and the duplicate guard knows it too.
    cli.fails(5, "add", "company", "Umbrella Corp.")


def test_a_teammates_edit_and_delete_are_seen_after_git_pull(cli, crm_root, tmp_path):
    seed(cli)
    cli.ok("list", "companies")
    branch = git(crm_root, "symbolic-ref", "--short", "HEAD")
    teammate = tmp_path / "teammate"
    subprocess.run(["git", "clone", "-q", str(crm_root), str(teammate)], check=True)
    (teammate / ACME).write_text((teammate / ACME).read_text().replace(
        "name: Acme Products, Inc.", "name: Acme Rockets"))
    git(teammate, "rm", "-q", GLOBEX)
    git(teammate, "commit", "-qam", "Rename Acme, drop Globex", "--no-verify")

    git(crm_root, "pull", "-q", "--no-rebase", str(teammate), branch)

    assert list_ids(cli) == ["acme-products"]
    assert "Acme Rockets" in cli.ok("list", "companies").stdout
    cli.fails(3, "show", "Globex")


# --- (e) a broken file ------------------------------------------------------------------------

def test_a_broken_file_is_left_out_with_one_warning_line(cli, crm_root):
    seed(cli)
    cli.ok("list", "companies")
    (crm_root / ACME).write_text("id: acme-products\nname: [Acme Products, Inc.\nstatus: lead\n")

    result = cli("list", "companies")
    assert result.exit_code == 0, result.stderr
    assert "Globex" in result.stdout
    assert "acme" not in result.stdout.lower()
    warning = result.stderr.strip().splitlines()
    assert len(warning) == 1, result.stderr
    assert ACME in warning[0]
    assert "crmctl check" in warning[0]
    assert "Traceback" not in result.stderr + result.stdout

    # Other reads keep working, and check names the file and line.
    assert cli.ok("show", "Globex").stdout.startswith("Globex  (company globex)")
    checked = cli("check")
    assert checked.exit_code == 1
    assert ACME + ":" in checked.stdout

    # Fixing the file brings the record back.
    git(crm_root, "checkout", "--", ACME)
    fixed = cli.ok("list", "companies")
    assert "Acme Products, Inc." in fixed.stdout
    assert fixed.stderr == ""


def test_a_broken_file_in_a_separate_process_gives_no_traceback(cli, crm_root):
    seed(cli)
    (crm_root / GLOBEX).write_text("id: globex\nname: Globex\nname: Globex again\n\t- oops\n")

    result = crmctl("list", "companies", cwd=crm_root)
    assert result.returncode == 0, result.stderr
    assert "Acme Products, Inc." in result.stdout
    assert "Globex" not in result.stdout
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "crmctl check" in result.stderr
    assert "Traceback" not in result.stderr


# --- (f) history moving backwards -------------------------------------------------------------

def test_git_reset_hard_removes_the_undone_record(cli, crm_root):
    seed(cli)
    cli.ok("add", "company", "Initech")
    assert "initech" in list_ids(cli)  # the index now reflects the newer commit

    git(crm_root, "reset", "-q", "--hard", "HEAD~1")

    assert list_ids(cli) == ["acme-products", "globex"]
    cli.fails(3, "show", "Initech")
    # Adding it again gets its own id back: nothing of the undone record lingers.
    assert cli.ok("add", "company", "Initech").stdout.strip() == 'Add company "Initech" as initech'


def test_the_index_survives_its_commit_being_rewritten_and_pruned(cli, crm_root):
    """The commit the index was built at can vanish (amend + gc); reads must still work."""
    seed(cli)
    cli.ok("add", "company", "Initech")
    assert "initech" in list_ids(cli)

    git(crm_root, "reset", "-q", "--hard", "HEAD~1")
    (crm_root / GLOBEX).write_text(company_yaml("globex", "Globex Worldwide"))
    git(crm_root, "commit", "-q", "--amend", "-am", "Rename Globex", "--no-verify")
    git(crm_root, "reflog", "expire", "--expire=now", "--all")
    git(crm_root, "gc", "-q", "--prune=now")

    result = cli("list", "companies", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == ["acme-products", "globex"]
    assert "Globex Worldwide" in cli.ok("list", "companies").stdout



# --- (g) a report reads only the folders it needs -------------------------------------------
# A first pipeline report in a fresh clone reads deals/ alone (at 100,000 companies, 5 s
# instead of 41). Each other folder is read when a command first needs it: as of the commit
# the index reflects by then, with the hand edits made since.

def test_a_folder_read_after_a_report_shows_the_commits_and_hand_edits_made_since(cli,
                                                                                   crm_root):
    seed(cli)
    shutil.rmtree(crm_root / ".crmctl")
    assert "12,000" in cli.ok("report", "pipeline").stdout
    [deal] = (crm_root / "deals").rglob("*.yaml")
    deal.write_text(deal.read_text().replace("amount: 12000", "amount: 15000"))
    (crm_root / ACME).write_text(company_yaml("acme-products", "Acme Rockets",
                                              domain="acme.com"))
    git(crm_root, "commit", "-qam", "Edited by hand", "--no-verify")
    (crm_root / GLOBEX).write_text(company_yaml("globex", "Globex Worldwide"))  # uncommitted

    assert "15,000" in cli.ok("report", "pipeline").stdout
    listed = cli.ok("list", "companies").stdout
    assert "Acme Rockets" in listed and "Globex Worldwide" in listed
    assert "Acme Products" not in listed
    git(crm_root, "checkout", "-q", "--", GLOBEX)
    assert "Globex Worldwide" not in cli.ok("list", "companies").stdout


def test_a_report_names_as_left_out_only_the_broken_files_it_reads(cli, crm_root):
    seed(cli)
    cli.ok("add", "company", "Initech")
    cli.ok("log", "acme", "--type", "note", "--note", "Called about the renewal")
    cli.ok("log", "globex", "--type", "note", "--note", "Sent the brochure")
    initech = "companies/in/initech.yaml"
    for path in (GLOBEX, initech):
        (crm_root / path).write_text("name: [\n")
    shutil.rmtree(crm_root / ".crmctl")
    pipeline = cli.ok("report", "pipeline")  # deals only: a company is not left out of it
    assert "Incomplete" not in pipeline.stdout and GLOBEX not in pipeline.stderr
    # Counts per lead source: the companies of the calls are read, and Initech had none.
    activity = cli.ok("report", "activity")
    assert f"Incomplete: 1 file could not be read and is left out (run crmctl check): " \
        f"{GLOBEX}" in activity.stdout
    assert activity.stderr.startswith(f"crmctl: warning: {GLOBEX}:")
    assert initech not in activity.stdout + activity.stderr
    assert GLOBEX in cli.ok("list", "companies").stderr
    # Now from the index, which holds companies/ (another period: not the report kept).
    again = cli.ok("report", "activity", "--since", "2026-01-01")
    assert GLOBEX in again.stdout and initech not in again.stdout + again.stderr
    assert cli.ok("list", "deals").stderr == "", "a list of deals reads no company file"
    assert GLOBEX in cli.ok("list", "companies").stderr


def test_a_report_of_one_month_reads_the_logs_from_that_month_on(cli, crm_root):
    """A cold activity report of March reads the logs of March and later (at 1,000,000
    lines, weeks instead of years): a broken line of January is none of its business, and
    a merge made in May still moves March's call to the company kept (the merge's
    amendment is filed in May). The January report then reads January."""
    jan, mar, may = ({"CRMCTL_NOW": f"2026-{m}-11T09:00:00+00:00"} for m in ("01", "03", "05"))
    cli.ok("add", "company", "Initech", "--source", "webinar", env=jan)
    cli.ok("add", "company", "Globex", "--source", "referral", env=jan)
    cli.ok("log", "Initech", "--type", "note", "--note", "January", env=jan)
    cli.ok("log", "Globex", "--type", "phone-call", "--note", "March", env=mar)
    cli.ok("merge", "initech", "globex", env=may)
    assert sorted(p.name for p in (crm_root / "activities").iterdir()) == \
        ["2026-01", "2026-03", "2026-05"]
    [january] = (crm_root / "activities" / "2026-01").iterdir()
    with january.open("a") as log:
        log.write("{not json\n")
    shutil.rmtree(crm_root / ".crmctl")

    march = cli.ok("report", "activity", "--since", "2026-03-01", "--until", "2026-03-31",
                   "--format", "json", env=may)
    assert "activities/2026-01" not in march.stderr
    sources = {row["source"]: row["total"] for row in json.loads(march.stdout)["sources"]}
    assert sources == {"webinar": 1}, "the call counts for Initech, which Globex became"
    january_report = cli.ok("report", "activity", "--since", "2026-01-01", "--until",
                            "2026-01-31", "--format", "json", env=may)
    assert f"activities/2026-01/{january.name}:2" in january_report.stderr
    assert json.loads(january_report.stdout)["summary"]["notes"] == 1


def test_a_report_reads_the_logs_around_its_period_for_their_amendments_alone(cli, crm_root):
    """A report of March indexes March's log lines; February's and May's it reads only for
    the amendments of March's entries filed there (a merge made in May; a hand-written line
    of 28 February, a night in London that was 1 March in Berlin, its kind escaped, not yet
    committed), and
    it counts as a report that has indexed them all does."""
    jan, mar, may = ({"CRMCTL_NOW": f"2026-{m}-11T09:00:00+00:00"} for m in ("01", "03", "05"))
    for name, source in (("Initech", "webinar"), ("Globex", "referral"), ("Hooli", "fair"),
                         ("Umbrella", "partner")):
        cli.ok("add", "company", name, "--source", source, env=jan)
    cli.ok("log", "Hooli", "--type", "note", "--note", "February",
           "--at", "2026-02-20T10:00:00+00:00", env=mar)
    cli.ok("log", "Globex", "--type", "phone-call", "--note", "merged away", env=mar)
    cli.ok("log", "Hooli", "--type", "email-sent", "--note", "repointed", env=mar)
    cli.ok("log", "Hooli", "--type", "note", "--note", "April",
           "--at", "2026-04-20T10:00:00+00:00", env=may)
    cli.ok("merge", "initech", "globex", env=may)
    [repointed] = [e for e in map(json.loads, next(
        (crm_root / "activities" / "2026-03").iterdir()).read_text().splitlines())
        if e.get("note") == "repointed"]
    (crm_root / "activities" / "2026-02" / "by-hand.jsonl").write_text(json.dumps({
        "id": "byhand0001", "kind": "amend", "at": "2026-02-28T23:30:00+00:00",
        "amends": repointed["id"], "set": {"company": "umbrella"},
        "by": "sam@example.com"}).replace("amend", "\\u0061mend") + "\n")  # escaped
    [may_log] = (crm_root / "activities" / "2026-05").iterdir()
    with may_log.open("a") as log:
        log.write('{"kind": "amend", "amends": \n')
        # An amend line that names no entry amends none, not the one without an id.
        log.write(json.dumps({"id": "noamends01", "kind": "amend", "by": "sam@example.com",
                              "at": "2026-05-02T09:00:00+00:00", "set": {"company": "umbrella"}})
                  + "\n")
    # A folder of logs made by hand is no month, whatever its name ends with: read in full.
    imported = crm_root / "activities" / "imported-2026-05" / "calls.jsonl"
    imported.parent.mkdir()
    imported.write_text(json.dumps({"kind": "activity", "at": "2026-03-15T09:00:00+00:00",
                                    "type": "note", "company": "hooli", "note": "no id",
                                    "by": "sam@example.com"}) + "\n")
    shutil.rmtree(crm_root / ".crmctl")

    def march() -> tuple[dict, str]:
        shown = cli.ok("report", "activity", "--since", "2026-03-01", "--until", "2026-03-31",
                       "--format", "json", env=may)
        return json.loads(shown.stdout), shown.stderr
    cold, left_out = march()
    assert {row["source"]: row["total"] for row in cold["sources"]} == \
        {"webinar": 1, "partner": 1, "fair": 1}, \
        "Globex's call is Initech's, Hooli's Umbrella's, the imported one still Hooli's"
    assert f"{may_log.relative_to(crm_root).as_posix()}:" in left_out  # maybe an amendment
    with sqlite3.connect(crm_root / ".crmctl" / "index.sqlite") as db:
        loaded = db.execute("SELECT value FROM meta WHERE key='loaded'").fetchone()[0]
    assert "activities/2026-03" in loaded.split(",") and "activities/2026-05" not in loaded

    cli.ok("report", "activity", "--since", "2026-02-01", "--until", "2026-05-31", env=may)
    shutil.rmtree(crm_root / ".crmctl" / "reports")  # built again, from every month indexed
    assert march()[0] == cold


def test_the_task_report_reads_the_folders_of_what_its_tasks_are_for(cli, crm_root):
    """Tasks for companies need neither people nor 1,000,000 log lines: a broken person
    file and a broken log line are none of the report's business, until a task comes from
    an activity (its note is read from the logs) and one is for a person."""
    seed(cli)
    cli.ok("task", "add", "Send the proposal", "--for", "globex", "--due", "2026-12-10")
    cli.ok("log", "globex", "--type", "note", "--note", "Sent the brochure")
    [log] = (crm_root / "activities").rglob("*.jsonl")
    with log.open("a") as broken:
        broken.write("{not json\n")
    person = next((crm_root / "people").rglob("*.yaml"))
    good = person.read_text()
    person.write_text("name: [\n")
    shutil.rmtree(crm_root / ".crmctl")

    report = cli.ok("report", "tasks", "--days", "30")
    assert "Send the proposal" in report.stdout and "Globex" in report.stdout
    assert "Incomplete" not in report.stdout and report.stderr == ""
    cli.ok("log", "acme", "--type", "note", "--note", "Asked for a quote",
           "--follow-up", "+3d: send the quote")
    person.write_text(good)
    cli.ok("task", "add", "Call Ada", "--for", "ada lovelace", "--due", "2026-12-11")
    person.write_text("name: [\n")
    shutil.rmtree(crm_root / ".crmctl")

    report = cli.ok("report", "tasks", "--days", "30")
    assert "Asked for a quote" in report.stdout
    assert str(log.relative_to(crm_root)) in report.stderr
    assert str(person.relative_to(crm_root)) in report.stderr


def test_a_cold_report_reads_what_it_names_as_the_work_tree_has_it(cli, crm_root):
    """Without the index, the task and activity reports read only the records their tasks
    and calls name, each as a read of its whole folder would have it: the commit's file,
    the work tree's where it differs (a rename not committed), none for a file deleted by
    hand; a broken file nothing names is none of their business."""
    seed(cli)
    cli.ok("add", "company", "Initech")
    cli.ok("task", "add", "Send the proposal", "--for", "globex", "--due", "2026-12-10")
    cli.ok("task", "add", "Call Ada", "--for", "ada lovelace", "--due", "2026-12-10")
    cli.ok("task", "add", "Renew", "--for", "acme", "--due", "2026-12-10")
    cli.ok("log", "globex", "--type", "note", "--note", "Sent the brochure")
    (crm_root / GLOBEX).write_text(company_yaml("globex", "Globex Worldwide").replace(
        "status: lead", "status: lead\nsource: webinar"))
    (crm_root / ACME).unlink()
    (crm_root / "companies/in/initech.yaml").write_text("name: [\n")
    shutil.rmtree(crm_root / ".crmctl")

    december = {"CRMCTL_NOW": "2026-12-01T09:00:00+00:00"}
    report = cli.ok("report", "tasks", "--days", "30", "--format", "json", env=december)
    about = {t["text"]: t["about"] for t in json.loads(report.stdout)["tasks"]}
    assert about == {"Send the proposal": "Globex Worldwide", "Call Ada": "Ada Lovelace",
                     "Renew": "acme-products"}
    assert report.stderr == ""
    activity = cli.ok("report", "activity", "--format", "json", "--since", "2026-01-01")
    assert {r["source"]: r["total"] for r in json.loads(activity.stdout)["sources"]} == \
        {"webinar": 1}
    assert activity.stderr == ""
    assert not {"companies", "people"} & folders_read(crm_root), "read by id, not in full"
    # A listing, run again and again, reads those folders in full: so it names Initech, once.
    listed = cli.ok("task", "list", "--all")
    assert "Globex Worldwide" in listed.stdout
    assert "companies/in/initech.yaml" in listed.stderr and "more" not in listed.stderr
    assert {"companies", "people"} <= folders_read(crm_root)


def test_a_record_read_by_id_is_the_file_named_by_it_whether_its_folder_is_read_or_not(
        cli, crm_root):
    """A file whose id: is not its name (crmctl check names it) is what its name says, read
    alone or with its folder: a report kept from before the folder was read stays true."""
    seed(cli)
    cli.ok("task", "add", "Send the proposal", "--for", "globex", "--due", "2026-12-10")
    (crm_root / GLOBEX).write_text(company_yaml("other", "Globex Other"))
    shutil.rmtree(crm_root / ".crmctl")
    december = {"CRMCTL_NOW": "2026-12-01T09:00:00+00:00"}

    def about(days: str) -> str:
        report = cli.ok("report", "tasks", "--days", days, "--format", "json", env=december)
        [task] = json.loads(report.stdout)["tasks"]
        return task["about"]

    assert about("30") == "Globex Other"
    assert "companies" not in folders_read(crm_root)
    cli.ok("list", "companies")
    assert "companies" in folders_read(crm_root)
    assert about("31") == "Globex Other"


def test_a_log_reads_the_logs_of_its_heads_up_weeks_not_years(cli, crm_root):
    """The first log in a fresh clone reads the records it names and the logs of the last
    weeks, for the heads-up of a teammate's call: at 1,000,000 log lines, 20 s saved."""
    old = {"CRMCTL_NOW": "2025-03-11T09:00:00+00:00"}
    now = {"CRMCTL_NOW": "2026-06-11T09:00:00+00:00"}
    cli.ok("add", "company", "Globex", env=old)
    cli.ok("log", "globex", "--type", "phone-call", "--note", "Long ago", env=old)
    cli.ok("log", "globex", "--type", "phone-call", "--note", "Lately", env=now)
    shutil.rmtree(crm_root / ".crmctl")
    cli.ok("log", "globex", "--type", "note", "--note", "Again", env=now)
    logs = {f for f in folders_read(crm_root) if f.startswith("activities")}
    assert logs and all(f >= "activities/2026-04" for f in logs), logs


def test_a_merge_made_the_month_before_by_another_clock_still_counts(cli, crm_root):
    """A call logged at 01:30 on 1 April in Berlin is filed in April; a merge made a
    quarter of an hour later on a UTC clock is filed in March. A cold report of April
    reads March as well, and counts the call for the company it was merged into."""
    march = {"CRMCTL_NOW": "2026-03-31T20:00:00+00:00"}
    cli.ok("add", "company", "Globex", "--source", "webinar", env=march)
    cli.ok("add", "company", "Initech", "--source", "referral", env=march)
    cli.ok("log", "initech", "--type", "phone-call", "--note", "From Berlin",
           env={"CRMCTL_NOW": "2026-04-01T01:30:00+02:00"})
    cli.ok("merge", "globex", "initech", env={"CRMCTL_NOW": "2026-03-31T23:45:00+00:00"})
    shutil.rmtree(crm_root / ".crmctl")

    april = cli.ok("report", "activity", "--since", "2026-04-01", "--until", "2026-04-30",
                   "--format", "json", env={"CRMCTL_NOW": "2026-04-30T12:00:00+00:00"})
    sources = {row["source"]: row["total"] for row in json.loads(april.stdout)["sources"]}
    assert sources == {"webinar": 1}


def test_reverting_a_merge_puts_its_activities_back(cli, crm_root):
    """The merge's amend lines moved Initech's call to Globex; once `git revert` takes
    them away, the call is Initech's again, as its own line says."""
    cli.ok("add", "company", "Globex")
    cli.ok("add", "company", "Initech")
    cli.ok("log", "initech", "--type", "phone-call", "--note", "Talked to Bill")
    cli.ok("merge", "globex", "initech")
    assert "Talked to Bill" in cli.ok("show", "globex").stdout

    git(crm_root, "revert", "--no-edit", "HEAD")

    assert "Talked to Bill" in cli.ok("show", "initech").stdout
    assert "Talked to Bill" not in cli.ok("show", "globex").stdout


def test_what_was_read_before_the_first_commit_gives_way_to_it(tmp_path):
    """Without a commit the index reads the files from disk each time; once there is
    one, it reads the commit and what differs from it, never what it read before."""
    made = tmp_path / "made"
    crmctl("init", str(made), cwd=tmp_path)
    root = tmp_path / "crm"
    root.mkdir()
    git(root, "init", "-q")
    for name in ("crm.yaml", ".gitignore", ".gitattributes"):
        shutil.copy(made / name, root / name)
    (root / "companies" / "ac").mkdir(parents=True)
    (root / ACME).write_text(company_yaml("acme-products", "Acme Products"))
    assert "Acme Products" in crmctl("list", "companies", cwd=root).stdout

    (root / ACME).write_text(company_yaml("acme-products", "Acme Rockets"))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "The CRM, made by hand", "--no-verify")

    listed = crmctl("list", "companies", cwd=root).stdout
    assert "Acme Rockets" in listed and "Acme Products" not in listed


def test_a_command_reads_again_what_another_cleared_from_the_index(cli, crm_root):
    """One crmctl (here the library, as a long command) has read the companies; another,
    after an edit of crm.yaml, clears the index and reads the deals alone. The first
    one's next question reads the companies again instead of finding none."""
    from crmctl.store import Crm

    seed(cli)
    first = Crm(crm_root)
    assert [r.id for r in first.index.select("company")] == ["acme-products", "globex"]
    text = (crm_root / "crm.yaml").read_text()
    (crm_root / "crm.yaml").write_text(text.replace("fields:\n  company: {}\n", "fields:\n  "
                                                    "company:\n    territory:\n      type: string\n"))
    git(crm_root, "commit", "-qam", "A field of our own")
    assert crmctl("list", "deals", "-q", cwd=crm_root).stdout.split() == \
        ["acme-products-renewal-2027"]

    assert [r.id for r in first.index.select("company")] == ["acme-products", "globex"]


# --- (d) writes that name their records skip the scan for hand edits, safely ----------------
# log, move and task skip `git status` over the whole tree (most of their time at 100,000
# records); these are the hand edits such a skip could miss, each seen all the same.

def test_log_finds_a_company_created_by_hand_since_the_last_command(cli, crm_root):
    seed(cli)
    cli.ok("list", "companies")
    new = crm_root / "companies" / "in" / "initech.yaml"
    new.parent.mkdir(parents=True)
    new.write_text(company_yaml("initech", "Initech"))

    cli.ok("log", "Initech", "--type", "note", "--note", "found by hand")

    assert "found by hand" in cli.ok("show", "initech").stdout


def test_log_uses_a_name_given_by_hand_since_the_last_command(cli, crm_root):
    seed(cli)
    cli.ok("list", "companies")
    (crm_root / GLOBEX).write_text(company_yaml("globex", "Globex Hyperion", domain="globex.com"))

    cli.ok("log", "Globex Hyperion", "--type", "note", "--note", "renamed")

    assert "renamed" in cli.ok("show", "globex").stdout
    assert "Globex Hyperion" in git(crm_root, "log", "-1", "--format=%s")


def test_log_to_a_company_deleted_by_hand_is_refused_not_logged(cli, crm_root):
    seed(cli)
    cli.ok("list", "companies")
    (crm_root / GLOBEX).unlink()

    result = cli.fails(3, "log", "Globex", "--type", "note", "--note", "gone")

    assert "globex" in result.stderr.lower()


def test_move_reads_a_hand_edit_of_its_record_and_keeps_it(cli, crm_root):
    seed(cli)
    cli.ok("list", "companies")
    edited = (crm_root / GLOBEX).read_text().replace("domain: globex.com", "domain: globex.io")
    (crm_root / GLOBEX).write_text(edited)

    cli.ok("move", "Globex", "prospect")

    committed = git(crm_root, "show", f"HEAD:{GLOBEX}")
    assert "domain: globex.io" in committed and "status: prospect" in committed


def test_a_hand_edit_seen_by_a_write_and_then_reverted_shows_the_committed_file(cli, crm_root):
    """The write re-read the edited file without a full scan; reverting it by hand must
    still bring the committed version back to every read."""
    seed(cli)
    cli.ok("list", "companies")
    original = (crm_root / ACME).read_text()
    (crm_root / ACME).write_text(original.replace("name: Acme Products, Inc.",
                                                  "name: Zenith Works"))
    # By its id, which the index already knew: the write reads the edited file itself.
    added = cli.ok("task", "add", "Call them", "--for", "acme-products")
    assert 'for "Zenith Works"' in added.stdout

    git(crm_root, "checkout", "--", ACME)

    listed = cli.ok("list", "companies").stdout
    assert "Acme Products, Inc." in listed and "Zenith Works" not in listed


def test_log_by_the_id_of_a_company_created_by_hand_is_not_mistaken_for_a_close_name(
        cli, crm_root):
    """globex-corp, written by hand and not yet read, must not be taken for Globex (whose
    name it normalises to) just because the write skipped the scan."""
    seed(cli)
    cli.ok("list", "companies")
    new = crm_root / "companies" / "gl" / "globex-corp.yaml"
    new.write_text(company_yaml("globex-corp", "Globex Corp"))

    logged = cli.ok("log", "globex-corp", "--type", "note", "--note", "to the new one")

    assert '"Globex Corp"' in logged.stdout
    assert "to the new one" in cli.ok("show", "globex-corp").stdout
    assert "to the new one" not in cli.ok("show", "company/globex").stdout


def test_log_by_a_name_taken_by_hand_from_one_record_and_given_to_another(cli, crm_root):
    """Acme renamed by hand to Acme Old, and a new file named Acme Products, Inc.: the
    name now means the new file, whatever the index remembers."""
    seed(cli)
    cli.ok("list", "companies")
    original = (crm_root / ACME).read_text()
    (crm_root / ACME).write_text(original.replace("name: Acme Products, Inc.",
                                                  "name: Acme Old"))
    new = crm_root / "companies" / "ac" / "acme-new.yaml"
    new.write_text(company_yaml("acme-new", "Acme Products, Inc."))

    logged = cli.ok("log", "Acme Products, Inc.", "--type", "note", "--note", "new one")

    assert logged.stdout.startswith('Log note with "Acme Products, Inc."')
    assert "new one" in cli.ok("show", "acme-new").stdout
    assert "new one" not in cli.ok("show", "acme-products").stdout


def test_a_file_named_in_another_encoding_anywhere_in_the_repo_stops_no_read(cli, crm_root):
    seed(cli)
    (crm_root / "notes").mkdir()
    (crm_root / "notes" / "caf\udce9.txt".encode("utf-8", "surrogateescape").decode(
        "utf-8", "surrogateescape")).write_text("from a Latin-1 machine")

    assert list_ids(cli) == ["acme-products", "globex"]


def test_a_record_file_that_git_status_does_not_list_is_still_read_by_its_id(cli, crm_root):
    """git's scan can fail to list a file that is there (its untracked cache can miss a file
    made just after it was saved; an exclude rule hides one for good). Named by its id, the
    file is read as it is: a close name (Globex) never stands in for it."""
    seed(cli)
    cli.ok("list", "companies")
    new = crm_root / "companies" / "gl" / "globex-corp.yaml"
    new.write_text(company_yaml("globex-corp", "Globex Corp"))
    with open(crm_root / ".git" / "info" / "exclude", "a") as exclude:
        exclude.write("companies/gl/globex-corp.yaml\n")
    assert "globex-corp" not in status(crm_root)

    logged = cli.ok("log", "globex-corp", "--type", "note", "--note", "to the new one")

    assert '"Globex Corp"' in logged.stdout
    assert "to the new one" in cli.ok("show", "globex-corp").stdout
    assert "to the new one" not in cli.ok("show", "company/globex").stdout


def test_every_file_of_a_folder_made_by_hand_is_read_and_an_ignored_one_is_not(cli, crm_root):
    """git lists a folder holding only untracked files as one entry ("companies/in/"): each
    record file in it is read, and a file the repository ignores is left alone."""
    seed(cli)
    folder = crm_root / "companies" / "in"
    folder.mkdir()
    (folder / "initech.yaml").write_text(company_yaml("initech", "Initech"))
    (folder / "intertrode.yaml").write_text(company_yaml("intertrode", "Intertrode"))
    (folder / "invalid.yaml").write_text("name: [not a company\n")
    (crm_root / ".git" / "info" / "exclude").write_text("companies/in/invalid.yaml\n")
    assert "?? companies/in/\n" in git(crm_root, "status", "--porcelain") + "\n"

    assert list_ids(cli) == ["acme-products", "globex", "initech", "intertrode"]
    assert crmctl("list", "companies", "--quiet", cwd=crm_root).stdout.split() == \
        ["acme-products", "globex", "initech", "intertrode"]  # through the launcher's status
    assert "invalid" not in cli.ok("list", "companies").stderr  # no broken file to warn of


def test_a_read_leaves_gits_untracked_cache_as_a_plain_git_status_wants_it(cli, crm_root,
                                                                            tmp_path):
    """crmctl's status and the user's `git status` keep git's untracked cache in the same
    mode: after a read, `git status` makes no node of that cache afresh (in another mode
    it rebuilt the whole cache: 0.5-0.8 s at 100,000 records, on each side of each switch)."""
    seed(cli)
    for name in ("Initech", "Umbrella", "Hooli", "Vandelay"):
        cli.ok("add", "company", name)
    git(crm_root, "status", "--porcelain")
    assert crmctl("list", "companies", cwd=crm_root).returncode == 0

    trace = tmp_path / "trace2.txt"
    subprocess.run(["git", "status", "--porcelain"], cwd=crm_root, check=True,
                   capture_output=True, env={**os.environ, "GIT_TRACE2_PERF": str(trace)})
    counts = dict(line.rsplit("|", 1)[-1].strip().lstrip(".").split(":")
                  for line in trace.read_text().splitlines() if "| read_directo |" in line
                  and ":" in line.rsplit("|", 1)[-1])
    assert counts["node-creation"] == "0", counts


def test_a_broken_crm_yaml_stops_a_read_and_marks_no_record_broken(cli, crm_root):
    """crm.yaml types every record: a broken one fails the read with its own line, and is
    never taken for a problem of each record file (crm.yaml is read when a record is)."""
    seed(cli)
    cli.ok("list", "companies")
    process = crm_root / "crm.yaml"
    good = process.read_text()
    process.write_text(good + "stages: [\n")
    for command in (("list", "companies"), ("show", "acme-products")):
        failed = cli.fails(6, *command)
        assert failed.stderr.startswith("crmctl: error: crm.yaml:"), failed.stderr
    process.write_text(good)
    listed = cli.ok("list", "companies")
    assert listed.stderr == "" and "Acme Products" in listed.stdout
