"""Workflow rules and routing in crm.yaml: the team's process makes tasks and picks owners.

    workflows:                       # run by crmctl itself, in the triggering commit
      - id: welcome-letter
        when: {deal_enters: won}
        task: {text: Send the welcome letter, due: +1d}
      ...
    routing:                         # the owner of a new record added without --owner
      - when: {territory: north}
        owner: sarah

The examples ship commented out in crm.yaml; a team lead uncomments them and commits.
Every date is read against $CRMCTL_NOW: 2026-11-25 09:00 in Paris, a Wednesday.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import Cli, add_users, build_once, copy_of, git

NOW = "2026-11-25T09:00:00+01:00"
RULE_LINE = re.compile(r'^  rule ([a-z-]+): task ([a-z2-7]{6}) "([^"]+)" for (\S+), due (\S+)$')


# --- helpers ----------------------------------------------------------------------------------

def uncomment(text: str, first_line: str) -> str:
    """Uncomment the commented example block of crm.yaml that starts with ``first_line``."""
    start = text.index(first_line)
    end = text.index("\n\n", start)
    block = "\n".join(line[2:] for line in text[start:end].splitlines())
    return text[:start] + block + text[end:]


def turn_on_the_rules(root: Path) -> None:
    """What a team lead does: uncomment the example workflows and routing, declare the
    territory field routing reads, check, commit."""
    text = (root / "crm.yaml").read_text()
    text = uncomment(text, "# workflows:")
    text = uncomment(text, "# routing:")
    text = text.replace("  company: {}\n", "  company:\n    territory:\n      type: string\n"
                                           "      enum: [north, south, east]\n")
    (root / "crm.yaml").write_text(text)
    git(root, "commit", "-qam", "Turn on the team's workflow rules and lead routing")


def tasks(cli: Cli, *args: str) -> list[dict]:
    return json.loads(cli.ok("task", "list", "--all", "--done", *args,
                             "--format", "json").stdout)


def fired(out: str) -> list[tuple[str, ...]]:
    """(rule, shown id, text, assignee, due) of each line saying what a rule did."""
    return [RULE_LINE.match(line).groups() for line in out.splitlines()
            if line.startswith("  rule ")]


def files_of_last_commit(root: Path) -> list[str]:
    return git(root, "show", "--name-only", "--format=", "HEAD").splitlines()


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


def record(cli: Cli, ref: str) -> dict:
    return json.loads(cli.ok("show", ref, "--format", "json").stdout)["record"]


# --- the starting CRM: the rules on, one company with a deal -----------------------------------

def a_team_with_rules(cli: Cli) -> None:
    add_users(cli.root, ("sam", "Sam Seller", "sam@example.com"),
              ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"))
    turn_on_the_rules(cli.root)
    now = {"CRMCTL_NOW": NOW}
    cli.ok("add", "company", "Acme Products, Inc.", "--status", "client", env=now)
    cli.ok("add", "person", "Jane Doe", "--company", "Acme Products", "--status", "client",
           env=now)
    cli.ok("add", "deal", "Renewal", "--company", "Acme Products", "--amount", "12000",
           "--close", "2026-12-15", env=now)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_once(tmp_path_factory, a_team_with_rules)


@pytest.fixture
def crm(template, tmp_path, monkeypatch) -> Cli:
    monkeypatch.setenv("CRMCTL_NOW", NOW)
    return copy_of(template, tmp_path, monkeypatch)


def test_the_uncommented_examples_are_valid(crm) -> None:
    result = crm.ok("check")
    assert (result.stdout, result.stderr) == ("", "All CRM files are valid.\n")
    assert tasks(crm) == []  # a client company and a deal in contact-made fire nothing


# --- deal_enters ------------------------------------------------------------------------------

def test_winning_a_deal_makes_the_welcome_letter_and_renewal_tasks_in_the_same_commit(crm):
    before = commits(crm.root)
    out = crm.ok("move", "Renewal", "won").stdout
    assert out.splitlines()[0] == 'Move deal "Renewal": contact-made -> won'
    assert [(rule, text, who, due) for rule, _, text, who, due in fired(out)] == [
        ("welcome-letter", "Send the welcome letter", "sam", "2026-11-26"),
        ("renewal-offer", "Offer the extended warranty or a renewal", "sam", "2027-10-25")]
    assert commits(crm.root) == before + 1
    changed = files_of_last_commit(crm.root)
    assert "deals/ac/acme-products-renewal.yaml" in changed
    assert len([p for p in changed if p.startswith("tasks/2026-11/")]) >= 1
    made = {t["rule"]: t for t in tasks(crm)}
    assert set(made) == {"welcome-letter", "renewal-offer"}
    for (rule, shown, *_rest) in fired(out):
        assert made[rule]["id"].startswith(shown)
        assert made[rule]["deal"] == "acme-products-renewal"
        assert made[rule]["company"] == "acme-products"
        assert f"Crm-Record: task/{made[rule]['id']}" in git(crm.root, "log", "-1",
                                                              "--format=%B")
    assert made["renewal-offer"]["priority"] == "high"
    assert made["welcome-letter"]["priority"] == "normal"


def test_a_rule_task_goes_to_the_records_owner(crm) -> None:
    crm.ok("add", "deal", "Expansion", "--company", "Acme Products", "--owner", "jim",
           "--amount", "5000", "--close", "2026-12-20")
    out = crm.ok("move", "Expansion", "won").stdout  # Sam closes Jim's deal
    assert {who for _, _, _, who, _ in fired(out)} == {"jim"}
    assert {t["assignee"] for t in tasks(crm, "--for", "Expansion")} == {"jim"}


def test_a_second_move_into_won_creates_nothing_new(crm) -> None:
    crm.ok("move", "Renewal", "won")
    first = sorted(t["id"] for t in tasks(crm))
    out = crm.ok("move", "Renewal", "lost", "--reason", "budget frozen").stdout
    assert fired(out) == []
    out = crm.ok("move", "Renewal", "won", env={"CRMCTL_NOW": "2026-12-02T10:00:00+01:00"})
    assert out.stdout == 'Move deal "Renewal": lost -> won\n'  # no rule line
    assert not any(p.startswith("tasks/") for p in files_of_last_commit(crm.root))
    assert sorted(t["id"] for t in tasks(crm)) == first


def test_the_rule_stays_fired_after_its_task_is_done(crm) -> None:
    out = crm.ok("move", "Renewal", "won").stdout
    welcome = next(shown for rule, shown, *_ in fired(out) if rule == "welcome-letter")
    next_day = {"CRMCTL_NOW": "2026-11-26T10:00:00+01:00"}
    crm.ok("task", "done", welcome, env=next_day)
    crm.ok("move", "Renewal", "lost", "--reason", "budget frozen", env=next_day)
    assert fired(crm.ok("move", "Renewal", "won", env=next_day).stdout) == []
    letters = [t for t in tasks(crm) if t["rule"] == "welcome-letter"]
    assert [t["status"] for t in letters] == ["done"]


def test_a_deal_added_straight_into_won_fires_the_rule(crm) -> None:
    out = crm.ok("add", "deal", "Spare parts", "--company", "Acme Products", "--stage", "won",
                 "--amount", "800", "--close", "2026-11-25").stdout
    assert [rule for rule, *_ in fired(out)] == ["welcome-letter", "renewal-offer"]
    assert len(tasks(crm, "--for", "Spare parts")) == 2


def test_moving_into_another_stage_fires_no_won_rule(crm) -> None:
    assert fired(crm.ok("move", "Renewal", "qualified").stdout) == []
    assert tasks(crm) == []


# --- added ------------------------------------------------------------------------------------

def test_a_new_lead_company_gets_a_first_contact_task_in_the_same_commit(crm) -> None:
    before = commits(crm.root)
    out = crm.ok("add", "company", "Initech").stdout
    assert out.splitlines()[0] == 'Add company "Initech" as initech'
    [(rule, shown, text, who, due)] = fired(out)
    assert (rule, text, who, due) == ("first-contact", "Make first contact", "sam", "2026-11-26")
    assert commits(crm.root) == before + 1
    changed = files_of_last_commit(crm.root)
    assert "companies/in/initech.yaml" in changed
    assert any(p.startswith("tasks/2026-11/") for p in changed)
    [task] = tasks(crm)
    assert (task["company"], task["rule"], task["id"][:6]) == ("initech", "first-contact", shown)


def test_only_leads_and_only_companies_get_a_first_contact_task(crm) -> None:
    assert fired(crm.ok("add", "company", "Globex", "--status", "client").stdout) == []
    assert fired(crm.ok("add", "person", "Hank Scorpio", "--company", "Globex",
                        "--status", "lead").stdout) == []
    assert tasks(crm) == []


# --- assigned ---------------------------------------------------------------------------------

def test_assign_gives_the_new_owner_a_follow_up_task_in_the_same_commit(crm) -> None:
    before = commits(crm.root)
    out = crm.ok("--as", "sarah", "assign", "acme", "jim").stdout
    assert out.splitlines()[0] == 'Assign company "Acme Products, Inc." to Jim Seller'
    [(rule, shown, text, who, due)] = fired(out)
    assert (rule, text, who, due) == \
        ("new-owner-follow-up", "Introduce yourself as the new owner", "jim", "2026-11-27")
    assert commits(crm.root) == before + 1
    assert git(crm.root, "log", "-1", "--format=%an") == "Sarah Closer"
    changed = files_of_last_commit(crm.root)
    assert "companies/ac/acme-products.yaml" in changed
    assert any(p.startswith("tasks/2026-11/") for p in changed)
    assert record(crm, "acme")["owner"] == "jim"
    [task] = tasks(crm)
    assert (task["assignee"], task["company"], task["id"][:6], task["created_by"]) == \
        ("jim", "acme-products", shown, "Sarah Closer")


def test_assigning_a_deal_fires_the_any_rule_too(crm) -> None:
    [(rule, _, _, who, _)] = fired(crm.ok("assign", "Renewal", "sarah").stdout)
    assert (rule, who) == ("new-owner-follow-up", "sarah")
    assert [t["deal"] for t in tasks(crm)] == ["acme-products-renewal"]


def test_a_record_handed_back_to_an_earlier_owner_gives_them_a_new_task(crm) -> None:
    """Acme goes to Jim, then Sarah, then back to Jim: each hand-over is a new occasion,
    so Jim gets a second introduction task, not silence."""
    crm.ok("assign", "acme", "jim")
    crm.ok("assign", "acme", "sarah", env={"CRMCTL_NOW": "2026-12-01T09:00:00+01:00"})
    out = crm.ok("assign", "acme", "jim", env={"CRMCTL_NOW": "2026-12-08T09:00:00+01:00"}).stdout
    [(rule, _, _, who, due)] = fired(out)
    assert (rule, who, due) == ("new-owner-follow-up", "jim", "2026-12-10")
    assert sorted(t["assignee"] for t in tasks(crm, "--for", "acme")) == ["jim", "jim", "sarah"]


def test_two_clones_making_the_same_hand_over_make_one_task(crm, tmp_path) -> None:
    other = Cli(tmp_path / "other", crm.runner)
    shutil.copytree(crm.root, other.root, symlinks=True)
    [(_, here, _, _, _)] = fired(crm.ok("assign", "acme", "jim").stdout)
    later = {"CRMCTL_NOW": "2026-11-25T18:00:00+01:00"}
    [(_, there, _, _, _)] = fired(other.ok("--dir", str(other.root), "--as", "sarah",
                                           "assign", "acme", "jim", env=later).stdout)
    assert here == there


# --- rule-made ids ----------------------------------------------------------------------------

def test_a_rule_task_has_the_same_id_wherever_and_whenever_the_rule_fires(crm, tmp_path):
    """Two copies of the CRM, the deal won by different people on different days: the
    welcome letter gets one id, so merging them can fold the two into one task."""
    other = Cli(tmp_path / "other", crm.runner)
    shutil.copytree(crm.root, other.root, symlinks=True)
    crm.ok("move", "Renewal", "won")
    later = {"CRMCTL_NOW": "2026-11-27T17:30:00+01:00"}
    other.ok("--dir", str(other.root), "--as", "sarah", "move", "Renewal", "won", env=later)
    here = {t["rule"]: t["id"] for t in tasks(crm)}
    there = {t["rule"]: t["id"] for t in json.loads(other.ok(
        "--dir", str(other.root), "task", "list", "--all", "--format", "json", env=later).stdout)}
    assert here == there
    assert here["welcome-letter"] != here["renewal-offer"]
    assert re.fullmatch(r"[a-z2-7]{10}", here["welcome-letter"])


# --- routing ----------------------------------------------------------------------------------

def test_routing_picks_the_owner_of_a_new_lead_and_says_so(crm) -> None:
    out = crm.ok("add", "company", "Northwind", "--set", "territory=north").stdout
    assert out.splitlines()[:2] == ['Add company "Northwind" as northwind',
                                    "  routing: owner sarah"]
    assert record(crm, "northwind")["owner"] == "sarah"
    # the first-contact task goes to the owner routing chose
    assert [who for _, _, _, who, _ in fired(out)] == ["sarah"]


def test_a_routing_rule_may_list_several_values(crm) -> None:
    out = crm.ok("add", "company", "Eastern Supply", "--set", "territory=east").stdout
    assert "  routing: owner jim" in out.splitlines()
    assert record(crm, "eastern-supply")["owner"] == "jim"


def test_an_explicit_owner_wins_over_routing(crm) -> None:
    out = crm.ok("add", "company", "Northwind", "--set", "territory=north",
                 "--owner", "jim").stdout
    assert "routing" not in out
    assert record(crm, "northwind")["owner"] == "jim"


def test_no_matching_route_leaves_the_owner_unset(crm) -> None:
    out = crm.ok("add", "company", "Initech").stdout
    assert "routing" not in out
    assert "owner" not in record(crm, "initech")


# --- a broken rule is reported by check, at crm.yaml ------------------------------------------

@pytest.mark.parametrize("good, bad, says", [
    ("when: {deal_enters: won}\n    task: {text: Send the welcome letter",
     "when: {deal_enters: signed}\n    task: {text: Send the welcome letter",
     "workflow 'welcome-letter': 'signed' is not a stage"),
    ("due: +2d, assign: owner}", "due: +2d, assign: bob}",
     "workflow 'new-owner-follow-up': assign 'bob' is not owner, actor or a declared user"),
    ("task: {text: Make first contact, due: +1d}", "task: {text: Make first contact, due: soon}",
     "workflow 'first-contact': due 'soon' is not a date offset"),
    ("when: {added: company, status: lead}", "when: {added: company, status: hot}",
     "workflow 'first-contact': 'hot' is not a status"),
    ("due: in 11 months, priority: high}", "due: in 11 months, priority: asap}",
     "'asap' is not one of: low, normal, high, urgent"),
    ("when: {territory: north}\n    owner: sarah", "when: {territory: north}\n    owner: bob",
     "routing: owner 'bob' is not a declared user"),
], ids=["stage", "assign", "due", "status", "priority", "routing-owner"])
def test_check_reports_a_broken_rule_at_crm_yaml(crm, good, bad, says) -> None:
    text = (crm.root / "crm.yaml").read_text()
    assert good in text
    (crm.root / "crm.yaml").write_text(text.replace(good, bad))
    result = crm.fails(1, "check")
    [line] = [line for line in result.stdout.splitlines() if says in line]
    assert re.match(r"^crm\.yaml:\d+: ", line), line
    assert result.stderr.strip() == "1 problem(s) found"


def test_a_broken_rule_stops_commands_and_commits(crm) -> None:
    text = (crm.root / "crm.yaml").read_text()
    (crm.root / "crm.yaml").write_text(text.replace("deal_enters: won}", "deal_enters: signed}", 1))
    result = crm.fails(6, "move", "Renewal", "won")
    assert "crm.yaml:" in result.stderr and "'signed' is not a stage" in result.stderr
    committed = subprocess.run(["git", "commit", "-qam", "Typo"], cwd=crm.root,
                               capture_output=True, text=True)
    assert committed.returncode != 0  # the pre-commit hook runs crmctl check
    assert "'signed' is not a stage" in committed.stdout + committed.stderr
