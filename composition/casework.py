"""Actions that join the registry and the engine: opening survey cases for a survey list (第十七–十八条),
a village's survey ledger (第十九条), and correcting a person's 公民身份号码 in both.

They live in the composition layer because the engine never imports the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from canbao.actors import Actor
from canbao.clock import CHINA
from canbao.errors import FieldError, Invalid
from engine import cases
from engine.models import Case, CaseTask
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


_SURVEYED = exists().where(
    CaseTask.case_id == Case.id, CaseTask.spec_name == "survey", CaseTask.state == "completed"
)


def survey_ledger(
    session: Session, *, village: str, since: date | None = None, until: date | None = None
) -> list[survey.Surveyed]:
    """The surveys of `village` whose 调查日期 falls from `since` to `until` (either open): every
    `survey_registration` case there whose 入户调查登记 was submitted, whether stored, refused or still
    being handled, in the order of their 调查日期. The registry's 汇总表 lists them as the village's
    统一登记台账 (第十九条)."""
    query = select(Case).where(Case.process_key == SURVEY, Case.area == village, _SURVEYED).order_by(Case.id)
    if since is not None:  # a form is submitted on or after its 调查日期, and that touches the case
        query = query.where(Case.updated_at >= datetime(since.year, since.month, since.day, tzinfo=CHINA))
    dated = []
    for case in session.scalars(query):
        data = cases.case_data(session, case=case)
        registration = data.get("registration") or {}
        day = (registration.get("survey") or {}).get("date")
        if day and not (since and day < since.isoformat()) and not (until and day > until.isoformat()):
            dated.append((day, case, data, registration))
    dated.sort(key=lambda d: (d[0], d[1].id))
    registered = survey.registered_by(
        session, person_ids=[c.person_id for _, c, _, _ in dated if c.person_id]
    )
    teams = survey.team_names(session, team_ids=[c.team_id for _, c, _, _ in dated if c.team_id])
    waiting: dict[int, list[str]] = {}
    ready = select(CaseTask.case_id, CaseTask.title).where(
        CaseTask.case_id.in_([c.id for _, c, _, _ in dated]), CaseTask.state == "ready"
    )
    for case_id, title in session.execute(ready.order_by(CaseTask.id)):
        waiting.setdefault(case_id, []).append(title)
    return [
        survey.Surveyed(
            case_id=case.id,
            person_id=case.person_id or registration.get("id_number"),
            registration=registration,
            team=_team(teams.get(case.team_id), (registration.get("survey") or {}).get("team")),
            result=_standing(
                case, data, stored=registered.get(case.person_id) == case.id, at=waiting.get(case.id)
            ),
        )
        for _, case, data, registration in dated
    ]


def _team(name: str | None, code: str | None) -> str | None:
    """The survey team by its registry name, with the code the 登记表 gives it."""
    return f"{name}（{code}）" if name and code else name or code


def _standing(case: Case, data: dict[str, Any], *, stored: bool, at: list[str] | None) -> str:
    """Where a survey case stands: 已入库, 不予登记：理由, or 办理中：the steps it waits at."""
    decisions = [v for v in data.values() if isinstance(v, dict) and "decision" in v]
    refusals = [d.get("reason") for d in decisions if d["decision"] == "reject"]
    if refusals:
        outcome = case.outcome or "不予登记"
        return f"{outcome}：{refusals[-1]}" if refusals[-1] else outcome
    if stored:
        return "已入库"
    if case.outcome:
        return case.outcome
    steps = "、".join(at or ()) or case.status_detail
    return f"办理中：{steps}" if steps else "办理中"


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
