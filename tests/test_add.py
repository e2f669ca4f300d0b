"""crmctl add company|person|deal: one readable YAML file and one commit per record."""

from __future__ import annotations

from pathlib import Path

from conftest import USER_EMAIL, USER_NAME, git
from crmctl import yamlio


def test_add_company_writes_a_readable_file_and_one_commit(cli, read_file) -> None:
    result = cli.ok("add", "company", "Acme Products, Inc.", "--domain", "https://www.acme.com/",
                    "--source", "trade-show", "--tag", "affiliate,referral-partner")
    assert result.stdout == 'Add company "Acme Products, Inc." as acme-products\n'
    text = read_file("companies/ac/acme-products.yaml")
    lines = text.splitlines()
    assert lines[:8] == ["id: acme-products", "name: Acme Products, Inc.", "domain: acme.com",
                         "status: lead", "source: trade-show", "tags:", "- affiliate",
                         "- referral-partner"]
    assert lines[8].startswith("created: '") and lines[9].startswith("updated: '")
    assert "!!" not in text
    assert git(cli.root, "log", "-1", "--format=%an <%ae>|%s") == \
        f'{USER_NAME} <{USER_EMAIL}>|Add company "Acme Products, Inc."'
    assert git(cli.root, "show", "--name-only", "--format=", "HEAD") == \
        "companies/ac/acme-products.yaml"
    assert git(cli.root, "status", "--porcelain") == ""


def test_quiet_add_prints_only_the_id(cli) -> None:
    assert cli.ok("add", "company", "Initech", "-q").stdout == "initech\n"


def test_person_needs_an_existing_company(cli) -> None:
    result = cli.fails(3, "add", "person", "Jane Doe", "--company", "Nowhere Ltd")
    assert "no company named 'Nowhere Ltd'" in result.stderr
    cli.fails(2, "add", "person", "Jane Doe")  # --company is required


def test_add_person_at_a_company_named_loosely(cli, read_file) -> None:
    cli.ok("add", "company", "Acme Products, Inc.")
    result = cli.ok("add", "person", "Jane Doe", "--company", "acme products", "--email",
                    "Jane@Acme.com", "--phone", "+1 555 0100", "--title", "CEO")
    assert result.stdout == 'Add person "Jane Doe" at "Acme Products, Inc." as jane-doe\n'
    data = yamlio.load(read_file("people/ja/jane-doe.yaml"))
    assert data["company"] == "acme-products"
    assert data["emails"] == ["jane@acme.com"]
    assert data["phones"] == ["+1 555 0100"]
    assert data["title"] == "CEO" and data["status"] == "lead"


def test_deal_defaults_to_the_first_stage_and_its_probability(cli, read_file) -> None:
    cli.ok("add", "company", "Initech")
    result = cli.ok("add", "deal", "Printers", "--company", "initech", "--amount", "12,000",
                    "--close", "2027-01-31")
    assert result.stdout == \
        'Add deal "Printers" with "Initech" (12,000 USD, contact-made) as initech-printers\n'
    data = yamlio.load(read_file("deals/in/initech-printers.yaml"))
    assert (data["stage"], data["probability"], data["amount"], data["currency"], data["close"]) \
        == ("contact-made", "10", "12000", "USD", "2027-01-31")


def test_deal_with_stage_probability_person_and_owner(cli, read_file) -> None:
    from conftest import add_users

    add_users(cli.root, ("sarah", "Sarah Closer", "sarah@example.com"))
    cli.ok("add", "company", "Initech")
    cli.ok("add", "person", "Bill Lumbergh", "--company", "Initech")
    cli.ok("add", "deal", "Printers", "--company", "initech", "--person", "bill lumbergh",
           "--stage", "proposal-presented", "--probability", "55", "--amount", "1500.50",
           "--currency", "eur", "--owner", "sarah", "--close", "2027-03-31")
    data = yamlio.load(read_file("deals/in/initech-printers.yaml"))
    assert data["person"] == "bill-lumbergh"
    assert (data["stage"], data["probability"], data["amount"], data["currency"]) == \
        ("proposal-presented", "55", "1500.5", "EUR")
    assert data["owner"] == "sarah"


def test_a_deal_from_qualified_on_needs_amount_and_close(cli) -> None:
    cli.ok("add", "company", "Initech")
    result = cli.fails(1, "add", "deal", "Printers", "--company", "Initech", "--stage",
                       "qualified", "--amount", "500")
    assert "a deal in qualified needs close" in result.stderr and "--close" in result.stderr
    cli.ok("add", "deal", "Printers", "--company", "Initech", "--stage", "meeting-arranged")


def test_deal_person_must_work_at_the_deal_company(cli) -> None:
    cli.ok("add", "company", "Initech")
    cli.ok("add", "company", "Globex")
    cli.ok("add", "person", "Hank Scorpio", "--company", "Globex")
    result = cli.fails(1, "add", "deal", "Printers", "--company", "Initech", "--person", "hank")
    assert "is at globex, not at Initech" in result.stderr


def test_bad_input_is_one_line_exit_1_and_nothing_written(cli) -> None:
    cli.ok("add", "company", "Initech")
    cases = {
        ("add", "company", "X Corp", "--status", "hot"):
            "'hot' is not one of: lead, contact, prospect",
        ("add", "deal", "D", "--company", "initech", "--stage", "signed"):
            "unknown stage 'signed' (stages: contact-made, meeting-arranged",
        ("add", "deal", "D", "--company", "initech", "--close", "whenever"):
            "'whenever' is not a date",
        ("add", "deal", "D", "--company", "initech", "--close", "2027-02-30"):
            "'2027-02-30' is not a date",
        ("add", "deal", "D", "--company", "initech", "--amount", "-5"): "amount '-5' is negative",
        ("add", "deal", "D", "--company", "initech", "--amount", "lots"): "is not a number",
        ("add", "deal", "D", "--company", "initech", "--probability", "150"):
            "probability '150' is not between 0 and 100",
        ("add", "deal", "D", "--company", "initech", "--probability", "0.5"):
            "probability '0.5' looks like a fraction, but it is in percent (write 50 for 50%",
        ("add", "deal", "D", "--company", "initech", "--probability", "likely"):
            "probability 'likely' is not a number",
        ("add", "company", ""): "the company name is empty",
        ("add", "company", "   "): "the company name is empty",
        ("add", "company", "!!!"): "has no letter or digit",
        ("add", "company", "Y Corp", "--domain", "not a domain"): "is not a valid domain",
        ("add", "person", "P", "--company", "initech", "--email", "nope"): "is not a valid email",
        ("add", "company", "Z Corp", "--set", "territory=north"): "unknown company field 'territory'",
        ("add", "company", "Z Corp", "--set", "oops"): "is not FIELD=VALUE",
        ("add", "company", "Z Corp", "--owner", "nobody"): None,  # no users declared: free text
    }
    for args, message in cases.items():
        if message is None:
            continue
        result = cli.fails(1, *args)
        assert message in result.stderr, (args, result.stderr)


def test_custom_fields_declared_in_crm_yaml_are_typed_and_checked(cli, read_file) -> None:
    text = read_file("crm.yaml").replace(
        "fields:\n  company: {}\n",
        "fields:\n  company:\n    sic-code:\n      type: string\n      pattern: '^[0-9]{4}$'\n"
        "    employees:\n      type: integer\n      minimum: 1\n"
        "    territory:\n      type: string\n      enum: [north, south]\n")
    (cli.root / "crm.yaml").write_text(text)
    git(cli.root, "commit", "-qam", "Declare our fields")
    cli.ok("add", "company", "Initech", "--set", "sic-code=0734", "--set", "employees=250",
           "--set", "territory=north")
    data = read_file("companies/in/initech.yaml")
    assert "sic-code: '0734'" in data and "employees: 250" in data and "territory: north" in data
    assert "'wide' is not one of: north, south" in \
        cli.fails(1, "add", "company", "Globex", "--set", "territory=wide").stderr
    assert "'many' is not a whole number" in \
        cli.fails(1, "add", "company", "Globex", "--set", "employees=many").stderr
    assert "is not a valid sic-code" in \
        cli.fails(1, "add", "company", "Globex", "--set", "sic-code=12").stderr


def test_same_record_written_twice_gives_identical_bytes(tmp_path: Path, monkeypatch) -> None:
    """Two CRMs fed the same commands at the same moment hold byte-identical record files."""
    from datetime import datetime, timezone

    from crmctl.gitops import Identity
    from crmctl.identity import Actor
    from crmctl.init import init_crm
    from crmctl.records import add_company
    from crmctl.store import Crm

    when = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)
    actor = Actor(Identity("Sam Seller", "sam@example.com"))
    texts = []
    for name in ("one", "two"):
        init_crm(tmp_path / name, actor.identity, when)
        crm = Crm(tmp_path / name)
        add_company(crm, "Zip 08540 Holdings", actor=actor, now=when, tags=["NO", "1e3"],
                    source="yes")
        texts.append((tmp_path / name / "companies/zi/zip-08540-holdings.yaml").read_bytes())
    assert texts[0] == texts[1]
    assert b"- 'NO'\n- '1e3'\n" in texts[0] and b"source: 'yes'\n" in texts[0]


def test_ids_stay_unique_when_names_collide(cli) -> None:
    cli.ok("add", "company", "Initech")
    cli.ok("add", "company", "Initech", "--force")
    cli.ok("add", "company", "INITECH", "--force")
    assert cli.ok("list", "companies", "-q").stdout.split() == ["initech", "initech-2",
                                                                 "initech-3"]
