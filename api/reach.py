"""Which tasks an actor sees, beyond the one rule for cases (`Actor.may_see`: staff by area, a citizen
only their own person's): a citizen only the tasks of their own lane, a surveyor only the tasks of
their own teams, and staff only the lanes they work or lead. Anything else is "not found", so that its
existence is not revealed. Lists that show persons are reads of personal data and are audited like any
other read."""

from __future__ import annotations

from typing import Any

from canbao.actors import Actor
from engine.errors import TaskNotFound

from .policy import LEADS


def sees_task(actor: Actor, row: Any) -> bool:
    """Whether a task (a `case_task` row) is one the actor works, or leads as platform or county."""
    if row.role == "citizen":
        return actor.has_role("citizen") and row.person_id == actor.sub
    if row.role in actor.roles:
        if row.role == "surveyor" and row.team_id is not None and row.team_id not in actor.teams:
            return _leads(actor, row.role)
        return True
    return _leads(actor, row.role)


def _leads(actor: Actor, role: str) -> bool:
    return role in led_roles(actor)


def led_roles(actor: Actor) -> frozenset[str]:
    return frozenset(role for r in actor.roles for role in LEADS.get(r, ()))


def check_task(actor: Actor, row: Any) -> Any:
    if not sees_task(actor, row):
        raise TaskNotFound()
    return row
