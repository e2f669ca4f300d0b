"""Offline divergence (issue #11, item 3): three salespeople work offline in their own clones
of one bare remote, then sync in turn, and sync again.

Each clone logs notes, adds and completes tasks, and edits record fields: some fields the
other clones change too (to another value, or to the same one), some fields of the same record
that nobody else touches. After everyone synced: every acknowledged note and task event is in
every clone exactly once, a conflict is reported exactly where one field was changed to two
values (and nowhere else), no file ever holds a conflict marker, and `crmctl check` is clean.

A model of the fields (the remote's value, and each clone's value and merge base) predicts
every conflict and every merged value. Hand-written scenarios pin the cases down; a seeded
random mix (``soak()`` scales the seeds) shakes out the rest. Writes, resolves and reads run
in-process (the CLI through CliRunner with --dir), to keep the default run short; every sync
runs crmctl as a separate process, as a salesperson's shell does, and git runs the merge driver
as its own process anyway.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import add_users, build_once, crmctl, git
from crmctl.app import app
from reliability.battery import soak

USERS = {"ann": ("Ann Archer", "ann@example.com"),
         "bob": ("Bob Baker", "bob@example.com"),
         "cat": ("Cat Carter", "cat@example.com")}
START = datetime.fromisoformat("2026-11-25T09:00:00+01:00")
# The records and fields the clones edit, with the values they choose from: few values, so
# that two clones often pick the same one.
RECORDS = {"acme-products": "company", "globex": "company", "jane-doe": "person",
           "joe-bloggs": "person"}
FIELDS = {
    "company": {"domain": None, "source": ["web", "referral", "trade-fair"],
                "campaign": ["spring", "autumn", "winter"]},
    "person": {"title": ["CEO", "CTO", "CFO"], "source": ["web", "referral", "trade-fair"],
               "campaign": ["spring", "autumn", "winter"]},
}
# The random mix picks Acme and Jane more often: work collides where a team is busy.
BUSY = ["acme-products"] * 3 + ["jane-doe"] * 2 + ["globex", "joe-bloggs"]
DOMAINS = {"acme-products": ["acme.com", "acme.de", "acme.fr"],
           "globex": ["globex.com", "globex.de", "globex.fr"]}
MARKERS = ("<<<<<<<", "=======", ">>>>>>>")
LISTED = re.compile(r"^\S+ .*\(([a-z0-9-]+)\): ([a-z_]+): here ")


def choices(record: str, name: str) -> list[str]:
    values = FIELDS[RECORDS[record]][name]
    return DOMAINS[record] if values is None else values


def keys() -> list[tuple[str, str]]:
    return [(record, name) for record, kind in RECORDS.items() for name in FIELDS[kind]]


# --- the shared CRM, built once: three declared users, two companies, two people, a task ------

def three_salespeople(cli) -> None:
    add_users(cli.root, *((uid, name, email) for uid, (name, email) in USERS.items()))
    at = {"CRMCTL_NOW": START.isoformat()}
    cli.ok("add", "company", "Acme Products", "--domain", "acme.com", env=at)
    cli.ok("add", "company", "Globex", "--domain", "globex.com", env=at)
    cli.ok("add", "person", "Jane Doe", "--company", "acme-products", env=at)
    cli.ok("add", "person", "Joe Bloggs", "--company", "globex", env=at)
    cli.ok("task", "add", "Prepare the quarterly review", "--for", "acme-products", env=at)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return build_once(tmp_path_factory, three_salespeople,
                      created_at={"CRMCTL_NOW": START.isoformat()})


# --- the team and its model ----------------------------------------------------------------

@dataclass
class Clone:
    user: str
    root: Path
    base: dict  # (record, field) -> value at this clone's last sync (the merge base)
    mine: dict  # (record, field) -> value in this clone now
    seen: set = field(default_factory=set)    # task ids this clone has
    closed: set = field(default_factory=set)  # task ids this clone sees done

    @property
    def open_tasks(self) -> set:
        return self.seen - self.closed


@dataclass
class Team:
    remote: Path
    clones: dict  # user -> Clone
    fields: dict  # (record, field) -> the remote's value
    notes: dict = field(default_factory=dict)   # note text -> user who logged it
    tasks: dict = field(default_factory=dict)   # task id -> (text, user who added it)
    done: dict = field(default_factory=dict)    # task id -> acknowledged `task done` count
    pushed: set = field(default_factory=set)    # task ids on the remote
    pushed_done: set = field(default_factory=set)  # task ids done on the remote
    ticks: int = 0

    def now(self) -> str:
        """Every command one minute after the one before: a reproducible history."""
        self.ticks += 1
        return (START + timedelta(minutes=self.ticks)).isoformat()

    # --- offline writes, in-process ---------------------------------------------------------
    def run(self, clone: Clone, *args: str) -> str:
        result = inproc(clone.root, *args, user=clone.user, at=self.now())
        assert result.exit_code == 0, (clone.user, args, result.stdout, result.stderr)
        return result.stdout

    def log(self, clone: Clone, record: str, note: str) -> None:
        self.run(clone, "log", record, "--type", "note", "--note", note)
        self.notes[note] = clone.user

    def add_task(self, clone: Clone, text: str, record: str) -> str:
        task_id = self.run(clone, "task", "add", text, "--for", record, "-q").strip()
        assert re.fullmatch(r"[a-z0-9]{10}", task_id), task_id
        self.tasks[task_id] = (text, clone.user)
        clone.seen.add(task_id)
        return task_id

    def complete(self, clone: Clone, task_id: str) -> None:
        self.run(clone, "task", "done", task_id)
        self.done[task_id] = self.done.get(task_id, 0) + 1
        clone.closed.add(task_id)

    def edit(self, clone: Clone, record: str, **values: str) -> None:
        self.run(clone, "edit", record, *(a for name, value in values.items()
                                          for a in ("--set", f"{name}={value}")))
        for name, value in values.items():
            clone.mine[(record, name)] = value

    # --- syncing, as separate processes ------------------------------------------------------
    def expected_conflicts(self, clone: Clone) -> set:
        return {k for k in keys() if clone.mine[k] != clone.base[k]
                and self.fields[k] != clone.base[k] and clone.mine[k] != self.fields[k]}

    def sync(self, clone: Clone, settle) -> set:
        """crmctl sync; on a conflict, check that exactly the predicted fields are listed,
        settle each with ``settle(key, ours, theirs) -> (option args, value)``, and sync
        again. Returns the conflicts reported."""
        expected = self.expected_conflicts(clone)
        env = {"CRMCTL_USER": clone.user, "CRMCTL_NOW": self.now()}
        synced = crmctl("sync", cwd=clone.root, env=env)
        self.assert_no_markers()
        assert "Traceback" not in synced.stderr, synced.stderr
        chosen: dict = {}
        if not expected:
            assert synced.returncode == 0, (clone.user, synced.stdout, synced.stderr)
            reported: set = set()
        else:
            assert synced.returncode == 5, (clone.user, expected, synced.stdout, synced.stderr)
            assert len(synced.stderr.strip().splitlines()) == 1, synced.stderr
            listing = inproc(clone.root, "resolve")
            assert listing.exit_code == 0, listing.stderr
            reported = {m.groups() for m in map(LISTED.match, listing.stdout.splitlines()) if m}
            assert reported == expected, (clone.user, "reported", reported, "expected", expected,
                                          listing.stdout)
            # The merge is open: no marker in any file, our value in the work tree.
            self.assert_no_markers()
            now_here = fields_of(clone.root)
            assert {k: now_here[k] for k in expected} == {k: clone.mine[k] for k in expected}
            for record, name in sorted(reported):
                option, value = settle((record, name), clone.mine[(record, name)],
                                       self.fields[(record, name)])
                settled = inproc(clone.root, "resolve", record, name, *option, user=clone.user,
                                 at=self.now())
                assert settled.exit_code == 0, (record, name, settled.stdout, settled.stderr)
                chosen[(record, name)] = value
            assert inproc(clone.root, "resolve").stdout == "No conflicts to resolve.\n"
            pushed = crmctl("sync", cwd=clone.root, env={**env, "CRMCTL_NOW": self.now()})
            assert pushed.returncode == 0, (clone.user, pushed.stdout, pushed.stderr)
            self.assert_no_markers()
        merged = {}
        for k in keys():
            if clone.mine[k] == clone.base[k]:
                merged[k] = self.fields[k]
            elif self.fields[k] == clone.base[k] or clone.mine[k] == self.fields[k]:
                merged[k] = clone.mine[k]
            else:
                merged[k] = chosen[k]
        self.fields = merged
        clone.base, clone.mine = dict(merged), dict(merged)
        self.pushed |= clone.seen
        self.pushed_done |= clone.closed
        clone.seen, clone.closed = set(self.pushed), set(self.pushed_done)
        assert git(clone.root, "rev-parse", "HEAD") == git(self.remote, "rev-parse", "HEAD")
        assert fields_of(clone.root) == self.fields, clone.user
        return reported

    def everyone_syncs(self, settle, rounds: int = 1) -> None:
        for _ in range(rounds):
            for clone in self.clones.values():
                self.sync(clone, settle)

    # --- what must hold ---------------------------------------------------------------------
    def assert_no_markers(self) -> None:
        for clone in self.clones.values():
            for path in files_of(clone.root):
                text = path.read_text(encoding="utf-8", errors="replace")
                marked = [line for line in text.splitlines() if line.lstrip().startswith(MARKERS)]
                assert not marked, (clone.user, path, marked)

    def assert_converged(self) -> None:
        head = git(self.remote, "rev-parse", "HEAD")
        for clone in self.clones.values():
            root = clone.root
            assert git(root, "rev-parse", "HEAD") == head, clone.user
            assert git(root, "status", "--porcelain", "--untracked-files=all") == "", clone.user
            # Every acknowledged note exactly once, by the person who logged it.
            lines = [json.loads(line) for path in sorted((root / "activities").glob("*/*.jsonl"))
                     for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            notes = [(e.get("note"), e.get("by")) for e in lines if e.get("kind") == "activity"]
            assert sorted(notes) == sorted(self.notes.items()), \
                clone.user
            assert len({e["id"] for e in lines}) == len(lines), clone.user
            # Every task added exactly once, every acknowledged `done` exactly once.
            events = [json.loads(line) for path in sorted((root / "tasks").glob("*/*.jsonl"))
                      for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            assert len({e["id"] for e in events}) == len(events), clone.user
            adds = sorted(e["task"] for e in events if e["op"] == "add")
            assert adds == sorted(self.tasks), clone.user
            dones = {}
            for e in events:
                if e["op"] == "done":
                    dones[e["task"]] = dones.get(e["task"], 0) + 1
            assert dones == self.done, clone.user
            # What crmctl shows: each task once, done where anyone completed it.
            listed = json.loads(inproc(root, "task", "list", "--all", "--done", "--format",
                                       "json").stdout)
            assert sorted((t["id"], t["text"], t["status"]) for t in listed) == sorted(
                (tid, text, "done" if self.done.get(tid) else "open")
                for tid, (text, _) in self.tasks.items()), clone.user
            for t in listed:
                if t["id"] in self.tasks and self.tasks[t["id"]][1] in USERS:
                    assert t["created_by"] == USERS[self.tasks[t["id"]][1]][0]
            assert fields_of(root) == self.fields, clone.user
            checked = inproc(root, "check")
            assert checked.exit_code == 0, (clone.user, checked.stdout, checked.stderr)
        self.assert_no_markers()


def inproc(root: Path, *args: str, user: str | None = None, at: str | None = None):
    """crmctl in this process (CliRunner, --dir): for the many offline writes and reads."""
    env = {"CRMCTL_USER": user, "CRMCTL_NOW": at}
    return CliRunner().invoke(app, ["--dir", str(root), *args],
                              env={k: v for k, v in env.items() if v}, catch_exceptions=False)


def files_of(root: Path) -> list[Path]:
    """Every file of the work tree (not git's own, not crmctl's read cache)."""
    return [p for p in root.rglob("*") if p.is_file()
            and not {".git", ".crmctl"} & set(p.relative_to(root).parts)]


def fields_of(root: Path) -> dict:
    values = {}
    for record in RECORDS:
        [path] = root.glob(f"*/*/{record}.yaml")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for name in FIELDS[RECORDS[record]]:
            values[(record, name)] = data.get(name)
    return values


@pytest.fixture
def team(template, tmp_path) -> Team:
    """A bare remote holding the shared CRM, and Ann's, Bob's and Cat's clones of it."""
    remote = tmp_path / "remote.git"
    branch = git(template, "rev-parse", "--abbrev-ref", "HEAD")
    git(tmp_path, "init", "-q", "--bare", f"--initial-branch={branch}", str(remote))
    git(template, "push", "-q", str(remote), f"{branch}:{branch}")
    start = fields_of(template)
    clones = {}
    for user in USERS:
        joined = crmctl("clone", str(remote), str(tmp_path / user), cwd=tmp_path)
        assert joined.returncode == 0, joined.stderr
        clones[user] = Clone(user, tmp_path / user, dict(start), dict(start))
    tasks = json.loads(crmctl("task", "list", "--all", "--format", "json", cwd=template,
                              check=True).stdout)
    made = Team(remote, clones, dict(start))
    for task in tasks:
        made.tasks[task["id"]] = (task["text"], "sam")
        made.pushed.add(task["id"])
        for clone in clones.values():
            clone.seen.add(task["id"])
    return made


def take(choice: str):
    """A settle() that always answers --ours or --theirs."""
    def settle(key, ours, theirs):
        return ([f"--{choice}"], ours if choice == "ours" else theirs)
    return settle


def never(key, ours, theirs):
    raise AssertionError(f"no conflict expected, got {key}: {ours!r} / {theirs!r}")


# --- hand-written scenarios ----------------------------------------------------------------

def test_three_offline_clones_lose_nothing_and_conflict_only_where_a_field_got_two_values(
        team) -> None:
    ann, bob, cat = team.clones["ann"], team.clones["bob"], team.clones["cat"]
    [review] = list(team.tasks)
    # Ann: a note, a task, the review done, and four fields of Acme and Jane.
    team.log(ann, "acme-products", "Ann: called the front desk")
    team.add_task(ann, "Ann: send the deck", "acme-products")
    team.complete(ann, review)
    team.edit(ann, "acme-products", domain="acme.de", campaign="spring")
    team.edit(ann, "jane-doe", title="CEO", source="web")
    # Bob: two notes, the same review done too; Acme's domain and Jane's source to OTHER
    # values (two conflicts, in two records), Acme's campaign and Jane's title to the SAME
    # values as Ann (no conflict), Acme's source (a field nobody else touches).
    team.log(bob, "acme-products", "Bob: lunch with the buyer")
    team.log(bob, "jane-doe", "Bob: Jane asked for a demo")
    team.complete(bob, review)
    team.edit(bob, "acme-products", domain="acme.fr", campaign="spring", source="referral")
    team.edit(bob, "jane-doe", title="CEO", source="referral")
    # Cat: a note, a task for Globex done at once, Globex's domain, Joe's title, and Jane's
    # title to a third value (a conflict with the CEO both others chose).
    team.log(cat, "globex", "Cat: Globex wants a quote")
    team.complete(cat, team.add_task(cat, "Cat: quote Globex", "globex"))
    team.edit(cat, "globex", domain="globex.de")
    team.edit(cat, "joe-bloggs", title="CFO")
    team.edit(cat, "jane-doe", title="CTO")

    assert team.sync(ann, never) == set()
    # Bob settles the domain with a value of his own (Ann's acme.de is then overridden with
    # no conflict for her: she has not touched it since) and takes Ann's source for Jane.
    answers = {("acme-products", "domain"): (["--value", "acme.eu"], "acme.eu"),
               ("jane-doe", "source"): (["--theirs"], "web")}
    assert team.sync(bob, lambda key, ours, theirs: answers[key]) == set(answers)
    assert team.sync(cat, take("ours")) == {("jane-doe", "title")}
    team.everyone_syncs(never)

    team.assert_converged()
    assert {k: v for k, v in team.fields.items() if v is not None} == {
        ("acme-products", "domain"): "acme.eu", ("acme-products", "source"): "referral",
        ("acme-products", "campaign"): "spring", ("globex", "domain"): "globex.de",
        ("jane-doe", "title"): "CTO", ("jane-doe", "source"): "web",
        ("joe-bloggs", "title"): "CFO"}
    # What a salesperson sees: every note on the timeline, in every clone.
    for clone in (ann, bob, cat):
        shown = json.loads(inproc(clone.root, "show", "acme-products", "--format",
                                  "json").stdout)
        notes = sorted(e["note"] for e in shown["timeline"] if e["kind"] == "activity")
        assert notes == ["Ann: called the front desk", "Bob: Jane asked for a demo",
                         "Bob: lunch with the buyer"]


# --- the random mix ------------------------------------------------------------------------

def random_settle(rng: random.Random):
    def settle(key, ours, theirs):
        pick = rng.choice(["ours", "theirs", "value"])
        if pick == "value":
            value = rng.choice(choices(*key))
            return ["--value", value], value
        return [f"--{pick}"], ours if pick == "ours" else theirs
    return settle


@pytest.mark.parametrize("seed", range(soak(1)))
def test_a_random_mix_of_offline_work_in_three_clones_merges_as_the_model_predicts(
        team, seed) -> None:
    rng = random.Random(f"offline-divergence-{seed}")
    settle = random_settle(rng)
    ops = 0
    for round_ in range(2):
        for clone in team.clones.values():
            for step in range(4):
                ops += 1
                record = rng.choice(BUSY)
                what = rng.choice(["log", "log", "task", "done", "edit", "edit", "edit"])
                if what == "done" and clone.open_tasks:
                    team.complete(clone, rng.choice(sorted(clone.open_tasks)))
                elif what == "task":
                    team.add_task(clone, f"{clone.user} r{round_} s{step}: follow up", record)
                elif what == "edit":
                    names = rng.sample(sorted(FIELDS[RECORDS[record]]), rng.choice([1, 1, 2]))
                    team.edit(clone, record, **{n: rng.choice(choices(record, n))
                                                for n in names})
                else:
                    team.log(clone, record, f"{clone.user} r{round_} s{step}: note {ops}")
        for user in rng.sample(list(team.clones), len(team.clones)):
            team.sync(team.clones[user], settle)
    team.everyone_syncs(never)
    team.assert_converged()
