"""Named steps of a write, where the reliability tests kill crmctl on purpose.

``CRMCTL_CRASH_AT=journalled crmctl log ...`` dies with SIGKILL right after that step, exactly
as ``kill -9`` would, so a test can prove that every step is all-or-nothing and that the next
command repairs the folder by itself. For tests only: nobody sets it by accident, and unset it
costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

# In the order a write passes them (Change.commit, atomic_write_many, Git.commit_paths).
STEPS = ("locked", "journalled", "temp-written", "renamed-one", "written", "hashed",
         "commit-made", "ref-updated", "staged")


def crash_point(step: str) -> None:
    if os.environ.get("CRMCTL_CRASH_AT") == step:
        os.kill(os.getpid(), signal.SIGKILL)
