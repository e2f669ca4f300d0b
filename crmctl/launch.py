"""The `crmctl` command: what can start before Python imports the app starts first, and a
plain daily write runs without the app (``crmctl.cli.quick``)."""

from __future__ import annotations

import os
import sys


def main() -> None:
    _fill_closed_streams()
    from crmctl import early_index, early_status

    if not any(k.startswith("_CRMCTL_COMPLETE") for k in os.environ):  # completion reads nothing
        early_status.start(sys.argv[1:])
        from crmctl.cli import quick

        parsed = quick.parse(sys.argv[1:])
        if parsed is not None:  # a plain line of a daily write
            early_index.start(parsed)
            quick.exit_now(quick.run(parsed))
    from crmctl.app import main as run_app

    run_app()


def _fill_closed_streams() -> None:
    """/dev/null for stdin, stdout or stderr where crmctl was started with it closed (a cron
    line's `2>&-`). Else the first file crmctl opens, the CRM lock, would take that number,
    and git, handed it as its stderr, would not hold the lock; and Python's print() would
    write an error meant for stderr to stdout."""
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, closefd=False))
