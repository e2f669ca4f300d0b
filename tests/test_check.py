"""`crmctl check`: every problem in every CRM file, one ``path:line: message`` line each.

Users edit record files by hand; check (and the pre-commit hook that runs it) tells them
exactly where each mistake is, all of them at once, and exits 1.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from conftest import git

STATUSES = ("lead, contact, prospect, client, past-client, unqualified, requested-callback, "
            "do-not-contact")
STAGES = "contact-made, meeting-arranged, qualified, proposal-presented, in-negotiation, won, lost"
STAMP = "'2026-01-05T09:00:00+00:00'"


def write(root: Path, rel: str, text: str) -> None:
    """A hand edit: the user writes the file in their editor."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def problems(cli) -> list[str]:
    """The problem lines `crmctl check` prints; it must exit 1 and count them on stderr."""
    result = cli("check")
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = result.stdout.splitlines()
    assert result.stderr == f"{len(lines)} problem(s) found\n"
    assert "Traceback" not in result.stdout + result.stderr
    return lines


def assert_clean(cli) -> None:
    result = cli("check")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0, "", "All CRM files are valid.\n")


@pytest.fixture
def sales(cli):
    """Two companies with a person each, and a deal with Acme's contact: all made by crmctl."""
    cli.ok("add", "company", "Acme", "--domain", "acme.com")
    cli.ok("add", "company", "Globex")
    cli.ok("add", "person", "Jane Doe", "--company", "acme", "--email", "jane@acme.com")
    cli.ok("add", "person", "Hank Scorpio", "--company", "globex")
    cli.ok("add", "deal", "Renewal", "--company", "acme", "--person", "jane-doe",
           "--amount", "12000", "--close", "2026-06-30")
    assert_clean(cli)
    return cli


# --- clean CRMs --------------------------------------------------------------------------

def test_a_new_crm_is_clean(cli):
    assert_clean(cli)


def test_check_is_clean_after_normal_add_commands(cli, crm_root):
    text = (crm_root / "crm.yaml").read_text()
    (crm_root / "crm.yaml").write_text(text.replace(
        "  company: {}\n", "  company:\n    zip:\n      type: string\n"
                           "    employees:\n      type: integer\n"))
    git(crm_root, "commit", "-qam", "Declare company fields")
    cli.ok("add", "company", "Acme Products, Inc.", "--domain", "https://www.Acme.com/about",
           "--status", "prospect", "--source", "trade fair", "--tag", "b2b,emea",
           "--set", "zip=02134", "--set", "employees=250",
           "--set", "notes=Met at the fair.\nCall back: NO rush\n")
    cli.ok("add", "company", "株式会社トヨタ")
    cli.ok("add", "company", "--", "--help")
    cli.ok("add", "person", "José Núñez", "--company", "acme-products", "--title", "CTO",
           "--email", "Jose@Acme.com", "--phone", "+1 (555) 010-0100 x12", "--tag", "vip")
    cli.ok("add", "person", "Yuki Sato", "--company", "株式会社トヨタ")
    cli.ok("add", "deal", "Renewal 2027", "--company", "acme-products", "--person", "jose-nunez",
           "--amount", "12,000.50", "--currency", "eur", "--stage", "qualified",
           "--probability", "45", "--close", "+30d")
    cli.ok("add", "deal", "Pilot", "--company", "株式会社トヨタ")
    assert_clean(cli)


# --- each hand-made mistake, at its line ---------------------------------------------------

def test_invalid_yaml(sales, crm_root):
    write(crm_root, "people/ha/hank-scorpio.yaml", f"""\
        id: hank-scorpio
        name: Hank Scorpio
        title: CEO: Globex
        company: globex
        status: lead
        created: {STAMP}
        updated: {STAMP}
    """)
    assert problems(sales) == ["people/ha/hank-scorpio.yaml:3: not valid YAML: mapping values "
                               "are not allowed in this context"]


def test_a_duplicate_key(sales, crm_root):
    write(crm_root, "people/ha/hank-scorpio.yaml", f"""\
        id: hank-scorpio
        name: Hank Scorpio
        company: globex
        status: lead
        title: CEO
        status: client
        created: {STAMP}
        updated: {STAMP}
    """)
    assert problems(sales) == [
        "people/ha/hank-scorpio.yaml:6: duplicate key 'status' (first at line 4); keep one"]


def test_an_unknown_status_lists_the_valid_ones(sales, crm_root):
    write(crm_root, "companies/gl/globex.yaml", f"""\
        id: globex
        name: Globex
        status: customer
        created: {STAMP}
        updated: {STAMP}
    """)
    assert problems(sales) == [
        f"companies/gl/globex.yaml:3: status: 'customer' is not one of: {STATUSES}"]


def test_an_unknown_stage_lists_the_pipeline(sales, crm_root):
    write(crm_root, "deals/ac/acme-renewal.yaml", f"""\
        id: acme-renewal
        name: Renewal
        company: acme
        stage: closed-won
        probability: 100
        created: {STAMP}
        updated: {STAMP}
    """)
    assert problems(sales) == [
        f"deals/ac/acme-renewal.yaml:4: stage: 'closed-won' is not one of: {STAGES}"]


def test_a_negative_amount(sales, crm_root):
    write(crm_root, "deals/ac/acme-renewal.yaml", f"""\
        id: acme-renewal
        name: Renewal
        company: acme
        person: jane-doe
        amount: -5000
        currency: USD
        stage: contact-made
        probability: 10
        created: {STAMP}
        updated: {STAMP}
    """)
    assert problems(sales) == ["deals/ac/acme-renewal.yaml:5: amount: -5000 is below the minimum 0"]


def test_an_amount_that_is_not_a_number(sales, crm_root):
    write(crm_root, "deals/ac/acme-renewal.yaml", f"""\
        id: acme-renewal
        name: Renewal
        company: acme
        amount: 12k
        stage: contact-made
        probability: 10
        created: {STAMP}
        updated: {STAMP}
    """)
    assert problems(sales) == ["deals/ac/acme-renewal.yaml:4: amount: '12k' is not a number"]


@pytest.mark.parametrize("close", ["2026-02-30", "2026-13-01", "30/06/2026", "next week"])
def test_a_bad_date(sales, crm_root, close):
    write(crm_root, "deals/ac/acme-renewal.yaml", f"""\
        id: acme-renewal
        name: Renewal
        company: acme
        stage: contact-made
        probability: 10
        close: {close}
        created: {STAMP}
        updated: {STAMP}
    """)
    assert problems(sales) == [f"deals/ac/acme-renewal.yaml:6: close: '{close}' is not a valid close"]


def test_a_bad_timestamp(sales, crm_root):
    write(crm_root, "companies/gl/globex.yaml", f"""\
        id: globex
        name: Globex
        status: lead
        created: yesterday
        updated: {STAMP}
    """)
    assert problems(sales) == ["companies/gl/globex.yaml:4: created: 'yesterday' is not a valid created"]


def test_a_person_whose_company_does_not_exist(sales, crm_root):
    write(crm_root, "people/ha/hank-scorpio.yaml", f"""\
        id: hank-scorpio
        name: Hank Scorpio
        title: CEO
        company: globex-corp
        status: lead
        created: {STAMP}
        updated: {STAMP}
    """)
    assert problems(sales) == [
        "people/ha/hank-scorpio.yaml:4: company 'globex-corp' does not exist"]


def test_activities_and_tasks_about_a_deleted_record_are_reported(sales, crm_root):
    sales.ok("log", "Hank Scorpio", "--type", "note", "--note", "hello",
             "--at", "2026-01-05 09:00")
    sales.ok("task", "add", "Call Hank", "--for", "Hank Scorpio", "--due", "2026-01-09")
    git(crm_root, "rm", "-q", "people/ha/hank-scorpio.yaml")
    git(crm_root, "commit", "-q", "--no-verify", "-m", "Remove Hank by hand")
    [log] = [p.relative_to(crm_root).as_posix() for p in crm_root.glob("activities/*/*.jsonl")]
    [tasks] = [p.relative_to(crm_root).as_posix() for p in crm_root.glob("tasks/*/*.jsonl")]
    [task_id] = [t["id"] for t in json.loads(sales.ok("task", "list", "--format",
                                                      "json").stdout)]
    assert problems(sales) == [
        f"{log}:1: person 'hank-scorpio' does not exist (restore it, or re-point this entry"
        " with an amend line)",
        f"{tasks}:1: task {task_id}: person 'hank-scorpio' does not exist"]


def test_an_amend_line_whose_entry_is_nowhere(sales, crm_root):
    sales.ok("log", "Acme", "--type", "note", "--note", "hello", "--at", "2026-01-05 09:00")
    [log] = list(crm_root.glob("activities/*/*.jsonl"))
    with log.open("a", encoding="utf-8") as out:
        out.write('{"id":"zzzzzzzzzz","kind":"amend","at":"2026-01-06T09:00:00+00:00",'
                  '"by":"sam@example.com","amends":"nosuchentry","set":{"person":null}}\n')
    assert problems(sales) == [f"{log.relative_to(crm_root).as_posix()}:2: amends entry "
                               "nosuchentry, which no log holds"]


def test_log_lines_edited_by_hand_are_read_or_named_line_by_line(sales, crm_root):
    """Spaces around a line and a Windows line end leave it one entry; a line that is not
    exactly one JSON object is named with json's reason, and the lines after it still count."""
    sales.ok("log", "Acme", "--type", "note", "--note", "first", "--at", "2026-01-05 09:00")
    [log] = list(crm_root.glob("activities/*/*.jsonl"))

    def entry(rid: str, note: str) -> str:
        return (f'{{"id":"{rid}","kind":"activity","at":"2026-01-05T1{len(note) % 10}:00:00+00:00",'
                f'"type":"note","company":"acme","note":"{note}","by":"sam@example.com"}}')
    with log.open("a", encoding="utf-8", newline="") as out:
        out.write("".join(f"{line}\n" for line in [
            " " + entry("a1aaaaaaaa", "spaced before"), entry("a2aaaaaaaa", "spaced after") + "  ",
            entry("a3aaaaaaaa", "windows") + "\r", entry("b1aaaaaaaa", "two") + " " +
            entry("b2aaaaaaaa", "on a line"), "[1]", entry("c1aaaaaaaa", "cut")[:-5], "",
            entry("d1aaaaaaaa", "after them")]))
    where = log.relative_to(crm_root).as_posix()
    assert problems(sales) == [f"{where}:5: not a JSON object: Extra data",
                               f"{where}:6: not a JSON object",
                               f"{where}:7: not a JSON object: Unterminated string starting at"]
    shown = sales("show", "acme").stdout
    assert all(note in shown for note in ("first", "spaced before", "spaced after", "windows",
                                          "after them")), shown
    assert "on a line" not in shown


def test_a_deal_whose_person_works_at_another_company(sales, crm_root):
    write(crm_root, "deals/ac/acme-renewal.yaml", f"""\
        id: acme-renewal
        name: Renewal
        company: acme
        person: hank-scorpio
        stage: contact-made
        probability: 10
        created: {STAMP}
        updated: {STAMP}
    """)
    assert problems(sales) == [
        "deals/ac/acme-renewal.yaml:4: person 'hank-scorpio' works at globex, not at acme"]


def test_a_deal_whose_person_does_not_exist(sales, crm_root):
    write(crm_root, "deals/ac/acme-renewal.yaml", f"""\
        id: acme-renewal
        name: Renewal
        company: acme
        person: wile-e-coyote
        stage: contact-made
        probability: 10
        created: {STAMP}
        updated: {STAMP}
    """)
    assert problems(sales) == [
        "deals/ac/acme-renewal.yaml:4: person 'wile-e-coyote' does not exist"]


def test_a_file_whose_id_does_not_match_its_name(sales, crm_root):
    write(crm_root, "companies/gl/globex.yaml", f"""\
        name: Globex
        id: globex-corp
        status: lead
        created: {STAMP}
        updated: {STAMP}
    """)
    assert problems(sales) == [
        "companies/gl/globex.yaml:2: id 'globex-corp' does not match the file name globex.yaml",
        # and so the company globex is gone for its person:
        "people/ha/hank-scorpio.yaml:3: company 'globex' does not exist",
    ]


def test_a_file_in_the_wrong_shard_folder(sales, crm_root):
    (crm_root / "companies/gl/globex.yaml").rename(crm_root / "companies/ac/globex.yaml")
    assert problems(sales) == ["companies/ac/globex.yaml:1: this file belongs at "
                               "companies/gl/globex.yaml"]


def test_a_stray_file_among_the_records(sales, crm_root):
    write(crm_root, "companies/notes.txt", "remember to call Acme\n")
    assert problems(sales) == ["companies/notes.txt:1: not a record file: records are "
                               "<folder>/<shard>/<id>.yaml"]


def test_an_undeclared_field_is_reported_at_its_own_line(sales, crm_root):
    write(crm_root, "companies/gl/globex.yaml", f"""\
        id: globex
        name: Globex
        status: lead
        fax: '+1 555 0199'
        created: {STAMP}
        updated: {STAMP}
    """)
    assert problems(sales) == [
        "companies/gl/globex.yaml:4: unknown field fax (declare it under fields: in crm.yaml;"
        " known: id, name, aliases, merged, domain, status, owner, source, campaign, tags, notes, created,"
        " updated)"]


def test_a_missing_required_field(sales, crm_root):
    write(crm_root, "companies/gl/globex.yaml", f"""\
        id: globex
        name: Globex
        created: {STAMP}
        updated: {STAMP}
    """)
    assert problems(sales) == ["companies/gl/globex.yaml:1: missing field status"]


def test_a_file_that_cannot_be_read_does_not_make_its_people_and_deals_look_orphaned(sales,
                                                                                       crm_root):
    """The company file is there, only broken: one problem, not one per person and deal."""
    write(crm_root, "companies/ac/acme.yaml", f"""\
        id: acme
        name: Acme
        status: lead
        status: client
        created: {STAMP}
        updated: {STAMP}
    """)
    assert problems(sales) == [
        "companies/ac/acme.yaml:4: duplicate key 'status' (first at line 3); keep one"]


# --- crm.yaml ----------------------------------------------------------------------------

def line_number(root: Path, rel: str, starts_with: str) -> int:
    lines = (root / rel).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(starts_with))


def edit(root: Path, rel: str, old: str, new: str) -> None:
    text = (root / rel).read_text()
    assert old in text
    (root / rel).write_text(text.replace(old, new, 1))


def test_a_broken_crm_yaml_is_reported_at_its_line(sales, crm_root):
    edit(crm_root, "crm.yaml", "currency: USD\n", "currency: dollars\n")
    line = line_number(crm_root, "crm.yaml", "currency:")
    assert problems(sales) == [f"crm.yaml:{line}: currency: 'dollars' is not a valid currency"]


def test_every_problem_of_crm_yaml_is_listed(sales, crm_root):
    edit(crm_root, "crm.yaml", "currency: USD\n", "currency: dollars\n")
    edit(crm_root, "crm.yaml", "duplicate_threshold: 90\n", "duplicate_threshold: 20\n")
    assert problems(sales) == [
        f"crm.yaml:{line_number(crm_root, 'crm.yaml', 'currency:')}: "
        "currency: 'dollars' is not a valid currency",
        f"crm.yaml:{line_number(crm_root, 'crm.yaml', 'duplicate_threshold:')}: "
        "duplicate_threshold: 20 is below the minimum 50",
    ]


def test_an_unknown_setting_in_crm_yaml_is_reported_at_its_line(sales, crm_root):
    edit(crm_root, "crm.yaml", "currency: USD\n", "currency: USD\nlanguage: en\n")
    [problem] = problems(sales)
    assert problem.startswith(f"crm.yaml:{line_number(crm_root, 'crm.yaml', 'language:')}: ")
    assert "language" in problem
    assert "declare it under fields" not in problem  # that hint is for record files


def test_crm_yaml_that_is_not_valid_yaml(sales, crm_root):
    edit(crm_root, "crm.yaml", "currency: USD\n", "currency: USD\ncurrency: EUR\n")
    line = line_number(crm_root, "crm.yaml", "currency: EUR")
    assert problems(sales) == [
        f"crm.yaml:{line}: duplicate key 'currency' (first at line {line - 1}); keep one"]


def test_crm_yaml_is_read_again_whenever_its_text_changes(sales, crm_root):
    """Each command reads crm.yaml's document from .crmctl/process.json while the text is
    the one it was made from; any other text is parsed and checked again."""
    kept = crm_root / ".crmctl" / "process.json"
    assert kept.is_file()  # kept by the commands that made the sales
    (crm_root / ".crmctl" / "process-valid").write_text("kept by crmctl before")
    edit(crm_root, "crm.yaml", "      - no-answer\n", "      - no-answer\n      - wrong-number\n")
    sales.ok("log", "jane-doe", "--type", "phone-attempt", "--outcome", "wrong-number")

    edit(crm_root, "crm.yaml", "      - wrong-number\n", "      - wrong-number\n    - : x\n")
    refused = sales("log", "jane-doe", "--type", "phone-attempt", "--outcome", "no-answer")
    assert refused.exit_code != 0 and "crm.yaml:" in refused.stderr, refused.stderr

    edit(crm_root, "crm.yaml", "    - : x\n", "")
    kept.write_text('{"digest": "')  # cut short, as by a full disk
    sales.ok("log", "jane-doe", "--type", "phone-attempt", "--outcome", "wrong-number")
    saved = json.loads(kept.read_text())
    outcomes = next(t for t in saved["document"]["activity_types"] if t["id"] == "phone-attempt")
    assert "wrong-number" in outcomes["outcomes"]
    assert saved["document"]["pipeline"][0]["probability"] == {"$decimal": "10"}

    # Damaged by hand in ways JSON still reads: each is read past.
    for damaged in (kept.read_text().replace('{"$decimal": "10"}', '{"$decimal": "ten"}'),
                    json.dumps({**saved, "document": ["not", "a", "mapping"]}),
                    json.dumps({**saved, "document": {"pipeline": 7}}),
                    json.dumps({**saved, "document": {**saved["document"],
                                                      "workflows": [{"when": {}}]}}),
                    '{"digest": ' + "[" * 100_000 + "]" * 100_000 + "}"):
        kept.write_text(damaged)
        sales.ok("log", "jane-doe", "--type", "phone-attempt", "--outcome", "wrong-number")
    assert not (crm_root / ".crmctl" / "process-valid").exists()  # what crmctl kept before


def test_a_missing_crm_yaml(sales, crm_root):
    (crm_root / "crm.yaml").unlink()
    result = sales("--dir", str(crm_root), "check")
    assert result.exit_code != 0
    assert "crm.yaml" in result.stderr and "Traceback" not in result.stderr


# --- all problems, not just the first ----------------------------------------------------

def test_every_problem_in_every_file_is_listed_in_path_and_line_order(sales, crm_root):
    write(crm_root, "companies/ac/acme.yaml", f"""\
        id: acme
        name: Acme
        domain: acme.com
        status: customer
        created: {STAMP}
        updated: {STAMP}
    """)
    write(crm_root, "companies/in/initech.yaml", f"""\
        id: initech
        name: Initech: software
        status: lead
        created: {STAMP}
        updated: {STAMP}
    """)
    write(crm_root, "companies/um/umbrella.yaml", f"""\
        id: umbrella-corp
        name: Umbrella
        status: lead
        created: {STAMP}
        updated: {STAMP}
    """)
    write(crm_root, "deals/ac/acme-renewal.yaml", f"""\
        id: acme-renewal
        name: Renewal
        company: acme
        person: hank-scorpio
        amount: -5
        currency: USD
        stage: contact-made
        probability: 10
        close: 2026-13-45
        created: {STAMP}
        updated: {STAMP}
    """)
    write(crm_root, "people/ja/jane-doe.yaml", f"""\
        id: jane-doe
        name: Jane Doe
        company: acme
        emails:
          - jane@acme.com
        status: lead
        status: client
        created: {STAMP}
        updated: {STAMP}
    """)
    write(crm_root, "people/ha/hank-scorpio.yaml", f"""\
        id: hank-scorpio
        name: Hank Scorpio
        company: globex-corp
        status: lead
        created: {STAMP}
        updated: {STAMP}
    """)
    assert problems(sales) == [
        f"companies/ac/acme.yaml:4: status: 'customer' is not one of: {STATUSES}",
        "companies/in/initech.yaml:2: not valid YAML: mapping values are not allowed in this "
        "context",
        "companies/um/umbrella.yaml:1: id 'umbrella-corp' does not match the file name "
        "umbrella.yaml",
        "deals/ac/acme-renewal.yaml:4: person 'hank-scorpio' works at globex-corp, not at acme",
        "deals/ac/acme-renewal.yaml:5: amount: -5 is below the minimum 0",
        "deals/ac/acme-renewal.yaml:9: close: '2026-13-45' is not a valid close",
        "people/ha/hank-scorpio.yaml:3: company 'globex-corp' does not exist",
        "people/ja/jane-doe.yaml:7: duplicate key 'status' (first at line 6); keep one",
    ]


def test_several_problems_in_one_file_are_all_listed(sales, crm_root):
    write(crm_root, "deals/ac/acme-renewal.yaml", f"""\
        id: acme-renewal
        name: Renewal
        company: acme
        amount: -1
        currency: dollars
        stage: signed
        probability: 150
        close: soon
        created: {STAMP}
        updated: {STAMP}
    """)
    assert problems(sales) == [
        "deals/ac/acme-renewal.yaml:4: amount: -1 is below the minimum 0",
        "deals/ac/acme-renewal.yaml:5: currency: 'dollars' is not a valid currency",
        f"deals/ac/acme-renewal.yaml:6: stage: 'signed' is not one of: {STAGES}",
        "deals/ac/acme-renewal.yaml:7: probability: 150 is above the maximum 100",
        "deals/ac/acme-renewal.yaml:8: close: 'soon' is not a valid close",
    ]


def test_fixing_the_files_makes_check_clean_again(sales, crm_root):
    original = (crm_root / "companies/gl/globex.yaml").read_text()
    write(crm_root, "companies/gl/globex.yaml", original.replace("status: lead", "status: hot"))
    assert len(problems(sales)) == 1
    (crm_root / "companies/gl/globex.yaml").write_text(original)
    assert_clean(sales)


# --- the pre-commit hook -----------------------------------------------------------------

# Two ways users commit a hand edit: stage it, then commit; or `git commit -a`, for which git
# stages into a temporary index (GIT_INDEX_FILE) that the hook must check.
HOW = ["git add, then git commit", "git commit -a"]


def commit(root: Path, message: str, how: str = HOW[0]) -> subprocess.CompletedProcess:
    """A real git commit of every edited file, in a separate process, hooks and all."""
    if how == HOW[0]:
        git(root, "add", "-u")
        args = ["git", "commit", "-q", "-m", message]
    else:
        args = ["git", "commit", "-q", "-a", "-m", message]
    return subprocess.run(args, cwd=root, capture_output=True, text=True)


@pytest.mark.parametrize("how", HOW)
def test_the_hook_refuses_to_commit_a_broken_hand_edit(sales, crm_root, how):
    head = git(crm_root, "rev-parse", "HEAD")
    edit(crm_root, "companies/gl/globex.yaml", "status: lead", "status: customer")

    refused = commit(crm_root, "Globex is a customer now", how)

    assert refused.returncode != 0
    assert (f"companies/gl/globex.yaml:3: status: 'customer' is not one of: {STATUSES}"
            in refused.stdout + refused.stderr)
    assert git(crm_root, "rev-parse", "HEAD") == head
    assert "status: customer" in (crm_root / "companies/gl/globex.yaml").read_text()


@pytest.mark.parametrize("how", HOW)
def test_the_hook_refuses_a_broken_reference_between_files(sales, crm_root, how):
    head = git(crm_root, "rev-parse", "HEAD")
    edit(crm_root, "people/ha/hank-scorpio.yaml", "company: globex", "company: globex-corp")
    refused = commit(crm_root, "Move Hank", how)
    assert refused.returncode != 0
    assert "people/ha/hank-scorpio.yaml:3: company 'globex-corp' does not exist" in (
        refused.stdout + refused.stderr)
    assert git(crm_root, "rev-parse", "HEAD") == head


@pytest.mark.parametrize("how", HOW)
def test_the_hook_allows_a_valid_hand_edit(sales, crm_root, how):
    head = git(crm_root, "rev-parse", "HEAD")
    edit(crm_root, "companies/gl/globex.yaml", "status: lead", "status: client")

    done = commit(crm_root, "Globex signed", how)

    assert done.returncode == 0, done.stdout + done.stderr
    assert git(crm_root, "rev-parse", "HEAD~1") == head
    assert "status: client" in git(crm_root, "show", "HEAD:companies/gl/globex.yaml")
    assert git(crm_root, "status", "--porcelain") == ""


def test_the_hook_judges_what_is_committed_not_the_work_tree(sales, crm_root):
    edit(crm_root, "companies/gl/globex.yaml", "status: lead", "status: client")
    git(crm_root, "add", "companies/gl/globex.yaml")
    edit(crm_root, "companies/gl/globex.yaml", "status: client", "status: maybe")  # not staged

    done = subprocess.run(["git", "commit", "-qm", "Globex signed"], cwd=crm_root,
                          capture_output=True, text=True)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "status: client" in git(crm_root, "show", "HEAD:companies/gl/globex.yaml")


def test_the_hook_is_the_one_crmctl_init_installed(crm_root):
    hook = crm_root / ".git" / "hooks" / "pre-commit"
    assert hook.is_file() and hook.stat().st_mode & 0o111
    assert "check --staged" in hook.read_text()


def test_the_hook_refuses_deleting_a_company_that_people_still_name(cli, crm_root):
    cli.ok("add", "company", "Globex")
    cli.ok("add", "person", "Hank Scorpio", "--company", "Globex")
    git(crm_root, "rm", "-q", "companies/gl/globex.yaml")
    commit = subprocess.run(["git", "commit", "-m", "Drop Globex"], cwd=crm_root,
                            capture_output=True, text=True)
    assert commit.returncode != 0
    assert "people/ha/hank-scorpio.yaml:1: company 'globex' is deleted by this commit" \
        in commit.stdout + commit.stderr
    assert git(crm_root, "log", "-1", "--format=%s") == 'Add person "Hank Scorpio" at "Globex"'
