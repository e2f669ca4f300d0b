"""The Typer app, and the one place where errors become exit codes and one-line messages."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Optional

import typer
from typer._click.exceptions import (  # Typer 0.28 vendors click
    ClickException, NoArgsIsHelpError, UsageError)
from typer.core import TyperGroup

from crmctl import __version__
from crmctl.cli.session import Globals
from crmctl.commandline import COMMAND_MODULES, MODULE_ORDER, command_named, split_globals
from crmctl.errors import EXIT_USAGE


class CrmGroup(TyperGroup):
    """Runs commands in non-standalone mode so that every error can be made one clear line."""

    def main(self, args: Any = None, prog_name: Optional[str] = None,
             complete_var: Optional[str] = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        from crmctl.cli.session import failure_of, not_text, printable_streams

        for arg in sys.argv[1:] if args is None else args:
            if isinstance(arg, str) and not_text(arg):
                _fail(f"crmctl: error: the argument {arg.encode('utf-8', 'surrogateescape')!r} "
                      "is not UTF-8 text (set your terminal to UTF-8 and type it again)",
                      EXIT_USAGE)
        with printable_streams():  # the error lines too: they quote what was typed
            try:
                result = super().main(args=args, prog_name=prog_name or "crmctl",
                                      complete_var=complete_var, standalone_mode=False, **extra)
            except NoArgsIsHelpError as exc:  # bare `crmctl` or `crmctl add`: help, not an error
                typer.echo(exc.ctx.get_help() if exc.ctx else "")
                code = 0
                if standalone_mode:
                    sys.exit(code)
                return code
            except UsageError as exc:
                command = exc.ctx.command_path if exc.ctx else "crmctl"
                _fail(f"{command}: error: {exc.format_message()} (see '{command} --help')",
                      EXIT_USAGE)
            except ClickException as exc:
                _fail(f"crmctl: error: {exc.format_message()}", exc.exit_code)
            except typer.Abort:
                _fail("crmctl: aborted", 130)
            except Exception as exc:
                failure = failure_of(exc)
                if failure is None:
                    raise
                _fail(*failure)
        code = result if isinstance(result, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def _fail(message: str, code: int) -> None:
    typer.echo(message, err=True)
    sys.exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"crmctl {__version__}")
        raise typer.Exit()


def root(
    ctx: typer.Context,
    dir: Annotated[Optional[str], typer.Option(
        "--dir", "-C", metavar="PATH", envvar="CRMCTL_DIR",
        help="The CRM folder (default: $CRMCTL_DIR, else the nearest folder with crm.yaml).")] = None,
    as_user: Annotated[Optional[str], typer.Option(
        "--as", metavar="USER", help="Act as this user of crm.yaml (default: $CRMCTL_USER, "
        "else the repo's git user.name/user.email).")] = None,
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    ctx.obj = Globals(dir=dir, as_user=as_user)


def build_app(command: Optional[str] = None, subcommand: Optional[str] = None, *,
              commands: bool = True) -> typer.Typer:
    """The whole app, or one with only ``command`` (what `crmctl COMMAND ...` needs), and of
    a group (`task`, `add`) only ``subcommand`` when it names one: Typer reads the signature
    of each command it builds, ~10 ms each. Without ``commands``: the global options alone
    (`crmctl --version`)."""
    import copy
    import importlib

    built = typer.Typer(
        cls=CrmGroup,
        name="crmctl",
        help="A command-line CRM: companies, people and deals as YAML files in a git "
             "repository.",
        no_args_is_help=True,
        rich_markup_mode=None,  # plain help and errors: no rich import, no ANSI in cron mail
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    built.callback()(root)
    modules = [COMMAND_MODULES[command]] if command else MODULE_ORDER if commands else []
    for name in modules:
        importlib.import_module(f"crmctl.cli.{name}").register(built)
    if command:
        built.registered_commands = [c for c in built.registered_commands if c.name == command]
        built.registered_groups = [g for g in built.registered_groups if g.name == command]
    for group in built.registered_groups:
        named = [c for c in group.typer_instance.registered_commands if c.name == subcommand]
        if named:  # else the whole group answers: its help, or the close matches of a typo
            group.typer_instance = copy.copy(group.typer_instance)  # the module's own stays whole
            group.typer_instance.registered_commands = named
    return built


def __getattr__(name: str) -> Any:
    """``crmctl.app.app``: the whole app, built on first use (tests, docs, completion)."""
    if name == "app":
        whole = build_app()
        globals()["app"] = whole
        return whole
    raise AttributeError(name)


def main() -> None:
    import os

    args = sys.argv[1:]
    # Shell completion needs every command; so does help of the whole tool.
    completing = any(k.startswith("_CRMCTL_COMPLETE") for k in os.environ)
    command = None if completing else command_named(args)
    words = split_globals(args)[1] if command else []  # type: ignore[index]
    build_app(command, words[1] if len(words) > 1 else None,
              commands=completing or args != ["--version"])(prog_name="crmctl")
