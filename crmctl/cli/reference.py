"""The CLI reference (docs/cli.md), generated from the commands' own --help.

``python -m crmctl.cli.reference > docs/cli.md`` rewrites it; a test fails when it is stale,
so the documentation can never drift from the code.
"""

from __future__ import annotations

from typing import Iterator

from typer.main import get_command

from crmctl.app import app


def _commands(command, path: list[str]) -> Iterator[tuple[list[str], object]]:  # type: ignore[no-untyped-def]
    yield path, command
    for name in getattr(command, "commands", {}):
        yield from _commands(command.commands[name], path + [name])


def reference() -> str:
    from typer.testing import CliRunner

    root = get_command(app)
    runner = CliRunner()
    parts = ["# crmctl command reference", "",
             "Generated from `--help` by `python -m crmctl.cli.reference > docs/cli.md`.", ""]
    for path, _ in _commands(root, []):
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"},
                               terminal_width=100)
        title = " ".join(["crmctl", *path])
        parts += [f"## {title}", "", "```", result.stdout.rstrip(), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    print(reference(), end="")
