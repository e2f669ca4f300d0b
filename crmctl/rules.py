"""Workflow rules and routing from crm.yaml, run by crmctl itself inside the triggering change.

A rule never fires from a git hook that calls crmctl again: the command that changes the
record stages the rule's tasks in the same commit. A rule-made task's id is derived from the
rule, the record and the trigger, so a rule fires once per record and trigger (a second move
into ``won`` makes nothing new), and two clones firing it make the same task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from crmctl.change import Change
from crmctl.dates import parse_date
from crmctl.identity import Actor
from crmctl.model import Record, Route, Workflow
from crmctl.tasks import rule_task_id, stage_add
from crmctl.store import Crm


@dataclass(frozen=True)
class Fired:
    rule: str
    task: Mapping[str, Any]

    def __str__(self) -> str:
        due = f", due {self.task['due']}" if self.task.get("due") else ""
        return (f"rule {self.rule}: task {self.task['id'][:6]} \"{self.task['text']}\" "
                f"for {self.task['assignee']}{due}")


def _applies(rule: Workflow, trigger: str, record: Record, value: str | None) -> bool:
    if rule.trigger != trigger:
        return False
    if trigger == "deal_enters":
        return record.kind == "deal" and rule.value == value
    if trigger == "added":
        return rule.value == record.kind and rule.status in (None, record.get("status"))
    return rule.value in ("any", record.kind)  # assigned


def fire(change: Change, trigger: str, record: Record, actor: Actor,
         value: str | None = None, occasion: str = "") -> list[Fired]:
    """Stage the tasks of every rule this change triggers; returns what they did.

    ``occasion`` tells apart two triggers of one kind on one record that must each fire
    (a record assigned to Sarah, then Jim, then Sarah again); two clones making the same
    change from the same state give the same occasion, hence the same task."""
    crm = change.crm
    fired = []
    for rule in crm.process.workflows:
        if not _applies(rule, trigger, record, value):
            continue
        key = {"deal_enters": f"enters:{value}", "added": "added",
               "assigned": f"assigned:{value}"}[trigger] + (f"@{occasion}" if occasion else "")
        task_id = rule_task_id(rule.id, f"{record.kind}/{record.id}", key)
        if crm.index.task_exists(task_id) or task_id in change.made_tasks:
            continue  # this rule already fired for this record and trigger
        change.made_tasks.add(task_id)
        if rule.assign == "owner":
            assignee = record.get("owner") or actor.user_id or actor.identity.email
        elif rule.assign == "actor":
            assignee = actor.user_id or actor.identity.email
        else:
            assignee = rule.assign
        due = parse_date(rule.due, change.now) if rule.due else None
        task = stage_add(change, text=rule.text, actor=actor, assignee=assignee, due=due,
                         priority=rule.priority, about=record, rule=rule.id, task_id=task_id)
        fired.append(Fired(rule.id, task))
    return fired


def route(crm: Crm, fields: Mapping[str, Any]) -> Route | None:
    """The first routing rule whose fields all match a new record's."""
    return next((r for r in crm.process.routing if r.matches(fields)), None)
