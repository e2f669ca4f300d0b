"""Naming records loosely: id, exact name in any case, alias, a clear fuzzy winner; else an error."""

from __future__ import annotations

import pytest


@pytest.fixture
def companies(cli):
    for name in ("Acme Products, Inc.", "Acme Paper Products", "General Motors", "General Mills",
                 "Société Générale"):
        cli.ok("add", "company", name)
    return cli


@pytest.mark.parametrize("ref,expected", [
    ("acme-products", "acme-products"),            # id
    ("ACME PRODUCTS, INC.", "acme-products"),      # exact name, any case
    ("acme products inc", "acme-products"),        # normalised name
    ("acme prodcts", "acme-products"),             # a typo with a clear winner
    ("general motrs", "general-motors"),
    ("societe generale", "societe-generale"),      # accents set aside
])
def test_a_clear_match_is_used(companies, ref: str, expected: str) -> None:
    result = companies.ok("show", ref, "-f", "json")
    assert f'"id": "{expected}"' in result.stdout


@pytest.mark.parametrize("ref", ["acme", "general"])
def test_an_ambiguous_name_lists_the_candidates_with_ids(companies, ref: str) -> None:
    result = companies.fails(4, "show", ref)
    assert "could be more than one" in result.stderr
    if ref == "acme":
        assert "Acme Products, Inc. (company/acme-products" in result.stderr
        assert "Acme Paper Products (company/acme-paper-products" in result.stderr
    else:
        assert "(company/general-motors" in result.stderr
        assert "(company/general-mills" in result.stderr


def test_a_weak_match_is_not_found_with_the_closest_names(companies) -> None:
    result = companies.fails(3, "show", "Acne Pets")
    assert "no record named 'Acne Pets'; closest:" in result.stderr


def test_nothing_close_is_not_found(companies) -> None:
    result = companies.fails(3, "show", "Zyxw")
    assert "no record named 'Zyxw'" in result.stderr


def test_aliases_find_the_record(companies) -> None:
    path = companies.root / "companies/ge/general-motors.yaml"
    text = path.read_text().replace("status: lead\n", "status: lead\n", 1)
    path.write_text(text.replace("name: General Motors\n",
                                 "name: General Motors\naliases:\n- GM\n"))
    assert '"id": "general-motors"' in companies.ok("show", "gm", "-f", "json").stdout


def test_references_in_options_resolve_the_same_way(companies) -> None:
    companies.ok("add", "person", "Mary Barra", "--company", "general motrs")
    assert companies.ok("list", "people", "--company", "GENERAL MOTORS", "-q").stdout == \
        "mary-barra\n"
    companies.fails(4, "add", "person", "Someone", "--company", "general")


def test_a_person_and_deal_are_found_by_name(companies) -> None:
    companies.ok("add", "person", "Mary Barra", "--company", "general-motors")
    companies.ok("add", "deal", "Fleet Renewal", "--company", "general-motors")
    assert '"kind": "person"' in companies.ok("show", "mary barra", "-f", "json").stdout
    assert '"kind": "deal"' in companies.ok("show", "fleet renewal", "-f", "json").stdout


def test_kind_slash_id_names_exactly_one_record(companies) -> None:
    companies.ok("add", "deal", "General Motors", "--company", "general-motors")
    assert '"kind": "company"' in companies.ok("show", "company/general-motors", "-f",
                                               "json").stdout
    companies.fails(3, "show", "person/general-motors")


@pytest.mark.parametrize("ref", ["x", "in", "ra"])
def test_a_fragment_never_picks_a_record_silently(companies, ref: str) -> None:
    companies.fails(3, "show", ref)


def test_the_beginning_of_one_name_finds_it(companies) -> None:
    assert '"id": "societe-generale"' in companies.ok("show", "societe", "-f", "json").stdout
    assert '"id": "acme-paper-products"' in companies.ok("show", "paper", "-f", "json").stdout


def test_a_person_is_looked_up_among_the_deal_company_people(companies) -> None:
    companies.ok("add", "person", "Jane Doe", "--company", "general-motors")
    companies.ok("add", "person", "Jane Doe", "--company", "general-mills")
    companies.fails(4, "show", "jane doe")  # two people of that name
    result = companies.ok("add", "deal", "Cereal", "--company", "general-mills", "--person",
                          "jane doe", "-q")
    shown = companies.ok("show", result.stdout.strip(), "-f", "json").stdout
    assert '"person": "jane-doe-2"' in shown
