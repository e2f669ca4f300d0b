"""crmctl convert: a person entered as a company, or the reverse, made right.

    crmctl convert RECORD --to company
    crmctl convert RECORD --to person --company COMPANY
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Cli, add_users, build_once, copy_of, crmctl, git


def two_mistakes(cli: Cli) -> None:
    """Acme with Jane. "Globex Corporation" was entered as a person at Acme, "John Smith" as a
    company; each has activities and a deal. Initech has a person of its own."""
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"))
    cli.ok("add", "company", "Acme Products, Inc.", "--status", "client")
    cli.ok("add", "person", "Jane Doe", "--company", "Acme Products")
    cli.ok("add", "person", "Globex Corporation", "--company", "Acme Products",
           "--status", "prospect", "--owner", "sarah", "--tag", "partner",
           "--title", "Head office", "--email", "info@globex.example", "--phone", "+1 555 0100")
    cli.ok("task", "add", "Send Globex the catalogue", "--for", "Globex Corporation",
           "--due", "2025-05-01")
    cli.ok("log", "Globex Corporation", "--type", "phone-call", "--note", "Globex: first call",
           "--at", "2025-03-10 09:00")
    cli.ok("log", "Globex Corporation", "--type", "email-sent", "--note", "Globex: offer",
           "--at", "2025-04-02 11:00")
    cli.ok("add", "deal", "Globex pilot", "--company", "Acme Products",
           "--person", "Globex Corporation", "--amount", "5000")
    cli.ok("log", "Jane Doe", "--type", "email-sent", "--note", "Jane: hello",
           "--at", "2025-03-11 10:00")
    cli.ok("add", "company", "John Smith", "--status", "contact")
    cli.ok("log", "John Smith", "--type", "meeting", "--note", "John: coffee",
           "--at", "2025-03-12 15:00")
    cli.ok("add", "deal", "Consulting", "--company", "John Smith", "--amount", "800")
    cli.ok("task", "add", "Call John back", "--for", "John Smith", "--due", "2025-05-02")
    cli.ok("log", "Consulting", "--type", "email-sent", "--note", "John: the quote",
           "--at", "2025-03-13 16:00")
    cli.ok("add", "company", "Initech")
    cli.ok("add", "person", "Peter Gibbons", "--company", "Initech")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_once(tmp_path_factory, two_mistakes)


@pytest.fixture
def crm(template, tmp_path, monkeypatch) -> Cli:
    return copy_of(template, tmp_path, monkeypatch)


def shown(cli: Cli, ref: str) -> dict:
    return json.loads(cli.ok("show", ref, "--format", "json").stdout)


def notes(cli: Cli, ref: str) -> list[str]:
    return [e["note"] for e in shown(cli, ref)["timeline"] if e["kind"] == "activity"]


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


def logs(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted((root / "activities").glob("*/*.jsonl"))}


def test_a_person_converted_to_a_company_keeps_its_activities_and_deals(crm) -> None:
    before, earlier_logs = commits(crm.root), logs(crm.root)
    out = crm.ok("convert", "Globex Corporation", "--to", "company").stdout
    assert out.startswith('Convert person "Globex Corporation" to a company as ')
    new_id = out.splitlines()[0].split(" as ")[-1]
    globex = shown(crm, new_id)
    assert globex["kind"] == "company" and globex["record"]["name"] == "Globex Corporation"
    assert (globex["record"]["status"], globex["record"]["owner"], globex["record"]["tags"]) \
        == ("prospect", "sarah", ["partner"])
    assert notes(crm, new_id) == ["Globex: offer", "Globex: first call"]
    assert all(e["company"] == new_id and e.get("person") is None for e in globex["timeline"])
    [deal] = globex["deals"]
    assert deal["name"] == "Globex pilot" and deal["company"] == new_id
    assert deal.get("person") is None
    acme = shown(crm, "acme-products")
    assert notes(crm, "acme-products") == ["Jane: hello"]
    assert [p["name"] for p in acme["people"]] == ["Jane Doe"] and acme["deals"] == []
    assert shown(crm, "Globex Corporation")["kind"] == "company"
    assert commits(crm.root) == before + 1
    assert git(crm.root, "log", "-1", "--format=%an|%s") == \
        'Sam Seller|Convert person "Globex Corporation" to a company'
    assert git(crm.root, "status", "--porcelain") == ""
    for path, text in earlier_logs.items():  # the log is amended by new lines, not rewritten
        assert (crm.root / path).read_bytes().startswith(text), path
    checked = crm.ok("check")
    assert (checked.stdout, checked.stderr) == ("", "All CRM files are valid.\n")


def test_a_company_converted_to_a_person_moves_its_deals_and_activities(crm) -> None:
    before, earlier_logs = commits(crm.root), logs(crm.root)
    out = crm.ok("convert", "John Smith", "--to", "person", "--company", "Acme Products").stdout
    assert out.startswith('Convert company "John Smith" to a person as ')
    john_id = out.splitlines()[0].split(" as ")[-1]
    john = shown(crm, john_id)
    assert john["kind"] == "person" and john["record"]["company"] == "acme-products"
    assert john["record"]["status"] == "contact"
    assert notes(crm, john_id) == ["John: the quote", "John: coffee"]
    assert [d["name"] for d in john["deals"]] == ["Consulting"]
    acme = shown(crm, "acme-products")
    assert notes(crm, "acme-products") == ["Globex: offer", "John: the quote", "John: coffee",
                                           "Jane: hello", "Globex: first call"]
    [consulting] = [d for d in acme["deals"] if d["name"] == "Consulting"]
    assert (consulting["company"], consulting["person"]) == ("acme-products", john_id)
    assert notes(crm, "Consulting") == ["John: the quote"]
    assert sorted(p["name"] for p in acme["people"]) == \
        ["Globex Corporation", "Jane Doe", "John Smith"]
    assert "John Smith" not in crm.ok("list", "companies").stdout
    assert commits(crm.root) == before + 1
    assert git(crm.root, "status", "--porcelain") == ""
    for path, text in earlier_logs.items():
        assert (crm.root / path).read_bytes().startswith(text), path
    checked = crm.ok("check")
    assert (checked.stdout, checked.stderr) == ("", "All CRM files are valid.\n")


def test_a_fresh_clone_sees_the_converted_timeline(crm, tmp_path) -> None:
    out = crm.ok("convert", "Globex Corporation", "--to", "company").stdout
    new_id = out.splitlines()[0].split(" as ")[-1]
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(crm.root), str(clone))
    for ref, expected in ((new_id.strip(), ["Globex: offer", "Globex: first call"]),
                          ("acme-products", ["Jane: hello"])):
        result = crmctl("show", ref, "--format", "json", cwd=clone)
        assert result.returncode == 0, result.stderr
        assert [e["note"] for e in json.loads(result.stdout)["timeline"]
                if e["kind"] == "activity"] == expected


def test_converting_shows_in_the_history(crm) -> None:
    crm.ok("convert", "John Smith", "--to", "person", "--company", "Acme Products")
    [line] = crm.ok("history", "--limit", "1").stdout.splitlines()
    assert line.endswith('Sam Seller converted company "John Smith" to a person')


def test_nothing_of_the_old_record_is_lost(crm) -> None:
    person = shown(crm, "Globex Corporation")["record"]
    out = crm.ok("convert", "Globex Corporation", "--to", "company").stdout
    assert "kept in its notes (companies have no such fields): title, emails, phones" in out
    assert "1 task(s) now about Globex Corporation" in out
    company = shown(crm, "Globex Corporation")["record"]
    assert company["created"] == person["created"]
    assert company["notes"] == ("Kept from the person record: title: Head office; "
                                "emails: info@globex.example; phones: +1 555 0100")
    tasks = {t["text"]: t for t in
             json.loads(crm.ok("task", "list", "--all", "--format", "json").stdout)}
    assert tasks["Send Globex the catalogue"]["company"] == company["id"]
    assert tasks["Send Globex the catalogue"].get("person") is None
    assert tasks["Send Globex the catalogue"]["about"] == "Globex Corporation"
    crm.ok("check")


def test_a_company_turned_person_takes_its_tasks_along(crm) -> None:
    out = crm.ok("convert", "John Smith", "--to", "person", "--company", "Acme Products").stdout
    john_id = out.splitlines()[0].split(" as ")[-1]
    tasks = {t["text"]: t for t in
             json.loads(crm.ok("task", "list", "--all", "--format", "json").stdout)}
    assert (tasks["Call John back"]["company"], tasks["Call John back"]["person"]) == \
        ("acme-products", john_id)
    assert "John Smith" in crm.ok("task", "list", "--for", "Acme Products").stdout


def test_a_company_cannot_become_a_person_working_at_itself(crm) -> None:
    result = crm.fails(1, "convert", "John Smith", "--to", "person", "--company", "John Smith")
    assert "'John Smith' cannot work at itself" in result.stderr


def test_a_company_with_people_is_refused(crm) -> None:
    result = crm.fails(1, "convert", "Initech", "--to", "person", "--company", "Acme Products")
    assert "'Initech' has 1 people of its own" in result.stderr


def test_a_person_needs_a_company(crm) -> None:
    result = crm.fails(1, "convert", "John Smith", "--to", "person")
    assert "--company" in result.stderr


def test_converting_to_what_it_already_is_is_refused(crm) -> None:
    assert "already a company" in crm.fails(1, "convert", "John Smith", "--to",
                                             "company").stderr
    assert "already a person" in crm.fails(1, "convert", "Jane Doe", "--to", "person",
                                           "--company", "Acme Products").stderr


def test_company_option_is_only_for_a_person(crm) -> None:
    crm.fails(1, "convert", "Globex Corporation", "--to", "company", "--company", "Initech")


def test_only_company_or_person(crm) -> None:
    crm.fails(1, "convert", "John Smith", "--to", "deal")
