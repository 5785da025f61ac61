"""A citizen's own record (第十四、二十三条): what the registry holds about them and where it came from,
what is missing or doubtful, their correction requests with the agency's decisions, and a printable
参保证明. Whose record is decided by the token alone (the citizen's 社会保障号码), never by a request."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import select

from canbao import audit
from canbao.actors import Actor
from engine import cases
from engine.models import Case, CaseTask
from registry import certificate, persons, sources
from registry.common import PersonNotFound

from ..deps import Db, permit
from ..masking import MaskingRoute

router = APIRouter(tags=["own 本人自助服务"], route_class=MaskingRoute)
Citizen = Annotated[Actor, Depends(permit("own.read"))]
CORRECTION = "self_service_update"
MAX_CORRECTIONS = 20


class Item(BaseModel):
    pointer: str
    code: str
    message: str
    kind: Literal["missing", "wrong"]


class Source(BaseModel):
    group: str
    label: str
    text: str
    source: str | None
    confirmed_at: str | None


class Correction(BaseModel):
    case_id: int
    state: Literal["draft", "returned", "reviewing", "applied", "rejected"]
    state_text: str
    created_at: str
    updated_at: str
    changes: list[dict[str, Any]]
    reason: str | None
    evidence: list[str]
    agency_reason: str | None
    task_id: str | None  # the citizen's ready task: (re)submit here


class OwnRecord(BaseModel):
    person_id: str
    record: dict[str, Any]
    sources: list[Source]
    items: list[Item]
    corrections: list[Correction]


STATE_TEXT = {
    "draft": "待提交",
    "returned": "经办机构退回，请补正后重新提交",
    "reviewing": "已提交，经办机构审核中",
    "applied": "经办机构已确认，登记信息已更新",
    "rejected": "经办机构不予更正",
}


def _person(db, actor: Actor):
    person = persons.get(db, id_number=actor.sub)
    if person is None:
        raise PersonNotFound("登记库中还没有您的登记信息，请到社区（村）或经办窗口办理全民参保登记")
    return person


@router.get(
    "/me/registration", response_model=OwnRecord, summary="本人登记信息、信息来源、缺失不准项和更正申请"
)
def own_record(actor: Citizen, db: Db) -> OwnRecord:
    person = _person(db, actor)
    found = persons.missing(db, actor=actor, id_number=person.id, purpose="own_record")
    return OwnRecord(
        person_id=person.id,
        record=persons.as_registration(db, person),
        sources=[Source(**s) for s in sources.of_person(db, person)],
        items=[Item(**i) for i in found["items"]],
        corrections=_corrections(db, actor, person.id),
    )


@router.get(
    "/me/certificate.pdf",
    summary="打印参保证明（个人权益单），附缺失、不准信息提醒",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "PDF"}},
)
def own_certificate(actor: Citizen, db: Db) -> Response:
    person = _person(db, actor)
    content = certificate.certificate_pdf(db, actor=actor, id_number=person.id)
    return Response(
        content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": "inline; filename*=UTF-8''%E5%8F%82%E4%BF%9D%E8%AF%81%E6%98%8E.pdf",
            "Cache-Control": "private, no-store",
        },
    )


def _corrections(db, actor: Actor, person_id: str) -> list[Correction]:
    rows = list(
        db.scalars(
            select(Case)
            .where(Case.person_id == person_id, Case.process_key == CORRECTION)
            .order_by(Case.id.desc())
            .limit(MAX_CORRECTIONS)
        )
    )
    audit.record_reads(
        db, actor=actor, shown=((c.person_id, c.area, c.id) for c in rows), purpose="own_corrections"
    )
    ready = {
        t.case_id: t.task_guid
        for t in db.scalars(
            select(CaseTask).where(
                CaseTask.case_id.in_([c.id for c in rows]),
                CaseTask.state == "ready",
                CaseTask.role == "citizen",
            )
        )
    }
    return [_correction(case, cases.case_data(db, case=case), ready.get(case.id)) for case in rows]


def _correction(case: Case, data: dict[str, Any], task_id: str | None) -> Correction:
    request = data.get("change_request") or {}
    decision = data.get("escalation_review") or data.get("confirm") or {}
    if task_id is not None:
        state = "returned" if decision.get("decision") == "return" else "draft"
    elif case.status == "running":
        state = "reviewing"
    else:
        state = "applied" if data.get("applied") is not None else "rejected"
    return Correction(
        case_id=case.id,
        state=state,
        state_text=STATE_TEXT[state],
        created_at=case.created_at.isoformat(),
        updated_at=case.updated_at.isoformat(),
        changes=list(request.get("changes") or []),
        reason=request.get("reason"),
        evidence=[str(e) for e in request.get("evidence") or []],
        agency_reason=decision.get("reason") if state in ("returned", "applied", "rejected") else None,
        task_id=task_id,
    )
