"""Strict YAML: what a hand-edited record file means, and what crmctl writes.

crmctl reads every scalar as the text the user typed (the schema types it later) and refuses
the YAML features that surprise people or attack the reader: duplicate keys, aliases and
anchors, tags, absurd nesting. It writes YAML that any other reader takes the same way.
"""

from __future__ import annotations

import json
from decimal import Decimal
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crmctl import libyaml, yamlio
from crmctl.errors import DataError

STAMP = "'2026-01-05T09:00:00+00:00'"
# The property tests below build a CRM-free value per example; no fixture is shared.
PROPERTY = settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])


def write(root: Path, rel: str, text: str) -> None:
    """A hand edit: the user writes the file in their editor."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def declare_fields(root: Path, kind: str, *names: str) -> None:
    """Declare string fields for ``kind`` under fields: in crm.yaml, as a team lead would."""
    text = (root / "crm.yaml").read_text()
    block = f"  {kind}:\n" + "".join(f"    {n}:\n      type: string\n" for n in names)
    assert f"  {kind}: {{}}\n" in text
    (root / "crm.yaml").write_text(text.replace(f"  {kind}: {{}}\n", block))


def load_error(text: str) -> DataError:
    with pytest.raises(DataError) as caught:
        yamlio.load(text, "companies/ac/acme.yaml")
    return caught.value


# --- reading: every scalar stays the text that was typed ---------------------------------------

@pytest.mark.parametrize("typed", ["NO", "02134", "1:30", "yes", "~", "1e3", "off", "null",
                                   "2026-01-01", "0x1F", ".inf", "+1", "true"])
def test_scalars_other_readers_would_convert_stay_strings(typed):
    loaded = yamlio.load(f"value: {typed}\n")
    assert loaded == {"value": typed}
    assert type(loaded["value"]) is str


def test_a_hand_edited_person_with_yaml_1_1_traps_is_valid_and_shown_verbatim(cli, crm_root):
    """`title: NO` is the title NO, not False; `notes: ~` is a tilde, not an empty field."""
    cli.ok("add", "company", "Acme")
    cli.ok("add", "person", "Nora Olsen", "--company", "acme")
    write(crm_root, "people/no/nora-olsen.yaml", f"""\
        id: nora-olsen
        name: Nora Olsen
        company: acme
        title: NO
        status: lead
        source: yes
        notes: 1e3
        created: {STAMP}
        updated: {STAMP}
    """)
    check = cli("check")
    assert check.exit_code == 0, check.stdout
    shown = cli.ok("show", "nora-olsen", "--format", "json")
    person = json.loads(shown.stdout)["record"]
    assert (person["title"], person["source"], person["notes"]) == ("NO", "yes", "1e3")


def test_hand_written_zip_code_shows_as_02134(cli, crm_root):
    declare_fields(crm_root, "company", "zip")
    cli.ok("add", "company", "Acme")
    write(crm_root, "companies/ac/acme.yaml", f"""\
        id: acme
        name: Acme
        status: lead
        zip: 02134
        created: {STAMP}
        updated: {STAMP}
    """)
    assert cli("check").exit_code == 0
    shown = cli.ok("show", "acme")
    assert "  zip      02134\n" in shown.stdout


def test_hand_written_zip_code_of_a_person_is_the_string_02134_in_json(cli, crm_root):
    declare_fields(crm_root, "person", "zip")
    cli.ok("add", "company", "Acme")
    cli.ok("add", "person", "Jane Doe", "--company", "acme")
    write(crm_root, "people/ja/jane-doe.yaml", f"""\
        id: jane-doe
        name: Jane Doe
        company: acme
        status: lead
        zip: 02134
        created: {STAMP}
        updated: {STAMP}
    """)
    shown = cli.ok("show", "jane-doe", "--format", "json")
    assert json.loads(shown.stdout)["record"]["zip"] == "02134"


def test_hand_written_zip_code_of_a_company_is_the_string_02134_in_json(cli, crm_root):
    declare_fields(crm_root, "company", "zip")
    cli.ok("add", "company", "Acme")
    write(crm_root, "companies/ac/acme.yaml", f"""\
        id: acme
        name: Acme
        status: lead
        zip: 02134
        created: {STAMP}
        updated: {STAMP}
    """)
    shown = cli.ok("show", "acme", "--format", "json")
    company = json.loads(shown.stdout)["record"]
    assert company is not None, "show --format json dropped the company it was asked for"
    assert company["zip"] == "02134"


def test_an_empty_value_is_no_value_and_quoted_empty_is_an_empty_string():
    assert yamlio.load("a:\nb: ''\n") == {"a": None, "b": ""}


# --- reading: what is refused, always with its line ----------------------------------------------

def test_duplicate_key_is_refused_at_the_line_of_the_second_key():
    error = load_error("id: acme\nname: Acme\nstatus: lead\nname: Acme Corp\n")
    assert (error.path, error.line) == ("companies/ac/acme.yaml", 4)
    assert "duplicate key 'name' (first at line 2)" in error.message


def test_duplicate_key_in_a_nested_mapping_is_refused_too():
    error = load_error("fields:\n  company:\n    zip: {}\n    zip: {}\n")
    assert error.line == 4 and "duplicate key 'zip'" in error.message


def test_duplicate_key_in_a_record_file_is_reported_by_check_with_its_line(cli, crm_root):
    cli.ok("add", "company", "Acme")
    write(crm_root, "companies/ac/acme.yaml", f"""\
        id: acme
        name: Acme
        status: lead
        status: client
        created: {STAMP}
        updated: {STAMP}
    """)
    check = cli("check")
    assert check.exit_code == 1
    assert check.stdout.splitlines() == [
        "companies/ac/acme.yaml:4: duplicate key 'status' (first at line 3); keep one"]


def test_an_anchor_is_refused():
    error = load_error("name: &n Acme\naliases:\n  - *n\n")
    assert error.line == 1 and "anchors" in error.message


def test_an_alias_is_refused_even_without_its_anchor():
    error = load_error("name: Acme\naliases:\n  - *n\n")
    assert error.line == 3 and "aliases" in error.message


def billion_laughs(levels: int) -> str:
    """Each level repeats the one before nine times: fully expanded it holds 9**levels items."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_not_expanded():
    # 9**30 strings could never be built: that this returns at all shows nothing was expanded.
    error = load_error(billion_laughs(30))
    assert error.line == 1 and "anchors" in error.message


def test_an_alias_bomb_in_a_record_file_is_one_problem_for_check(cli, crm_root):
    cli.ok("add", "company", "Acme")
    write(crm_root, "companies/ac/acme.yaml", "id: acme\n" + billion_laughs(30))
    check = cli("check")
    assert check.exit_code == 1
    assert check.stdout.splitlines() == [
        "companies/ac/acme.yaml:2: YAML anchors (&name) are not allowed in CRM files"]


@pytest.mark.parametrize("tagged", [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/new:subprocess.check_output [['touch', '{marker}']]",
    "!!python/name:os.system",
    "!!binary aGVsbG8=",
    "!!int 5",
    "!custom value",
])
def test_tags_are_refused_and_nothing_is_executed(tagged, tmp_path):
    marker = tmp_path / "pwned"
    error = load_error("id: acme\nname: " + tagged.format(marker=marker) + "\n")
    assert error.line == 2 and "tags" in error.message
    assert not marker.exists()


def test_a_python_tag_in_a_record_file_is_reported_by_check_and_not_run(cli, crm_root, tmp_path):
    marker = tmp_path / "pwned"
    cli.ok("add", "company", "Acme")
    write(crm_root, "companies/ac/acme.yaml", f"""\
        id: acme
        name: Acme
        status: !!python/object/apply:os.system ["touch {marker}"]
        created: {STAMP}
        updated: {STAMP}
    """)
    check = cli("check")
    shown = cli("show", "acme")
    assert check.exit_code == 1
    assert check.stdout.splitlines() == [
        "companies/ac/acme.yaml:3: YAML tags such as "
        "tag:yaml.org,2002:python/object/apply:os.system are not allowed in CRM files"]
    assert shown.exit_code != 0 and "Traceback" not in shown.stderr
    assert not marker.exists()


def nested(levels: int) -> str:
    """A value nested ``levels`` flow sequences deep under one top-level key."""
    return "a: " + "[" * levels + "]" * levels + "\n"


def test_nesting_up_to_the_limit_is_read():
    # The top-level mapping is the first level.
    assert yamlio.load(nested(yamlio.MAX_DEPTH - 1))["a"] is not None


def test_nesting_deeper_than_the_limit_is_refused():
    error = load_error(nested(yamlio.MAX_DEPTH))
    assert error.line == 1 and f"nested deeper than {yamlio.MAX_DEPTH} levels" in error.message


def test_absurd_nesting_is_refused_without_crashing():
    error = load_error(nested(200_000))
    assert error.line == 1
    assert "nested deeper" in error.message or "nesting depth" in error.message


def test_deep_block_nesting_names_the_line_that_goes_too_deep():
    text = "".join("  " * i + f"k{i}:\n" for i in range(40)) + "  " * 40 + "v\n"
    error = load_error(text)
    assert error.line == yamlio.MAX_DEPTH + 1


def test_deep_nesting_in_a_record_file_is_a_problem_for_check_not_a_crash(cli, crm_root):
    cli.ok("add", "company", "Acme")
    write(crm_root, "companies/ac/acme.yaml", "id: acme\nname: Acme\ntags: "
          + "[" * 5000 + "]" * 5000 + "\n")
    check = cli("check")
    assert check.exit_code == 1
    assert "Traceback" not in check.stdout + check.stderr
    [problem] = check.stdout.splitlines()
    assert problem.startswith("companies/ac/acme.yaml:3: ")


@pytest.mark.parametrize("text, line", [
    ("- just\n- a list\n", 1),
    ("id: acme\nname: Acme: The Company\n", 2),
    ("id: acme\n\tname: Acme\n", 2),
])
def test_files_that_are_not_one_mapping_are_refused_with_a_line(text, line):
    assert load_error(text).line == line


def test_a_second_document_is_refused_at_the_line_that_starts_it():
    error = load_error("id: acme\nname: Acme\n---\nid: other\n")
    assert "more than one YAML document" in error.message
    assert error.location == "companies/ac/acme.yaml:3"


def test_an_empty_file_is_refused():
    assert "empty" in load_error("").message


def test_an_unterminated_quote_is_reported_where_the_quote_opens():
    """A line past the end of the file helps nobody: name the line the quote starts on."""
    error = load_error("id: acme\nname: 'Acme\nstatus: lead\ncreated: x\n")
    assert error.line == 2


# --- writing -------------------------------------------------------------------------------

def test_multi_line_notes_are_written_as_a_literal_block_and_read_back_exactly(cli, crm_root,
                                                                                read_file):
    notes = "Met at the trade fair.\nFollow up: NO rush, call on 02134\n  - an indented line\n"
    cli.ok("add", "company", "Acme", "--set", f"notes={notes}")
    text = read_file("companies/ac/acme.yaml")
    assert ("notes: |\n"
            "  Met at the trade fair.\n"
            "  Follow up: NO rush, call on 02134\n"
            "    - an indented line\n") in text
    assert yamlio.load(text)["notes"] == notes
    assert yaml.safe_load(text)["notes"] == notes


@pytest.mark.parametrize("notes", ["two\nlines", "trailing\nnewlines\n\n", "\nleading newline",
                                   "a: b\n# not a comment\n- not a list\n", "tab\there\nok"])
def test_multi_line_text_round_trips_exactly(notes):
    text = yamlio.dump({"notes": notes})
    assert yamlio.load(text)["notes"] == notes
    assert yaml.safe_load(text)["notes"] == notes


def test_typical_multi_line_notes_use_the_literal_style():
    assert yamlio.dump({"notes": "line one\nline two\n"}) == "notes: |\n  line one\n  line two\n"


@pytest.mark.parametrize("value", ["08540", "02134", "1e3", "NO", "no", "on", "Off", "y",
                                   "null", "~", "true", "2026-01-01", "1:30", "12:30:00",
                                   "0x1F", ".nan", "-.inf", "+5", "1_000", "=", "<<",
                                   " leading space", "trailing space ", ""])
def test_strings_another_reader_could_misread_are_quoted(value):
    text = yamlio.dump({"k": value})
    assert text.startswith("k: '") or text.startswith('k: "'), text
    assert yaml.safe_load(text) == {"k": value}
    assert yaml.load(text, Loader=yaml.FullLoader) == {"k": value}


def test_plain_words_are_not_quoted():
    assert yamlio.dump({"name": "Acme Products", "status": "lead"}) == (
        "name: Acme Products\nstatus: lead\n")


def test_dumping_the_same_record_twice_gives_identical_bytes():
    record = {"id": "acme", "name": "Acme: The Company", "tags": ["b2b", "NO"],
              "notes": "line\nline 2\n", "zip": "02134", "created": "2026-01-05T09:00:00+00:00"}
    first = yamlio.dump(record)
    assert yamlio.dump(dict(record)) == first
    assert yamlio.dump(record) == first


def test_a_loaded_file_can_be_written_back_unchanged():
    """What load returns is a mapping like any other: dump takes it and gives the same text."""
    text = yamlio.dump({"id": "acme", "name": "Acme", "tags": ["b2b"], "zip": "02134"})
    assert yamlio.dump(yamlio.load(text)) == text


def test_keys_are_written_in_the_order_given():
    text = yamlio.dump({"zeta": "1", "alpha": "2", "mid": "3"})
    assert [line.split(":")[0] for line in text.splitlines()] == ["zeta", "alpha", "mid"]


# --- properties ----------------------------------------------------------------------------

@PROPERTY
@given(st.text())
@example("NEL \x85 inside")  # U+0085 NEXT LINE: a YAML line break; see the test just below
@example("- a leading dash")
@example("key: value # not a comment")
@example("'single' and \"double\" quotes")
@example("Société Générale ✓ 株式会社")
@example("\x00\x07\x1b control characters")
def test_any_text_value_round_trips(value):
    """Every Python string survives dump then load.

    st.text() never draws lone surrogates (U+D800-U+DFFF), which cannot be encoded in a UTF-8
    file at all; nothing else is excluded: YAML can carry every other character, if need be
    as a double-quoted escape.
    """
    assert yamlio.load(yamlio.dump({"k": value}))["k"] == value


@pytest.mark.parametrize("value", ["\x85", "a\x85b", "Acme\x85", "two\nlines\x85here",
                                   "a\u2028b", "a\u2029b"])
def test_unicode_line_break_characters_round_trip(value):
    """U+0085, U+2028 and U+2029 are line breaks to YAML 1.1: written raw they are folded."""
    text = yamlio.dump({"k": value})
    assert yamlio.load(text)["k"] == value
    assert yaml.safe_load(text)["k"] == value


# Every string st.text() draws (it never draws lone surrogates, which no UTF-8 file can hold).
TEXT = st.text()


@PROPERTY
@given(TEXT)
def test_another_yaml_reader_gets_back_the_same_string(value):
    assert yaml.safe_load(yamlio.dump({"k": value})) == {"k": value}


@PROPERTY
@given(st.lists(TEXT, max_size=5).map("\n".join))
def test_multi_line_text_round_trips(value):
    assert yamlio.load(yamlio.dump({"notes": value}))["notes"] == value


@PROPERTY
@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
                       TEXT | st.lists(TEXT, max_size=3), max_size=6))
def test_a_record_round_trips_and_dumps_deterministically(record):
    text = yamlio.dump(record)
    assert yamlio.load(text) == record
    assert yamlio.dump(dict(record)) == text


# --- reading: the files crmctl writes, read without libyaml ---------------------------------------

def libyaml_reading(text: str):
    """What libyaml's events make of ``text``, as ``load`` reads every file not in the shape
    crmctl writes: a Document, or the error."""
    parser = libyaml._Parser(text)
    try:
        document = libyaml._build(parser, "companies/ac/acme.yaml")
        return dict(document), document.lines
    except yaml.YAMLError as exc:
        return type(exc).__name__
    except DataError as exc:
        return exc.message, exc.line
    finally:
        parser.dispose()


def load_reading(text: str):
    try:
        document = yamlio.load(text, "companies/ac/acme.yaml")
        return dict(document), document.lines
    except DataError as exc:
        if exc.message.startswith(("not valid YAML", "not valid text")):
            return libyaml_reading(text)  # the same failure, worded for the user
        return exc.message, exc.line


# Values near the edges of the shape read without libyaml: indicators, comments, colons,
# quotes, spaces at the ends, tabs, other line breaks and spaces, non-ASCII letters.
EDGY = st.text(alphabet=list("aZ09 '\"#:-,[]{}&*!|>%@`?\\.~=<") +
               ["é", "\t", "\r", "\u2028", "\u0085", "\xa0", "\ufeff"], max_size=8)
LINE = st.one_of(
    st.builds(lambda k, v: f"{k}: {v}", st.sampled_from(["name", "id", "x-y", "_a", "name"]), EDGY),
    st.builds(lambda k, v: f"{k}: '{v}'", st.sampled_from(["tags", "name"]), EDGY),
    st.builds(lambda k: f"{k}:", st.sampled_from(["emails", "tags", "name"])),
    st.builds(lambda v: f"- {v}", EDGY), st.builds(lambda v: f"- '{v}'", EDGY), EDGY)


@PROPERTY
@given(st.lists(LINE, min_size=1, max_size=6), st.booleans())
@example(["name: Acme # the old name"], True)
@example(["name: a: b"], True)
@example(["tags:", "- a", "tags: b"], True)
def test_a_file_reads_the_same_whether_libyaml_reads_it_or_not(lines, final_newline) -> None:
    text = "\n".join(lines) + ("\n" if final_newline else "")
    assert load_reading(text) == libyaml_reading(text)


def test_what_crmctl_writes_is_read_without_libyaml_and_reads_back_the_same() -> None:
    record = {"id": "o-brien-sons", "name": "O'Brien & Sons, Inc. (NYC)", "status": "lead",
              "emails": ["sean@obrien.example", "office@obrien.example"],
              "amount": Decimal("12000.50"), "note": "Yes",
              "created": "2026-01-05T09:00:00+00:00"}
    text = yamlio.dump(record)
    assert yamlio._as_written(text) is not None
    assert yamlio.load(text) == yamlio.load(text.replace("\n", "\n\n"))  # libyaml's reading
