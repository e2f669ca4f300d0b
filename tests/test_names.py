"""Ids and names: whatever a user types as a name, the record's id and file are safe.

An id is lowercase ASCII letters, digits and dashes; the file is
``companies/<first two characters>/<id>.yaml`` inside the CRM, whatever the name holds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crmctl.names import (MAX_ID_LENGTH, fold, is_valid_id, normalize_company,
                          normalize_person, slugify)

from conftest import git

ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
PROPERTY = settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])


def files_under(folder: Path, skip: Path | None = None) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and (skip is None or skip not in p.parents)}


# --- names through `crmctl add company` ----------------------------------------------------

LONG_NAME = "Very Long Name Holdings " * 7 + "Worldwide"  # 177 characters: near the limit
assert 170 <= len(LONG_NAME) <= 200


@pytest.mark.parametrize("args, expected_id", [
    (["Société Générale"], "societe-generale"),
    (["株式会社トヨタ"], None),  # no Latin letters: a stable hashed id, company-<hex>
    (["../../etc/passwd"], "etc-passwd"),
    (["--", "--help"], "help"),
    (["AT&T"], "at-and-t"),
    ([LONG_NAME], None),
    (["x" * 200], "x" * MAX_ID_LENGTH),
], ids=["accents", "japanese", "path-traversal", "dash-dash-help", "ampersand", "long-words",
        "200-chars"])
def test_any_name_gives_a_safe_id_and_a_file_inside_the_crm(cli, crm_root, tmp_path, args,
                                                            expected_id):
    name = args[-1]
    outside_before = files_under(tmp_path, skip=crm_root)
    head_before = git(crm_root, "rev-parse", "HEAD")

    record_id = cli.ok("add", "company", "-q", *args).stdout.strip()

    assert ID.match(record_id), record_id
    assert is_valid_id(record_id)
    if expected_id:
        assert record_id == expected_id
    path = crm_root / "companies" / record_id[:2] / f"{record_id}.yaml"
    assert path.is_file()
    assert path.resolve().parent.parent == (crm_root / "companies").resolve()
    # The one commit adds exactly that file, and nothing appeared anywhere else.
    added = git(crm_root, "diff", "--name-only", head_before, "HEAD").splitlines()
    assert added == [f"companies/{record_id[:2]}/{record_id}.yaml"]
    assert git(crm_root, "status", "--porcelain", "--untracked-files=all") == ""
    assert files_under(tmp_path, skip=crm_root) == outside_before
    assert not (tmp_path / "etc").exists()
    # The name is kept as typed, and the CRM stays valid.
    shown = cli.ok("show", record_id)
    assert shown.stdout.startswith(f"{name}  (company {record_id})")
    assert cli("check").exit_code == 0


@pytest.mark.parametrize("name", ["x" * 201, "Acme\u202eProducts", "Acme\u200bProducts"],
                         ids=["201-chars", "right-to-left-override", "zero-width-space"])
def test_overlong_names_and_invisible_characters_are_refused(cli, name):
    result = cli.fails(1, "add", "company", name)
    assert "at most 200" in result.stderr or "invisible characters" in result.stderr


def test_a_japanese_name_gets_a_stable_hashed_id_that_differs_per_name(cli):
    toyota = cli.ok("add", "company", "-q", "株式会社トヨタ").stdout.strip()
    honda = cli.ok("add", "company", "-q", "本田技研工業株式会社").stdout.strip()
    assert re.fullmatch(r"company-[0-9a-f]{8}", toyota)
    assert re.fullmatch(r"company-[0-9a-f]{8}", honda)
    assert toyota != honda
    assert toyota == slugify(normalize_company("株式会社トヨタ"), "company")


def test_a_name_with_inner_whitespace_is_tidied_not_refused(cli, read_file):
    record_id = cli.ok("add", "company", "-q", "  Acme \t  Products  ").stdout.strip()
    assert record_id == "acme-products"
    assert "name: Acme Products\n" in read_file("companies/ac/acme-products.yaml")


@pytest.mark.parametrize("name", ["", "   ", "\t", "!!!", "-", "...", "&", "¿?"],
                         ids=["empty", "spaces", "tab", "bangs", "dash", "dots", "ampersand",
                              "spanish-marks"])
def test_a_name_with_no_letter_or_digit_is_refused_and_nothing_committed(cli, crm_root, name):
    result = cli.fails(1, "add", "company", "--", name)
    assert result.stderr.startswith("crmctl: error: the company name ")
    assert not (crm_root / "companies").exists()


def test_names_differing_only_in_case_never_give_two_files_differing_only_in_case(cli, crm_root):
    first = cli.ok("add", "company", "-q", "Acme").stdout.strip()
    refused = cli.fails(5, "add", "company", "ACME")
    assert "looks like an existing company" in refused.stderr
    second = cli.ok("add", "company", "-q", "--force", "ACME").stdout.strip()
    third = cli.ok("add", "company", "-q", "--force", "acme").stdout.strip()

    assert (first, second, third) == ("acme", "acme-2", "acme-3")
    files = sorted(files_under(crm_root / "companies"))
    assert files == ["ac/acme-2.yaml", "ac/acme-3.yaml", "ac/acme.yaml"]
    assert len({f.lower() for f in files}) == len(files)
    assert cli("check").exit_code == 0


def test_a_person_name_gives_a_safe_id_too(cli, crm_root):
    cli.ok("add", "company", "Acme")
    record_id = cli.ok("add", "person", "-q", "--company", "acme", "--",
                       "../José O'Brien-Núñez").stdout.strip()
    assert record_id == "jose-o-brien-nunez"
    assert (crm_root / "people" / record_id[:2] / f"{record_id}.yaml").is_file()
    assert cli("check").exit_code == 0


# --- properties of slugify and normalize_company ---------------------------------------------

PREFIXES = st.sampled_from(["company", "person", "deal"])
# Words that the normalisation treats specially, mixed in so that examples hit them often.
SPECIAL = st.sampled_from(["The", "the", "Inc.", "inc", "Co", "GmbH", "G.m.b.H.", "S.A.",
                           "s.a.r.l.", "L.L.C.", "&", "+", "'", "’", "-", "..", "/", "\\",
                           "Acme", "ACME", "Société", "™", "ß", "İ", "ﬁ", "株式会社", " "])
NAMES = st.text() | st.lists(SPECIAL | st.text(max_size=4), max_size=8).map(" ".join) | \
    st.lists(SPECIAL, max_size=8).map("".join)


@PROPERTY
@given(NAMES, PREFIXES)
@example("../../etc/passwd", "company")
@example("--help", "company")
@example("-", "company")
@example("..", "person")
@example("a/b\\c", "deal")
@example("x" * 300, "company")
@example("-" * 100 + "a", "company")
def test_slugify_always_gives_a_valid_id(name, prefix):
    record_id = slugify(name, prefix)
    assert ID.match(record_id), record_id
    assert is_valid_id(record_id)
    assert not record_id.startswith("-") and not record_id.endswith("-")
    assert "/" not in record_id and "\\" not in record_id and ".." not in record_id
    assert len(record_id) <= MAX_ID_LENGTH + 8  # the schema's maxLength, leaving room for -NN
    assert slugify(name, prefix) == record_id  # the same name always gives the same id


@PROPERTY
@given(NAMES)
def test_the_id_of_a_normalised_company_name_is_valid(name):
    record_id = slugify(normalize_company(name), "company")
    assert ID.match(record_id) and is_valid_id(record_id)


@PROPERTY
@given(NAMES)
@example("Acme™")  # NFKD turns ™ into capital TM after case folding
@example("The The Acme Company")  # a second leading 'the' once the first is gone
def test_normalize_company_is_idempotent(name):
    once = normalize_company(name)
    assert normalize_company(once) == once


@PROPERTY
@given(NAMES)
@example("Acme™")
def test_normalize_person_is_idempotent(name):
    once = normalize_person(name)
    assert normalize_person(once) == once


@PROPERTY
@given(NAMES)
@example("Acme™")
@example("ǅ")
def test_fold_is_idempotent(name):
    """Folding a folded name changes nothing: it is already the comparable form."""
    assert fold(fold(name)) == fold(name)


@pytest.mark.parametrize("spelling", ["Acme Products, Inc.", "Acme Products Inc",
                                      "ACME PRODUCTS, INCORPORATED", "Acme Products",
                                      "The Acme Products Company", "acme   products  inc."])
def test_legal_forms_punctuation_and_case_do_not_make_a_different_company(spelling):
    assert normalize_company(spelling) == "acme products"


@pytest.mark.parametrize("a, b", [("Société Générale S.A.", "Societe Generale SA"),
                                  ("Müller GmbH", "MÜLLER G.m.b.H."),
                                  ("AT&T", "AT and T"),
                                  ("O'Reilly Media", "OReilly Media")])
def test_accents_and_abbreviations_normalise_equal(a, b):
    assert normalize_company(a) == normalize_company(b)


@pytest.mark.parametrize("name", ["Inc.", "The Company", "GmbH & Co. KG"])
def test_a_name_made_only_of_legal_words_is_not_normalised_to_nothing(name):
    assert normalize_company(name) != ""
