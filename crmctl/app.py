"""The Typer app, and the one place where errors become exit codes and one-line messages."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Optional

import typer
from typer._click.exceptions import (  # Typer 0.28 vendors click
    ClickException, NoArgsIsHelpError, UsageError)
from typer.core import TyperGroup

from crmctl import __version__
from crmctl.cli.common import Globals
from crmctl.errors import EXIT_USAGE, EXIT_USER, CrmError


class CrmGroup(TyperGroup):
    """Runs commands in non-standalone mode so that every error can be made one clear line."""

    def main(self, args: Any = None, prog_name: Optional[str] = None,
             complete_var: Optional[str] = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        try:
            result = super().main(args=args, prog_name=prog_name or "crmctl",
                                  complete_var=complete_var, standalone_mode=False, **extra)
        except CrmError as exc:
            _fail(f"crmctl: error: {exc}", exc.exit_code)
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
        except OSError as exc:
            # The machine said no (a folder that cannot be written, a disk that is full):
            # not a bug in crmctl, and the user can act on it.
            where = f": {exc.filename}" if exc.filename else ""
            _fail(f"crmctl: error: {exc.strerror or exc}{where}", EXIT_USER)
        code = result if isinstance(result, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def _fail(message: str, code: int) -> None:
    typer.echo(message, err=True)
    sys.exit(code)


app = typer.Typer(
    cls=CrmGroup,
    name="crmctl",
    help="A command-line CRM: companies, people and deals as YAML files in a git repository.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help and errors: no rich import, no ANSI boxes in cron mail
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"crmctl {__version__}")
        raise typer.Exit()


@app.callback()
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


def _register() -> None:
    from crmctl.cli import (check, dedupe, history, log, mailin, move, records, report, sync,
                            tasks, transfer)

    # Registration order is the order of `crmctl --help`: the daily loop first.
    records.register(app)
    log.register(app)
    mailin.register(app)
    move.register(app)
    tasks.register(app)
    history.register(app)
    report.register(app)
    dedupe.register(app)
    transfer.register(app)
    sync.register(app)
    check.register(app)


_register()


def main() -> None:
    app(prog_name="crmctl")
