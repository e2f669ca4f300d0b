"""A command line read before Typer is imported: which command it runs, and in which folder.

Standard library only, so that the launcher can act on it first (``early_status``) and a run
builds only the command it names (``app.build_app``).
"""

from __future__ import annotations

from typing import Optional

# Which module registers each command, so that `crmctl log ...` builds only `log`: Typer
# inspects the signature of every command it builds (~40 ms for the whole tree, on every
# run). tests/test_docs.py checks this map against the full app.
COMMAND_MODULES = {
    "init": "records", "add": "records", "show": "records", "list": "records",
    "edit": "records", "log": "log", "mail-in": "mailin", "move": "move", "convert": "move",
    "task": "tasks", "assign": "tasks", "history": "history", "blame": "history",
    "report": "report", "dedupe": "dedupe", "merge": "dedupe", "import": "transfer",
    "capture": "transfer", "export": "transfer", "sync": "sync", "resolve": "sync",
    "clone": "sync", "merge-driver": "sync", "check": "check",
}
# Registration order is the order of `crmctl --help`: the daily loop first.
MODULE_ORDER = ("records", "log", "mailin", "move", "tasks", "history", "report", "dedupe",
                "transfer", "sync", "check")
GLOBAL_OPTIONS_WITH_VALUES = {"--dir": "--dir", "-C": "--dir", "--as": "--as"}


def split_globals(args: list[str]) -> Optional[tuple[dict[str, str], list[str]]]:
    """The global options before the command word (by their long names), and the words
    from the command word on; None for --help, --version or a mistake (the whole app
    answers those)."""
    options: dict[str, str] = {}
    position = 0
    while position < len(args):
        arg = args[position]
        if arg in GLOBAL_OPTIONS_WITH_VALUES:
            if position + 1 < len(args):
                options[GLOBAL_OPTIONS_WITH_VALUES[arg]] = args[position + 1]
            position += 2
        elif arg == "--":  # the options end: the command word follows, as Click reads it
            return options, args[position + 1:]
        elif arg.startswith("--"):
            name, equals, value = arg.partition("=")
            if not (equals and name in GLOBAL_OPTIONS_WITH_VALUES):
                return None
            options[GLOBAL_OPTIONS_WITH_VALUES[name]] = value
            position += 1
        elif arg.startswith("-"):
            if arg[:2] not in GLOBAL_OPTIONS_WITH_VALUES:
                return None
            # -C/path, and -C=/path as "=/path": Click reads a short option's value so.
            options[GLOBAL_OPTIONS_WITH_VALUES[arg[:2]]] = arg[2:]
            position += 1
        else:
            return options, args[position:]
    return options, []


def command_named(args: list[str]) -> Optional[str]:
    """The command word of a command line, past the global options; None if there is none
    that crmctl knows (then the whole app answers: help, or a close match)."""
    split = split_globals(args)
    if split is None or not split[1]:
        return None
    return split[1][0] if split[1][0] in COMMAND_MODULES else None
