"""crmctl show and list: tables for people, json/csv for programs, bare ids for pipes."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import add_users, crmctl, stderr_on_a_terminal

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture
def sales(cli):
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"))
    cli.ok("add", "company", "Initech", "--owner", "sarah", "--tag", "referral-partner",
           "--status", "client")
    cli.ok("add", "company", "Globex", "--owner", "jim", "--status", "prospect")
    cli.ok("add", "person", "Peter Gibbons", "--company", "Initech", "--title", "Engineer",
           "--email", "peter@initech.com")
    cli.ok("add", "person", "Hank Scorpio", "--company", "Globex")
    cli.ok("add", "deal", "Printers", "--company", "Initech", "--amount", "12000",
           "--person", "Peter Gibbons", "--owner", "sarah")
    cli.ok("add", "deal", "Doomsday Device", "--company", "Globex", "--amount", "1000000",
           "--close", "2027-06-30",
           "--stage", "in-negotiation", "--owner", "jim")
    return cli


def test_show_a_company_with_its_people_and_deals(sales) -> None:
    out = sales.ok("show", "initech").stdout
    assert out.startswith("Initech  (company initech)\n")
    assert "  status   client\n" in out and "  owner    sarah\n" in out
    assert "People (1)" in out and "peter-gibbons  Peter Gibbons  Engineer" in out
    assert "Deals (1)" in out and "initech-printers" in out and "12,000" in out
    assert "\x1b[" not in out  # not a terminal: no ANSI escapes


def test_show_a_person_shows_their_company_and_deals(sales) -> None:
    out = sales.ok("show", "peter gibbons").stdout
    assert "company  Initech (initech)" in out
    assert "Deals (1)" in out and "Printers" in out


def test_show_json_is_the_whole_record(sales) -> None:
    shown = json.loads(sales.ok("show", "Doomsday Device", "--format", "json").stdout)
    assert shown["kind"] == "deal"
    assert shown["record"]["amount"] == 1000000 and shown["record"]["probability"] == 80
    assert shown["company"]["id"] == "globex"


def test_list_filters(sales) -> None:
    assert sales.ok("list", "companies", "-q").stdout == "globex\ninitech\n"
    assert sales.ok("list", "companies", "--status", "client", "-q").stdout == "initech\n"
    assert sales.ok("list", "companies", "--owner", "jim", "-q").stdout == "globex\n"
    assert sales.ok("list", "companies", "--tag", "referral-partner", "-q").stdout == "initech\n"
    assert sales.ok("list", "people", "--company", "globex", "-q").stdout == "hank-scorpio\n"
    assert sales.ok("list", "deals", "--stage", "in-negotiation", "-q").stdout == \
        "globex-doomsday-device\n"
    assert sales.ok("list", "deals", "--stage", "won").stdout == "No deals match.\n"
    sales.ok("add", "deal", "Old Deal", "--company", "Initech", "--stage", "lost")
    assert sales.ok("list", "deals", "--open", "-q").stdout == \
        "globex-doomsday-device\ninitech-printers\n"


def test_list_rejects_unknown_filters_with_the_valid_choices(sales) -> None:
    assert "lead, contact, prospect" in sales.fails(1, "list", "companies", "--status",
                                                    "hot").stderr
    assert "contact-made, meeting-arranged" in sales.fails(1, "list", "deals", "--stage",
                                                           "x").stderr
    assert "choose companies, people or deals" in sales.fails(1, "list", "tasks").stderr
    sales.fails(2, "list", "deals", "--format", "xml")


def test_list_formats(sales) -> None:
    table = sales.ok("list", "deals").stdout.splitlines()
    assert table[0].split() == ["ID", "TITLE", "COMPANY", "STAGE", "AMOUNT", "CUR", "PROB", "%",
                                "CLOSE", "OWNER"]
    assert any("1,000,000" in line for line in table)
    rows = json.loads(sales.ok("list", "deals", "-f", "json").stdout)
    assert [r["amount"] for r in rows] == [1000000, 12000]
    parsed = list(csv.DictReader(io.StringIO(sales.ok("list", "companies", "-f", "csv").stdout)))
    assert [(r["id"], r["status"], r["tags"]) for r in parsed] == \
        [("globex", "prospect", ""), ("initech", "client", "referral-partner")]


def test_an_empty_crm_says_so(cli) -> None:
    assert cli.ok("list", "companies").stdout == "No companies yet.\n"
    assert cli.ok("list", "deals", "-f", "json").stdout == "[]\n"


def test_quiet_ids_pipe_into_other_commands(sales) -> None:
    ids = sales.ok("list", "people", "-q").stdout.split()
    for person_id in ids:
        assert sales.ok("show", person_id, "-f", "json").exit_code == 0


def test_no_ansi_when_piped_even_from_a_real_process(sales) -> None:
    proc = crmctl("show", "initech", cwd=sales.root, env={"NO_COLOR": "1"})
    assert proc.returncode == 0 and "\x1b[" not in proc.stdout


def test_filters_that_do_not_apply_are_refused(sales) -> None:
    assert "--stage does not apply to companies" in sales.fails(
        1, "list", "companies", "--stage", "won").stderr
    assert "--status does not apply to deals" in sales.fails(
        1, "list", "deals", "--status", "lead").stderr
    assert "--company does not apply to companies" in sales.fails(
        1, "list", "companies", "--company", "globex").stderr
    assert "unknown user 'bob'" in sales.fails(1, "list", "deals", "--owner", "bob").stderr


def test_show_quiet_prints_the_id_a_name_resolves_to(sales) -> None:
    assert sales.ok("show", "doomsday device", "-q").stdout == "globex-doomsday-device\n"


def test_check_rows_for_programs(sales) -> None:
    path = sales.root / "companies" / "gl" / "globex.yaml"
    path.write_text(path.read_text().replace("status: prospect", "status: hot"))
    rows = json.loads(sales("check", "--format", "json").stdout)
    assert rows == [{"path": "companies/gl/globex.yaml", "line": 3,
                     "message": "status: 'hot' is not one of: lead, contact, prospect, client,"
                                " past-client, unqualified, requested-callback, do-not-contact"}]


def test_a_private_use_mark_in_the_data_never_becomes_an_escape(cli) -> None:
    """crmctl marks its own colours with a private-use character and a number drawn per
    run; the same character typed into a name stays a character, never an ESC."""
    cli.ok("add", "company", "X\ue01b[0mY")
    listed = cli.ok("list", "companies", "--format", "json").stdout
    assert "\x1b" not in listed
    assert json.loads(listed)[0]["name"] == "X\ue01b[0mY"


def test_the_first_index_build_of_a_large_crm_counts_on_a_terminal(tmp_path) -> None:
    """A first command that reads over 5,000 files shows its progress on stderr when that
    is a terminal, redrawing one line (a CR, not an escaped one), and ends it. show reads
    every folder (a company's timeline, people and deals): 5,209 files."""
    root = tmp_path / "crm"
    subprocess.run([sys.executable, str(BENCH / "generate.py"), str(root), "--companies",
                    "2200", "--tasks", "50"], check=True, capture_output=True)
    shutil.rmtree(root / ".crmctl", ignore_errors=True)
    company = next((root / "companies").rglob("*.yaml")).stem
    code, text = stderr_on_a_terminal("show", company, cwd=root)
    assert code == 0
    assert "\rIndexing the CRM (once per clone): " in text and "\\u000d" not in text
    assert text.rstrip().endswith("files")
