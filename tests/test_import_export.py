"""Data in and out: import of spreadsheets in the shapes common CRMs export (and a messy one),
web-form capture, vCard round trips, and segments that never include do-not-contact."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from conftest import Cli, add_users, git

DATA = Path(__file__).parent / "data"
NOW = {"CRMCTL_NOW": "2026-11-25T09:00:00+01:00"}


@pytest.fixture
def team(cli) -> Cli:
    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"),
              ("jim", "Jim Seller", "jim@example.com"))
    return cli


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


def listed(cli: Cli, kind: str) -> dict[str, dict]:
    return {r["name"]: r for r in json.loads(cli.ok("list", kind, "--format", "json").stdout)}


# --- import ----------------------------------------------------------------------------------

def test_companies_from_a_hubspot_export_in_one_commit(team) -> None:
    before = commits(team.root)
    result = team.ok("import", str(DATA / "hubspot-companies.csv"), "--type", "companies")
    assert result.stdout == ("Import 3 companies from hubspot-companies.csv (3 added, 0 updated,"
                             " 0 merged, 0 skipped)\n")
    assert "columns not imported: Industry (map them with --map COLUMN=FIELD)" in result.stderr
    assert commits(team.root) == before + 1
    assert git(team.root, "log", "-1", "--format=%an") == "Sam Seller"
    companies = listed(team, "companies")
    acme, globex, initech = (companies[n] for n in ("Acme Products", "Globex Corporation",
                                                    "Initech"))
    assert (acme["status"], acme["owner"], acme["domain"], acme["source"]) == \
        ("client", "sarah", "acme.com", "trade-show")       # Customer -> client
    assert (globex["status"], globex["campaign"]) == ("lead", "spring-2026")
    assert initech["status"] == "prospect"                    # Opportunity -> prospect
    assert team.ok("check").stderr == "All CRM files are valid.\n"


def test_the_messy_export_merges_its_duplicates_and_reuses_companies(team) -> None:
    """BOM, semicolons, blank rows; Acme spelled three ways; Jane twice (by email)."""
    team.ok("import", str(DATA / "hubspot-companies.csv"), "--type", "companies")
    before = commits(team.root)
    out = team.ok("import", str(DATA / "messy-contacts.csv"), "--type", "people").stdout
    assert out.splitlines()[0] == ("Import 4 people from messy-contacts.csv (4 added, 0 updated,"
                                   " 1 merged, 0 skipped)")
    assert commits(team.root) == before + 1
    people = listed(team, "people")
    assert sorted(people) == ["Bob Smith", "Hank Scorpio", "Jane Doe", "Peter Gibbons"]
    jane = people["Jane Doe"]
    assert (jane["company"], jane["emails"], jane["title"], jane["tags"]) == \
        ("acme-products", ["jane.doe@acme.com"], "CTO", ["vip", "renewal"])
    assert people["Bob Smith"]["company"] == "acme-products"   # not a new "ACME ... INC"
    assert people["Hank Scorpio"]["company"] == "globex"
    assert people["Peter Gibbons"]["company"] == "initech"
    assert len(listed(team, "companies")) == 3                # no company added


def test_importing_again_skips_or_updates_never_duplicates(team) -> None:
    team.ok("import", str(DATA / "messy-contacts.csv"), "--type", "people")
    again = team.ok("import", str(DATA / "messy-contacts.csv"), "--type", "people").stdout
    # Jane's second row now meets the Jane already in the CRM: skipped like the rest
    assert again == ("Nothing to import: Import 0 people from messy-contacts.csv (0 added, "
                     "0 updated, 0 merged, 5 skipped)\n")
    assert len(listed(team, "people")) == 4
    updated = team.ok("import", str(DATA / "messy-contacts.csv"), "--type", "people",
                      "--update").stdout
    # only Jane's second row changes anything (her title); the rest say "no change"
    assert updated.startswith("Import 1 person from messy-contacts.csv (0 added, 1 updated, "
                              "0 merged, 4 skipped)")
    assert listed(team, "people")["Jane Doe"]["title"] == "Chief Technology Officer"


def test_dry_run_lists_every_row_and_writes_nothing(team) -> None:
    before = commits(team.root)
    result = team.ok("import", str(DATA / "pipedrive-deals.csv"), "--type", "deals",
                     "--dry-run", env=NOW)
    rows = [line.split()[:2] for line in result.stdout.splitlines()[2:]]
    assert rows == [["2", "created"], ["3", "created"], ["4", "created"], ["5", "rejected"],
                    ["6", "rejected"]]
    assert "amount 'lots' is not a number" in result.stdout
    assert "'31/02/2027' is not a date" in result.stdout
    assert result.stderr.strip().endswith("(dry run: nothing changed) Import 3 deals from "
                                          "pipedrive-deals.csv (3 added, 0 updated, 0 merged, "
                                          "0 skipped)")
    assert commits(team.root) == before
    assert git(team.root, "status", "--porcelain") == ""


def test_one_bad_row_stops_the_import_and_lists_every_bad_row(team) -> None:
    result = team.fails(1, "import", str(DATA / "pipedrive-deals.csv"), "--type", "deals",
                        env=NOW)
    assert "2 rows cannot be imported (row 5: amount 'lots' is not a number" in result.stderr
    assert "row 6: '31/02/2027' is not a date" in result.stderr
    assert "nothing was imported (fix them, or add --skip-bad" in result.stderr
    assert listed(team, "deals") == {}


def test_skip_bad_imports_the_rest_with_stages_and_companies(team) -> None:
    result = team.ok("import", str(DATA / "pipedrive-deals.csv"), "--type", "deals",
                     "--skip-bad", env=NOW)
    assert "row 5 skipped: amount 'lots' is not a number" in result.stderr
    assert "row 6 skipped: '31/02/2027' is not a date" in result.stderr
    deals = listed(team, "deals")
    assert (deals["Acme renewal"]["stage"], deals["Acme renewal"]["amount"],
            deals["Acme renewal"]["close"], deals["Acme renewal"]["owner"]) == \
        ("in-negotiation", 12000, "2027-01-31", "sarah")
    assert deals["Globex pilot"]["stage"] == "meeting-arranged"
    assert deals["Initech upsell"]["stage"] == "won"
    assert "and 3 companies they belong to" in result.stdout
    assert team.ok("check").stderr == "All CRM files are valid.\n"


def test_map_names_a_column_and_a_declared_field(team) -> None:
    text = (team.root / "crm.yaml").read_text().replace(
        "  company: {}", "  company:\n    industry:\n      type: string", 1)
    (team.root / "crm.yaml").write_text(text)
    git(team.root, "commit", "-qam", "An industry field")
    result = team.ok("import", str(DATA / "hubspot-companies.csv"), "--type", "companies",
                     "--map", "Industry=industry", "--map", "Campaign=skip")
    assert result.stderr == ""  # Campaign skipped on purpose: nothing left unmapped
    assert listed(team, "companies")["Initech"]["industry"] == "Software"


@pytest.mark.parametrize("args, code, says", [
    (("--type", "planets"), 1, "cannot import 'planets'"),
    (("--type", "companies", "--map", "Nope=name"), 1, "no column 'Nope' in the file"),
    (("--type", "companies", "--map", "Industry=shoe"), 1, "unknown company field 'shoe'"),
    ((), 2, "say what the rows are: --type companies, people or deals"),
], ids=["kind", "map-column", "map-field", "no-type"])
def test_bad_import_options_are_one_line(team, args, code, says) -> None:
    assert says in team.fails(code, "import", str(DATA / "hubspot-companies.csv"), *args).stderr


def test_ten_thousand_rows_import_in_one_commit(team, tmp_path) -> None:
    big = tmp_path / "big.csv"
    with big.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Company Name", "Website"])
        for n in range(10_000):
            writer.writerow([f"Company {n:05d} Holdings", f"https://c{n}.example/"])
    before = commits(team.root)
    out = team.ok("import", str(big), "--type", "companies").stdout
    assert out.startswith("Import 10000 companies from big.csv (10000 added")
    assert commits(team.root) == before + 1
    assert len(list((team.root / "companies").rglob("*.yaml"))) == 10_000


def test_an_xlsx_sheet_imports_like_a_csv(team, tmp_path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Company Name", "Website", "Lifecycle Stage"])
    sheet.append(["Acme Products", "https://acme.com", "Customer"])
    sheet.append([None, None, None])
    sheet.append(["Globex", "globex.com", "Lead"])
    path = tmp_path / "companies.xlsx"
    book.save(path)
    out = team.ok("import", str(path), "--type", "companies").stdout
    assert out.startswith("Import 2 companies from companies.xlsx (2 added")
    assert listed(team, "companies")["Acme Products"]["status"] == "client"


# --- capture ---------------------------------------------------------------------------------

def test_capture_makes_a_lead_from_a_form(team) -> None:
    form = {"name": "Jane Doe", "email": "jane@acme.com", "company": "Acme Products",
            "source": "web", "campaign": "spring-2026"}
    out = team.ok("capture", input=json.dumps(form)).stdout
    assert out == 'Add person "Jane Doe" as jane-doe\n'
    jane = listed(team, "people")["Jane Doe"]
    assert (jane["company"], jane["source"], jane["campaign"], jane["status"]) == \
        ("acme-products", "web", "spring-2026", "lead")
    assert git(team.root, "log", "-1", "--format=%s") == 'Capture person "Jane Doe" from a form'
    refused = team.fails(5, "capture", input=json.dumps({**form, "email": "JANE@acme.com"}))
    assert "person 'Jane Doe' is already in the CRM as jane-doe" in refused.stderr


@pytest.mark.parametrize("text, says", [
    ("not json", "not JSON"),
    ("[1, 2]", "the JSON is not an object"),
    ('{"name": "X", "shoe": 9}', "unknown fields: shoe"),
    ('{"name": "Y", "status": "hot"}', "unknown status 'hot'"),
], ids=["not-json", "array", "unknown-field", "bad-status"])
def test_a_bad_form_is_one_line_and_writes_nothing(team, text, says) -> None:
    assert says in team.fails(1, "capture", input=text).stderr


# --- vCard -----------------------------------------------------------------------------------

def test_vcard_round_trip_keeps_names_emails_phones_organisation_and_title(team, tmp_path) -> None:
    team.ok("add", "company", "Acme Products")
    team.ok("add", "company", "Société Générale")
    team.ok("add", "person", "Jane Q. Doe", "--company", "Acme Products", "--email",
            "jane@acme.com", "--email", "jd@home.example", "--phone", "+1 555 0100",
            "--title", "CTO")
    team.ok("add", "person", "Zoë Lefèvre", "--company", "Société Générale", "--email",
            "zoe@sg.example", "--title", "Directrice, achats")
    cards = team.ok("export", "people", "--format", "vcf").stdout
    assert cards.count("BEGIN:VCARD") == 2 and "ORG:Soci" in cards
    path = tmp_path / "people.vcf"
    path.write_text(cards, encoding="utf-8")
    other = Cli(tmp_path / "other", team.runner)
    team.ok("init", str(other.root))
    out = other.ok("--dir", str(other.root), "import", str(path)).stdout
    assert out.startswith("Import 2 people from people.vcf (2 added")
    people = {p["name"]: p for p in json.loads(other.ok(
        "--dir", str(other.root), "list", "people", "--format", "json").stdout)}
    jane, zoe = people["Jane Q. Doe"], people["Zoë Lefèvre"]
    assert (jane["emails"], jane["phones"], jane["title"], jane["company"]) == \
        (["jane@acme.com", "jd@home.example"], ["+1 555 0100"], "CTO", "acme-products")
    assert (zoe["emails"], zoe["title"]) == (["zoe@sg.example"], "Directrice, achats")
    again = other.ok("--dir", str(other.root), "export", "people", "--format", "vcf").stdout
    strip = lambda text: sorted(l for l in text.splitlines() if not l.startswith(("UID", "PRODID")))  # noqa: E731
    assert strip(again) == strip(cards)


def test_a_file_that_is_not_a_vcard_is_one_line(team, tmp_path) -> None:
    path = tmp_path / "broken.vcf"
    path.write_text("BEGIN:VCARD\nthis is not\n")
    assert "not a vCard file" in team.fails(1, "import", str(path)).stderr


# --- segments ----------------------------------------------------------------------------------

@pytest.fixture
def segments(team) -> Cli:
    team.ok("add", "company", "Acme Products", "--status", "client", "--tag", "enterprise")
    team.ok("add", "company", "Initrode", "--status", "do-not-contact")
    team.ok("add", "person", "Jane Doe", "--company", "Acme Products", "--email",
            "jane@acme.com", "--tag", "newsletter", "--owner", "sarah")
    team.ok("add", "person", "Bob Smith", "--company", "Acme Products", "--status",
            "do-not-contact", "--email", "bob@acme.com", "--tag", "newsletter")
    team.ok("add", "person", "No Mail", "--company", "Acme Products", "--tag", "newsletter")
    team.ok("add", "person", "Rita Ritter", "--company", "Initrode", "--email",
            "rita@initrode.com", "--tag", "newsletter")
    team.ok("add", "deal", "Renewal", "--company", "Acme Products", "--stage",
            "proposal-presented", "--amount", "1000", "--close", "2027-01-31")
    return team


def test_a_segment_never_includes_do_not_contact_people(segments) -> None:
    result = segments.ok("export", "people", "--tag", "newsletter")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0])[:5] == ["Email Address", "First Name", "Last Name", "Company", "Tags"]
    assert [(r["Email Address"], r["First Name"], r["Last Name"], r["Company"]) for r in rows] \
        == [("jane@acme.com", "Jane", "Doe", "Acme Products")]
    assert result.stderr == ("1 person exported; left out: 2 do-not-contact, 1 no email "
                             "(--include-do-not-contact to include them)\n")
    for fmt in ("json", "vcf"):
        out = segments.ok("export", "people", "--tag", "newsletter", "--format", fmt).stdout
        assert "bob@acme.com" not in out and "rita@initrode.com" not in out
    included = segments.ok("export", "people", "--include-do-not-contact").stdout
    assert "bob@acme.com" in included and "rita@initrode.com" in included


def test_segments_filter_by_owner_status_and_deal_stage(segments) -> None:
    by_owner = segments.ok("export", "people", "--owner", "sarah", "--format", "json").stdout
    assert [r["Email Address"] for r in json.loads(by_owner)] == ["jane@acme.com"]
    companies = list(csv.DictReader(io.StringIO(segments.ok(
        "export", "companies", "--has-deal-stage", "proposal-presented").stdout)))
    assert [(c["Company"], c["People"]) for c in companies] == [("Acme Products", "3")]
    assert segments.ok("export", "companies", "--status", "do-not-contact").stdout.count("\n") == 1


@pytest.mark.parametrize("args, code, says", [
    (("deals",), 1, "cannot export 'deals'"),
    (("people", "--status", "hot"), 1, "unknown status 'hot'"),
    (("people", "--format", "xml"), 2, "unknown format 'xml'"),
    (("companies", "--format", "vcf"), 1, "vCards are for people"),
], ids=["kind", "status", "format", "vcf-companies"])
def test_bad_export_options_are_one_line(segments, args, code, says) -> None:
    assert says in segments.fails(code, "export", *args).stderr
