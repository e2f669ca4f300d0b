"""An add asks git only about the files git tracks in the folders it looks up, and finds
the new files there itself, by folder times (crmctl/new_files.py). A record made by hand
and not yet added to git must still block its duplicate, whatever happened since the folder
was last listed.

The folders' times are set back an hour where a test needs a listing that is kept: a folder
changed in the last two seconds is listed again each time, as a file made in the same tick
as the listing would not move its time.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from conftest import Cli, crmctl, git


def hand_made(root: Path, shard: str, record_id: str, name: str) -> Path:
    path = root / "companies" / shard / f"{record_id}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"id: {record_id}\nname: {name}\nstatus: lead\n")
    return path


def set_back(folder: Path, seconds: int = 3600) -> None:
    """Every folder under ``folder`` last changed ``seconds`` ago."""
    then = time.time_ns() - seconds * 10**9
    for sub in folder.iterdir():
        if sub.is_dir():
            os.utime(sub, ns=(then, then))


def listed(cli: Cli, *companies: str, then: str) -> None:
    """The ``companies`` added, their folders set back an hour, then the add of ``then``,
    which lists those folders and keeps what it found there."""
    for name in companies:
        cli.ok("add", "company", name)
    set_back(cli.root / "companies")
    cli.ok("add", "company", then)


def test_a_file_made_by_hand_in_a_folder_listed_before_is_seen(cli: Cli) -> None:
    listed(cli, "Acme Products", then="Globex")  # lists companies/ac/
    hand_made(cli.root, "ac", "acorn-labs", "Acorn Labs")
    refused = crmctl("add", "company", "Acorn Labs Inc", cwd=cli.root)  # the launcher's way
    assert refused.returncode == 5, refused.stderr
    assert "Acorn Labs (acorn-labs, 100%: same name)" in refused.stderr
    refused = cli.fails(5, "add", "company", "Acorn Labs GmbH")
    assert "Acorn Labs (acorn-labs, 100%: same name)" in refused.stderr


def test_a_file_that_leaves_git_but_stays_on_disk_is_seen(cli: Cli) -> None:
    """`git rm --cached` and a commit change HEAD's tree of the folder, not the folder."""
    listed(cli, "Acme Products", "Globex", then="Initech")  # nothing new in companies/gl/
    git(cli.root, "rm", "-q", "--cached", "companies/gl/globex.yaml")
    # With a change to crm.yaml, whose records the index then reads all again from HEAD.
    with (cli.root / "crm.yaml").open("a") as process:
        process.write("# Globex stays off the books for now\n")
    git(cli.root, "add", "crm.yaml")
    # Past the pre-commit hook: its `crmctl check` scans the whole tree, and would note it.
    git(cli.root, "commit", "--no-verify", "-qm", "Globex out of git, not off the disk")
    assert git(cli.root, "status", "--porcelain") == "?? companies/gl/"
    refused = cli.fails(5, "add", "company", "Globex Corporation")
    assert "Globex (globex, 100%: same name)" in refused.stderr


def test_a_folder_listed_as_it_changes_is_listed_again(cli: Cli) -> None:
    """A file made in the same tick as a listing leaves the folder's time as it was: the
    listing of a folder that changed within the last two seconds is not kept."""
    cli.ok("add", "company", "Acme Products")
    set_back(cli.root / "companies")
    folder = cli.root / "companies" / "ac"
    hand_made(cli.root, "ac", "acorn-labs", "Acorn Labs")
    listed_at = folder.stat().st_mtime_ns
    cli.ok("add", "company", "Globex")  # lists companies/ac/ as it just changed
    hand_made(cli.root, "ac", "acumen-widgets", "Acumen Widgets")
    os.utime(folder, ns=(listed_at, listed_at))  # made in the tick it was listed in
    refused = cli.fails(5, "add", "company", "Acumen Widgets Ltd")
    assert "Acumen Widgets (acumen-widgets, 100%: same name)" in refused.stderr


def test_files_made_deleted_and_added_to_git_by_hand_are_all_seen(cli: Cli) -> None:
    listed(cli, "Acme Products", "Globex", then="Initech")
    made = hand_made(cli.root, "st", "stark-holdings", "Stark Holdings")  # a new folder
    git(cli.root, "add", str(made))  # staged, not committed
    (cli.root / "companies" / "gl" / "globex.yaml").unlink()
    hand_made(cli.root, "gl", "globe-tours", "Globe Tours")  # in place of Globex, by hand
    refused = cli.fails(5, "add", "company", "Stark Holdings Ltd")
    assert "Stark Holdings (stark-holdings, 100%: same name)" in refused.stderr
    refused = cli.fails(5, "add", "company", "Globe Tours Inc")
    assert "Globe Tours (globe-tours, 100%: same name)" in refused.stderr
    assert cli.ok("add", "company", "Globex").stdout.endswith("as globex\n")
    assert cli.ok("list", "companies", "-q").stdout.split() == [
        "acme-products", "globe-tours", "globex", "initech", "stark-holdings"]


def test_a_folder_named_in_another_encoding_stops_no_add(cli: Cli) -> None:
    """A shard folder made on a Latin-1 machine (caf\\xe9) holds no record; it must not stop
    an add, nor the next one (as git's status leaves such paths out)."""
    cli.ok("add", "company", "Acme Products")
    os.mkdir(os.path.join(os.fsencode(cli.root / "companies"), b"caf\xe9"))
    (Path(os.fsdecode(os.path.join(os.fsencode(cli.root / "companies"), b"caf\xe9")))
     / "cafe.yaml").write_text("id: cafe\nname: Cafe Central\n")
    set_back(cli.root / "companies")
    cli.ok("add", "company", "Globex")
    cli.ok("add", "company", "Initech")
