"""The reliability battery: real git, crmctl as a subprocess, many runs.

The default counts fit CI (a few minutes in all); ``CRMCTL_SOAK=N`` multiplies every count
for a longer soak run, e.g. ``CRMCTL_SOAK=10 python -m pytest tests/reliability``.
"""

from __future__ import annotations

import os

SOAK = max(1, int(os.environ.get("CRMCTL_SOAK", "1") or 1))


def soak(count: int) -> int:
    """``count`` runs by default, ``count * $CRMCTL_SOAK`` in a soak."""
    return count * SOAK
