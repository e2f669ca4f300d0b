"""The daily writes run from a plain command line without Typer (crmctl/cli/quick.py).

The quick reader must take a line exactly as Click would or not at all, its table must stay
the Typer commands' options, and a write it runs must end as the Typer command's does: the
same output, the same error line, the same commit.
"""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from typer.main import get_command
from typer.testing import CliRunner

from conftest import Cli, crmctl, git, run_cli
from crmctl.app import app, build_app
from crmctl.cli import daily, quick
from crmctl.cli.session import Globals
from crmctl.commandline import GLOBAL_OPTIONS_WITH_VALUES

WHOLE = get_command(app)


def typer_command(words: tuple[str, ...]):  # type: ignore[no-untyped-def]
    command = WHOLE
    for word in words:
        command = command.commands[word]
    return command


@pytest.mark.parametrize("words", list(quick.COMMANDS))
def test_the_table_holds_every_option_of_the_typer_command_and_its_body_takes_them(
        words: tuple[str, ...]) -> None:
    table = quick.COMMANDS[words]
    arguments, options, flags, required = [], {}, {}, []
    for param in typer_command(words).params:
        assert not param.multiple and param.nargs == 1 and param.envvar is None, param.name
        assert param.callback is None, param.name
        if param.param_type_name == "argument":
            arguments.append(param.name)
            continue
        assert param.type.name in ("str", "boolean"), (param.name, param.type.name)
        spellings = flags if param.is_flag else options
        spellings.update({spelling: param.name for spelling in param.opts})
        assert not param.secondary_opts, param.name
        assert param.default is (False if param.is_flag else None) or param.required, param.name
        if param.required:
            required.append(param.name)
    assert (tuple(arguments), options, flags, tuple(required)) == \
        (table.arguments, table.options, table.flags, table.required)
    body = inspect.signature(getattr(daily, table.run)).parameters
    assert list(body)[0] == "where"
    assert set(list(body)[1:]) == {*arguments, *options.values(), *flags.values()}


def test_the_global_options_are_the_ones_the_launcher_reads() -> None:
    values = {spelling: param.name for param in WHOLE.params if not param.is_flag
              for spelling in param.opts}
    assert set(values) == set(GLOBAL_OPTIONS_WITH_VALUES)
    assert {p.name: p.envvar for p in WHOLE.params if not p.is_flag} == \
        {"dir": "CRMCTL_DIR", "as_user": None}


def click_reads(args: list[str]) -> tuple[Globals, dict]:
    """``args`` as Click reads them into the root's and the command's parameters."""
    context = WHOLE.make_context("crmctl", list(args))
    rest = [*context._protected_args, *context.args]
    command = WHOLE
    while hasattr(command, "commands"):
        name, command, rest = command.resolve_command(context, rest)
        context = command.make_context(name, rest, parent=context)
        rest = [*context._protected_args, *context.args] if hasattr(command, "commands") \
            else rest
    root = context.find_root().params
    return Globals(dir=root["dir"], as_user=root["as_user"]), context.params


WORDS = st.sampled_from([
    "log", "move", "task", "add", "list", "acme", "deal-1", "won", "", " ", "-", "--", "-5",
    "+3d", "x=y", "--type", "-t", "--note", "-n", "--note=-x", "--note=", "--outcome",
    "--at", "--with", "--deal", "--force", "--force=yes", "--follow-up", "--amount",
    "--probability", "--close", "--reason", "--for", "--due", "--priority", "--assign",
    "--quiet", "-q", "-qt", "-tphone-call", "-t=phone-call", "--help", "-h", "--version",
    "--dir", "-C", "--as", "--as=ann", "-C/tmp/crm", "-C=/tmp/crm", "--dir=", "--unknown",
    "--typ"])


@st.composite
def lines(draw: st.DrawFn) -> list[str]:
    """Lines of the quick commands, most of them well formed (so that many are taken), in
    any order, with now and then a word from anywhere."""
    command = draw(st.sampled_from(list(quick.COMMANDS)))
    table = quick.COMMANDS[command]
    pieces = [[draw(st.sampled_from(["acme", "won", "", "caf\u00e9", "-", "a=b", "x y"]))]
              for _ in range(len(table.arguments) + draw(st.sampled_from([0, 0, 0, -1, 1])))]
    for parameter in dict.fromkeys([*table.options.values(), *table.flags.values()]):
        if parameter not in table.required and draw(st.booleans()):
            continue
        spelling = draw(st.sampled_from([s for s, p in {**table.options, **table.flags}.items()
                                         if p == parameter]))
        value = draw(st.sampled_from(["x", "", "-", "a=b", "+3d", "x y", "-x", "--due"]))
        if spelling in table.flags:
            pieces.append([spelling])
        elif draw(st.booleans()):  # Click reads -t=x as "=x": the reader declines it
            pieces.append([f"{spelling}={value}"])
        else:
            pieces.append([spelling, value])
    pieces += [[word] for word in draw(st.lists(WORDS, max_size=1))]
    globals_ = draw(st.lists(st.sampled_from(
        [["-C", "/a"], ["--dir", ""], ["--as", "ann"], ["--as=bo"], ["-C/b"], ["--dir=/c"],
         ["-C=/d"], ["--"]]), max_size=3))
    return [word for piece in [*globals_, list(command), *draw(st.permutations(pieces))]
            for word in piece]


@pytest.fixture
def folder_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRMCTL_DIR", "/from/the/environment")


@settings(max_examples=600, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.one_of(lines(), st.lists(WORDS, max_size=9)))
@example(words=["task", "add", "Call back", "--due", "+3d", "-q"])
@example(words=["-C", "/tmp/crm", "--as", "ann", "log", "acme", "-t", "phone-call",
                "--note", "-"])
@example(words=["move", "--amount=5000", "deal-1", "won", "--reason", "price"])
@example(words=["log", "acme", "-t=phone-call"])
@example(words=["-C=/tmp/crm", "task", "add", "x"])
@example(words=["--", "--dir", "/tmp/crm", "task", "add", "x"])
@example(words=["--as", "ann", "--", "task", "add", "x"])
def test_a_line_the_quick_reader_takes_reads_the_same_to_click(
        folder_in_the_environment: None, words: list[str]) -> None:
    parsed = quick.parse(words)
    event("taken" if parsed else "declined")
    if parsed is None:
        return
    assert click_reads(words) == (parsed.where, parsed.values)


def test_the_plain_lines_of_every_day_are_taken_and_the_rest_left_to_typer() -> None:
    taken = [["log", "acme", "-t", "phone-call", "-n", "Left a message"],
             ["log", "--type=meeting", "acme", "--with", "ann", "--force"],
             ["--dir=/x", "task", "add", "Send the quote", "--for", "acme", "-q"],
             ["move", "deal-1", "won", "--amount", "5000"]]
    for words in taken:
        assert quick.parse(words) is not None, words
    declined = [["log", "acme"],  # --type is required: Typer says so
                ["log", "acme", "-t"], ["task", "add"], ["task", "add", "a", "b"],
                ["task", "add", "x", "--help"], ["--version"], ["log", "acme", "-tcall"],
                ["move", "deal-1", "won", "--amount", "-5"], ["task", "list"],
                ["log", "acme", "-t", "a", "-t", "b"], ["move", "d", "won", "--reason"],
                ["log", "acme", "-t", "call", "--", "x"], ["task", "add", "caf\udce9"]]
    for words in declined:
        assert quick.parse(words) is None, words


def test_the_environment_names_the_folder_only_when_no_option_does(
        monkeypatch: pytest.MonkeyPatch) -> None:
    line = ["task", "add", "x"]
    monkeypatch.setenv("CRMCTL_DIR", "")
    assert quick.parse(line).where == Globals()  # type: ignore[union-attr]
    monkeypatch.setenv("CRMCTL_DIR", "/env")
    assert quick.parse(line).where == Globals(dir="/env")  # type: ignore[union-attr]
    assert quick.parse(["-C", "", *line]).where == Globals(dir="")  # type: ignore[union-attr]


@pytest.fixture
def twins(tmp_path: Path, cli: Cli) -> tuple[Path, Path]:
    """Two copies of one CRM with a company, a person and a deal, at the same commit."""
    cli.ok("add", "company", "Acme Products")
    cli.ok("add", "person", "Ann Buyer", "--company", "acme-products")
    cli.ok("add", "deal", "Big Deal", "--company", "acme-products", "--amount", "1000")
    copies = []
    for name in ("quick", "typer"):
        copy = tmp_path / name
        subprocess.run(["git", "clone", "-q", str(cli.root), str(copy)], check=True)
        for key in ("user.name", "user.email"):
            git(copy, "config", key, git(cli.root, "config", key))
        copies.append(copy)
    return copies[0], copies[1]


LINES = [
    ["log", "acme products", "--type", "phone-call", "--note", "Asked for a quote",
     "--with", "ann-buyer", "--follow-up", "+3d: send the quote"],
    ["log", "acme products", "-t", "phone-attempt", "--outcome", "no-answer"],
    ["log", "acme products", "-t", "fax"],  # no such type: the same error line
    ["log", "nobody at all", "-t", "phone-call", "-n", "x"],
    ["move", "big-deal", "proposal-sent", "--amount", "1200"],
    ["move", "big-deal", "lost"],  # a reason is required
    ["task", "add", "Send the quote", "--for", "acme products", "--due", "+3d",
     "--priority", "high"],
    ["task", "add", "Call back", "--due", "someday"],
    ["task", "add", "Renew", "-q", "--priority", "urgent"],
]


@pytest.mark.parametrize("line", LINES, ids=[" ".join(line[:3]) for line in LINES])
def test_a_quick_write_ends_as_the_typer_command_does(twins: tuple[Path, Path],
                                                      line: list[str]) -> None:
    assert quick.parse(line) is not None
    env = {"CRMCTL_NOW": "2026-12-01T10:00:00+01:00"}
    outcomes = []
    for root, run in zip(twins, (run_cli, lambda runner, args, env: runner.invoke(
            app, args, env=env, catch_exceptions=False))):
        result = run(CliRunner(), ["--dir", str(root), *line], env=env)
        shown = git(root, "show", "--format=%an <%ae>%n%s%n%b", "-p", "HEAD")
        outcomes.append(without_random_ids(
            str(result.exit_code), result.stdout, result.stderr, shown,
            git(root, "status", "--porcelain")))
    assert outcomes[0] == outcomes[1]


def without_random_ids(*texts: str) -> list[str]:
    """``texts`` with the ids drawn at random for new tasks and log entries (and the task
    file named by one) numbered in the order the commit's new lines hold them."""
    drawn: list[str] = []
    for line in texts[3].splitlines():
        if line.startswith("+{"):
            entry = json.loads(line[1:])
            drawn += [entry[key] for key in ("id", "task") if key in entry and entry[key] not in drawn]
    masked = []
    for text in texts:
        text = re.sub(r"tasks/(\d{4}-\d{2})/\w+\.jsonl", r"tasks/\1/SHARD.jsonl", text)
        text = re.sub(r"(?m)^index \w+\.\.\w+", "index", text)  # the new lines' blobs
        for number, drawn_id in enumerate(drawn):
            text = text.replace(drawn_id, f"ID{number}").replace(drawn_id[:6], f"ID{number}")
        masked.append(text)
    return masked


def test_the_installed_command_runs_a_plain_write_without_importing_typer(acme_cli: Cli
                                                                          ) -> None:
    probe = ("import sys, atexit\n"
             "atexit.register(lambda: print('typer' in sys.modules, file=sys.stderr))\n"
             "from crmctl.launch import main\nmain()")
    line = ["task", "add", "Send the quote", "--for", "acme products", "--due", "+3d"]
    done = subprocess.run([sys.executable, "-c", probe, *line], cwd=acme_cli.root,
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith('Add task "Send the quote"'), \
        done.stderr
    assert done.stderr.splitlines()[-1] == "False"
    assert git(acme_cli.root, "status", "--porcelain") == ""
    # A line it declines is Typer's: the usage error names the missing option.
    done = crmctl("log", "acme products", cwd=acme_cli.root)
    assert done.returncode == 2 and "Missing option '--type'" in done.stderr, done.stderr


def test_a_quick_write_ends_without_python_s_teardown_yet_leaves_nothing_open(
        tmp_path: Path) -> None:
    """The process ends at once after its output (quick.exit_now): the index's database is
    closed first, so its write-ahead log is folded in and gone, and a piped output is whole.
    (Every command here runs as a process: pytest's own would hold the database open.)"""
    root = tmp_path / "crm"
    assert crmctl("init", str(root), cwd=tmp_path).returncode == 0
    assert crmctl("add", "company", "Acme Products", cwd=root).returncode == 0
    state = root / ".crmctl"
    done = crmctl("log", "acme products", "-t", "note", "-n", "Met at a fair", "--follow-up",
                  "+3d: call back", cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == 'Log note with "Acme Products"'
    assert done.stdout.splitlines()[1].startswith("  follow-up: task ")
    assert (state / "index.sqlite").exists()
    assert not [p.name for p in state.iterdir() if p.name.endswith(("-wal", "-shm"))]
    refused = crmctl("move", "acme products", "no-such-status", cwd=root)
    assert refused.returncode != 0 and refused.stderr.count("\n") == 1, refused.stderr
    assert not [p.name for p in state.iterdir() if p.name.endswith(("-wal", "-shm"))]
    assert git(root, "status", "--porcelain") == ""


@pytest.fixture
def acme_cli(cli: Cli) -> Cli:
    cli.ok("add", "company", "Acme Products")
    return cli


@pytest.mark.parametrize("closed", ["2>&-", ">&-"])
def test_a_write_started_with_stdout_or_stderr_closed_succeeds_and_says_so(
        acme_cli: Cli, closed: str) -> None:
    """A cron job or supervisor may start crmctl with a descriptor closed: the write is made
    once, and its exit status says so (a retry on a false failure would add it twice)."""
    for line in ("task add 'Call back'", "task add -- 'Call back'"):  # quick, then Typer
        done = subprocess.run(["sh", "-c", f"exec {closed}; {sys.executable} -m crmctl {line}"],
                              cwd=acme_cli.root, capture_output=True, text=True)
        assert done.returncode == 0, (line, done.stderr)
    assert git(acme_cli.root, "log", "--format=%s", "-2").splitlines() == \
        ['Add task "Call back"'] * 2
    assert git(acme_cli.root, "status", "--porcelain") == ""
    # A refused write's error line goes nowhere with stderr closed: never into the output.
    for line in ("log nobody -t note -n x", "log nobody -t note -n -x"):  # quick, Typer
        done = subprocess.run(["sh", "-c", f"exec {closed}; {sys.executable} -m crmctl {line}"],
                              cwd=acme_cli.root, capture_output=True, text=True)
        assert done.returncode == 3 and done.stdout == "", (line, done.stdout)
