"""The auditor's view: the event log, its integrity, who read a person's data, signed case exports."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime
from sqlalchemy import select

from archive import store as archive_store
from canbao import audit
from canbao.actors import Actor
from canbao.audit import anchors, events, export, verifications, verify
from canbao.db import transaction
from canbao.errors import FieldError, Invalid, NotFound
from engine import cases
from engine.models import Case, ProcessDefinition
from forms import ssnumber
from forms.idnumber import IdNumberError
from registry import persons
from registry.models import Person

from ..deps import MAX_ID, Db, RowId, bearer_scheme, current_actor, permit
from ..masking import EVIDENCE, MaskingRoute

router = APIRouter(tags=["audit 审计"], route_class=MaskingRoute)
Auditor = Annotated[Actor, Depends(permit("audit.read"))]
Exporter = Annotated[Actor, Depends(permit("audit.export"))]
Anchorer = Annotated[Actor, Depends(permit("audit.anchor"))]
VerificationReader = Annotated[Actor, Depends(permit("audit.verify"))]
AccessLogReader = Annotated[Actor, Depends(permit("audit.access_log"))]
IdNumber = Annotated[
    str, Path(min_length=15, max_length=18, description="社会保障号码（中国公民为公民身份号码）")
]


def _id_number(value: str, pointer: str) -> str:
    try:
        return ssnumber.normalize(value)
    except IdNumberError as err:
        raise Invalid([FieldError(pointer, err.code, err.message)]) from err


@router.get("/audit/events", summary="审计日志（按案件、人员、操作人、操作、时间、区域过滤，键集分页）")
def list_events(
    actor: Auditor,
    db: Db,
    case_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    person_id: Annotated[str | None, Query(min_length=15, max_length=18)] = None,
    actor_sub: Annotated[str | None, Query(alias="actor", max_length=64)] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="操作，如 task.complete；以“.”结尾为前缀")
    ] = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    area: Annotated[str | None, Query(pattern=r"^\d{2,12}$")] = None,
    limit: Annotated[int, Query(ge=1, le=events.MAX_LIMIT)] = 50,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="上一页最后一条的事件号")] = None,
) -> dict[str, Any]:
    filters = events.Filters(
        case_id=case_id,
        person_id=_id_number(person_id, "/query/person_id") if person_id else None,
        actor_sub=actor_sub,
        action=action,
        since=since,
        until=until,
        area=area,
    )
    page = events.get_all(db, actor=actor, filters=filters, limit=limit, before=before)
    items = [events.view(e) for e in page.items]
    _name_cases_and_persons(db, actor, items)
    return {"items": items, "next": page.next}


def _name_cases_and_persons(db, actor: Actor, items: list[dict[str, Any]]) -> None:
    """Each event says whom and which case it is about in words (`person_name`, `case_process`): the
    auditor reads "张三，入户调查登记 案件 1", not a bare number. The names shown are reads, recorded."""
    case_ids = {e["case_id"] for e in items if e["case_id"]}
    person_ids = {e["person_id"] for e in items if e["person_id"]}
    found = (
        db.execute(select(Case.id, Case.process_key, Case.person_name).where(Case.id.in_(case_ids))).all()
        if case_ids
        else []
    )
    by_case = {row.id: row for row in found}
    names = (
        {r.id: r.name for r in db.execute(select(Person.id, Person.name).where(Person.id.in_(person_ids)))}
        if person_ids
        else {}
    )
    keys = {row.process_key for row in found}
    latest = (
        select(ProcessDefinition.key, ProcessDefinition.name)
        .where(ProcessDefinition.key.in_(keys))
        .order_by(ProcessDefinition.version)
    )
    processes = {r.key: r.name for r in db.execute(latest)}  # the latest version's name wins
    for e in items:
        row = by_case.get(e["case_id"])
        e["case_process"] = processes.get(row.process_key, row.process_key) if row else None
        e["person_name"] = names.get(e["person_id"]) or (row.person_name if row else None)
    audit.record_reads(
        db,
        actor=actor,
        shown=((e["person_id"], e["area"], e["case_id"]) for e in items if e["person_name"]),
        purpose="audit",
        route="GET /audit/events",
    )


def verifier(request: Request, bearer: Annotated[str | None, Depends(bearer_scheme)]) -> Actor:
    """The auditor, checked in a short transaction of its own: a verification takes long, and a request's
    transaction would hold its locks meanwhile (on SQLite, the write lock every other user waits for)."""
    with transaction(request.app.state.sessions) as session:
        return permit("audit.verify")(current_actor(request, session, bearer))


Verifier = Annotated[Actor, Depends(verifier)]


@router.get(
    "/audit/verify",
    summary="校验审计日志并等待结果：重算哈希链，与归档锚点核对（日志大时请用 POST /audit/verifications）",
)
def verify_log(request: Request, actor: Verifier) -> dict[str, Any]:
    sessions = request.app.state.sessions
    found = anchors.read_all(archive_store.current(), data_dir=request.app.state.settings.data_dir)
    with sessions() as snapshot:
        report = verify.run(snapshot, anchors=found)
    with transaction(sessions) as session:
        verifications.record(session, actor, report)
    return report.as_dict()


@router.post(
    "/audit/verifications",
    status_code=202,
    summary="开始校验审计日志（后台任务）；进度和结果见 Location",
    description=(
        "在后台重算全部哈希链并与归档锚点核对，不阻塞其他用户。返回任务及其地址（Location），"
        "轮询该地址可见已校验的事件数（done / total），完成后 report 为校验报告。已有校验在进行时返回那一个。"
    ),
)
def start_verification(request: Request, response: Response, actor: Verifier) -> dict[str, Any]:
    job = verifications.start(
        request.app.state.sessions,
        actor=actor,
        store=archive_store.current(),
        data_dir=request.app.state.settings.data_dir,
    )
    response.headers["Location"] = f"{request.url.path}/{job.id}"
    return verifications.view(job)


@router.get("/audit/verifications/{job_id}", summary="校验任务的进度和结果")
def get_verification(job_id: RowId, actor: VerificationReader, db: Db) -> dict[str, Any]:
    return verifications.view(verifications.get(db, job_id=job_id))


@router.post("/audit/anchors", status_code=201, summary="立即把各链链头哈希写入档案存储（锚点）")
def write_anchor(request: Request, actor: Anchorer, db: Db) -> dict[str, Any]:
    written = anchors.write(
        db, archive_store.current(), actor=actor, data_dir=request.app.state.settings.data_dir
    )
    return {
        "key": written.key,
        "at": written.at.isoformat(),
        "events": written.events,
        "chains": written.chains,
    }


@router.get("/persons/{id_number}/access-log", summary="谁查看过此人的信息（访问记录）")
def access_log(
    id_number: IdNumber,
    actor: AccessLogReader,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=events.MAX_LIMIT)] = 50,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> dict[str, Any]:
    person_id = _id_number(id_number, "/path/id_number")
    person = persons.get(db, id_number=person_id)
    if person is None or not actor.may_see(area=person.area, person_id=person.id):
        raise NotFound("没有该人员的访问记录")
    page = events.access_log(db, actor=actor, person_id=person_id, limit=limit, before=before)
    return {"items": [events.access_view(e) for e in page.items], "next": page.next}


@router.get(
    "/audit/cases/{case_id}/export",
    summary="导出案件经办记录（Ed25519 签名的 JSON，可用 canbao audit verify-export 离线核验）",
    response_class=Response,
    responses={200: {"content": {EVIDENCE: {}}}},
)
def export_case(case_id: RowId, request: Request, actor: Exporter, db: Db) -> Response:
    case = cases.get(db, actor=actor, case_id=case_id)
    summary = {
        "id": case.id,
        "process": case.process_key,
        "definition_id": case.definition_id,
        "area": case.area,
        "person_id": case.person_id,
        "person_name": case.person_name,
        "status": case.status,
        "outcome": case.outcome,
        "created_by": case.created_by,
        "created_at": case.created_at.isoformat(),
        "completed_at": case.completed_at.isoformat() if case.completed_at else None,
    }
    document = export.case_history(
        db, actor=actor, case=summary, data_dir=request.app.state.settings.data_dir
    )
    return Response(
        json.dumps(document, ensure_ascii=False, indent=1),
        media_type=EVIDENCE,
        headers={"Content-Disposition": f'attachment; filename="case-{case.id}-history.json"'},
    )
