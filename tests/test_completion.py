"""Shell completion completes commands and record names from the index."""

from __future__ import annotations

from conftest import crmctl


def complete(root, words: str) -> list[str]:
    parts = words.split(" ")
    proc = crmctl(cwd=root, env={"_CRMCTL_COMPLETE": "complete_bash", "COMP_WORDS": words,
                                 "COMP_CWORD": str(len(parts) - 1)})
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line]


def test_commands_and_record_names_complete(cli) -> None:
    for name in ("General Motors", "General Mills", "Initech"):
        cli.ok("add", "company", name)
    cli.ok("add", "person", "Gene Kranz", "--company", "Initech")
    assert "list" in complete(cli.root, "crmctl li")
    assert complete(cli.root, "crmctl show Gen") == ["Gene Kranz", "General Mills",
                                                     "General Motors"]
    assert complete(cli.root, "crmctl add person X --company Gen") == ["General Mills",
                                                                       "General Motors"]
    # Lower case completes ids, which need no quoting in the shell.
    assert complete(cli.root, "crmctl show gen") == ["gene-kranz", "general-mills",
                                                     "general-motors"]


def test_completion_outside_a_crm_is_quiet(tmp_path) -> None:
    assert complete(tmp_path, "crmctl show Gen") == []
