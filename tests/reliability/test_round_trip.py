"""Round trip: what goes into crmctl comes back out exactly, whoever reads it.

tests/test_yamlio.py proves that yamlio's dump and load agree on any string. This battery
takes the records as crmctl itself builds and writes them (names, notes, emails, phones,
amounts): typed, dumped, read back by crmctl, by PyYAML and by a YAML 1.2 core-schema reading,
and written again; then the same values through the real CLI, read back from `show --format
json`, from the activity log and from the record files.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import build_once, copy_of, git
from crmctl import yamlio
from crmctl.dates import stamp
from crmctl.errors import UserError
from crmctl.model import format_decimal
from crmctl.names import MAX_NAME_LENGTH, check_name
from crmctl.records import MAX_AMOUNT, validated
from crmctl.store import Crm, record_path
from reliability.battery import soak

TIMEOUT = 120  # a guard against a hang, not a timing
CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


# --- a YAML 1.2 core-schema reading -----------------------------------------------------------
# ruamel.yaml is not installed (and nothing is installed for this battery): PyYAML's parser
# gives the scalars with their style, and the YAML 1.2 core schema decides what a plain one
# means. Quoted and block scalars are strings in every YAML version.

CORE_NULL = re.compile(r"null|Null|NULL|~|")
CORE_BOOL = re.compile(r"true|True|TRUE|false|False|FALSE")
CORE_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
CORE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"
                        r"|[-+]?\.(inf|Inf|INF)|\.nan|\.NaN|\.NAN")
# Line breaks to YAML 1.1 but content to YAML 1.2: written raw, the two readers disagree.
BREAKS_IN_11_ONLY = re.compile("[\x85\u2028\u2029]")


def core_12(event: yaml.ScalarEvent) -> Any:
    if event.style is not None or event.tag is not None:
        return event.value
    value = event.value
    if CORE_NULL.fullmatch(value):
        return None
    if CORE_BOOL.fullmatch(value):
        return value.lower() == "true"
    if CORE_INT.fullmatch(value):
        return Decimal(int(value, 0) if value[:2] in ("0o", "0x") else value)
    if CORE_FLOAT.fullmatch(value):
        return float(value) if "inf" in value.lower() or "nan" in value.lower() \
            else Decimal(value)
    return value


def read_12(text: str) -> dict:
    """The document as a YAML 1.2 core-schema reader has it (numbers as Decimal)."""
    assert not BREAKS_IN_11_ONLY.search(text), "a raw NEL/LS/PS: YAML 1.1 and 1.2 disagree"
    stack: list[list[Any]] = []  # [container, pending key]
    root: Any = None
    nokey = object()

    def attach(value: Any, event: Any) -> None:
        nonlocal root
        if not stack:
            root = value
            return
        frame = stack[-1]
        if isinstance(frame[0], list):
            frame[0].append(value)
        elif frame[1] is nokey:
            frame[1] = event.value  # a key: always a plain word in a record
        else:
            frame[0][frame[1]] = value
            frame[1] = nokey

    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.ScalarEvent):
            attach(core_12(event), event)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
            attach(container, event)
            stack.append([container, nokey])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            stack.pop()
    return root


# --- what people type --------------------------------------------------------------------------

def tidy(name: str) -> str:
    return " ".join(name.split())


def is_name(text: str) -> bool:
    try:
        return check_name(text) == text
    except UserError:
        return False


YAML_TRAPS = ["- x", "{a: b}", "[a]", "null", "Null", "~", "yes", "NO", "on", "02134", "08540",
              "1e3", "0x1F", ".inf", "1:30", "2026-01-01", "#hashtag", "a # b", "a: b", "key:",
              "'single'", '"double"', "&anchor", "*alias", "!tag", "%YAML", "@at", "`tick`",
              "|", ">", "? q", "=", "<<", "Café", unicodedata.normalize("NFD", "Café"),
              "株式会社トヨタ", "🚀 Rocket", "مرحبا", "x" * MAX_NAME_LENGTH]
NAME_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cf", "Cs")), min_size=1,
                    max_size=40).map(tidy)
NAMES = (st.sampled_from(YAML_TRAPS) | NAME_TEXT
         | st.lists(st.sampled_from(YAML_TRAPS) | NAME_TEXT, min_size=2, max_size=4)
         .map(" ".join).map(tidy)).filter(is_name)

NOTE_BITS = st.sampled_from(["\n", "\n\n", " ", "  ", "\t", "# not a comment", ": ", "- item",
                             "'", '"', "\\", "|", ">", "---", "...", "NO", "02134", "{a: b}",
                             "Ünïcødé ✓ 株式会社", "\r\n", "\x85", "\u2028", "\u2029", "\ufeff",
                             "\x00", "\x1b[31m", "\x7f"])
NOTES = (st.text() | st.lists(NOTE_BITS | st.text(max_size=8), max_size=12).map("".join)
         | st.lists(st.text(max_size=20), max_size=5).map("\n".join))
EMAILS = st.from_regex(r"[a-z0-9][a-z0-9._+'-]{0,15}@[a-z0-9-]{1,12}(\.[a-z0-9-]{1,8}){1,2}",
                       fullmatch=True) | st.emails().map(str.lower)
PHONES = st.from_regex(r"\+?[0-9(][0-9 ().\-/]{2,18}[0-9)]( ?(x|ext\.?) ?[0-9]{1,5})?",
                       fullmatch=True)


@st.composite
def amounts(draw) -> Decimal:
    """What --amount accepts: 0 up to (not including) 10^15, at most four decimals."""
    places = draw(st.integers(0, 4))
    units = draw(st.integers(0, int(MAX_AMOUNT) * 10 ** places - 1))
    return Decimal(units).scaleb(-places)


def typed_amount(amount: Decimal, commas: bool) -> str:
    """As a person types it: 12000.5, or 12,000.5."""
    text = format(amount, "f")
    if commas:
        whole, dot, fraction = text.partition(".")
        text = f"{int(whole):,}" + dot + fraction
    return text


# --- the records as crmctl builds and writes them -------------------------------------------------

def setup_template(cli) -> None:
    cli.ok("add", "company", "Zyx Holdings", env={"CRMCTL_NOW": CREATED.isoformat()})


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_once(tmp_path_factory, setup_template)


@pytest.fixture(scope="module")
def crm(template) -> Crm:
    return Crm(template)


RECORDS = settings(max_examples=soak(200), deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def assert_round_trip(crm: Crm, kind: str, fields: dict) -> None:
    data = validated(crm, kind, {**fields, "created": stamp(CREATED),
                                 "updated": stamp(CREATED)})
    path = record_path(kind, data["id"])
    text = yamlio.dump(data)
    # crmctl reads back what it wrote, typed, and writes it again to the same bytes.
    again = crm.parse(path, text)
    assert dict(again.data) == dict(data)
    assert yamlio.dump(dict(again.data)) == text
    assert yamlio.dump(data) == text
    # Every string is the same string to PyYAML (YAML 1.1) and to a YAML 1.2 reading.
    strings = {k: v for k, v in data.items() if not isinstance(v, Decimal)}
    by_pyyaml, by_12 = yaml.safe_load(text), read_12(text)
    assert {k: by_pyyaml[k] for k in strings} == strings
    assert {k: by_12[k] for k in strings} == strings
    # Numbers are plain decimals both readers take as the same number.
    for key, value in data.items():
        if isinstance(value, Decimal):
            assert by_12[key] == value, (key, value, text)
            assert isinstance(by_pyyaml[key], (int, float)), (key, text)
            assert f"\n{key}: {format_decimal(value)}\n" in text


@RECORDS
@given(name=NAMES, title=NAMES, notes=NOTES, emails=st.lists(EMAILS, max_size=3, unique=True),
       phones=st.lists(PHONES, max_size=3, unique=True))
@example(name="NO", title="02134", notes="\n  leading\ntrailing  \n\n", emails=["no@x.io"],
         phones=["0123 456"])
@example(name="Café", title="- x", notes="a\u2028b\x85c\u2029", emails=[],
         phones=["+1 (555) 0100 x12"])
def test_a_person_record_reads_back_equal_to_every_reader_and_dumps_to_the_same_bytes(
        crm, name, title, notes, emails, phones):
    assert_round_trip(crm, "person", {"id": "jane-doe", "name": name, "company": "zyx-holdings",
                                      "title": title, "emails": emails, "phones": phones,
                                      "status": "lead", "notes": notes})


@RECORDS
@given(name=NAMES, notes=NOTES, amount=amounts(), probability=st.integers(0, 100))
@example(name="1e3", notes="# x", amount=Decimal("999999999999999.9999"), probability=0)
@example(name="null", notes="", amount=Decimal("0.0001"), probability=100)
@example(name="Deal", notes="x", amount=Decimal("12000.50"), probability=40)
def test_a_deal_amount_reads_back_as_the_same_number_and_dumps_to_the_same_bytes(
        crm, name, notes, amount, probability):
    assert_round_trip(crm, "deal", {"id": "zyx-holdings-deal", "name": name,
                                    "company": "zyx-holdings", "amount": amount,
                                    "currency": "EUR", "stage": "qualified",
                                    "probability": Decimal(probability), "notes": notes})


# --- through the real CLI ------------------------------------------------------------------

def run(*args: str, cwd: Path, now: datetime, input: bytes | None = None) -> bytes:
    """crmctl as a separate process; its stdout, after checking it succeeded."""
    proc = subprocess.run([sys.executable, "-m", "crmctl", *args], cwd=cwd, input=input,
                          capture_output=True, timeout=TIMEOUT,
                          env={**os.environ, "CRMCTL_NOW": now.isoformat()})
    assert proc.returncode == 0, (args, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    return proc.stdout


def shown(cwd: Path, now: datetime, ref: str) -> dict:
    """`crmctl show REF --format json`, numbers read exactly."""
    return json.loads(run("show", "--format", "json", "--limit", "0", ref, cwd=cwd, now=now),
                      parse_float=Decimal)


def record_file(root: Path, kind: str, record_id: str) -> tuple[str, dict, dict]:
    """The file crmctl wrote: its text, what yamlio reads, what plain PyYAML reads."""
    path = record_path(kind, record_id)
    text = (root / path).read_bytes().decode("utf-8")
    crm = Crm(root)
    assert yamlio.dump(dict(crm.parse(path, text).data)) == text  # rewritten: same bytes
    return text, yamlio.load(text, path), yaml.safe_load(text)


def log_entries(root: Path) -> dict[str, dict]:
    """Every line of every activity log, split on \\n only (a JSON line holds no other line
    break), each one JSON; by id."""
    entries = {}
    for path in sorted((root / "activities").glob("*/*.jsonl")):
        for number, line in enumerate(path.read_bytes().split(b"\n"), 1):
            if line.strip():
                entry = json.loads(line)
                entries[entry["id"]] = entry
    return entries


CLI = settings(max_examples=soak(8), deadline=None, database=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture,
                                      HealthCheck.too_slow, HealthCheck.filter_too_much])


class Clock:
    """A later moment per command, so newest-first orders are certain."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)

    def tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def zyx_root(cli) -> Path:
    """A CRM of the test's own with the company Zyx Holdings."""
    cli.ok("add", "company", "Zyx Holdings")
    return cli.root


@CLI
@given(name=NAMES, notes=NOTES.filter(lambda n: "\x00" not in n),
       note=NOTES.filter(lambda n: n.strip() and "\x00" not in n), via_stdin=st.booleans())
@example(name="NO", notes="\n  indented\ntrailing  \n\n", note="a: b\n# c\n  'q' \"dq\"  \n\n",
         via_stdin=False)
@example(name="02134", notes="x", note="line\u2028separator and next\x85line", via_stdin=False)
@example(name="- x", notes="x", note="\n\x1b[31m escape \x07\r\n\n", via_stdin=True)
def test_a_name_record_notes_and_a_logged_note_come_back_exactly(crm_root, clock, name, notes,
                                                                  note, via_stdin):
    record_id = run("add", "company", "-q", "--force", "--set", f"notes={notes}", "--", name,
                    cwd=crm_root, now=clock.tick()).decode().strip()
    before = set(log_entries(crm_root))
    if via_stdin or note == "-":
        run("log", f"company/{record_id}", "-t", "phone-call", "--note", "-", cwd=crm_root,
            now=clock.tick(), input=note.encode("utf-8"))
    else:
        run("log", f"company/{record_id}", "-t", "phone-call", "--note", note, cwd=crm_root,
            now=clock.tick())
    expected_notes = notes or None  # an empty --set leaves the field out
    expected_note = note.rstrip("\n")  # trailing newlines go (log_activity.py: `echo ... |`)

    record = shown(crm_root, clock.tick(), f"company/{record_id}")
    assert record["record"]["name"] == name
    assert record["record"].get("notes") == expected_notes
    text, by_yamlio, by_pyyaml = record_file(crm_root, "company", record_id)
    assert by_yamlio["name"] == by_pyyaml["name"] == read_12(text)["name"] == name
    assert by_yamlio.get("notes") == by_pyyaml.get("notes") == expected_notes
    # The log keeps the note byte for byte, and show gives it back.
    [new] = [e for i, e in log_entries(crm_root).items() if i not in before
             and e["kind"] == "activity"]
    assert new["note"] == expected_note
    timeline = {e["id"]: e for e in record["timeline"]}
    assert new["id"] in timeline, "show lost the activity just logged"
    assert timeline[new["id"]]["note"] == expected_note


@CLI
@given(name=NAMES, email=EMAILS, phone=PHONES, amount=amounts(), commas=st.booleans())
@example(name="Jane Doe", email="jane.doe+crm@example.co.uk", phone="+1 (555) 010-0199 x12",
         amount=Decimal("12000.50"), commas=True)
@example(name="NO", email="no@no.no", phone="0123 456", amount=Decimal("0.0001"), commas=False)
@example(name="Big", email="b@x.io", phone="555 0100", amount=Decimal("999999999999999.9999"),
         commas=True)
@example(name="Mid", email="m@x.io", phone="555 0100", amount=Decimal("1234567890123.4567"),
         commas=False)
def test_a_person_s_email_and_phone_and_a_deal_amount_come_back_exactly(zyx_root, clock, name,
                                                                        email, phone, amount,
                                                                        commas):
    crm_root = zyx_root
    person_id = run("add", "person", "-q", "--force", "--company", "zyx-holdings", "--email",
                    email, "--phone", phone, "--", name, cwd=crm_root,
                    now=clock.tick()).decode().strip()
    deal_id = run("add", "deal", "-q", "--force", "--company", "zyx-holdings", "--person",
                  f"person/{person_id}", "--amount", typed_amount(amount, commas), "--", name,
                  cwd=crm_root, now=clock.tick()).decode().strip()

    deal = shown(crm_root, clock.tick(), f"deal/{deal_id}")
    assert deal["record"]["name"] == name
    assert Decimal(deal["record"]["amount"]) == amount, \
        f"--amount {typed_amount(amount, commas)} shows as {deal['record']['amount']}"
    [person] = deal["people"]
    assert (person["id"], person["name"]) == (person_id, name)
    assert (person["emails"], person["phones"]) == ([email], [phone])

    text, by_yamlio, by_pyyaml = record_file(crm_root, "deal", deal_id)
    assert Decimal(by_yamlio["amount"]) == amount
    assert read_12(text)["amount"] == amount
    assert isinstance(by_pyyaml["amount"], (int, float))
    text, by_yamlio, by_pyyaml = record_file(crm_root, "person", person_id)
    assert by_yamlio["emails"] == by_pyyaml["emails"] == read_12(text)["emails"] == [email]
    assert by_yamlio["phones"] == by_pyyaml["phones"] == read_12(text)["phones"] == [phone]


# --- fixed cases, each a plain reproduction -------------------------------------------------

@pytest.mark.parametrize("note", ["line\u2028separator", "next\x85line", "para\u2029graph"],
                         ids=["U+2028", "U+0085", "U+2029"])
def test_a_note_holding_a_unicode_line_separator_stays_one_activity(note, template, tmp_path,
                                                                   monkeypatch):
    """json.dumps(ensure_ascii=False) writes U+2028, U+2029 and U+0085 raw; a reader that
    splits lines on them would cut the activity's JSON line in two."""
    cli = copy_of(template, tmp_path, monkeypatch)
    cli.ok("log", "zyx-holdings", "-t", "phone-call", "-n", note)
    [entry] = [e for e in log_entries(cli.root).values() if e["kind"] == "activity"]
    assert entry["note"] == note
    check = cli("check")
    assert check.exit_code == 0, check.stdout
    timeline = json.loads(cli.ok("show", "zyx-holdings", "-f", "json").stdout)["timeline"]
    assert [e.get("note") for e in timeline if e["kind"] == "activity"] == [note]
    assert git(cli.root, "status", "--porcelain") == ""


@pytest.mark.parametrize("typed, expected", [("999999999999999.9999", "999999999999999.9999"),
                                             ("1,234,567,890,123.4567", "1234567890123.4567"),
                                             ("12,000.50", "12000.5"), ("0.0001", "0.0001")])
def test_a_deal_amount_shows_in_json_as_the_number_typed(typed, expected, template, tmp_path,
                                                          monkeypatch):
    cli = copy_of(template, tmp_path, monkeypatch)
    deal_id = cli.ok("add", "deal", "-q", "--company", "zyx-holdings", "--amount", typed,
                     "Renewal").stdout.strip()
    record = json.loads(cli.ok("show", deal_id, "-f", "json").stdout, parse_float=Decimal)
    assert Decimal(record["record"]["amount"]) == Decimal(expected), record["record"]["amount"]
    path = record_path("deal", deal_id)
    assert f"\namount: {expected}\n" in (cli.root / path).read_text(encoding="utf-8")


@pytest.mark.parametrize("note", ["NUL \x00 on the first line", "first line\nNUL \x00 below"],
                         ids=["first-line", "second-line"])
def test_a_note_holding_a_nul_byte_is_kept_exactly_or_refused_in_crmctl_s_own_words(
        note, template, tmp_path, monkeypatch):
    """A NUL cannot be passed as an argument, but `--note -` reads it from a pipe. The log's
    JSON can carry it; a commit message cannot. Kept or refused are both fine; a refusal
    that is git's own message about commit-tree, for one line of a note but not another,
    is not."""
    cli = copy_of(template, tmp_path, monkeypatch)
    head = git(cli.root, "rev-parse", "HEAD")
    proc = subprocess.run([sys.executable, "-m", "crmctl", "log", "zyx-holdings", "-t",
                           "phone-call", "--note", "-"], cwd=cli.root, input=note.encode(),
                          capture_output=True, timeout=TIMEOUT)
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode == 0:
        [entry] = [e for e in log_entries(cli.root).values() if e["kind"] == "activity"]
        assert entry["note"] == note
    else:
        assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
        assert "commit-tree" not in stderr, stderr
        assert git(cli.root, "rev-parse", "HEAD") == head
    assert git(cli.root, "status", "--porcelain", "--untracked-files=all") == ""
