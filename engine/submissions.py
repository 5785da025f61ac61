"""Checks of a submitted form against what the engine does not hold, registered by the packages that
hold it (the composition wires them at start-up): that the 调查证 numbers on a 登记表 belong to the case's
survey team, say. Each check returns the bad fields; the task is refused with all of them, before
anything is written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from canbao.actors import Actor
from canbao.errors import FieldError

from .errors import InvalidFormData
from .models import Case

Check = Callable[..., list[FieldError]]
"""`check(session, *, actor, case_area, team_id, data) -> [FieldError, …]`"""

_CHECKS: dict[str, list[Check]] = {}


def register(form_key: str, check: Check) -> None:
    checks = _CHECKS.setdefault(form_key, [])
    if check not in checks:
        checks.append(check)


def check(session: Session, *, actor: Actor, case: Case, form_key: str | None, data: dict[str, Any]) -> None:
    errors = [
        error
        for run in _CHECKS.get(form_key or "", ())
        for error in run(session, actor=actor, case_area=case.area, team_id=case.team_id, data=data)
    ]
    if errors:
        raise InvalidFormData(errors)
