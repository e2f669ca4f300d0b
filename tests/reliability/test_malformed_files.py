"""Malformed hand-edited files: whatever a teammate's editor or bad push leaves in a record,
log or task file, crmctl says where the problem is and never makes it worse.

Each corpus entry is planted into a copy of one small CRM, either committed by hand with git
(a teammate's push from a clone without the pre-commit hook) or left uncommitted (a hand edit
in progress). Then the read commands run (`show`, `list`, a report that reads the
broken record's kind, `check`, `history`), a write to another record, and the writes that touch the broken record. Every
command runs as a subprocess with a memory limit and a timeout, so a crash (a signal), a hang
or a memory blow-up is caught as such.

What users must see:
- a read that fails says ``path:line: problem`` on stderr, exits non-zero, and never shows a
  Python traceback; `crmctl check` always names the file (with the right line where there is
  one) and exits non-zero;
- a read that goes on without the broken file (`list`, a report) says on stderr which file it
  left out: silently wrong figures are worse than an error;
- no write commits while it relies on a broken file: the commit is refused, HEAD and the file
  stay as they were; a write to another record works and does not sweep the broken file into
  its commit;
- values that look like other YAML types (`02134`, `NO`, `1:30`, `1e3`, `08540`, `yes`) stay
  the strings that were typed, in `show --format json` and in every file crmctl writes back.

``CRMCTL_SOAK=2`` (or more) runs every entry both committed and uncommitted, tries each
hand commit through crmctl's pre-commit hook first, makes the huge file 50 MB instead of 8 MB
and multiplies the keys of the many-keys file.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Union

import pytest
import yaml

from conftest import build_once, git
from crmctl import yamlio
from reliability.battery import SOAK, soak

NOW = "2026-03-03T10:00:00+00:00"        # every command's clock: no test depends on today
BUILT = "2026-03-02T09:00:00+00:00"      # when the base CRM was made
MEMORY_LIMIT = 1024 ** 3                 # RLIMIT_AS of every crmctl run: 1 GB
TIMEOUT = 180                            # a guard against a hang, not a timing
HUGE_MB = 50 if SOAK > 1 else 8
MANY_KEYS = soak(20_000)
DEEP = 25_000                            # the depth at which libyaml's C composer segfaults

STAMPS = "created: '2026-03-02T09:00:00+00:00'\nupdated: '2026-03-02T09:00:00+00:00'\n"
TEAMMATE = ("Terry Teammate", "terry@example.com")


# --- the base CRM: built once, copied for every entry -------------------------------------------

@dataclass(frozen=True)
class Base:
    root: Path
    task_id: str
    paths: dict  # target -> path of the file a corpus entry replaces


def declare_zip_fields(root: Path) -> None:
    """A team lead declares a `zip` text field for companies and people, and commits it."""
    text = (root / "crm.yaml").read_text()
    for kind in ("company", "person"):
        assert f"  {kind}: {{}}\n" in text
        text = text.replace(f"  {kind}: {{}}\n", f"  {kind}:\n    zip:\n      type: string\n")
    (root / "crm.yaml").write_text(text)
    git(root, "commit", "-qam", "Declare zip codes")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    at = {"CRMCTL_NOW": BUILT}
    found: dict = {}

    def setup(cli) -> None:  # type: ignore[no-untyped-def]
        declare_zip_fields(cli.root)
        cli.ok("add", "company", "Acme", env=at)
        cli.ok("add", "company", "Globex", env=at)
        cli.ok("add", "person", "Jane Doe", "--company", "acme", "--email", "jane@acme.com",
               env=at)
        cli.ok("add", "deal", "Renewal 2027", "--company", "acme", "--amount", "12000",
               "--close", "2027-01-01", env=at)
        cli.ok("log", "acme", "-t", "phone-call", "-n", "Talked about the renewal", env=at)
        # For Jane: the task report reads people/ for what its tasks are for.
        found["task"] = cli.ok("task", "add", "Send the proposal", "--for", "jane-doe", "--due",
                               "2026-03-09", "-q", env=at).stdout.strip()

    root = build_once(tmp_path_factory, setup, created_at=at)
    [task_file] = sorted((root / "tasks").glob("*/*.jsonl"))
    paths = {
        "company": "companies/ac/acme.yaml",
        "person": "people/ja/jane-doe.yaml",
        "deal": "deals/ac/acme-renewal-2027.yaml",
        "log": "activities/2026-03/ac.jsonl",
        "task": task_file.relative_to(root).as_posix(),
    }
    for path in paths.values():
        assert (root / path).is_file(), path
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    return Base(root, found["task"], paths)


# --- the corpus -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Ctx:
    """What an entry's text may depend on: the base files and a folder outside the CRM."""
    original: Callable[[str], str]   # target -> the base file's text
    outside: Path                    # a folder next to the CRM, for markers of escapes


Text = Union[str, bytes, Callable[[Ctx], Union[str, bytes]]]

UNREADABLE = "unreadable"   # not one strict YAML mapping (or a log line that is not JSON)
INVALID = "invalid"         # read fine, but the schema or the references say no
VALID = "valid"             # looks odd, is fine: must be read exactly as meant
EITHER = "either"           # fine to accept or to refuse cleanly (a huge record)


@dataclass(frozen=True)
class Entry:
    name: str
    target: str                      # company, person, deal, log or task
    text: Text
    verdict: str
    at: Union[str, int, tuple, None] = None  # where check must point: a line's text or number(s)
    strings: dict = field(default_factory=dict)  # field -> the exact string show must give
    pipeline: bool = False           # the pipeline report's figures depend on the broken field
    log_relies: bool = False         # `log RECORD` would carry the broken field into a commit
    edit: str = "tags=checked"       # the --set of the edit that touches the record

    def __str__(self) -> str:
        return self.name


def company(body: str) -> str:
    return "id: acme\nname: Acme\n" + body + STAMPS


def person(body: str) -> str:
    return "id: jane-doe\nname: Jane Doe\ncompany: acme\n" + body + STAMPS


def deal(body: str, head: str = "id: acme-renewal-2027\nname: Renewal 2027\ncompany: acme\n"
         ) -> str:
    return head + body + STAMPS


DEAL_OK = "amount: 12000\ncurrency: USD\nstage: contact-made\nprobability: 10\n"


def billion_laughs(levels: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def huge_notes(ctx: Ctx) -> str:
    line = "  Long call: budgets, the weather, the new warehouse, the renewal, the team.\n"
    return company("status: lead\nnotes: |\n" + line * (HUGE_MB * 1024 * 1024 // len(line)))


def many_keys(ctx: Ctx) -> str:
    return company("status: lead\n" + "".join(f"custom-{i}: value {i}\n"
                                               for i in range(MANY_KEYS)))


def first_log_line_cut(target: str) -> Callable[[Ctx], str]:
    """An editor's slip: the closing brace of the first line deleted."""
    def text(ctx: Ctx) -> str:
        first, *rest = ctx.original(target).splitlines(keepends=True)
        return first.rstrip().removesuffix("}") + "\n" + "".join(rest)
    return text


def log_with_conflict(ctx: Ctx) -> str:
    lines = ctx.original("log").splitlines(keepends=True)
    return ("<<<<<<< HEAD\n" + lines[0] + "=======\n"
            + lines[0].replace("Talked about", "Spoke about") + ">>>>>>> origin/trunk\n"
            + "".join(lines[1:]))


def log_bad_utf8(ctx: Ctx) -> bytes:
    text = ctx.original("log").encode()
    return text.replace(b"Talked", b"T\xe4lked", 1)  # Latin-1 pasted into a UTF-8 file


def python_tag(ctx: Ctx) -> str:
    marker = ctx.outside / "pwned"
    return company(f'status: !!python/object/apply:os.system ["touch {marker}"]\n')


CORPUS: list[Entry] = [
    # --- YAML that is not one strict mapping -----------------------------------------------------
    Entry("company-duplicate-key", "company", company("status: lead\nstatus: client\n"),
          UNREADABLE, at="status: client"),
    Entry("person-duplicate-emails-key", "person",
          person("emails:\n- jane@acme.com\nstatus: lead\nemails:\n- jd@acme.com\n"),
          UNREADABLE, at=7),
    Entry("deal-duplicate-amount", "deal", deal(DEAL_OK + "amount: 15000\n"), UNREADABLE,
          at="amount: 15000"),
    Entry("company-alias-bomb", "company", company("status: lead\n" + billion_laughs(30)),
          UNREADABLE, at="a0: &a0"),
    Entry("company-nesting-25000-sequences", "company",
          company("status: lead\ntags: " + "[" * DEEP + "]" * DEEP + "\n"), UNREADABLE,
          at="tags: [["),
    Entry("deal-nesting-25000-mappings", "deal",
          deal(DEAL_OK + "notes: " + "{a: " * DEEP + "deep" + "}" * DEEP + "\n"), UNREADABLE,
          at="notes: {a:"),
    Entry("company-conflict-markers-at-top-level", "company",
          "id: acme\nname: Acme\n<<<<<<< HEAD\nstatus: client\n=======\nstatus: prospect\n"
          ">>>>>>> origin/trunk\n" + STAMPS, UNREADABLE,
          # The marker is on line 3; a YAML parser only notices on line 4. Either helps.
          at=(3, 4)),
    Entry("company-conflict-markers-around-whole-file", "company",
          "<<<<<<< HEAD\n" + company("status: client\n") + "=======\n"
          + company("status: prospect\n") + ">>>>>>> origin/trunk\n", UNREADABLE),
    Entry("company-tab-indentation", "company",
          "id: acme\n\tname: Acme\nstatus: lead\n" + STAMPS, UNREADABLE, at=2),
    Entry("company-nul-byte", "company", company("status: lead\n").replace("Acme\n", "Ac\0me\n"),
          UNREADABLE, at=2),
    Entry("company-latin1-accents", "company",
          b"id: acme\nname: Soci\xe9t\xe9 G\xe9n\xe9rale\nstatus: lead\n" + STAMPS.encode(),
          UNREADABLE, at=2),
    Entry("person-utf8-cut-mid-character", "person",
          person("status: lead\ntitle: Directeur g\xe9n\xe9ral\n").encode()
          .replace("g\xe9n\xe9ral".encode(), b"g\xc3"), UNREADABLE, at=5),
    Entry("company-two-documents", "company", company("status: lead\n") + "---\n"
          + company("status: client\n").replace("acme", "acme-2"), UNREADABLE, at="---"),
    Entry("company-top-level-list", "company", "- id: acme\n- name: Acme\n", UNREADABLE, at=1),
    Entry("company-top-level-scalar", "company", "Acme Corporation, Springfield\n", UNREADABLE,
          at=1),
    Entry("company-empty-file", "company", "", UNREADABLE, at=1),
    Entry("company-unterminated-quote", "company",
          "id: acme\nname: \"Acme\nstatus: lead\n" + STAMPS, UNREADABLE, at=2),
    Entry("company-python-tag", "company", python_tag, UNREADABLE, at="status: !!python"),
    Entry("deal-binary-tag", "deal", deal(DEAL_OK + "notes: !!binary aGVsbG8=\n"), UNREADABLE,
          at="notes: !!binary"),
    Entry("log-line-cut", "log", first_log_line_cut("log"), UNREADABLE, at=1),
    Entry("log-conflict-markers", "log", log_with_conflict, UNREADABLE, at=1),
    Entry("log-invalid-utf8", "log", log_bad_utf8, UNREADABLE, at=1),
    Entry("task-line-cut", "task", first_log_line_cut("task"), UNREADABLE, at=1),

    # --- strict YAML, but not a valid record -----------------------------------------------------
    Entry("company-conflict-markers-in-notes-block", "company",
          company("status: lead\nnotes: |\n  Met at the fair.\n  <<<<<<< HEAD\n"
                  "  Call back Monday.\n  =======\n  Call back Tuesday.\n"
                  "  >>>>>>> origin/trunk\n"), INVALID, at="<<<<<<< HEAD"),
    Entry("company-unknown-key", "company",
          company("status: lead\nlinkedin: https://linkedin.example/acme\n"), INVALID,
          at="linkedin:"),
    Entry(f"company-{MANY_KEYS}-unknown-keys", "company", many_keys, INVALID, at=4),
    Entry("company-missing-name", "company", "id: acme\nstatus: lead\n" + STAMPS, INVALID),
    Entry("company-only-a-name", "company", "name: Acme\n", INVALID),
    Entry("company-id-not-its-file-name", "company",
          "id: acme-corp\nname: Acme\nstatus: lead\n" + STAMPS, INVALID, at=1, log_relies=True),
    Entry("company-id-climbs-out", "company",
          "id: ../escaped\nname: Acme\nstatus: lead\n" + STAMPS, INVALID, at=1, log_relies=True),
    Entry("company-name-as-mapping", "company",
          "id: acme\nname:\n  legal: Acme Inc\nstatus: lead\n" + STAMPS, INVALID, at=2),
    Entry("company-status-NO", "company", company("status: NO\n"), INVALID, at="status: NO",
          strings={"status": "NO"}),
    Entry("company-dates-not-dates", "company",
          "id: acme\nname: Acme\nstatus: lead\ncreated: last tuesday\nupdated: 1:30\n", INVALID,
          at="created:", strings={"created": "last tuesday", "updated": "1:30"}),
    Entry("company-tags-as-text", "company", company("status: lead\ntags: b2b, saas\n"), INVALID,
          at="tags:", edit="source=trade-fair"),
    Entry("person-company-as-mapping", "person",
          "id: jane-doe\nname: Jane Doe\ncompany:\n  id: acme\nstatus: lead\n" + STAMPS, INVALID,
          at=3, log_relies=True),
    Entry("person-company-that-does-not-exist", "person",
          "id: jane-doe\nname: Jane Doe\ncompany: initech\nstatus: lead\n" + STAMPS, INVALID,
          at=3, log_relies=True),
    Entry("deal-amount-as-list", "deal",
          deal("amount: [12000, 15000]\ncurrency: USD\nstage: contact-made\nprobability: 10\n"),
          INVALID, at="amount:", pipeline=True),
    Entry("deal-amount-with-thousands-comma", "deal",
          deal("amount: 12,000\ncurrency: USD\nstage: contact-made\nprobability: 10\n"),
          INVALID, at="amount:", pipeline=True, strings={"amount": "12,000"}),
    Entry("deal-probability-as-word", "deal",
          deal("amount: 12000\ncurrency: USD\nstage: contact-made\nprobability: high\n"),
          INVALID, at="probability:", pipeline=True),
    Entry("deal-probability-150", "deal",
          deal("amount: 12000\ncurrency: USD\nstage: contact-made\nprobability: 150\n"),
          INVALID, at="probability:", pipeline=True),
    Entry("deal-stage-unknown", "deal",
          deal("amount: 12000\ncurrency: USD\nstage: maybe\nprobability: 10\n"), INVALID,
          at="stage:", pipeline=True),
    Entry("deal-stage-missing", "deal", deal("amount: 12000\ncurrency: USD\nprobability: 10\n"),
          INVALID, pipeline=True),
    Entry("deal-close-not-a-date", "deal", deal(DEAL_OK + "close: next spring\n"), INVALID,
          at="close:"),
    Entry("deal-company-as-list", "deal",
          deal(DEAL_OK, head="id: acme-renewal-2027\nname: Renewal 2027\ncompany: [acme]\n"),
          INVALID, at=3, log_relies=True),

    # --- odd-looking but valid: read exactly as meant --------------------------------------------
    Entry("company-values-other-readers-convert", "company",
          company("status: lead\nzip: 02134\nsource: NO\ncampaign: yes\nnotes: 1e3\n"), VALID,
          strings={"zip": "02134", "source": "NO", "campaign": "yes", "notes": "1e3"}),
    Entry("person-values-other-readers-convert", "person",
          person("status: lead\ntitle: NO\nsource: yes\nzip: 08540\nnotes: 1:30\n"), VALID,
          strings={"title": "NO", "source": "yes", "zip": "08540", "notes": "1:30"}),
    Entry("deal-values-other-readers-convert", "deal",
          deal("amount: 12000\ncurrency: USD\nstage: contact-made\nprobability: 10\n"
               "source: off\nnotes: 0x1F\n", head="id: acme-renewal-2027\nname: 2027\n"
               "company: acme\n"), VALID,
          strings={"name": "2027", "source": "off", "notes": "0x1F"}),
    Entry("company-crlf-line-endings", "company",
          company("status: lead\nnotes: |\n  line one\n  line two\n").replace("\n", "\r\n"),
          VALID, strings={"name": "Acme", "notes": "line one\nline two\n"}),
    Entry("company-utf8-bom", "company", b"\xef\xbb\xbf" + company("status: lead\n").encode(),
          VALID, strings={"id": "acme", "name": "Acme"}),
    Entry("company-utf16-from-notepad", "company",
          company("status: lead\n").replace("Acme\n", "Soci\xe9t\xe9 G\xe9n\xe9rale\n")
          .encode("utf-16"), VALID, strings={"id": "acme", "name": "Soci\xe9t\xe9 G\xe9n\xe9rale"}),
    Entry("company-tab-after-colon", "company", company("status:\tlead\n").replace(
        "name: Acme", "name:\tAcme"), VALID, strings={"name": "Acme"}),
    Entry(f"company-huge-notes-{HUGE_MB}mb", "company", huge_notes, EITHER),
]

MALFORMED = [e for e in CORPUS if e.verdict in (UNREADABLE, INVALID)]
assert len(MALFORMED) >= 40, len(MALFORMED)
assert len({e.name for e in CORPUS}) == len(CORPUS)

COMMITTED, HAND_EDIT = "committed", "hand-edit"


def cases() -> list:
    """Each entry once, committed and uncommitted in turn; both ways in a soak."""
    return [pytest.param(entry, mode, id=f"{entry.name}/{mode}")
            for i, entry in enumerate(CORPUS)
            for mode in ((COMMITTED, HAND_EDIT) if SOAK > 1 else
                         ((COMMITTED, HAND_EDIT)[i % 2],))]


# --- running crmctl under limits -------------------------------------------------------------

@dataclass
class Run:
    args: tuple
    code: int | None     # None: killed after TIMEOUT
    out: str
    err: str

    @property
    def cmd(self) -> str:
        return "crmctl " + " ".join(self.args)


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def start(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "crmctl", *args], cwd=root,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "CRMCTL_NOW": NOW},
                            preexec_fn=_limits, start_new_session=True)


def finish(proc: subprocess.Popen, args: tuple) -> Run:
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # crmctl and the git it started
        out, err = proc.communicate()
        return Run(args, None, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
    return Run(args, proc.returncode, out.decode("utf-8", "replace"),
               err.decode("utf-8", "replace"))


def run(root: Path, *args: str) -> Run:
    return finish(start(root, *args), args)


def run_together(root: Path, commands: list[tuple]) -> list[Run]:
    """Commands started at once, collected in order (a blocked pipe only waits its turn)."""
    procs = [(start(root, *args), args) for args in commands]
    return [finish(proc, args) for proc, args in procs]


def head(root: Path) -> str:
    return git(root, "rev-parse", "HEAD")


def status(root: Path) -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root,
                          check=True, capture_output=True, text=True).stdout


def files_of(root: Path, commit: str) -> list[str]:
    return git(root, "show", "--name-only", "--format=", commit).splitlines()


def line_of(text: Union[str, bytes], needle: str) -> int:
    raw = text if isinstance(text, bytes) else text.encode()
    at = raw.find(needle.encode())
    assert at >= 0, needle
    return raw[:at].count(b"\n") + 1


class Findings:
    """Everything wrong with one entry, so one run reports all of it."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, what: str, result: Run | None = None) -> None:
        if result is not None:
            what += (f"\n      `{result.cmd}` exit {result.code}; stderr: "
                     f"{result.err[-600:].strip()!r}; stdout: {result.out[:300].strip()!r}")
        self.items.append(what)

    def sane(self, result: Run) -> bool:
        """No hang, no crash, no traceback: checked for every command."""
        if result.code is None:
            self.add(f"hung: killed after {TIMEOUT}s", result)
            return False
        if result.code < 0:
            self.add(f"crashed with signal {-result.code}", result)
            return False
        if "Traceback (most recent call last)" in result.err + result.out:
            self.add("printed a Python traceback", result)
            return False
        if "MemoryError" in result.err:
            self.add(f"ran out of its {MEMORY_LIMIT // 1024 ** 2} MB of memory", result)
            return False
        return True


# --- the test -------------------------------------------------------------------------------------

def plant(root: Path, path: str, data: bytes) -> None:
    (root / path).write_bytes(data)


def commit_by_hand(root: Path, path: str, findings: Findings, should_pass_hook: bool | None
                   ) -> None:
    """A teammate commits the file as a clone without crmctl's pre-commit hook would push it.

    In a soak run they first try with the hook that `crmctl init` installs, which must refuse
    a broken file (naming it) and let a valid one through."""
    ident = ["-c", f"user.name={TEAMMATE[0]}", "-c", f"user.email={TEAMMATE[1]}"]
    git(root, "add", "--", path)
    if SOAK == 1:
        subprocess.run(["git", *ident, "commit", "-q", "--no-verify", "-m", f"Tidy {path}"],
                       cwd=root, check=True, capture_output=True, timeout=TIMEOUT)
        return
    hooked = subprocess.run(["git", *ident, "commit", "-q", "-m", f"Tidy {path}"], cwd=root,
                            capture_output=True, text=True, timeout=TIMEOUT)
    if should_pass_hook is True and hooked.returncode != 0:
        findings.add(f"the pre-commit hook refused a valid file: {hooked.stdout}{hooked.stderr}")
    if should_pass_hook is False:
        if hooked.returncode == 0:
            findings.add("the pre-commit hook let a hand commit of the broken file through")
            return
        if path not in hooked.stdout + hooked.stderr:
            findings.add(f"the pre-commit hook refused without naming {path}: "
                         f"{hooked.stdout}{hooked.stderr}")
    if hooked.returncode != 0:
        subprocess.run(["git", *ident, "commit", "-q", "--no-verify", "-m", f"Tidy {path}"],
                       cwd=root, check=True, capture_output=True, timeout=TIMEOUT)


@pytest.mark.parametrize("entry, mode", cases())
def test_a_malformed_file_is_named_with_its_line_and_never_made_worse(entry: Entry, mode: str,
                                                                       base: Base,
                                                                       tmp_path: Path):
    root = tmp_path / "crm"
    shutil.copytree(base.root, root, symlinks=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    ctx = Ctx(original=lambda target: (root / base.paths[target]).read_text(encoding="utf-8"),
              outside=outside)
    data = entry.text(ctx) if callable(entry.text) else entry.text
    data = data.encode("utf-8") if isinstance(data, str) else data
    path = base.paths[entry.target]
    plant(root, path, data)
    broken = entry.verdict in (UNREADABLE, INVALID)
    findings = Findings()
    if mode == COMMITTED:
        commit_by_hand(root, path, findings, {UNREADABLE: False, INVALID: False,
                                              VALID: True}.get(entry.verdict))
    planted = (root / path).read_bytes()
    head_before, status_before = head(root), status(root)
    located = re.compile(re.escape(path) + r":\d+")
    if isinstance(entry.at, str):
        lines: tuple = (line_of(data, entry.at),)
    elif isinstance(entry.at, int):
        lines = (entry.at,)
    else:
        lines = entry.at or ()
    record_id = {"company": "acme", "person": "jane-doe",
                 "deal": "acme-renewal-2027"}.get(entry.target, "acme")
    plural = {"company": "companies", "person": "people", "deal": "deals"}.get(entry.target,
                                                                              "companies")

    # --- the reads, and a write to another record, all at once ------------------------------------
    # The write to Globex touches neither the broken file nor what the reads look at; running
    # them together keeps the corpus quick and is what a team does anyway.
    # `show --format json` is the show of entries whose exact strings are checked.
    show_args = ("show", record_id) + (("--format", "json") if entry.strings else ())
    # A report reads only the folders it needs, and names what it left out of itself: the
    # report run is one that reads the broken record's kind (tasks: the kinds its tasks are
    # for, Jane's person file and her company's).
    report_args = {"company": ("report", "funnel"),
                   "person": ("report", "tasks")}.get(entry.target, ("report", "pipeline"))
    commands = {"show": show_args, "list": ("list", plural),
                "report": report_args, "check": ("check",),
                "other": ("log", "globex", "-t", "note", "-n", "Sent the brochure")}
    if mode == COMMITTED:  # history reads git only: a file never committed cannot reach it
        commands["history"] = ("history",)
    if entry.target == "task":
        commands["tasks"] = ("task", "list", "--all")
    results = dict(zip(commands, run_together(root, list(commands.values()))))
    reads = {k: r for k, r in results.items() if k != "other"}
    for key, result in reads.items():
        if not findings.sane(result):
            continue
        if result.code != 0 and key != "check" and not located.search(result.err):
            findings.add(f"failed without naming {path}:LINE on stderr", result)
    show, listed, report, check = (results[k] for k in ("show", "list", "report", "check"))

    if broken:
        problems = check.out + check.err
        if check.code in (0, None):
            findings.add("crmctl check passed a broken file", check)
        elif lines and not any(f"{path}:{n}: " in problems for n in lines):
            findings.add(f"crmctl check did not point at {path}:{'/'.join(map(str, lines))}",
                         check)
        elif not located.search(problems):
            findings.add(f"crmctl check did not name {path}:LINE", check)
    elif entry.verdict == VALID and check.code != 0:
        findings.add("crmctl check refused a valid file", check)
    elif entry.verdict == EITHER and check.code == 0 and show.code != 0:
        findings.add("check accepts the file but show cannot show it", show)

    if entry.verdict == UNREADABLE and entry.target in ("company", "person", "deal"):
        if show.code == 0:
            findings.add("show printed a record it cannot read", show)
        # `list` and the report go on without the file (one bad file must not hide the rest
        # of the CRM), but they must say which file they left out.
        if listed.code == 0 and path not in listed.err:
            findings.add(f"list left {path} out without saying so on stderr", listed)
        if report.code == 0 and not located.search(report.err):
            findings.add(f"the report left {path} out without naming it (path:line) on stderr",
                         report)
    if entry.verdict == UNREADABLE and entry.target == "log":
        # The company's timeline would silently miss what the broken lines hold: say so.
        if show.code == 0 and path not in show.err:
            findings.add(f"show left out what {path} holds without a word on stderr", show)
    if entry.verdict == UNREADABLE and entry.target == "task":
        tasks = results["tasks"]
        if tasks.code == 0 and path not in tasks.err:
            findings.add(f"task list left out what {path} holds without a word on stderr",
                         tasks)
    if entry.pipeline and report.code == 0 and path not in report.err:
        # A deal whose amount, probability or stage cannot be used changes the totals:
        # figures that are silently wrong are worse than a warning.
        findings.add(f"the pipeline report used {path} without a word about its broken field",
                     report)
    if entry.verdict == VALID:
        for key in ("show", "list", "report", "history"):
            if key in results and (results[key].code != 0 or results[key].err.strip()):
                findings.add("a valid file made a read fail or warn", results[key])
    history = results.get("history")
    if history is not None and history.code != 0:
        # history reads git, not record files: a broken file is no reason to fail.
        findings.add("history failed", history)
    elif history is not None and not (TEAMMATE[0] in history.out and path in history.out):
        findings.add("history does not show the teammate's hand commit and its file", history)
    if entry.strings and show.code == 0:
        shown = json.loads(show.out)["record"]
        for name, value in entry.strings.items():
            if shown.get(name) != value:
                findings.add(f"show --format json gives {name} = {shown.get(name)!r}, "
                             f"not the string {value!r}", show)

    # One teammate's broken file must not stop the rest of the team: the write to Globex works,
    # makes one commit, and does not sweep the broken file into it.
    other = results["other"]
    if findings.sane(other):
        if other.code != 0:
            findings.add("a broken file elsewhere stopped a write to another record", other)
        elif git(root, "rev-parse", "HEAD~1") != head_before:
            findings.add("the write to another record did not make exactly one commit", other)
        elif path in files_of(root, "HEAD"):
            findings.add(f"the write to another record committed {path} too", other)
    if (root / path).read_bytes() != planted:
        findings.add(f"the write to another record changed {path}", other)
    if status(root) != status_before:
        findings.add(f"the write to another record left git status changed:\n{status_before}"
                     f"->\n{status(root)}", other)

    # --- writes that touch the broken record -----------------------------------------------------
    # (command, strict): a strict write must refuse outright while the file is broken.
    if entry.target == "task":
        touching = [(("task", "done", base.task_id), True)]
    elif entry.target == "log":
        touching = [(("log", "acme", "-t", "note", "-n", "Left a voicemail"), True)]
    else:
        touching = [(("edit", record_id, "--set", entry.edit), True)]
        if entry.verdict != UNREADABLE:  # an unreadable record stops log as it stops edit
            # A first phone call promotes a lead, which rewrites the record; a note only
            # files a line under the record's id, which is all an entry with a broken id or
            # company needs to go wrong.
            kind = "note" if entry.log_relies else "phone-call"
            touching.append((("log", record_id, "-t", kind, "-n", "Called about the renewal"),
                             entry.log_relies))
    for args, strict in touching:
        before, before_bytes, before_status = head(root), (root / path).read_bytes(), status(root)
        write = run(root, *args)
        if not findings.sane(write):
            continue
        moved = head(root) != before
        if entry.verdict == VALID:
            if write.code != 0 or not moved:
                findings.add("a write to a valid record failed", write)
                continue
            # What crmctl wrote back reads the same to crmctl and to another YAML reader.
            text = (root / path).read_bytes()
            for reader, load in (("crmctl", yamlio.load), ("PyYAML (YAML 1.1)", yaml.safe_load)):
                written = load(text)
                for name, value in entry.strings.items():
                    if written.get(name) != value:
                        findings.add(f"after `{write.cmd}`, {reader} reads {name} as "
                                     f"{written.get(name)!r}, not {value!r}")
            continue
        if not broken:
            continue
        after_bytes = (root / path).read_bytes()
        if strict:
            if moved:
                findings.add(f"committed while reading the broken {path} "
                             f"(commit changes {files_of(root, 'HEAD')})", write)
            elif write.code == 0:
                findings.add("reported success but changed nothing", write)
            if after_bytes != before_bytes:
                findings.add(f"changed the broken {path}", write)
            if status(root) != before_status:
                findings.add("left git status changed", write)
        else:
            # Logging a call on a record with, say, a bad close date does not rewrite or rely
            # on the bad field: it may go ahead, but must neither touch nor commit the file.
            if moved and path in files_of(root, "HEAD"):
                findings.add(f"its commit rewrites the broken {path}", write)
            if after_bytes != before_bytes:
                findings.add(f"changed the broken {path}", write)

    # --- nothing ran, nothing escaped ------------------------------------------------------------
    if any(outside.iterdir()):
        findings.add(f"something was created outside the CRM: {sorted(outside.iterdir())}")
    if sorted(p.name for p in tmp_path.iterdir()) != ["crm", "outside"]:
        findings.add(f"files appeared next to the CRM: {sorted(tmp_path.iterdir())}")
    escaped = [p for p in git(root, "log", "--all", "--name-only", "--format=").splitlines()
               if ".." in p.split("/")]
    if escaped:
        findings.add(f"a commit holds paths with ..: {escaped}")

    if findings.items:
        pytest.fail(f"{entry.name} ({mode}):\n  - " + "\n  - ".join(findings.items),
                    pytrace=False)
