"""Actions that join the registry and the engine: opening survey cases for a survey list (第十七–十八条),
and correcting a person's 公民身份号码 in both.

They live in the composition layer because the engine never imports the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canbao.actors import Actor
from canbao.errors import FieldError, Invalid
from engine import cases
from engine.models import Case
from engine.operations import OperationContext
from registry import corrections, persons, survey

SURVEY = "survey_registration"


@dataclass(frozen=True)
class Opened:
    case_ids: list[int]
    limit_reached: bool


def open_survey_cases(session: Session, *, actor: Actor, area: str, team_id: int, limit: int = 500) -> Opened:
    """Open a `survey_registration` case, assigned to a survey team, for everyone on the survey list of
    `area` who has no open one; the 登记表 is pre-filled from the registry. Idempotent."""
    team = survey.get_or_raise(session, team_id=team_id)
    if not team.active or (not area.startswith(team.area) and not team.area.startswith(area)):
        raise Invalid([FieldError("/team_id", "team.outside_area", "调查小组已停用或不负责该区域")])
    opened: list[int] = []
    for candidate in survey.candidates(session, area=area, has_open_case=_has_open_survey):
        if len(opened) >= limit:
            return Opened(opened, True)
        person = persons.get_or_raise(session, id_number=candidate["person_id"])
        case = cases.start(
            session,
            actor=actor,
            process_key=SURVEY,
            area=candidate["village"] or candidate["area"],
            person_id=person.id,
            person_name=person.name,
            team_id=team_id,
            data={"registration": persons.as_registration(session, person)},
        )
        opened.append(case.id)
    return Opened(opened, False)


def _has_open_survey(session: Session, person_ids: list[str]) -> set[str]:
    return set(
        session.scalars(
            select(Case.person_id).where(
                Case.process_key == SURVEY,
                Case.status.in_(("running", "waiting")),
                Case.person_id.in_(person_ids),
            )
        )
    )


def correct_id_number(ctx: OperationContext) -> dict[str, Any]:
    """`registry.correct_id_number`: the approved correction of an `id_correction` case, in the registry
    and in the person's cases alike, in the case's transaction."""
    result = corrections.correct_id_number(
        ctx.session,
        actor=ctx.actor,
        case_id=ctx.case_id,
        case_area=ctx.case_area,
        person_id=ctx.person_id,
        correction=ctx.data["id_correction"],
    )
    result["cases"] = cases.rekey_person(ctx.session, old=result["corrected_from"], new=result["person_id"])
    return result
