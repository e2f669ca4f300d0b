"""The duplicate guard: add refuses a likely duplicate, names it, and suggests --force."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("spelling", ["Acme Products, Inc.", "Acme Products, Inc",
                                      "Acme Products, Incorporated", "ACME PRODUCTS LLC",
                                      "acme products", "The Acme Products Co."])
def test_acme_spellings_are_refused_as_the_existing_company(cli, spelling: str) -> None:
    cli.ok("add", "company", "Acme Products")
    result = cli.fails(5, "add", "company", spelling)
    assert f"company {spelling!r} looks like an existing company: Acme Products (acme-products" \
        in result.stderr
    assert "(acme-products, 100%: same name)" in result.stderr and "--force" in result.stderr


def test_force_adds_it_anyway(cli) -> None:
    cli.ok("add", "company", "Acme Products")
    result = cli.ok("add", "company", "Acme Products, Inc.", "--force")
    assert result.stdout.endswith("as acme-products-2\n")


@pytest.mark.parametrize("existing,new", [("Acme Products", "Acme Paper Products"),
                                          ("General Motors", "General Mills"),
                                          ("Acme Products", "Apex Products")])
def test_different_companies_with_similar_names_are_allowed(cli, existing: str, new: str) -> None:
    cli.ok("add", "company", existing)
    cli.ok("add", "company", new)


def test_same_domain_is_a_duplicate(cli) -> None:
    cli.ok("add", "company", "Initech", "--domain", "initech.com")
    result = cli.fails(5, "add", "company", "Initech Software Systems", "--domain",
                       "www.INITECH.com")
    assert "same domain initech.com" in result.stderr


def test_person_with_the_same_email_anywhere_is_a_duplicate(cli) -> None:
    cli.ok("add", "company", "Initech")
    cli.ok("add", "company", "Globex")
    cli.ok("add", "person", "Peter Gibbons", "--company", "Initech", "--email", "peter@initech.com")
    result = cli.fails(5, "add", "person", "P. Gibbons", "--company", "Globex", "--email",
                       "Peter@Initech.com")
    assert "same email peter@initech.com" in result.stderr


def test_similar_person_name_in_the_same_company_is_a_duplicate(cli) -> None:
    cli.ok("add", "company", "Initech")
    cli.ok("add", "company", "Globex")
    cli.ok("add", "person", "Peter Gibbons", "--company", "Initech")
    result = cli.fails(5, "add", "person", "peter  gibbons", "--company", "initech")
    assert "Peter Gibbons (peter-gibbons" in result.stderr
    # The same name at another company is another person.
    assert cli.ok("add", "person", "Peter Gibbons", "--company", "Globex").stdout.endswith(
        "as peter-gibbons-2\n")


def test_same_deal_title_at_the_same_company_is_a_duplicate(cli) -> None:
    cli.ok("add", "company", "Initech")
    cli.ok("add", "deal", "Printer Renewal", "--company", "Initech")
    assert "same title at Initech" in cli.fails(
        5, "add", "deal", "printer renewal", "--company", "Initech").stderr


def kept_names(root) -> tuple[int, int] | None:
    """(upto, lines) of the company names the guard keeps ready in the index."""
    import sqlite3

    with sqlite3.connect(root / ".crmctl" / "index.sqlite") as db:
        return db.execute("SELECT upto, lines FROM name_forms WHERE kind='company'").fetchone()


def imported(cli, tmp_path, *names: str) -> None:
    (tmp_path / "rows.csv").write_text("name\n" + "".join(f"{n}\n" for n in names))
    cli.ok("import", str(tmp_path / "rows.csv"), "--type", "companies")


def test_the_guard_sees_records_made_and_renamed_by_hand(cli, tmp_path) -> None:
    """The guard scores the index's names: a record written or renamed by hand and not
    committed is among them at once, and an old name it keeps ready leads to the record
    as it is now."""
    imported(cli, tmp_path, "Acme Products", "Globex")
    cli.ok("add", "company", "Umbrella Corporation")  # keeps Acme's and Globex's names ready
    assert kept_names(cli.root)[1] == 2
    (cli.root / "companies" / "in").mkdir(exist_ok=True)
    (cli.root / "companies" / "in" / "initech.yaml").write_text(
        "id: initech\nname: Initech Software\nstatus: lead\n"
        "created: 2026-01-01T09:00:00+00:00\nupdated: 2026-01-01T09:00:00+00:00\n")
    refused = cli.fails(5, "add", "company", "Initech Software, Inc.")
    assert "Initech Software (initech, 100%: same name)" in refused.stderr
    path = cli.root / "companies" / "gl" / "globex.yaml"
    path.write_text(path.read_text().replace("name: Globex", "name: Stark Holdings"))
    cli.ok("add", "company", "Globex")  # its old name is gone from the list
    refused = cli.fails(5, "add", "company", "Stark Holdings Ltd")
    assert "Stark Holdings (globex, 100%: same name)" in refused.stderr


def test_words_in_another_order_are_the_same_name(cli) -> None:
    cli.ok("add", "company", "Orion Dental Partners")
    refused = cli.fails(5, "add", "company", "Partners Orion Dental GmbH")
    assert "Orion Dental Partners (orion-dental-partners, 100%: same name)" in refused.stderr


def test_the_guard_sees_every_name_after_a_big_import(cli, tmp_path) -> None:
    """The guard keeps the names of a kind ready and completes them with those written
    since; past a thousand of those (an import) it makes them again."""
    cli.ok("add", "company", "Acme Products")
    cli.ok("add", "company", "Globex")
    assert kept_names(cli.root)[1] == 1  # Acme's, kept by Globex's add
    imported(cli, tmp_path, *(f"Northwind {n:04d} Traders" for n in range(1, 1202)))
    for existing, spelling in [("Northwind 1201 Traders", "Northwind 1201 Traders Inc"),
                               ("Northwind 0001 Traders", "northwind 0001 traders, llc"),
                               ("Acme Products", "ACME Products Co."),
                               ("Globex", "Globex, Inc.")]:
        refused = cli.fails(5, "add", "company", spelling)
        assert f"looks like an existing company: {existing} (" in refused.stderr
    assert kept_names(cli.root)[1] == 1203, "made again, with every name"
    cli.ok("add", "company", "Northwind 1202 Traders")  # another number: another company
    assert "Northwind 1202 Traders (" in cli.fails(
        5, "add", "company", "Northwind 1202 Traders Ltd").stderr


def test_a_company_deleted_by_hand_no_longer_blocks_its_name(cli, tmp_path) -> None:
    from conftest import git

    imported(cli, tmp_path, "Acme Products", "Globex")
    cli.ok("add", "company", "Initech")  # keeps Globex's name ready
    git(cli.root, "rm", "-q", "companies/gl/globex.yaml")
    git(cli.root, "commit", "-qm", "Globex closed")
    assert cli.ok("add", "company", "Globex Corporation").stdout.endswith("as globex\n")


def test_names_gone_since_they_were_kept_ready_hide_no_duplicate(cli, tmp_path) -> None:
    """Twenty-one spellings of one company, merged into one: the twenty names gone from
    the index still score as high as its own, and must not take all the places."""
    for _ in range(21):
        cli.ok("add", "company", "Acme Widgets", "--force")
    cli.ok("add", "company", "Globex")  # keeps the 21 names ready
    cli.ok("merge", "acme-widgets-9", *(f"acme-widgets-{n}" for n in range(2, 22) if n != 9),
           "acme-widgets")
    refused = cli.fails(5, "add", "company", "Acme Widgets")
    assert "Acme Widgets (acme-widgets-9, 100%: same name)" in refused.stderr


def test_an_id_typed_by_hand_with_a_line_break_shifts_no_name(cli, tmp_path) -> None:
    """The ids the guard keeps beside the names are any strings a hand edit can make: each
    stays beside its own name, as typed, and an error quoting it stays one line."""
    import shutil

    imported(cli, tmp_path, "Aardvark Labs", "Zeta Widgets")
    path = cli.root / "companies" / "aa" / "aardvark-labs.yaml"
    path.write_text(path.read_text().replace("id: aardvark-labs", 'id: "aardvark\\nlabs "'))
    shutil.rmtree(cli.root / ".crmctl")  # the names made afresh, the hand-typed id first
    refused = cli.fails(5, "add", "company", "Zeta Widgets Inc")
    assert "Zeta Widgets (zeta-widgets, 100%: same name)" in refused.stderr
    refused = cli.fails(5, "add", "company", "Aardvark Labs Inc")
    assert "Aardvark Labs (aardvark\\nlabs , 100%: same name)" in refused.stderr
