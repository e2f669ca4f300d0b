"""The `crmctl` command: what can start before Python imports the app starts first, and a
plain daily write runs without the app (``crmctl.cli.quick``)."""

from __future__ import annotations

import os
import sys


def main() -> None:
    from crmctl import early_index, early_status

    if not any(k.startswith("_CRMCTL_COMPLETE") for k in os.environ):  # completion reads nothing
        early_status.start(sys.argv[1:])
        early_index.start(sys.argv[1:])
        from crmctl.cli import quick

        code = quick.run(sys.argv[1:])
        if code is not None:
            quick.exit_now(code)
    from crmctl.app import main as run_app

    run_app()
