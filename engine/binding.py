"""Whose record a case is about (design §2; 规程第十三、十九、二十一、二十三条).

A case belongs to one person. The person is fixed at start where it is known (a survey list, a change,
the signed-in citizen), or by the first accepted form that names a person where it is not (a counter
collection of someone not yet in the registry), and from then on every submission naming another
person is refused at the task, before anything is written. Forms declare which of their fields name
the person (`x-identity`, see `forms.identity`).

The registry, which the engine does not import, checks the persons it already holds (managed within the
case's county, the same 证件类型) through guards the composition registers at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

import forms
from canbao.errors import FieldError, Invalid
from forms import Identity

from .errors import InvalidFormData
from .models import Case

Guard = Callable[..., None]
"""`guard(session, *, case_area, identity)`: raises `Invalid` for a person the case may not take."""

_GUARDS: list[Guard] = []

MISMATCH = "表单中的证件号码不是本案件所办理的人员：一个案件只能登记或变更其所属人员的信息"
UNAVAILABLE = "该证件号码的人员不能在本案件中办理（由其他地区管理或已有办理中的同类案件），请核实证件号码"

_OPEN_CASE = (
    select(Case.id)
    .where(
        Case.process_key == bindparam("process"),
        Case.person_id == bindparam("person"),
        Case.status.in_(("running", "waiting")),
        Case.id != bindparam("case"),
    )
    .limit(1)
)


def register_guard(guard: Guard) -> None:
    if guard not in _GUARDS:
        _GUARDS.append(guard)


def check(session: Session, *, case: Case, form_key: str | None, data: dict[str, Any]) -> Identity | None:
    """Refuse a validated submission that names a person other than the case's; return the person to
    bind when the case has none yet (None otherwise)."""
    found = forms.identity(form_key, data) if form_key else None
    if found is None:
        return None
    if case.person_id is not None and found.id_number != case.person_id:
        raise InvalidFormData([FieldError("/id_number", "case.person_mismatch", MISMATCH)])
    try:
        for guard in _GUARDS:
            guard(session, case_area=case.area, identity=found)
    except Invalid as err:
        raise InvalidFormData(err.errors) from err
    if case.person_id is not None:
        return None
    taken = session.execute(
        _OPEN_CASE, {"process": case.process_key, "person": found.id_number, "case": case.id}
    ).first()
    if taken is not None:
        raise InvalidFormData([FieldError("/id_number", "case.person_unavailable", UNAVAILABLE)])
    return found
