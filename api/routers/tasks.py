"""The task inbox and working a task: claim, unclaim, assign, complete, return."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Response
from pydantic import BaseModel, Field

import forms
from canbao import audit
from canbao.actors import Actor
from canbao.audit import history as case_history
from canbao.db import utcnow
from canbao.errors import CanbaoError, FieldError, Forbidden, Invalid
from engine import cases, drafts, grants, inbox, task_audit
from engine.models import CaseTask
from registry import survey

from .. import reach
from ..auth import service as users
from ..bodies import Body as View
from ..deps import Db, permit
from ..inputs import NAME, NO_CONTROL, Text, control_errors
from ..masking import MaskingRoute
from ..problems import answers

router = APIRouter(tags=["tasks 待办任务"], route_class=MaskingRoute)
Role = Literal["surveyor", "platform_reviewer", "counter_clerk", "county_approver", "citizen"]
TaskId = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{1,36}$", description="任务号")]
Reader = Annotated[Actor, Depends(permit("tasks.read"))]
Worker = Annotated[Actor, Depends(permit("tasks.work"))]
Lead = Annotated[Actor, Depends(permit("tasks.assign"))]
Supervisor = Annotated[Actor, Depends(permit("tasks.supervise"))]


class PreconditionRequired(CanbaoError):
    status = 428
    code = "case.version_required"
    title = "请在 If-Match 中提供案件版本"


class TaskView(View):
    id: str = Field(description="任务号")
    case_id: int
    task: str = Field(description="BPMN 环节标识")
    title: str
    role: str
    process: str
    area: str
    team_id: int | None
    form: str | None
    person_id: str | None
    person_name: str | None
    assignee: str | None
    state: str
    created_at: str
    due_at: str
    overdue: bool
    supervised_at: str | None
    reminders: int
    returned_by: str | None = Field(description="退回补正：退回此任务的审核人")
    completed_at: str | None
    completed_by: str | None


class TaskPage(View):
    items: list[TaskView]
    next: str | None = Field(description="下一页的 after；没有下一页时为 null")


class TaskCounts(View):
    open: int
    mine: int
    others: int
    overdue: int
    total: int


class TaskDetail(TaskView):
    case_version: int = Field(description="案件版本：提交时放在 If-Match 中（亦见 ETag）")
    draft_saved_at: str | None = Field(description="本人暂存草稿的时间")
    documentation: str | None
    decisions: list[str] | None
    data_key: str | None
    data: dict[str, Any] = Field(description="预填数据")


class Supervision(View):
    items: list[TaskView]


class Completed(View):
    case_id: int
    case_version: int
    status: str
    outcome: str | None
    status_detail: str | None


def etag(version: int) -> str:
    """The case version as an entity tag; If-Match takes it back (or the bare number)."""
    return f'"{version}"'


def task_view(row: CaseTask, now: datetime) -> dict[str, Any]:
    return {
        "id": row.task_guid,
        "case_id": row.case_id,
        "task": row.spec_name,
        "title": row.title,
        "role": row.role,
        "process": row.process_key,
        "area": row.area,
        "team_id": row.team_id,
        "form": row.form_key,
        "person_id": row.person_id,
        "person_name": row.person_name,
        "assignee": row.assignee,
        "state": row.state,
        "created_at": row.created_at.isoformat(),
        "due_at": row.due_at.isoformat(),
        "overdue": row.state == "ready" and row.due_at < now,
        "supervised_at": row.supervised_at.isoformat() if row.supervised_at else None,
        "reminders": row.reminders,
        "returned_by": row.returned_by,
        "completed_at": row.completed_at.isoformat() if row.completed_at else None,
        "completed_by": row.completed_by,
    }


def _listed(db, actor: Actor, page, *, route: str) -> dict[str, Any]:
    """A page of tasks as shown, each person on it recorded as read."""
    shown = ((t.person_id, t.area, t.case_id) for t in page.items)
    audit.record_reads(db, actor=actor, shown=shown, purpose="list", route=route)
    now = utcnow()
    return {"items": [task_view(t, now) for t in page.items], "next": page.next}


def _read(db, actor: Actor, row: CaseTask, *, purpose: str, route: str) -> None:
    """The task's person read through it (one `person.read`, named by the task)."""
    task_audit.record(db, actor, row, "person.read", {"purpose": purpose, "route": route})


def _version(if_match: str | None) -> int:
    if if_match is None:
        raise PreconditionRequired()
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError as err:
        raise Invalid(
            [FieldError("/headers/if-match", "if_match.invalid", "If-Match 应为案件版本号")]
        ) from err


class InboxFilters:
    """The inbox filters, shared by the page and the counts."""

    def __init__(
        self,
        role: Annotated[Role | None, Query(description="岗位")] = None,
        area: Annotated[str | None, Query(pattern=r"^\d{2,12}$", description="区划代码")] = None,
        process: Annotated[str | None, Query(max_length=100, pattern=NAME, description="流程标识")] = None,
        q: Annotated[
            str | None, Query(max_length=64, pattern=NO_CONTROL, description="姓名或身份号码")
        ] = None,
    ) -> None:
        self.role, self.area, self.process, self.text = role, area, process, q


Filters = Annotated[InboxFilters, Depends()]


@router.get(
    "/tasks",
    summary="待办任务（按岗位、区域过滤，键集分页；各状态数量见 /tasks/counts）",
    response_model=TaskPage,
)
def list_tasks(
    actor: Reader,
    db: Db,
    filters: Filters,
    status: Literal["open", "mine", "others"] | None = None,
    overdue: bool | None = None,
    sort: Literal["due", "age"] = "due",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[
        str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_=-]+$", description="上页的 next")
    ] = None,
) -> dict[str, Any]:
    page = inbox.query(
        db,
        actor=actor,
        q=inbox.InboxQuery(
            role=filters.role,
            area=filters.area,
            status=status,
            overdue=overdue,
            process=filters.process,
            text=filters.text,
            sort=sort,
            limit=limit,
            after=after,
            led_roles=reach.led_roles(actor),
        ),
    )
    return _listed(db, actor, page, route="GET /tasks")


@router.get(
    "/tasks/counts",
    summary="待办任务各状态数量：待认领、我的、他人的、超期、合计",
    response_model=TaskCounts,
)
def task_counts(actor: Reader, db: Db, filters: Filters) -> dict[str, int]:
    return inbox.counts(
        db,
        actor=actor,
        q=inbox.InboxQuery(
            role=filters.role,
            area=filters.area,
            process=filters.process,
            text=filters.text,
            led_roles=reach.led_roles(actor),
        ),
    )


@router.get("/tasks/done", response_model=TaskPage, summary="已办：本人办结的任务（最近的在前，键集分页）")
def done_tasks(
    actor: Reader,
    db: Db,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[
        str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_=-]+$", description="上页的 next")
    ] = None,
) -> dict[str, Any]:
    page = inbox.done(db, actor=actor, limit=limit, after=after)
    return _listed(db, actor, page, route="GET /tasks/done")


@router.get(
    "/tasks/{task_id}",
    summary="任务详情：表单、预填数据、案件版本（ETag）",
    response_model=TaskDetail,
    responses={
        200: {
            "headers": {
                "ETag": {"description": "案件版本，提交时放在 If-Match 中", "schema": {"type": "string"}}
            }
        }
    },
)
def get_task(task_id: TaskId, actor: Reader, db: Db, response: Response) -> dict[str, Any]:
    row = _task(db, actor, task_id)
    case = cases.get(db, actor=actor, case_id=row.case_id)
    detail = cases.task_detail(db, case=case, task_guid=row.task_guid)
    if row.person_id:
        _read(db, actor, row, purpose="task_form", route="GET /tasks/{id}")
    draft = drafts.saved_at(db, actor=actor, row=row)
    response.headers["ETag"] = etag(case.version)
    return {
        **task_view(row, utcnow()),
        "case_version": case.version,
        "draft_saved_at": draft.isoformat() if draft else None,
        **detail,
    }


class FieldChange(BaseModel):
    pointer: str = Field(description="字段（JSON 指针）")
    title: str = Field(description="字段名称")
    old: Any = Field(description="上次提交的值")
    new: Any = Field(description="本次提交的值")
    old_text: str | None = Field(description="上次提交的值（代码显示为名称）")
    new_text: str | None = Field(description="本次提交的值（代码显示为名称）")


class SubmissionChanges(BaseModel):
    form: str | None = Field(description="提交的表单")
    name: str | None = Field(description="提交表单的环节")
    submitted_by: str | None
    submitted_at: datetime | None
    previous_at: datetime | None = Field(description="上次提交的时间（首次提交时为空）")
    changes: list[FieldChange]


@router.get(
    "/tasks/{task_id}/changes",
    response_model=SubmissionChanges,
    summary="重新提交后的变化：案件最近一次提交的表单与同一环节上一次提交的逐项比较",
)
def submission_changes(task_id: TaskId, actor: Reader, db: Db) -> dict[str, Any]:
    row = _task(db, actor, task_id)
    found = case_history.submissions(db, case_id=row.case_id, exclude_form="review_decision")
    found = [s for s in found if s["at"] <= row.created_at]
    if not found:
        return {
            "form": None,
            "name": None,
            "submitted_by": None,
            "submitted_at": None,
            "previous_at": None,
            "changes": [],
        }
    last = found[-1]
    earlier = [s for s in found[:-1] if s["task"] == last["task"] and s["form"] == last["form"]]
    previous = earlier[-1] if earlier else None
    changes = forms.changes(last["form"], previous["data"], last["data"]) if previous else []
    _read(db, actor, row, purpose="changes", route="GET /tasks/{id}/changes")
    return {
        "form": last["form"],
        "name": last["name"],
        "submitted_by": last["actor"],
        "submitted_at": last["at"],
        "previous_at": previous["at"] if previous else None,
        "changes": [vars(c) for c in changes],
    }


class Draft(BaseModel):
    task_id: str
    data: dict[str, Any] = Field(description="暂存的表单数据（未经校验）")
    saved_at: datetime


def _draft_view(draft) -> dict[str, Any]:
    return {"task_id": draft.task_guid, "data": draft.data, "saved_at": draft.saved_at}


@router.get("/tasks/{task_id}/draft", response_model=Draft, summary="本人暂存的草稿")
def get_draft(task_id: TaskId, actor: Worker, db: Db) -> dict[str, Any]:
    row = _task(db, actor, task_id)
    draft = drafts.get(db, actor=actor, row=row)
    if row.person_id:
        _read(db, actor, row, purpose="draft", route="GET /tasks/{id}/draft")
    return _draft_view(draft)


@router.put("/tasks/{task_id}/draft", response_model=Draft, summary="暂存草稿（不校验，提交时校验）")
def save_draft(
    task_id: TaskId,
    actor: Worker,
    db: Db,
    data: Annotated[dict[str, Any], Body(description="表单数据（JSON 对象），可未填完")],
) -> dict[str, Any]:
    errors = control_errors(data)
    if errors:
        raise Invalid(errors)
    row = _task(db, actor, task_id)
    cases.check_workable(actor, row)
    return _draft_view(drafts.save(db, actor=actor, row=row, data=data))


@router.delete("/tasks/{task_id}/draft", status_code=204, summary="删除本人暂存的草稿")
def delete_draft(task_id: TaskId, actor: Worker, db: Db) -> None:
    drafts.delete_own(db, actor=actor, row=_task(db, actor, task_id))


@router.post("/tasks/{task_id}/claim", summary="认领任务", response_model=TaskView, responses=answers(409))
def claim(task_id: TaskId, actor: Worker, db: Db) -> dict[str, Any]:
    _task(db, actor, task_id)
    return task_view(cases.claim(db, actor=actor, task_id=task_id), utcnow())


class NotClaimed(CanbaoError):
    status = 409
    code = "task.not_claimed"
    title = "任务尚未被认领"


@router.post(
    "/tasks/{task_id}/unclaim",
    summary="退回任务池（本人认领的，或由平台、县级负责人退回）",
    response_model=TaskView,
    responses=answers(409),
)
def unclaim(task_id: TaskId, actor: Worker, db: Db) -> dict[str, Any]:
    row = _task(db, actor, task_id)
    if row.assignee is None:
        raise NotClaimed()
    lead = row.assignee != actor.sub and row.role in reach.led_roles(actor)
    return task_view(cases.unclaim(db, actor=actor, task_id=task_id, by_lead=lead), utcnow())


@router.get(
    "/supervision",
    summary="督办：本辖区所领导岗位中超期被督办的任务（第十九条：初审不可跳过）",
    response_model=Supervision,
)
def supervision(actor: Supervisor, db: Db) -> dict[str, Any]:
    rows = inbox.supervision(db, actor=actor, roles=reach.led_roles(actor))
    audit.record_reads(
        db,
        actor=actor,
        shown=((t.person_id, t.area, t.case_id) for t in rows),
        purpose="supervision",
        route="GET /supervision",
    )
    now = utcnow()
    return {"items": [task_view(t, now) for t in rows]}


class Reminder(BaseModel):
    note: Text | None = Field(default=None, max_length=500, description="督办意见")


@router.post(
    "/tasks/{task_id}/remind",
    summary="督办：提醒办理超期任务（县级对所辖基层平台）",
    response_model=TaskView,
    responses=answers(409),
)
def remind(task_id: TaskId, body: Reminder, actor: Supervisor, db: Db) -> dict[str, Any]:
    row = _task(db, actor, task_id)
    if row.role not in reach.led_roles(actor):
        raise Forbidden(f"您的岗位不能督办“{row.title}”任务", reason="not_lead")
    return task_view(cases.remind(db, actor=actor, task_id=task_id, note=body.note), utcnow())


class Assignment(BaseModel):
    assignee: str = Field(min_length=1, max_length=64, pattern=NAME, description="被分派的用户名")


@router.post(
    "/tasks/{task_id}/assign",
    summary="分派任务给本区域有该岗位的用户（平台、县级负责人）",
    response_model=TaskView,
    responses=answers(409),
)
def assign(task_id: TaskId, body: Assignment, actor: Lead, db: Db) -> dict[str, Any]:
    row = _task(db, actor, task_id)
    if row.role not in reach.led_roles(actor):
        raise Forbidden(f"您的岗位不能分派“{row.title}”任务", reason="not_lead")
    target = users.get_by_username(db, username=body.assignee)
    problems = []
    if target is None or target.disabled:
        problems.append(FieldError("/assignee", "assignee.unknown", "用户不存在或已停用"))
    elif row.role not in target.roles or not row.area.startswith(target.area):
        problems.append(FieldError("/assignee", "assignee.not_eligible", "该用户没有办理此任务的岗位或区域"))
    elif (
        row.role == "surveyor"
        and row.team_id is not None
        and row.team_id not in survey.teams_of(db, user_sub=target.username)
    ):
        problems.append(FieldError("/assignee", "assignee.not_in_team", "该调查员不在本案件的调查小组"))
    if problems:
        raise Invalid(problems)
    return task_view(cases.assign(db, actor=actor, task_id=task_id, assignee=body.assignee), utcnow())


@router.post(
    "/tasks/{task_id}/complete",
    summary="提交表单，办结任务（If-Match：案件版本）",
    response_model=Completed,
    responses=answers(409),
)
def complete(
    task_id: TaskId,
    actor: Worker,
    db: Db,
    data: Annotated[dict[str, Any], Body(description="表单数据（JSON 对象），按任务的表单校验")],
    if_match: Annotated[
        str | None, Header(description="案件版本：GET /tasks/{id} 的 ETag，或其 case_version")
    ] = None,
) -> dict[str, Any]:
    errors = control_errors(data)
    if errors:
        raise Invalid(errors)
    return _complete(db, actor, task_id, data, _version(if_match))


class Return(BaseModel):
    reason: Text = Field(min_length=2, max_length=500, description="退回原因（必填）")
    return_items: list[Annotated[str, Field(max_length=200, pattern=r"^(/[^\x00-\x1f]*)*$")]] = Field(
        default_factory=list, max_length=50, description="需补正的字段（JSON 指针）"
    )


@router.post(
    "/tasks/{task_id}/return",
    summary="退回补正（须填写原因）",
    response_model=Completed,
    responses=answers(409),
)
def return_task(
    task_id: TaskId,
    body: Return,
    actor: Worker,
    db: Db,
    if_match: Annotated[str | None, Header(description="案件版本（ETag 或版本号）")] = None,
) -> dict[str, Any]:
    data = {"decision": "return", "reason": body.reason, "return_items": body.return_items}
    return _complete(db, actor, task_id, data, _version(if_match))


def _task(db, actor: Actor, task_id: str) -> CaseTask:
    return reach.check_task(actor, cases.get_task(db, actor=actor, task_id=task_id))


def _complete(db, actor: Actor, task_id: TaskId, data: Any, version: int) -> dict[str, Any]:
    row = _task(db, actor, task_id)
    kind = cases.required_authorization(db, row=row)
    if kind is not None:  # refused before the case is loaded; the engine checks it again as it completes
        grants.require(db, kind=kind, county=row.area[:6])
    case = cases.complete(db, actor=actor, task_id=task_id, data=data, expected_version=version)
    return {
        "case_id": case.id,
        "case_version": case.version,
        "status": case.status,
        "outcome": case.outcome,
        "status_detail": case.status_detail,
    }
