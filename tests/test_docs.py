"""The CLI reference in docs/ is generated from --help and must be current; every command has help."""

from __future__ import annotations

from pathlib import Path

from typer.main import get_command

from crmctl.app import app
from crmctl.cli.reference import reference

DOCS = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def test_cli_reference_is_current() -> None:
    assert DOCS.read_text() == reference(), \
        "docs/cli.md is stale: run python -m crmctl.cli.reference > docs/cli.md"


def test_every_command_has_help() -> None:
    def walk(command, path):
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, path + [name])

    for path, command in walk(get_command(app), ["crmctl"]):
        assert (command.help or "").strip(), f"{' '.join(path)} has no help text"
        for param in command.params:
            if param.name not in ("help", "install_completion", "show_completion", "ctx"):
                assert getattr(param, "help", None), f"{' '.join(path)} {param.name} has no help"


def test_the_cli_module_imports_no_heavy_module() -> None:
    """Every command pays for what `import crmctl.app` imports: the heavy modules are
    imported only by the commands that use them (measured: each costs 30-90 ms)."""
    import subprocess
    import sys

    heavy = ("rapidfuzz", "tabulate", "jsonschema", "email", "dateparser", "vobject",
             "openpyxl", "sqlite3", "yaml", "git")
    probe = ("import sys, crmctl.app; "
             f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_help_and_version_run_without_the_heavy_modules() -> None:
    """Through the entry point, output guard included: every line crmctl writes passes
    through crmctl.terminal, so that must stay as light as the app itself."""
    import subprocess
    import sys

    heavy = ("rapidfuzz", "tabulate", "jsonschema", "email", "dateparser", "vobject",
             "openpyxl", "sqlite3", "yaml", "crmctl.render")
    for option in ("--help", "--version"):
        probe = ("import sys, atexit, crmctl.app\n"
                 f"atexit.register(lambda: print(','.join(m for m in {heavy!r} "
                 "if m in sys.modules), file=sys.stderr))\n"
                 f"sys.argv = ['crmctl', {option!r}]\ncrmctl.app.main()")
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout, done.stderr
        assert done.stderr.strip() == "", option


def test_version_builds_no_command() -> None:
    """`crmctl --version` answers from the global options alone: building every command
    (importing each module of crmctl/cli) took ~50 ms of it."""
    import subprocess
    import sys

    probe = ("import sys, atexit, crmctl.app\n"
             "atexit.register(lambda: print(sorted(m for m in sys.modules "
             "if m.startswith('crmctl.cli.')), file=sys.stderr))\n"
             "sys.argv = ['crmctl', '--version']\ncrmctl.app.main()")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("crmctl "), done.stderr
    assert done.stderr.strip() == "['crmctl.cli.session']", done.stderr
    from crmctl.app import build_app

    assert not get_command(build_app(commands=False)).commands


def test_every_command_is_built_alone_from_the_module_that_registers_it() -> None:
    """`crmctl log ...` builds only `log` (crmctl.app.COMMAND_MODULES); the map must name
    every command of the whole app, and each alone-built app must hold just that command."""
    from crmctl.app import COMMAND_MODULES, build_app, command_named

    whole = get_command(app)
    assert set(COMMAND_MODULES) == set(whole.commands)
    for name in COMMAND_MODULES:
        alone = get_command(build_app(name))
        assert list(alone.commands) == [name]
        assert alone.commands[name].help == whole.commands[name].help
    assert command_named(["-C", "/tmp/x", "--as", "ann", "log", "acme"]) == "log"
    assert command_named(["--dir=/tmp/x", "task", "add", "x"]) == "task"
    assert command_named(["-C/tmp/x", "show", "acme"]) == "show"
    assert command_named(["--help"]) is None and command_named(["lgo"]) is None
    assert command_named([]) is None


def test_a_group_builds_only_the_subcommand_named_and_stays_whole_for_the_next_build() -> None:
    """`crmctl task list` builds `task list` alone (Typer reads each command's signature),
    `crmctl task lst` the whole group (its close match), and neither changes the group."""
    from crmctl.app import build_app

    whole = sorted(get_command(app).commands["task"].commands)
    assert list(get_command(build_app("task", "list")).commands["task"].commands) == ["list"]
    assert sorted(get_command(build_app("task", "lst")).commands["task"].commands) == whole
    assert sorted(get_command(build_app("task")).commands["task"].commands) == whole
    assert len(whole) > 3


def test_a_command_run_alone_behaves_as_in_the_whole_app(tmp_path) -> None:
    """Through the real entry point: global options before the command still apply, and
    a mistyped command still gets the whole app's close match."""
    import subprocess
    import sys

    def crmctl(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "crmctl", *args], capture_output=True,
                              text=True, cwd=tmp_path)

    created = crmctl("-C", str(tmp_path / "crm"), "init")
    assert created.returncode == 0, created.stderr
    assert crmctl("--dir", str(tmp_path / "crm"), "add", "company", "Acme").returncode == 0
    listed = crmctl(f"--dir={tmp_path / 'crm'}", "list", "companies", "-q")
    assert listed.stdout.split() == ["acme"]
    typo = crmctl("-C", str(tmp_path / "crm"), "lgo", "acme")
    assert typo.returncode == 2 and "Did you mean 'log'?" in typo.stderr
