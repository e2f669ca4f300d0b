"""crmctl dedupe and crmctl merge: find the duplicates already in the CRM, and make them one
record without losing anything.

    crmctl dedupe [companies|people] [--threshold N] [--format table|json|csv] [--interactive]
    crmctl merge KEEP DUPLICATE... [--dry-run]
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from conftest import Cli, add_users, build_once, copy_of, crmctl, git, on_a_terminal

NOW = {"CRMCTL_NOW": "2026-11-25T09:00:00+01:00"}


def four_acmes(cli: Cli) -> None:
    """The seed case: four spellings of Acme Products, each with something hanging on it,
    and the near-misses that are other companies."""
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"))
    cli.ok("add", "company", "Acme Products", "--domain", "acme.com", "--status", "client",
           "--owner", "sarah", "--tag", "enterprise")
    cli.ok("add", "company", "Acme Products, Inc.", "--force", "--status", "prospect",
           "--owner", "jim", "--source", "trade-show")
    cli.ok("add", "company", "Acme Products, Inc", "--force", "--status", "do-not-contact")
    cli.ok("add", "company", "Acme Products, Incorporated", "--force", "--domain", "acme.com",
           "--tag", "renewal")
    for name in ("Acme Paper Products", "General Motors", "General Mills", "AMD",
                 "Advanced Micro Devices"):
        cli.ok("add", "company", name)
    cli.ok("add", "person", "Jane Doe", "--company", "acme-products", "--email", "jane@acme.com")
    cli.ok("add", "person", "Bob Smith", "--company", "acme-products-2",
           "--phone", "+1 555 0100 200")
    cli.ok("add", "deal", "Renewal", "--company", "acme-products-3", "--amount", "5000")
    cli.ok("log", "acme-products-2", "--type", "email-sent", "--note", "Sent the deck",
           "--at", "2026-03-01 10:00")
    cli.ok("log", "Bob Smith", "--type", "phone-call", "--note", "Bob: call me in May",
           "--at", "2026-04-01 10:00", "--force")
    cli.ok("task", "add", "Chase Bob", "--for", "Bob Smith", "--due", "2026-12-01")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_once(tmp_path_factory, four_acmes)


@pytest.fixture
def crm(template, tmp_path, monkeypatch) -> Cli:
    return copy_of(template, tmp_path, monkeypatch)


def groups(cli: Cli, *args: str) -> list[dict]:
    return json.loads(cli.ok("dedupe", *args, "--format", "json").stdout)


def record(cli: Cli, ref: str) -> dict:
    return json.loads(cli.ok("show", ref, "--format", "json").stdout)


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


# --- finding them ----------------------------------------------------------------------------

def test_the_four_acme_spellings_are_one_group_and_near_misses_are_not(crm) -> None:
    found = groups(crm)
    firm = [g for g in found if not g["tentative"]]
    assert [sorted(m["id"] for m in g["members"]) for g in firm] == [
        ["acme-products", "acme-products-2", "acme-products-3", "acme-products-4"]]
    assert firm[0]["score"] == 100 and "same name" in firm[0]["reasons"]
    assert "same domain acme.com" in firm[0]["reasons"]
    everyone = {m["id"] for g in firm for m in g["members"]}
    assert not everyone & {"acme-paper-products", "general-motors", "general-mills"}


def test_an_acronym_is_scored_but_never_grouped_on_its_own(crm) -> None:
    [acronym] = [g for g in groups(crm) if g["tentative"]]
    assert sorted(m["id"] for m in acronym["members"]) == ["advanced-micro-devices", "amd"]
    assert any("may stand for" in r for r in acronym["reasons"])
    out = crm.ok("dedupe").stdout
    assert "Possibly the same (an acronym alone links them" in out
    assert "merge: crmctl merge amd" not in out and "merge: crmctl merge advanced" not in out


def test_the_table_suggests_the_merge_keeping_the_record_with_most_on_it(crm) -> None:
    out = crm.ok("dedupe").stdout
    assert out.splitlines()[0] == "Likely duplicate companies (threshold 90): 1 group, 4 companies"
    # acme-products-2 has a person, an activity (and the person's call): most to keep
    assert "merge: crmctl merge acme-products-2 " in out
    assert groups(crm)[0]["keep"] == "acme-products-2"


def test_csv_has_one_row_per_member(crm) -> None:
    rows = list(csv.DictReader(io.StringIO(crm.ok("dedupe", "--format", "csv").stdout)))
    assert [r["group"] for r in rows if r["tentative"] == "no"] == ["1"] * 4
    assert {r["id"] for r in rows if r["group"] == "1"} == \
        {"acme-products", "acme-products-2", "acme-products-3", "acme-products-4"}


def test_a_different_domain_weighs_against_a_match(cli) -> None:
    cli.ok("add", "company", "Summit Labs", "--domain", "summitlabs.com")
    cli.ok("add", "company", "Summit Lab", "--domain", "summit-lab.de", "--force")
    assert groups(cli) == []
    assert groups(cli, "--threshold", "80")[0]["reasons"][-1].startswith("different domains")


def test_people_by_email_phone_and_name_in_the_same_company(crm) -> None:
    crm.ok("add", "person", "Jane Doe-Smith", "--company", "acme-products",
           "--email", "jane@acme.com", "--force")
    crm.ok("add", "person", "Robert Smith", "--company", "acme-products-2",
           "--phone", "+1 (555) 0100-200", "--force")
    found = groups(crm, "people")
    pairs = sorted(sorted(m["id"] for m in g["members"]) for g in found)
    assert pairs == [["bob-smith", "robert-smith"], ["jane-doe", "jane-doe-smith"]]
    reasons = {r for g in found for r in g["reasons"]}
    assert "same email jane@acme.com" in reasons and "same phone 15550100200" in reasons


def test_nothing_to_find_says_so(cli) -> None:
    cli.ok("add", "company", "Initech")
    assert cli.ok("dedupe").stdout == "No likely duplicate companies.\n"
    assert cli.ok("dedupe", "people").stdout == "No likely duplicate people.\n"


@pytest.mark.parametrize("args, code, says", [
    (("deals",), 1, "cannot dedupe 'deals' (choose companies or people)"),
    (("--threshold", "30"), 1, "--threshold 30 is not between 50 and 100"),
    (("--interactive",), 2, "--interactive needs a terminal"),
], ids=["deals", "threshold", "no-terminal"])
def test_bad_dedupe_options_are_one_line(crm, args, code, says) -> None:
    assert says in crm.fails(code, "dedupe", *args).stderr


# --- merging ---------------------------------------------------------------------------------

def test_merge_moves_everything_onto_keep_in_one_commit(crm) -> None:
    before = commits(crm.root)
    out = crm.ok("merge", "acme-products", "acme-products-2", "acme-products-3",
                 "acme-products-4", env=NOW)
    assert out.stdout.splitlines()[0] == ('Merge company "Acme Products, Inc.", '
                                          '"Acme Products, Inc", "Acme Products, Incorporated" '
                                          'into "Acme Products"')
    assert commits(crm.root) == before + 1
    assert git(crm.root, "status", "--porcelain") == ""
    acme = record(crm, "acme-products")
    assert sorted(p["name"] for p in acme["people"]) == ["Bob Smith", "Jane Doe"]
    assert [d["name"] for d in acme["deals"]] == ["Renewal"]
    assert sorted(e["note"] for e in acme["timeline"] if e["kind"] == "activity") == \
        ["Bob: call me in May", "Sent the deck"]
    [task] = json.loads(crm.ok("task", "list", "--all", "--format", "json").stdout)
    assert (task["company"], task["about"]) == ("acme-products", "Bob Smith")
    for gone in ("acme-products-2", "acme-products-3", "acme-products-4"):
        assert not list(crm.root.glob(f"companies/*/{gone}.yaml"))
    checked = crm.ok("check")
    assert checked.stderr == "All CRM files are valid.\n"


def test_merge_fills_unions_and_keeps_conflicts_instead_of_dropping_them(crm) -> None:
    result = crm.ok("merge", "acme-products", "acme-products-2", "acme-products-3",
                    "acme-products-4", env=NOW)
    data = record(crm, "acme-products")["record"]
    assert data["aliases"] == ["Acme Products, Inc.", "Acme Products, Inc",
                               "Acme Products, Incorporated"]
    assert data["tags"] == ["enterprise", "renewal"]
    assert data["source"] == "trade-show"           # KEEP had none: filled from a duplicate
    assert data["owner"] == "sarah"                 # KEEP's own value stays...
    assert "- owner: jim (from Acme Products, Inc.)" in data["notes"]  # ...the other is kept
    assert "owner: sarah (kept) / jim (from Acme Products, Inc.)" in result.stderr
    # do-not-contact is a promise: it wins over client
    assert data["status"] == "do-not-contact"


def test_the_furthest_status_wins(crm) -> None:
    crm.ok("merge", "acme-products-4", "acme-products-2", env=NOW)  # (lead) + prospect
    assert record(crm, "acme-products-4")["record"]["status"] == "prospect"


def test_old_names_find_keep_and_the_guard_knows_them(crm) -> None:
    crm.ok("merge", "acme-products", "acme-products-2", "acme-products-3", "acme-products-4",
           env=NOW)
    assert crm.ok("show", "Acme Products, Incorporated", "-q").stdout == "acme-products\n"
    assert crm.ok("show", "acme products inc", "-q").stdout == "acme-products\n"
    refused = crm.fails(5, "add", "company", "ACME PRODUCTS INCORPORATED")
    assert "Acme Products (acme-products, 100%" in refused.stderr
    assert crm.ok("dedupe").stdout.startswith("Likely duplicate companies (threshold 90): 0")


def test_git_revert_of_the_merge_restores_the_duplicates_exactly(crm) -> None:
    files = {p.relative_to(crm.root).as_posix(): p.read_bytes()
             for p in crm.root.rglob("*") if p.is_file() and ".git" not in p.parts
             and ".crmctl" not in p.parts}
    crm.ok("merge", "acme-products", "acme-products-2", "acme-products-3", "acme-products-4",
           env=NOW)
    git(crm.root, "revert", "--no-edit", "HEAD")
    after = {p.relative_to(crm.root).as_posix(): p.read_bytes()
             for p in crm.root.rglob("*") if p.is_file() and ".git" not in p.parts
             and ".crmctl" not in p.parts}
    assert after == files
    assert len([g for g in groups(crm) if not g["tentative"]]) == 1
    crm.ok("check")


def test_history_shows_where_each_moved_note_came_from(crm) -> None:
    crm.ok("merge", "acme-products", "acme-products-2", env=NOW)
    # The activity's line is untouched: git log -S finds the commit that first wrote it.
    first = git(crm.root, "log", "--format=%s", "-S", "Sent the deck", "--", "activities")
    assert first.splitlines()[-1].startswith('Log email-sent with "Acme Products, Inc."')
    feed = crm.ok("history", "acme-products").stdout
    assert 'merged company "Acme Products, Inc." into "Acme Products"' in feed


def test_dry_run_shows_the_diff_and_changes_nothing(crm) -> None:
    before = commits(crm.root)
    result = crm.ok("merge", "acme-products", "acme-products-2", "--dry-run", env=NOW)
    assert "--- a/companies/ac/acme-products-2.yaml\n+++ /dev/null\n" in result.stdout
    assert "+- Acme Products, Inc." in result.stdout  # the alias KEEP gains
    assert "-company: acme-products-2\n+company: acme-products\n" in result.stdout
    assert '"amends"' in result.stdout  # the activity re-pointed by an amend line
    assert result.stderr.startswith("(dry run: nothing changed) Merge company")
    assert commits(crm.root) == before
    assert git(crm.root, "status", "--porcelain") == ""


def test_merging_people_moves_their_deals_activities_and_tasks(crm) -> None:
    crm.ok("merge", "acme-products", "acme-products-2", env=NOW)
    crm.ok("add", "person", "Robert Smith", "--company", "acme-products",
           "--email", "bob@acme.com", "--force")
    crm.ok("add", "deal", "Upsell", "--company", "acme-products", "--person", "Robert Smith")
    crm.ok("merge", "Bob Smith", "Robert Smith", env=NOW)
    bob = record(crm, "Bob Smith")
    assert bob["record"]["emails"] == ["bob@acme.com"]
    assert bob["record"]["aliases"] == ["Robert Smith"]
    assert [d["name"] for d in bob["deals"]] == ["Upsell"]
    assert crm.ok("show", "Robert Smith", "-q").stdout == "bob-smith\n"
    crm.ok("check")


@pytest.mark.parametrize("args, code, says", [
    (("acme-products", "acme-products"), 1, "cannot merge company 'Acme Products' into itself"),
    (("acme-products", "Jane Doe"), 3, "no company named 'Jane Doe'"),
    (("acme-products", "acme-products-2", "acme-products-2"), 1, "is named twice"),
    (("Jane Doe", "Bob Smith"), 1, "people are merged within one company"),
    (("Renewal", "acme-products"), 3, "no company or person named 'Renewal'"),
    (("acme-products", "nobody-at-all"), 3, "no company named 'nobody-at-all'"),
], ids=["itself", "other-kind", "twice", "other-company", "a-deal", "unknown"])
def test_a_refused_merge_writes_nothing(crm, args, code, says) -> None:
    assert says in crm.fails(code, "merge", *args).stderr


def test_not_duplicates_are_remembered_and_not_raised_again(crm, tmp_path) -> None:
    """What --interactive's "n" does, through the library: the pair is written to a
    committed log, so a teammate's scan (in another clone) skips it too."""
    from crmctl.dedupe import mark_distinct
    from crmctl.identity import current_actor
    from crmctl.store import Crm
    from crmctl.cli.common import now

    crm.ok("merge", "acme-products", "acme-products-3", "acme-products-4", env=NOW)
    store = Crm(crm.root)
    mark_distinct(store, "company", ["acme-products", "acme-products-2"],
                  actor=current_actor(store), now=now())
    assert [g for g in groups(crm) if not g["tentative"]] == []
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(crm.root), str(clone))
    scanned = crmctl("dedupe", "--format", "json", cwd=clone)
    assert [g for g in json.loads(scanned.stdout) if not g["tentative"]] == []


def test_interactive_merges_the_group_into_the_chosen_record(crm) -> None:
    before = commits(crm.root)
    code, screen, stderr = on_a_terminal("dedupe", "--interactive", cwd=crm.root, env=NOW,
                                         typed="1\nq\n")
    assert code == 0, (screen, stderr)
    assert "Group 1 of 2, 100%: same name, same domain acme.com" in screen
    assert "Merge company" in screen and 'into "Acme Products, Inc."' in screen
    assert commits(crm.root) == before + 1
    assert [g for g in groups(crm) if not g["tentative"]] == []
    crm.ok("check")


def test_interactive_stops_cleanly_when_input_ends(crm) -> None:
    code, screen, stderr = on_a_terminal("dedupe", "--interactive", cwd=crm.root, env=NOW,
                                         typed="\x04")
    assert (code, stderr.strip()) == (0, ""), screen


def test_interactive_remembers_not_duplicates_and_skips(crm) -> None:
    code, screen, stderr = on_a_terminal("dedupe", "-i", cwd=crm.root, env=NOW,
                                         typed="x\nn\ns\n")
    assert code == 0, (screen, stderr)
    assert "type 1/2/3/4, s, n or q" in screen  # "x" is not an answer: asked again
    assert "remembered: not duplicates" in screen
    assert git(crm.root, "log", "-1", "--format=%s").startswith("Mark companies ")
    assert [g for g in groups(crm) if not g["tentative"]] == []
    assert (crm.root / "not-duplicates.jsonl").is_file()


def test_check_reads_the_not_duplicates_log(crm) -> None:
    (crm.root / "not-duplicates.jsonl").write_text(
        '{"id":"aaaaaaaaaa","ids":["acme-products","acme-products-2"]}\n'
        "not json\n" '{"ids":["only-one"]}\n')
    result = crm("check")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "not-duplicates.jsonl:2: not a JSON object (one per line)",
        'not-duplicates.jsonl:3: needs "ids": two record ids']
