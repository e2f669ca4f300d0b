"""A write's commit changes the paths it wrote and nothing else, however the trees around them
were made: crmctl reads and writes those trees itself (``trees.TreeEditor``)."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import git


def tree_of(root: Path, rev: str) -> dict[bytes, bytes]:
    """Every entry under ``rev``, trees included: path -> "mode type id", as git lists them."""
    import subprocess

    out = subprocess.run(["git", "ls-tree", "-r", "-t", "-z", rev], cwd=root, check=True,
                         capture_output=True).stdout
    return {path: meta for meta, _, path in
            (entry.partition(b"\t") for entry in out.split(b"\0") if entry)}


def add_by_hand(root: Path) -> None:
    """Entries crmctl never makes, next to where `log` and `task add` write: an executable
    script, a symbolic link, a file named in Latin-1 and a submodule, committed with git."""
    month = root / "activities" / "2026-12"
    month.mkdir(parents=True, exist_ok=True)
    (month / "tally.sh").write_text("#!/bin/sh\necho 3\n")
    (month / "tally.sh").chmod(0o755)
    (month / "latest").symlink_to("tally.sh")
    (root / "tasks").mkdir(exist_ok=True)
    (root / os.fsdecode(b"tasks/caf\xe9.txt")).write_bytes(b"bought in Latin-1 days\n")
    (month / os.fsdecode(b"caf\xe9.txt")).write_bytes(b"and this month too\n")
    git(root, "add", "activities", "tasks")
    head = git(root, "rev-parse", "HEAD")
    git(root, "update-index", "--add", "--cacheinfo", f"160000,{head},vendor/tools")
    (root / "vendor" / "tools").mkdir(parents=True)  # as a submodule not checked out
    git(root, "commit", "-qm", "Odd files, by hand", "--no-verify")  # crmctl check's hook


def test_a_write_changes_only_its_own_paths_in_every_tree_it_rewrites(cli, crm_root):
    cli.ok("add", "company", "Acme Products")
    cli.ok("log", "acme products", "--type", "note", "--note", "Met at a fair")
    cli.ok("show", "acme products")  # its timeline: the logs are indexed from here on
    add_by_hand(crm_root)
    before = tree_of(crm_root, "HEAD")
    parent = git(crm_root, "rev-parse", "HEAD")

    cli.ok("log", "acme products", "--type", "phone-call", "--note", "Asked for a quote",
           "--follow-up", "+3d: send the quote", env={"CRMCTL_NOW": "2026-12-06T10:00:00+00:00"})

    after = tree_of(crm_root, "HEAD")
    assert git(crm_root, "rev-parse", "HEAD^") == parent
    written = git(crm_root, "diff", "--name-only", "HEAD^", "HEAD").splitlines()
    assert {"activities", "tasks"} <= {p.split("/")[0] for p in written}, written
    folders = {p.rsplit("/", i)[0].encode() for p in written for i in (1, 2)}
    changed = {path for path in before.keys() | after.keys()
               if before.get(path) != after.get(path)}
    assert changed == {p.encode() for p in written} | folders, changed
    # The odd entries are all still there, as they were.
    for path in (b"activities/2026-12/tally.sh", b"activities/2026-12/latest",
                 b"activities/2026-12/caf\xe9.txt", b"tasks/caf\xe9.txt", b"vendor/tools"):
        assert after[path] == before[path]
    assert after[b"activities/2026-12/tally.sh"].startswith(b"100755 blob")
    assert after[b"activities/2026-12/latest"].startswith(b"120000 blob")
    assert after[b"vendor/tools"].startswith(b"160000 commit")
    assert git(crm_root, "status", "--porcelain") == ""


def test_a_write_on_a_detached_head_moves_head_and_no_branch(cli, crm_root):
    cli.ok("add", "company", "Acme Products")
    branch_tip = git(crm_root, "rev-parse", "trunk")
    git(crm_root, "checkout", "-q", "--detach")

    cli.ok("task", "add", "Call back", "--for", "acme products")

    assert git(crm_root, "rev-parse", "trunk") == branch_tip
    assert git(crm_root, "rev-parse", "HEAD^") == branch_tip
    assert git(crm_root, "rev-parse", "--symbolic-full-name", "HEAD") == "HEAD"


def test_a_write_that_empties_a_folder_leaves_no_tree_for_it(cli, crm_root):
    cli.ok("add", "company", "Acme Products")
    cli.ok("add", "company", "Zebra Acme Products", "--force")
    [twin] = [p for p in tree_of(crm_root, "HEAD")
              if p.startswith(b"companies/z") and p.endswith(b".yaml")]
    shard = twin.rsplit(b"/", 1)[0]
    assert shard != b"companies"

    cli.ok("merge", "acme products", "zebra acme products")

    assert not [p for p in tree_of(crm_root, "HEAD") if p.startswith(shard)]
    assert git(crm_root, "status", "--porcelain") == ""
    git(crm_root, "fsck", "--strict", "--no-progress")


def test_a_folder_written_with_a_zero_padded_mode_is_still_a_folder(cli, crm_root):
    """Old tools wrote a folder's mode as 040000 (git fsck only warns of it): its files stay."""
    import subprocess

    cli.ok("add", "company", "Acme Products")
    cli.ok("add", "company", "Globex")
    root_tree = subprocess.run(["git", "cat-file", "tree", "HEAD^{tree}"], cwd=crm_root,
                               check=True, capture_output=True).stdout
    padded = root_tree.replace(b"40000 companies\0", b"040000 companies\0")
    assert padded != root_tree
    tree = subprocess.run(["git", "hash-object", "-t", "tree", "--literally", "-w", "--stdin"],
                          cwd=crm_root, input=padded, check=True, capture_output=True
                          ).stdout.decode().strip()
    head = git(crm_root, "commit-tree", tree, "-p", "HEAD", "-m", "Rewritten by an old tool")
    git(crm_root, "update-ref", "HEAD", head)
    files_before = git(crm_root, "ls-tree", "-r", "--name-only", "HEAD").splitlines()

    cli.ok("edit", "globex", "--set", "domain=globex.example")
    cli.ok("task", "add", "Call Acme", "--for", "acme products")

    files_after = git(crm_root, "ls-tree", "-r", "--name-only", "HEAD").splitlines()
    assert set(files_before) <= set(files_after)
    assert git(crm_root, "diff", "--name-only", head, "HEAD").splitlines() == [
        "companies/gl/globex.yaml",
        next(p for p in files_after if p.startswith("tasks/"))]
    assert git(crm_root, "status", "--porcelain") == ""


def test_a_tag_named_head_does_not_confuse_a_write(cli, crm_root):
    """git allows a tag called HEAD (a fetch may bring one): rev-parse then finds the name
    HEAD ambiguous, and the write must still commit on the branch."""
    cli.ok("add", "company", "Acme Products")
    git(crm_root, "tag", "HEAD")
    before = git(crm_root, "rev-parse", "trunk")

    cli.ok("task", "add", "Call back", "--for", "acme products")

    assert git(crm_root, "rev-parse", "trunk^") == before
    assert git(crm_root, "status", "--porcelain") == ""


def test_a_first_write_on_a_new_branch_is_not_taken_for_a_tag_named_head(cli, crm_root):
    """On a branch with no commit yet, rev-parse takes a tag called HEAD for HEAD."""
    cli.ok("add", "company", "Acme Products")
    git(crm_root, "tag", "HEAD", "HEAD")
    tagged = git(crm_root, "rev-parse", "refs/tags/HEAD")
    git(crm_root, "checkout", "-q", "--orphan", "fresh")

    cli.ok("task", "add", "Call back")

    assert git(crm_root, "rev-parse", "refs/tags/HEAD") == tagged  # the tag stays put
    assert git(crm_root, "rev-list", "--count", "fresh") == "1"  # the branch's first commit
    assert git(crm_root, "symbolic-ref", "HEAD") == "refs/heads/fresh"


def test_a_record_made_executable_by_hand_is_committed_as_written(cli, crm_root):
    """crmctl writes a record anew, never executable: its commit says so, and git's index
    and work tree agree with it."""
    cli.ok("add", "company", "Acme Products")
    [record] = [p for p in git(crm_root, "ls-files", "companies").splitlines()]
    (crm_root / record).chmod(0o755)
    git(crm_root, "commit", "-qam", "Made executable by mistake", "--no-verify")

    cli.ok("edit", "acme products", "--set", "domain=acme.example")

    assert git(crm_root, "ls-tree", "HEAD", record).startswith("100644 blob")
    assert git(crm_root, "status", "--porcelain") == ""


def test_every_tree_a_write_makes_is_in_git_s_own_order(cli, crm_root):
    """git orders a tree's entries by name, a folder's as if it ended in "/": "tasks-old"
    and "tasks.md" come before the folder "tasks", and "tasks0" after it. crmctl writes its
    trees' bytes itself; each must be the very tree git would make of those entries."""
    import subprocess

    cli.ok("add", "company", "Acme Products")
    for name in ("tasks-old", "tasks.md", "tasks0", "activities.txt"):
        (crm_root / name).write_text(f"{name}, kept by hand\n")
    (crm_root / "tasks" / "2026-12").mkdir(parents=True, exist_ok=True)
    (crm_root / "tasks" / "2026-12" / "a-b").write_text("a file beside a folder a\n")
    (crm_root / "tasks" / "2026-12" / "a").mkdir()
    (crm_root / "tasks" / "2026-12" / "a" / "b").write_text("in the folder a\n")
    git(crm_root, "add", ".")
    git(crm_root, "commit", "-qm", "Files by hand", "--no-verify")

    cli.ok("task", "add", "Send the quote", "--for", "acme products",
           env={"CRMCTL_NOW": "2026-12-06T10:00:00+00:00"})
    cli.ok("log", "acme products", "--type", "note", "--note", "Met at a fair",
           env={"CRMCTL_NOW": "2026-12-06T11:00:00+00:00"})

    for commit in ("HEAD^", "HEAD"):
        trees = [meta.split()[2].decode() for meta in tree_of(crm_root, commit).values()
                 if meta.split()[1] == b"tree"] + [git(crm_root, "rev-parse", f"{commit}^{{tree}}")]
        for tree in trees:
            listed = subprocess.run(["git", "ls-tree", "-z", tree], cwd=crm_root, check=True,
                                    capture_output=True).stdout
            remade = subprocess.run(["git", "mktree", "-z"], input=listed, cwd=crm_root,
                                    check=True, capture_output=True).stdout.decode().strip()
            assert remade == tree, (commit, listed)
    assert "tasks/2026-12" in git(crm_root, "show", "--name-only", "HEAD^")
    assert git(crm_root, "fsck", "--strict", "--no-dangling") == ""
    assert git(crm_root, "status", "--porcelain") == ""


def test_a_commit_across_hundreds_of_folders_writes_its_trees_in_batches(tmp_path):
    """An import of 300 companies, each in a shard folder of its own, makes 302 trees: a git
    process each would take file descriptors each (and fail under a limit of 256), so they
    are written a batch at a time, and their files are gone afterwards."""
    import tempfile

    import itertools
    import resource
    import string
    import subprocess
    import sys

    from conftest import crmctl

    root = tmp_path / "crm"
    assert crmctl("init", str(root), cwd=tmp_path).returncode == 0
    prefixes = ["".join(p) for p in itertools.product(string.ascii_lowercase, repeat=2)][:300]
    sheet = tmp_path / "companies.csv"
    sheet.write_text("Company Name,Company Domain Name\n" + "".join(
        f"{p}{q} Works,{p}{q}.example.com\n" for p, q in zip(prefixes, itertools.cycle("xyz"))))

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = subprocess.run([sys.executable, "-m", "crmctl", "import", str(sheet),
                           "-t", "companies"], cwd=root, capture_output=True, text=True,
                          preexec_fn=low_limit, env={**os.environ, "TMPDIR": str(scratch)})
    assert tempfile.gettempdir() != str(scratch) and list(scratch.iterdir()) == []

    assert done.returncode == 0, done.stderr
    written = git(root, "show", "--name-only", "--format=", "HEAD").splitlines()
    assert len({path.split("/")[1] for path in written if path.startswith("companies/")}) == 300
    tree = git(root, "rev-parse", "HEAD:companies")
    listed = subprocess.run(["git", "ls-tree", "-z", tree], cwd=root, check=True,
                            capture_output=True).stdout
    remade = subprocess.run(["git", "mktree", "-z"], input=listed, cwd=root, check=True,
                            capture_output=True).stdout.decode().strip()
    assert remade == tree
    assert git(root, "status", "--porcelain") == ""


def test_the_first_commit_in_a_sha256_repository_is_made(tmp_path):
    """On a branch with no commit yet, the commit is made only if the branch is still
    unborn: said with an empty old id, which git takes whatever the length of its ids."""
    from conftest import crmctl

    root = tmp_path / "crm"
    root.mkdir()
    git(root, "init", "-q", "--object-format=sha256")
    done = crmctl("init", str(root), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert crmctl("add", "company", "Acme Products", cwd=root).returncode == 0
    assert len(git(root, "rev-parse", "HEAD")) == 64
    assert git(root, "log", "--format=%s").splitlines() == [
        'Add company "Acme Products"', "Create the CRM"]
    assert git(root, "status", "--porcelain") == ""
