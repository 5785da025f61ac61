"""Cases: start, list, read, history, diagram."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from canbao import audit
from canbao.actors import Actor
from canbao.audit import history as case_history
from canbao.db import area_within, utcnow
from canbao.errors import FieldError, Forbidden, Invalid
from engine import cases, definitions
from engine.models import Case, CaseTask
from forms import ssnumber
from forms.idnumber import IdNumberError
from registry import persons
from registry.models import Person, SurveyTeam

from ..bodies import Body
from ..deps import MAX_ID, Db, RowId, permit
from ..inputs import NAME, NO_CONTROL
from ..masking import MaskingRoute
from ..policy import START_ROLES
from ..problems import answers
from .tasks import TaskView, etag, task_view

router = APIRouter(tags=["cases 案件"], route_class=MaskingRoute)
Starter = Annotated[Actor, Depends(permit("cases.start"))]
Reader = Annotated[Actor, Depends(permit("cases.read"))]


class StartCase(BaseModel):
    process: str = Field(min_length=1, max_length=100, pattern=NAME, description="流程标识")
    person_id: str | None = Field(
        default=None, max_length=18, pattern=NO_CONTROL, description="社会保障号码（中国公民为公民身份号码）"
    )
    area: str | None = Field(
        default=None, pattern=r"^\d{6,12}$", description="案件所属区划（默认取人员的管理区划）"
    )
    team_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="入户调查小组")


class CaseView(Body):
    id: int
    process: str
    definition_id: int
    status: str
    status_detail: str | None
    outcome: str | None
    area: str
    person_id: str | None
    person_name: str | None
    team_id: int | None
    version: int = Field(description="案件版本（亦见 GET /cases/{id} 的 ETag）")
    created_by: str
    created_at: str
    updated_at: str
    completed_at: str | None


class CasePage(Body):
    items: list[CaseView]
    next: int | None = Field(description="下一页的 before；没有下一页时为 null")


class CaseDetail(CaseView):
    tasks: list[TaskView]
    data: dict[str, Any] = Field(description="案件业务数据（表单、决定）")


class TimelineEntry(Body):
    """One step; a decision also carries `decision`, a field change `field`, `old`, `new` and whether the
    registry holds it."""

    seq: int | None = Field(description="审计事件号（登记库外的改动没有）")
    at: str
    kind: str
    action: str
    title: str
    actor: str | None
    role: str | None
    client_addr: str | None
    object_type: str | None
    object_id: str | None


class Diagram(Body):
    xml: str = Field(description="BPMN XML")
    version: int
    completed: list[str] = Field(description="已完成的元素（BPMN id）")
    active: list[str] = Field(description="当前所在的元素")


def case_view(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "process": case.process_key,
        "definition_id": case.definition_id,
        "status": case.status,
        "status_detail": case.status_detail,
        "outcome": case.outcome,
        "area": case.area,
        "person_id": case.person_id,
        "person_name": case.person_name,
        "team_id": case.team_id,
        "version": case.version,
        "created_by": case.created_by,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "completed_at": case.completed_at.isoformat() if case.completed_at else None,
    }


@router.post("/cases", status_code=201, summary="发起案件", response_model=CaseView, responses=answers(409))
def start_case(body: StartCase, actor: Starter, db: Db) -> dict[str, Any]:
    if body.process not in START_ROLES:
        raise Invalid([FieldError("/process", "process.unknown", f"流程 {body.process} 不存在")])
    if not START_ROLES[body.process].intersection(actor.roles):
        raise Forbidden(f"您的岗位不能发起流程 {body.process}", reason="process_role")
    person = _person_of_new_case(db, actor, body)
    person_id = actor.sub if actor.has_role("citizen") else person.id if person is not None else None
    area = body.area or (person.area if person is not None else None)
    if area is None:
        raise Invalid([FieldError("/area", "area.required", "请指定案件所属区划，或指定登记库中已有的人员")])
    if not actor.reaches(area) and not actor.has_role("citizen"):
        raise Forbidden("只能在本人所辖区域发起案件", reason="area")
    if body.team_id is not None:
        team = db.get(SurveyTeam, body.team_id)
        if team is None or not team.active or not area.startswith(team.area):
            raise Invalid([FieldError("/team_id", "team.not_here", "调查小组不存在、已停用或不负责该区域")])
    data = _initial_data(db, actor, person, body.process)
    if person is not None:
        audit.record(
            db,
            actor=actor,
            action="person.read",
            object_type="person",
            object_id=person.id,
            payload={"purpose": "prefill", "route": "POST /cases"},
            area=person.area,
            person_id=person.id,
        )
    case = cases.start(
        db,
        actor=actor,
        process_key=body.process,
        area=area,
        person_id=person_id,
        person_name=person.name if person is not None else None,
        team_id=body.team_id,
        data=data,
    )
    return case_view(case)


def _initial_data(db, actor: Actor, person: Person | None, process: str) -> dict[str, Any]:
    """What a new case starts with: its forms filled in from the person's record where the process
    collects it anew, and who collects a change (第二十一条: 调查员 or 基层平台)."""
    if process == "change_approval":
        return {"collector": "surveyor" if actor.has_role("surveyor") else "platform"}
    if person is None:
        return {}
    if process in ("survey_registration", "counter_collection"):
        return {"registration": persons.as_registration(db, person)}
    if process == "id_correction":
        return {"id_correction": {"id_number": person.id}}
    return {}


def _person_of_new_case(db, actor: Actor, body: StartCase) -> Person | None:
    """The registry person a new case is for, fixing whose case it is from the start: a citizen's own
    record (the token decides, never the body), or the person the body names when the starter reaches
    them. Anyone else — not registered, or managed in another area — gets a case that is nobody's yet,
    bound by its first accepted 登记表: the answer is the same for both, so nothing about persons of
    other areas (whether they exist, whether they have an open case) is revealed."""
    if actor.has_role("citizen"):
        return persons.get(db, id_number=actor.sub)
    if body.person_id is None:
        return None
    try:
        key = ssnumber.normalize(body.person_id)
    except IdNumberError as err:
        raise Invalid([FieldError("/person_id", err.code, err.message)]) from err
    person = persons.get(db, id_number=key)
    return person if person is not None and actor.reaches(person.area) else None


@router.get("/cases", summary="本区域的案件", response_model=CasePage)
def list_cases(
    actor: Reader,
    db: Db,
    process: Annotated[str | None, Query(max_length=100, pattern=NAME)] = None,
    status: Literal["running", "waiting", "completed"] | None = None,
    person_id: Annotated[str | None, Query(min_length=15, max_length=18, pattern=NO_CONTROL)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="上一页最后一条的案件号")] = None,
) -> dict[str, Any]:
    stmt = select(Case)
    if not actor.is_staff:
        stmt = stmt.where(Case.person_id == actor.sub)
    else:
        stmt = stmt.where(area_within(Case.area, actor.area))
    if process:
        stmt = stmt.where(Case.process_key == process)
    if status:
        stmt = stmt.where(Case.status == status)
    if person_id:
        try:
            stmt = stmt.where(Case.person_id == ssnumber.normalize(person_id))
        except IdNumberError as err:
            raise Invalid([FieldError("/query/person_id", err.code, err.message)]) from err
    if before:
        stmt = stmt.where(Case.id < before)
    rows = list(db.scalars(stmt.order_by(Case.id.desc()).limit(limit + 1)))
    items = rows[:limit]
    audit.record_reads(
        db,
        actor=actor,
        shown=((c.person_id, c.area, c.id) for c in items),
        purpose="list",
        route="GET /cases",
    )
    return {
        "items": [case_view(c) for c in items],
        "next": items[-1].id if len(rows) > limit else None,
    }


@router.get(
    "/cases/{case_id}",
    summary="案件详情（ETag：案件版本）",
    response_model=CaseDetail,
    responses={200: {"headers": {"ETag": {"description": "案件版本", "schema": {"type": "string"}}}}},
)
def get_case(case_id: RowId, actor: Reader, db: Db, response: Response) -> dict[str, Any]:
    case = _case(db, actor, case_id)
    now = utcnow()
    tasks = db.scalars(select(CaseTask).where(CaseTask.case_id == case.id).order_by(CaseTask.id)).all()
    data = cases.case_data(db, case=case)
    if case.person_id:
        audit.record(
            db,
            actor=actor,
            action="person.read",
            object_type="case",
            object_id=case.id,
            payload={"purpose": "case_view", "route": "GET /cases/{id}"},
            area=case.area,
            case_id=case.id,
            person_id=case.person_id,
        )
    response.headers["ETag"] = etag(case.version)
    return {
        **case_view(case),
        "tasks": [task_view(t, now) for t in tasks],
        "data": data,
    }


@router.get(
    "/cases/{case_id}/history",
    summary="案件经办过程：流程、决定及理由、字段变更、材料、查阅",
    response_model=list[TimelineEntry],
)
def history(case_id: RowId, actor: Reader, db: Db) -> list[dict[str, Any]]:
    case = _case(db, actor, case_id)
    entries = case_history.timeline(
        db, actor=actor, case_id=case.id, area=case.area, person_id=case.person_id
    )
    return entries


@router.get("/cases/{case_id}/diagram", summary="流程图及已完成、当前环节", response_model=Diagram)
def diagram(case_id: RowId, actor: Reader, db: Db) -> dict[str, Any]:
    case = _case(db, actor, case_id)
    definition = definitions.get(db, definition_id=case.definition_id)
    path = cases.path(db, case=case)
    return {
        "xml": definition.bpmn_xml,
        "version": definition.version,
        "completed": path.completed,
        "active": path.active,
    }


def _case(db, actor: Actor, case_id: int) -> Case:
    return cases.get(db, actor=actor, case_id=case_id)
