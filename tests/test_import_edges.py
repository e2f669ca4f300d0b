"""import, capture and export at their edges: each test is a problem a review found by real
CLI runs (odd encodings and shapes of files, do-not-contact lifted by an update, formulas in
exported cells, ...), now fixed."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from conftest import Cli


def write(tmp_path: Path, name: str, data: bytes | str) -> str:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return str(path)


def people(cli: Cli) -> dict[str, dict]:
    return {r["name"]: r for r in json.loads(cli.ok("list", "people", "--format", "json").stdout)}


def companies(cli: Cli) -> dict[str, dict]:
    return {r["name"]: r for r in json.loads(cli.ok("list", "companies", "--format", "json").stdout)}


# --- reading the file ------------------------------------------------------------------------

def test_duplicate_column_names_are_refused_not_silently_overwritten(cli, tmp_path) -> None:
    # today: the second "Name" column wins, "Acme" is silently lost and "Other" is created
    f = write(tmp_path, "dup.csv", "Name,Name,Domain\nAcme,Other,acme.com\n")
    result = cli.fails(1, "import", f, "--type", "companies")
    assert "Name" in result.stderr


def test_a_utf16_csv_is_read(cli, tmp_path) -> None:
    # today: decoded as cp1252, every row rejected for NUL characters in the name
    f = write(tmp_path, "u16.csv", "Company Name,Domain\nZeta,zeta.com\n".encode("utf-16"))
    cli.ok("import", f, "--type", "companies")
    assert "Zeta" in companies(cli)


def test_undecodable_bytes_give_one_clear_error_not_a_traceback(cli, tmp_path) -> None:
    # today: UnicodeDecodeError traceback (0x81 is undefined in cp1252, the fallback)
    f = write(tmp_path, "bin.csv", b"Company Name\nBad\x81Co\n")
    cli.fails(1, "import", f, "--type", "companies")


def test_a_row_with_more_cells_than_headers_is_rejected(cli, tmp_path) -> None:
    # today: the extra cells are silently dropped and the row imported
    f = write(tmp_path, "extra.csv", "Company Name,Domain\nExtra,extra.com,surplus,more\n")
    result = cli.fails(1, "import", f, "--type", "companies")
    assert "row 2" in result.stderr


def test_a_person_row_without_a_company_is_a_bad_row_not_a_traceback(cli, tmp_path) -> None:
    # today: KeyError: 'company' traceback (same for a deal row with an empty company cell)
    f = write(tmp_path, "nc.csv", "Name,Email,Company\nNo Co,noco@x.com,\nOk,ok@x.com,Acme\n")
    result = cli.fails(1, "import", f, "--type", "people")
    assert "row 2" in result.stderr
    d = write(tmp_path, "nd.csv", "Deal Name,Company\nD1,\n")
    assert "row 2" in cli.fails(1, "import", d, "--type", "deals").stderr


def test_the_same_email_twice_in_a_row_is_kept_once(cli, tmp_path) -> None:
    # today: rejected with "emails: [...] has non-unique elements" (also a vCard with 2 EMAILs)
    f = write(tmp_path, "de.csv", "Name,Email,Company\nDup Mail,a@x.com; A@X.com,Acme\n")
    cli.ok("import", f, "--type", "people")
    assert people(cli)["Dup Mail"]["emails"] == ["a@x.com"]


def test_a_vcard_without_fn_takes_its_name_from_n(cli, tmp_path) -> None:
    # today: "no name" (FN missing; N:Smith;John is ignored)
    card = ("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Smith;John;;;\r\nORG:Foo Inc;Sales\r\nORG:Bar Ltd\r\n"
            "EMAIL:john@foo.com\r\nEND:VCARD\r\n")
    cli.ok("import", write(tmp_path, "a.vcf", card))
    assert people(cli)["John Smith"]["company"] == "foo"


# --- what import writes ----------------------------------------------------------------------

def test_an_imported_deal_past_qualified_needs_amount_and_close_like_add(cli, tmp_path) -> None:
    # `add deal --stage won` without --amount/--close is refused; import writes it anyway
    cli.ok("add", "company", "Acme")
    f = write(tmp_path, "d.csv", "Deal Name,Company,Stage\nWon one,Acme,won\n")
    result = cli.fails(1, "import", f, "--type", "deals")
    assert "row 2" in result.stderr and "close" in result.stderr


def test_import_update_does_not_lift_do_not_contact(cli, tmp_path) -> None:
    # today: a re-imported CRM export with "Status: lead" silently makes a DNC person mailable
    cli.ok("add", "company", "Acme")
    cli.ok("add", "person", "Al Pha", "--company", "acme", "--email", "al@acme.com",
           "--status", "do-not-contact")
    f = write(tmp_path, "p.csv", "Name,Email,Company,Status\nAl Pha,al@acme.com,Acme,lead\n")
    cli("import", f, "--type", "people", "--update")
    assert people(cli)["Al Pha"]["status"] == "do-not-contact"
    assert "al@acme.com" not in cli.ok("export", "people").stdout


def test_capture_update_from_a_web_form_does_not_lift_do_not_contact(cli) -> None:
    cli.ok("add", "company", "Acme")
    cli.ok("add", "person", "Al Pha", "--company", "acme", "--email", "al@acme.com",
           "--status", "do-not-contact")
    form = '{"name": "Al Pha", "email": "al@acme.com", "company": "Acme", "status": "lead"}'
    cli("capture", "--update", input=form)
    assert people(cli)["Al Pha"]["status"] == "do-not-contact"


def test_update_that_changes_nothing_does_not_report_an_update(cli, tmp_path) -> None:
    # today: "Nothing to import: Import 1 person ... (0 added, 1 updated, ...)" - the row's new
    # company is dropped (matched by email) yet the row is counted as updated
    cli.ok("add", "company", "Acme")
    cli.ok("add", "company", "Beta")
    cli.ok("add", "person", "Jane Doe", "--company", "acme", "--email", "jane@acme.com")
    f = write(tmp_path, "u.csv", "Name,Email,Company\nJane Doe,jane@acme.com,Beta\n")
    out = cli.ok("import", f, "--type", "people", "--update").stdout
    assert people(cli)["Jane Doe"]["company"] == "acme"  # not moved silently...
    assert "0 updated, 0 merged, 1 skipped" in out, out
    plan = cli.ok("import", f, "--type", "people", "--update", "--dry-run").stdout
    assert "kept company acme (move them with crmctl edit" in plan  # ...and it says so


def test_capture_refuses_nested_json_instead_of_storing_python_repr(cli) -> None:
    # today: notes: "{'a': [1, {'b': 2}]}" and a tag "['a']" are stored
    form = '{"name": "Cap One", "email": "cap@one.com", "company": "CapCo", "notes": {"a": [1]}}'
    cli.fails(1, "capture", input=form)


def test_a_vcard_cannot_be_imported_as_companies_or_deals(cli, tmp_path) -> None:
    # today: --type companies creates a company from ORG, --type deals a deal named after the person
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zed\r\nORG:Foo Inc\r\nEND:VCARD\r\n"
    f = write(tmp_path, "z.vcf", card)
    cli.fails(1, "import", f, "--type", "deals")


# --- export ----------------------------------------------------------------------------------

def test_csv_export_neutralises_spreadsheet_formulas(cli, tmp_path) -> None:
    f = write(tmp_path, "f.csv", 'Name,Email,Company\n=HYPERLINK("http://x"),a@evil.com,+Evil\n'
                                 '@SUM(1),b@evil.com,Evil\n')
    cli.ok("import", f, "--type", "people")
    for kind in ("people", "companies"):
        rows = list(csv.reader(io.StringIO(cli.ok("export", kind).stdout)))
        for row in rows[1:]:
            for cell in row:
                assert not cell[:1] in ("=", "+", "-", "@"), (kind, row)
