"""Hostile names: whatever is pasted into a name, nothing leaves the CRM folder.

Ids always match the slug pattern, files stay inside the CRM, a name that looks like an
option is never taken for one (not by crmctl, not by git), equivalent spellings of one name
never make two records, refused names get one clear line and leave nothing committed, and no
output a person reads ever carries a raw control or bidi character to their terminal.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from conftest import Cli, build_once, copy_of, git, on_a_terminal
from crmctl import yamlio
from crmctl.errors import UserError
from crmctl.model import KINDS
from crmctl.names import (ID_PATTERN, MAX_ID_LENGTH, check_name, fold, is_valid_id,
                          normalize_company, normalize_person, slugify)
from crmctl.store import id_of_path, kind_of_path, record_path
from reliability.battery import soak

# C0 controls but newline and tab, DEL and C1 (ESC among them: ANSI colour and cursor
# sequences), and the bidi controls that make text display as other text.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                         "\u2066-\u2069]")
NOW = {"CRMCTL_NOW": "2026-11-25T09:00:00+00:00"}
CREATED = {"CRMCTL_NOW": "2026-01-05T09:00:00+00:00"}
TIMEOUT = 120  # a guard against a hang, not a timing


def tidy(name: str) -> str:
    """What crmctl keeps of a name: whitespace runs (newlines, tabs) become one space."""
    return " ".join(name.split())


def has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


def assert_clean_output(data: bytes | str, where: str) -> None:
    """Text a terminal shows as it is: UTF-8, and no raw control or bidi character."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    found = RAW_CONTROL.search(text)
    assert found is None, (f"{where} printed a raw {found.group()!r} at {found.start()}: "
                           f"{text[max(0, found.start() - 40):found.start() + 40]!r}")


def outside(tmp: Path, crm: Path) -> set[str]:
    """Every file and folder around the CRM: the test's own tmp folder (the CRM aside) and
    the entries of the session's tmp folder above it, where ``../x`` would land."""
    here = {f"test/{p.relative_to(tmp).as_posix()}" for p in tmp.rglob("*")
            if crm != p and crm not in p.parents}
    return here | {f"session/{p.name}" for p in tmp.parent.iterdir()}


def committed_state(root: Path) -> tuple[str, str]:
    return (git(root, "rev-parse", "HEAD"),
            git(root, "status", "--porcelain", "--untracked-files=all"))


def run(*args: str | bytes, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """crmctl as a separate process, with bytes in and out: what a terminal gets."""
    return subprocess.run([sys.executable, "-m", "crmctl", *args], cwd=cwd,
                          capture_output=True, env={**os.environ, **(env or {})},
                          timeout=TIMEOUT)


def assert_one_line_refusal(stderr: str | bytes, code: int) -> str:
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    assert code != 0, text
    assert "Traceback" not in text, text[-600:]
    assert len(text.strip().splitlines()) == 1, text
    assert re.match(r"crmctl( [a-z-]+)*: error: ", text), text
    assert_clean_output(text, "the error message")
    return text


def setup_base(cli) -> None:
    cli.ok("add", "company", "Zyx Holdings", env=NOW)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A CRM with one company, Zyx Holdings, for people to work at."""
    return build_once(tmp_path_factory, setup_base)


# --- the fixed hostile names ---------------------------------------------------------------

ACCEPT, REFUSE, EITHER = "accepted", "refused", "accepted or refused"
OUT = "{out}"  # replaced by a path in a tmp folder beside the CRM
FIXED = [
    (f"--output={OUT}", ACCEPT), ("-h", ACCEPT), ("--help", ACCEPT), ("--", REFUSE),
    ("--version", ACCEPT),
    ("../../etc/passwd", ACCEPT), ("/etc/passwd", ACCEPT), ("..", REFUSE), (".", REFUSE),
    (".git", ACCEPT), (".crmctl", ACCEPT), ("CON", ACCEPT), ("NUL", ACCEPT),
    ("aux.txt", ACCEPT),
    ("Café", ACCEPT), (unicodedata.normalize("NFD", "Café"), ACCEPT), ("ACME", ACCEPT),
    ("Acme", ACCEPT),
    ("Line\nBreak", EITHER), ("Tab\tStop", EITHER), ("Carriage\rReturn", EITHER),
    ("\x1b[31mred\x1b[0m", EITHER), ("Bell\x07Co", EITHER), ("Nul\x00Byte", EITHER),
    ("\x9b31mC1 CSI", EITHER), ("Del\x7fCo", EITHER),
    ("Evil\u202eoc.exe", EITHER), ("\u2066Isolated\u2069", EITHER),
    ("Zero\u200bWidth", EITHER), ("Zero\u200dJoiner", EITHER), ("\ufeffBom Co", EITHER),
    ("Аcme", ACCEPT),  # a Cyrillic А
    ("x" * 300, EITHER), ("", REFUSE), ("   ", REFUSE),
    ("🚀 Rocket Labs 😀", ACCEPT), ("株式会社トヨタ", ACCEPT), ("مرحبا", ACCEPT),
    ("!!!", REFUSE),
    ("$(rm -rf ~)", ACCEPT), ("`touch pwned`", ACCEPT), ("a; rm -rf /", ACCEPT),
    ("a/b", ACCEPT),
    ("- x", ACCEPT), ("{a: b}", ACCEPT), ("null", ACCEPT), ("~", REFUSE), ("yes", ACCEPT),
    ("02134", ACCEPT), ("name: value # comment", ACCEPT),
    ("=HYPERLINK(\"http://x\")", ACCEPT), ("<script>alert(1)</script>", ACCEPT),
]
assert len(FIXED) >= 30


@dataclass
class Added:
    """What `crmctl add company --force -- NAME` did, and the CRM around it."""

    name: str
    code: int
    stdout: bytes
    stderr: str
    before: tuple[str, str]
    after: tuple[str, str]
    diff: str
    outside_unchanged: bool


@dataclass
class FixedCrm:
    root: Path
    added: dict[str, Added]
    target: Path  # where a name taken for git's --output would write


@pytest.fixture(scope="module")
def fixed(tmp_path_factory) -> FixedCrm:
    """Every fixed name added as a company, one command each (--force: near-duplicates
    among them are tested below), then as people and deals by import, months ago."""
    target = tmp_path_factory.mktemp("git-output") / "written-by-git"
    added: dict[str, Added] = {}

    def setup(cli) -> None:
        root = cli.root
        cli.ok("add", "company", "Zyx Holdings", env=CREATED)
        for typed, _ in FIXED:
            name = typed.replace(OUT, str(target))
            around, before = outside(root.parent, root), committed_state(root)
            result = cli("add", "company", "-q", "--force", "--", name, env=CREATED)
            after = committed_state(root)
            added[typed] = Added(name, result.exit_code, result.stdout_bytes, result.stderr,
                                 before, after,
                                 git(root, "diff", "--name-only", before[0], after[0]),
                                 outside(root.parent, root) == around)
        for kind, extra in (("people", []), ("deals", ["1000"])):
            rows = root.parent / f"{kind}.csv"
            with rows.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["name", "company", *(["amount"] if extra else [])])
                for typed, _ in FIXED:
                    writer.writerow([typed.replace(OUT, str(target)).replace("\x00", ""),
                                     "zyx-holdings", *extra])
            imported = cli("import", str(rows), "-t", kind, "--skip-bad", env=CREATED)
            assert imported.exit_code == 0, imported.stderr
            rows.unlink()

    root = build_once(tmp_path_factory, setup)
    return FixedCrm(root, added, target)


def fixed_id(value: tuple[str, str]) -> str:
    return repr(value[0])[1:-1][:40] or "empty"


@pytest.mark.parametrize("typed, expected", FIXED, ids=[fixed_id(f) for f in FIXED])
def test_a_hostile_name_is_added_safely_or_refused_in_one_line(typed, expected, fixed,
                                                               monkeypatch):
    added = fixed.added[typed]
    root = fixed.root
    assert added.outside_unchanged, "a file appeared outside the CRM folder"
    assert not fixed.target.exists()
    assert_clean_output(added.stdout, "add company")
    if added.code != 0:
        assert expected != ACCEPT, (added.code, added.stderr)
        assert_one_line_refusal(added.stderr, added.code)
        assert added.after == added.before, "a refused name changed the CRM"
        return
    assert expected != REFUSE, added.stdout
    record_id = added.stdout.decode().strip()
    assert ID_PATTERN.match(record_id) and is_valid_id(record_id), record_id
    path = record_path("company", record_id)
    assert added.diff == path and added.after[1] == ""  # that one file, committed
    assert (root / path).resolve().parent.parent == (root / "companies").resolve()
    stored = yamlio.load((root / path).read_bytes(), path)
    if not has_control(tidy(added.name)):
        assert stored["name"] == tidy(added.name)  # kept as typed, YAML-special or not

    monkeypatch.chdir(root)
    cli = Cli(root, CliRunner())
    before = committed_state(root)
    shown = cli("show", "--format", "json", f"company/{record_id}")
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["record"]["name"] == stored["name"]
    # The name as typed, to show and history: the record, or one clear line; never a write.
    for args in (["show", "--", added.name], ["history", "--", added.name]):
        result = cli(*args, env=NOW)
        assert_clean_output(result.stdout_bytes, " ".join(args))
        if result.exit_code != 0:
            assert_one_line_refusal(result.stderr, result.exit_code)
    assert committed_state(root) == before
    assert not fixed.target.exists()


# --- names git could take for options --------------------------------------------------------

OPTIONS = ["--output={out}", "-o{out}", "--exec=touch {out}", "-p", "--help"]


@pytest.mark.parametrize("exists", [True, False], ids=["records-of-those-names", "no-records"])
def test_a_name_that_looks_like_a_git_option_never_makes_git_write_a_file(exists, base,
                                                                          tmp_path, monkeypatch):
    cli = copy_of(base, tmp_path, monkeypatch)
    target = tmp_path / "written-by-git"
    names = [option.format(out=target) for option in OPTIONS]
    if exists:
        for name in names:
            cli.ok("add", "company", "--force", "--", name, env=NOW)
    around = outside(tmp_path, cli.root)
    for name in names:
        for args in (["history", "--", name], ["show", "--", name], ["blame", "--", name],
                     ["log", "-t", "email-sent", "--", name]):
            before = committed_state(cli.root)
            result = cli(*args, env=NOW)
            assert "Usage:" not in result.stdout, args
            if exists:
                assert result.exit_code == 0, (args, result.stderr)
            else:
                assert_one_line_refusal(result.stderr, result.exit_code)
                assert committed_state(cli.root) == before
            assert not target.exists(), f"crmctl {' '.join(args)} let git write {target}"
    assert outside(tmp_path, cli.root) == around
    assert git(cli.root, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_company_named_dash_h_is_shown_not_mistaken_for_help(crm_root):
    assert run("add", "company", "-q", "--", "-h", cwd=crm_root).stdout == b"h\n"
    shown = run("show", "--", "-h", cwd=crm_root)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(b"-h  (company h)\n")


# --- what people read never carries raw control or bidi characters ----------------------------

OUTPUTS = [["list", "companies"], ["list", "people"], ["list", "deals"],
           ["list", "deals", "-f", "csv"], ["history", "--limit", "0"],
           ["history", "-f", "csv"], ["dedupe"], ["check"]] + \
    [["report", name, "-f", fmt] for name in ("pipeline", "stale", "activity", "forecast")
     for fmt in ("text", "md", "csv", "html")]
SINGULAR = {"companies": "company", "people": "person", "deals": "deal"}


def test_lists_reports_history_and_shows_of_hostile_names_print_no_raw_control_characters(
        fixed, tmp_path, monkeypatch):
    cli = copy_of(fixed.root, tmp_path, monkeypatch)
    # A company's page lists its people and deals: Zyx Holdings has them all.
    shows = [["show", f"company/{record_id}"]
             for record_id in cli.ok("list", "companies", "-q").stdout.split()]
    assert len(shows) > 30
    assert len(cli.ok("list", "people", "-q").stdout.split()) >= 30  # one is refused: a look-alike of another
    failures = []
    for args in OUTPUTS + shows:
        result = cli(*args, env=NOW)
        try:
            assert result.exit_code in (0, 1) and "Traceback" not in result.stderr, \
                result.stderr
            assert_clean_output(result.stdout_bytes, " ".join(args))
        except AssertionError as exc:
            failures.append(f"crmctl {' '.join(args)}: {exc}")
    assert not failures, "\n".join(failures)
    for kind in SINGULAR:
        for path in (cli.root / kind).rglob("*.yaml"):
            assert ID_PATTERN.match(path.stem) and is_valid_id(path.stem), path
    assert not fixed.target.exists()


HOSTILE_TEXT = "red \x1b[31mALERT\x1b[0m \x9b2J clear \u202eevil\u202c \x07 \r overwrite"


def setup_defiled(cli) -> None:
    """crmctl refuses control characters in the names it is given, but a note or a task may
    hold them, and a hand edit or a hand commit can put them anywhere."""
    root = cli.root
    cli.ok("add", "company", "Zyx Holdings", env=CREATED)
    cli.ok("add", "person", "Jane Doe", "--company", "zyx-holdings", env=CREATED)
    cli.ok("add", "deal", "Renewal", "--company", "zyx-holdings", "--amount", "500",
           env=CREATED)
    cli.ok("log", "zyx-holdings", "-t", "phone-call", "--with", "Jane Doe", "-n",
           HOSTILE_TEXT + "\nsecond line " + HOSTILE_TEXT, env=CREATED)
    cli.ok("task", "add", "--for", "zyx-holdings", "--due", "2026-11-20", "--",
           "Call back " + HOSTILE_TEXT, env=CREATED)
    # A hand edit: the name and notes carry escapes, written as YAML escapes.
    path = root / record_path("company", "zyx-holdings")
    escaped = HOSTILE_TEXT.replace("\x1b", "\\e").replace("\x9b", "\\x9b").replace(
        "\x07", "\\a").replace("\r", "\\r")
    path.write_text(path.read_text(encoding="utf-8").replace(
        "name: Zyx Holdings", f'name: "Zyx \\e[31mHoldings\\u202e\\x9b"\nnotes: "{escaped}"'),
        encoding="utf-8")
    git(root, "commit", "-qam", "Hand edit \x1b[31mred\x1b[0m \u202eevil")


@pytest.fixture(scope="module")
def defiled(tmp_path_factory):
    return build_once(tmp_path_factory, setup_defiled)


DEFILED_OUTPUTS = [
    ["show", "zyx-holdings"], ["show", "jane-doe"], ["show", "zyx-holdings-renewal"],
    ["show", "zyx-holdings", "-f", "csv"], ["list", "companies"],
    ["list", "companies", "-f", "csv"], ["history"], ["history", "zyx-holdings"],
    ["history", "-f", "csv"], ["blame", "zyx-holdings"], ["task", "list", "--all"],
    ["check"]] + [["report", name, "-f", fmt] for name in ("pipeline", "stale", "activity",
                                                           "tasks")
                  for fmt in ("text", "md", "csv", "html")]


def test_control_characters_that_got_into_the_crm_reach_no_pipe_raw(defiled, tmp_path,
                                                                    monkeypatch):
    cli = copy_of(defiled, tmp_path, monkeypatch)
    assert HOSTILE_TEXT in yamlio.load(
        (cli.root / record_path("company", "zyx-holdings")).read_bytes())["notes"]
    failures = []
    for args in DEFILED_OUTPUTS:
        result = cli(*args, env=NOW)
        try:
            assert "Traceback" not in result.stderr, result.stderr
            assert_clean_output(result.stdout_bytes, " ".join(args))
            assert_clean_output(result.stderr, " ".join(args) + " (stderr)")
        except AssertionError as exc:
            failures.append(f"crmctl {' '.join(args)}: {exc}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("args", [["show", "zyx-holdings"], ["history"],
                                  ["task", "list", "--all"]], ids=" ".join)
def test_control_characters_that_got_into_the_crm_reach_no_terminal_raw(args, defiled,
                                                                        tmp_path, monkeypatch):
    """On a terminal nothing strips escape sequences on the way: they would recolour,
    clear or rewrite the screen."""
    cli = copy_of(defiled, tmp_path, monkeypatch)
    code, shown, errors = on_a_terminal(*args, cwd=cli.root, env={**NOW, "NO_COLOR": "1"})
    assert code == 0, errors
    # The terminal itself ends lines with \r\n; any other \r came from the data.
    assert_clean_output(shown.replace("\r\n", "\n"), f"crmctl {' '.join(args)} on a terminal")


# --- equivalent spellings of one name ----------------------------------------------------------

EQUIVALENT = [
    ("Café", unicodedata.normalize("NFD", "Café")),
    (unicodedata.normalize("NFD", "Société Générale"), "Société Générale"),
    ("Acme", "ACME"), ("ACME", "acme"), ("Acme", "ＡＣＭＥ"),  # fullwidth
    ("Acme Products", "  Acme \t Products "),
    ("Acme", "Ac\u200bme"), ("Acme", "Acme\ufeff"), ("Acme", "\u200dAcme"),
    ("Acme", "Ac\u00adme"),  # a soft hyphen, invisible in most fonts
]
# One word mixing Latin and Cyrillic letters that look the same: typed on a Russian keyboard
# layout, or pasted to pass for the real one. The issue names these among the names that
# must not make a second record.
LOOK_ALIKES = [("Acme", "Аcme"), ("Acme", "Acmе"), ("Paypal", "Pаypаl")]


def assert_refused_as_existing(cli, kind: str, first: str, second: str) -> None:
    company = ["--company", "zyx-holdings"] if kind == "person" else []
    existing = cli.ok("add", kind, "-q", *company, "--", first).stdout.strip()
    before = committed_state(cli.root)
    again = cli("add", kind, "-q", *company, "--", second)
    assert again.exit_code != 0, f"{second!r} was added as {again.stdout.strip()!r} " \
                                 f"beside {first!r} ({existing})"
    message = assert_one_line_refusal(again.stderr, again.exit_code)
    if not any(unicodedata.category(ch) == "Cf" for ch in second):
        # Refused as the duplicate it is: the message names the record that exists.
        # (Invisible characters may be refused as such instead.)
        assert existing in message, message
    assert committed_state(cli.root) == before
    files = sorted(p.name for p in (cli.root / KINDS[kind].plural).rglob("*.yaml"))
    assert files == sorted([f"{existing}.yaml"] + (["zyx-holdings.yaml"]
                                                   if kind == "company" else []))


@pytest.mark.parametrize("first, second", EQUIVALENT,
                         ids=[repr(b)[1:-1] for _, b in EQUIVALENT])
def test_equivalent_spellings_never_make_a_second_company(first, second, base, tmp_path,
                                                          monkeypatch):
    assert_refused_as_existing(copy_of(base, tmp_path, monkeypatch), "company", first, second)


@pytest.mark.parametrize("first, second", LOOK_ALIKES,
                         ids=[repr(b)[1:-1] for _, b in LOOK_ALIKES])
def test_a_cyrillic_look_alike_of_a_company_is_refused_as_the_existing_one(first, second,
                                                                          base, tmp_path,
                                                                          monkeypatch):
    assert_refused_as_existing(copy_of(base, tmp_path, monkeypatch), "company", first, second)


PEOPLE = [("José Núñez", unicodedata.normalize("NFD", "José Núñez")), ("Jane Doe", "JANE DOE"),
          ("Jane Doe", "Jane\u200b Doe"), ("Ivan Petrov", "Ivаn Petrov")]  # Cyrillic а


@pytest.mark.parametrize("first, second", PEOPLE, ids=[repr(b)[1:-1] for _, b in PEOPLE])
def test_equivalent_spellings_never_make_a_second_person_at_one_company(first, second, base,
                                                                       tmp_path, monkeypatch):
    assert_refused_as_existing(copy_of(base, tmp_path, monkeypatch), "person", first, second)


@pytest.mark.parametrize("spelling", [unicodedata.normalize("NFD", "Café Crème"), "CAFÉ CRÈME",
                                      "café crème", "ＣＡＦÉ ＣＲÈＭＥ"])
def test_an_equivalent_spelling_finds_the_one_record(spelling, base, tmp_path, monkeypatch):
    cli = copy_of(base, tmp_path, monkeypatch)
    cli.ok("add", "company", "Café Crème")
    shown = json.loads(cli.ok("show", "-f", "json", "--", spelling).stdout)
    assert shown["record"]["id"] == "cafe-creme"


# --- bytes that are not UTF-8 ----------------------------------------------------------------

@pytest.mark.parametrize("args", [
    [b"add", b"company", b"Caf\xe9 Latin-1"],
    [b"add", b"person", b"--company", b"zyx-holdings", b"Jos\xe9 Latin-1"],
    [b"log", b"-t", b"phone-call", b"-n", b"called \xe9\xff", b"zyx-holdings"],
    [b"show", b"Zyx \xff"],
    [b"history", b"Zyx \xff"],
], ids=["company", "person", "note", "show", "history"])
def test_a_name_pasted_from_a_latin_1_terminal_is_one_clear_error(args, base, tmp_path,
                                                                  monkeypatch):
    cli = copy_of(base, tmp_path, monkeypatch)
    before = committed_state(cli.root)
    result = run(*args, cwd=cli.root, env=NOW)
    if result.returncode == 0:  # taken as it is (e.g. read as Latin-1): shown as UTF-8
        assert_clean_output(result.stdout, "stdout")
    else:
        assert_one_line_refusal(result.stderr, result.returncode)
        assert committed_state(cli.root) == before
    assert run("check", cwd=cli.root).returncode == 0
    # crmctl.lock is crmctl's own flock file, which lives on; git's locks must not.
    assert [p.name for p in (cli.root / ".git").glob("*.lock*")] in ([], ["crmctl.lock"])
    assert git(cli.root, "status", "--porcelain", "--untracked-files=all") == ""


# --- 10,000 generated names through the functions that make ids and paths ----------------------

SPECIAL = st.sampled_from([
    "--", "-", "..", ".", "/", "\\", "../", "~", "$(", ")", "`", ";", "|", "&", "+", "'", "’",
    "\x1b[31m", "\x9b", "\x00", "\n", "\t", "\r", "\u202e", "\u2066", "\u2069", "\u200b",
    "\u200d", "\ufeff", "\u00ad", "Café", unicodedata.normalize("NFD", "Café"), "Аcme", "ACME",
    "acme", "Inc.", "GmbH", "The", "株式会社", "😀", "™", "ß", "İ", "ı", "ﬁ", "Ǆ", "ＡＣＭＥ",
    "null", "yes", "- ", ": ", "{", "}", "#", " ", "　", "x" * 80, "CON", ".git", "aux.txt"])
NAMES = (st.text() | st.lists(SPECIAL | st.text(max_size=5), max_size=10).map("".join)
         | st.lists(SPECIAL | st.text(max_size=5), max_size=10).map(" ".join))
BATCH = 100  # names per example: 10,000 names in 100 examples, not 10,000 examples
LIBRARY = settings(max_examples=soak(10_000) // BATCH, deadline=None, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ROOT = "/srv/crm"
ASCII_CASE = str.maketrans("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def equivalent_spellings(name: str) -> list[str]:
    """Spellings a person would call the same name: composed or decomposed accents,
    compatibility forms (fullwidth letters), another case, other spaces."""
    return [unicodedata.normalize("NFC", name), unicodedata.normalize("NFD", name),
            unicodedata.normalize("NFKC", name), unicodedata.normalize("NFKD", name),
            name.translate(ASCII_CASE), "  " + name.replace(" ", " \t ") + "\n"]


def check_one_name(typed: str) -> None:
    try:
        name = check_name(typed, "company name")
    except UserError:
        return
    assert name == tidy(typed) and name
    assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name)
    for kind, base in (("company", slugify(normalize_company(name), "company")),
                       ("person", slugify(name, "person")),
                       ("deal", slugify(f"zyx-holdings {name}", "deal"))):
        for record_id in (base, f"{base}-2", f"{base}-10"):  # what unique_id may add
            assert ID_PATTERN.match(record_id) and is_valid_id(record_id), (typed, record_id)
            path = record_path(kind, record_id)
            full = os.path.normpath(os.path.join(ROOT, path))
            assert full.startswith(f"{ROOT}/{KINDS[kind].plural}/"), (typed, path)
            assert path.count("/") == 2 and ".." not in path.split("/"), path
            assert (kind_of_path(path), id_of_path(path)) == (kind, record_id)
        assert len(base) <= MAX_ID_LENGTH + 8
    # Normalising is idempotent: the comparable form of a comparable form is itself.
    company, person, folded = normalize_company(name), normalize_person(name), fold(name)
    assert normalize_company(company) == company
    assert normalize_person(person) == person
    assert fold(folded) == folded
    # Equivalent spellings come together: one comparable form, one id.
    for spelling in equivalent_spellings(typed):
        try:
            other = check_name(spelling, "company name")
        except UserError:
            continue  # refused outright: it cannot become a second record either
        assert normalize_company(other) == company, (typed, spelling)
        assert normalize_person(other) == person, (typed, spelling)
        assert slugify(normalize_company(other), "company") == \
            slugify(company, "company"), (typed, spelling)
    # An invisible character slipped in is refused, never a look-alike second record.
    for hidden in ("\u200b", "\u200d", "\ufeff", "\u202e", "\u2066", "\x1b"):
        with pytest.raises(UserError):
            check_name(name[:1] + hidden + name[1:], "company name")


@LIBRARY
@given(st.lists(NAMES, min_size=BATCH, max_size=BATCH))
@example(["../../etc/passwd", "/etc/passwd", "--output=/tmp/x", "-h", "..", ".git", "CON",
          "Café", unicodedata.normalize("NFD", "Café"), "ACME", "Аcme", "x" * 300, "",
          "\u200bAcme", "$(rm -rf ~)", "a/b", "- x", "null", "株式会社", "ﬁne", "Ǆ"]
         + ["Acme"] * (BATCH - 21))
def test_ten_thousand_generated_names_give_safe_ids_and_paths_and_equal_forms(names):
    for typed in names:
        check_one_name(typed)


# --- a sample of generated names through the real CLI --------------------------------------------

CLI_NAMES = NAMES.map(lambda s: s.replace("\x00", ""))  # argv cannot carry a NUL byte


@settings(max_examples=soak(20), deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(CLI_NAMES)
@example("\x1b[31mred")
@example("--output=../../written-by-git")
@example("Аcme")
def test_generated_names_through_the_cli_stay_inside_and_print_clean(crm_root, tmp_path, typed):
    around = outside(tmp_path, crm_root)
    before = committed_state(crm_root)
    added = run("add", "company", "-q", "--", typed, cwd=crm_root, env=NOW)
    assert_clean_output(added.stdout, "add company")
    if added.returncode != 0:
        assert_one_line_refusal(added.stderr, added.returncode)
        assert committed_state(crm_root) == before
    else:
        record_id = added.stdout.decode().strip()
        assert ID_PATTERN.match(record_id) and is_valid_id(record_id), record_id
        path = record_path("company", record_id)
        assert git(crm_root, "diff", "--name-only", before[0], "HEAD") == path
        shown = run("show", "--format", "json", f"company/{record_id}", cwd=crm_root)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["record"]["name"] == tidy(typed)
    assert git(crm_root, "status", "--porcelain", "--untracked-files=all") == ""
    assert outside(tmp_path, crm_root) == around
