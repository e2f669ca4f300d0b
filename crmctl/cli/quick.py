"""The daily writes (`log`, `move`, `task add`) run from a plain command line without Typer.

Importing Typer and building a command takes ~22 ms before a write can start: a fifth of a
`task add` at 100,000 records, where taskwarrior's whole `task add` takes ~40. So for these
three commands the launcher first tries the reader here. It takes only the plain forms:
`--long VALUE`, `--long=VALUE`, `-s VALUE`, the flags alone, and the arguments, in any
order. Anything else (help, a typo, a missing or doubtful value, joined short options, `--`,
an option given twice, text that is not UTF-8) it declines, and Typer reads the line as
before: the help and every usage error stay Typer's alone.

tests/test_quick.py checks ``COMMANDS`` against the options the Typer commands declare, and
that every line read here reads the same to Click.
"""

from __future__ import annotations

import os
from typing import NamedTuple, NoReturn, Optional

from crmctl.cli.session import Globals, not_text
from crmctl.commandline import split_globals


class Command(NamedTuple):
    run: str  # its body in crmctl.cli.daily
    arguments: tuple[str, ...]  # the parameters given by position, in order
    options: dict[str, str]  # each spelling of an option that takes a value: its parameter
    flags: dict[str, str]  # each spelling of a flag: its parameter
    required: tuple[str, ...] = ()  # the options without a default


COMMANDS = {
    ("log",): Command(
        "log", ("record",),
        {"--type": "type_", "-t": "type_", "--note": "note", "-n": "note",
         "--outcome": "outcome", "--at": "at", "--with": "with_", "--deal": "deal",
         "--follow-up": "follow_up"},
        {"--force": "force"}, required=("type_",)),
    ("move",): Command(
        "move", ("record", "target"),
        {"--amount": "amount", "--probability": "probability", "--close": "close",
         "--reason": "reason"}, {}),
    ("task", "add"): Command(
        "task_add", ("text",),
        {"--for": "for_", "--due": "due", "--priority": "priority", "--assign": "assign"},
        {"--quiet": "quiet", "-q": "quiet"}),
}


class Parsed(NamedTuple):
    command: Command
    where: Globals
    values: dict[str, object]  # every parameter of the body, by name


def parse(args: list[str]) -> Optional[Parsed]:
    """``args`` read as one of ``COMMANDS``, or None for Typer to read."""
    split = split_globals(args)
    if split is None or any(not_text(arg) for arg in args):
        return None
    options, words = split
    for length in (2, 1):
        command = COMMANDS.get(tuple(words[:length]))
        if command is not None:
            values = _read(command, words[length:])
            if values is None:
                return None
            # As Click reads --dir: the option, else a non-empty $CRMCTL_DIR.
            folder = options["--dir"] if "--dir" in options else \
                os.environ.get("CRMCTL_DIR") or None
            return Parsed(command, Globals(dir=folder, as_user=options.get("--as")), values)
    return None


def _read(command: Command, words: list[str]) -> Optional[dict[str, object]]:
    values: dict[str, object] = {}
    positional: list[str] = []
    position = 0
    while position < len(words):
        word = words[position]
        position += 1
        if not word.startswith("-"):
            positional.append(word)
            continue
        name, equals, value = word.partition("=") if word.startswith("--") else (word, "", "")
        if name in command.flags and not equals:
            parameter, value = command.flags[name], True  # type: ignore[assignment]
        elif name in command.options:
            parameter = command.options[name]
            if not equals:
                if position == len(words):
                    return None
                value = words[position]
                position += 1
                if value.startswith("-") and value != "-":
                    return None  # an option forgotten its value, or a value Click may read so
        else:
            return None  # "-", "--", -h, a typo, -qt, -tphone-call, --force=yes: Typer's
        if parameter in values:
            return None
        values[parameter] = value
    if len(positional) != len(command.arguments) or \
            any(name not in values for name in command.required):
        return None
    values.update(zip(command.arguments, positional))
    for parameter in command.options.values():
        values.setdefault(parameter, None)
    for parameter in command.flags.values():
        values.setdefault(parameter, False)
    return values


def run(parsed: Parsed) -> int:
    """Run a line ``parse`` took: the exit code, with the output and any error line
    written."""
    import sys

    from crmctl.cli import daily
    from crmctl.cli.session import failure_of, printable_streams

    with printable_streams():
        try:
            getattr(daily, parsed.command.run)(parsed.where, **parsed.values)
        except (EOFError, KeyboardInterrupt):  # as Click ends a command on them
            print("\ncrmctl: aborted", file=sys.stderr, flush=True)
            return 130
        except Exception as exc:
            failure = failure_of(exc)
            if failure is None:
                raise
            print(failure[0], file=sys.stderr, flush=True)
            return failure[1]
    return 0


def exit_now(code: int) -> NoReturn:
    """End the process without Python's teardown of every module and object: 5-20 ms of a
    daily write, done after its output. What of it matters is done here first: the handlers
    registered with atexit (the launcher's git waited for), and the output flushed. The
    bodies close what they open themselves (``session.opened``: the index's SQLite
    connection, whose closing folds in its write-ahead log)."""
    import atexit
    import sys

    atexit._run_exitfuncs()  # CPython's own, as at a normal exit
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:  # None: started with the descriptor closed (2>&-)
                stream.flush()
        except (OSError, ValueError):  # a closed pipe: Python exits with 120 then too
            code = code or 120
    os._exit(code)
