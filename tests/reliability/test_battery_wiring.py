"""The battery's own wiring: the crash hook kills at each named step, and soak multiplies."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import git
from crmctl.faults import STEPS
from reliability.battery import soak


@pytest.mark.parametrize("step", STEPS)
def test_the_crash_hook_kills_a_write_at_each_named_step_and_the_next_command_repairs(
        step, crm_root):
    before = git(crm_root, "rev-parse", "HEAD")
    env = {**os.environ, "CRMCTL_CRASH_AT": step}
    proc = subprocess.run([sys.executable, "-m", "crmctl", "add", "company", "Globex"],
                          cwd=crm_root, env=env, capture_output=True, text=True)
    assert proc.returncode == -9, (step, proc.returncode, proc.stderr)
    landed = git(crm_root, "rev-parse", "HEAD") != before
    # The commit lands exactly when update-ref ran: all or nothing on either side of it.
    assert landed == (STEPS.index(step) >= STEPS.index("ref-updated")), step
    listed = subprocess.run([sys.executable, "-m", "crmctl", "list", "companies", "-q"],
                            cwd=crm_root, capture_output=True, text=True, check=True).stdout
    assert ("globex" in listed.split()) == landed
    assert git(crm_root, "status", "--porcelain", "--untracked-files=all") == ""
    # crmctl.lock is crmctl's own flock file, which lives on; git's locks must not.
    assert [p.name for p in (crm_root / ".git").rglob("*.lock")] == ["crmctl.lock"]


def test_soak_multiplies_counts_only_when_asked():
    expected = int(os.environ.get("CRMCTL_SOAK") or 1)
    assert soak(3) == 3 * expected
    tests = Path(__file__).resolve().parent.parent
    for setting, counted in (("4", "12"), ("", "3"), ("0", "3")):
        done = subprocess.run([sys.executable, "-c", "from reliability.battery import soak; "
                               "print(soak(3))"], cwd=tests, capture_output=True, text=True,
                              env={**os.environ, "CRMCTL_SOAK": setting}, check=True)
        assert done.stdout.strip() == counted, setting
