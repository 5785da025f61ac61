"""Cases and their tasks: start, complete, claim, unclaim, assign, read.

Every mutation locks the case row (`SELECT … FOR UPDATE`) and re-checks the task under the lock, so
two concurrent completions of one task cannot both win; the case's version column doubles as the
ETag a client sends back in `If-Match`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

import forms
from canbao.actors import Actor
from canbao.db import utcnow
from canbao.errors import FieldError

from . import binding, definitions, drafts, grants, serializer, submissions, task_audit
from .errors import (
    CaseAlreadyOpen,
    CaseNotFound,
    CaseNotRunning,
    InvalidFormData,
    NotInTeam,
    SeparationOfDuties,
    StaleCaseVersion,
    TaskAlreadyCompleted,
    TaskClaimedByOther,
    TaskNotFound,
    WrongLane,
)
from .models import Case, CaseTask
from .runner import Step, parsed_for, scripts_fail_as_problems
from .specs import properties

# The case row is inserted with a Core statement and its object joins the session as already
# persistent: a unit-of-work flush of one new row costs more than the INSERT.
_INSERT_CASE = insert(Case.__table__).returning(Case.__table__.c.id)


def start(
    session: Session,
    *,
    actor: Actor,
    process_key: str,
    area: str,
    person_id: str | None = None,
    person_name: str | None = None,
    team_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> Case:
    """Start a case on the current version of a process and run it to its first wait."""
    definition = definitions.current_for_start(session, key=process_key, person_id=person_id)
    if definition.open_case is not None:
        raise CaseAlreadyOpen(f"该人员已有办理中的案件 {definition.open_case}")
    parsed = parsed_for(session, definition.id)
    now = utcnow()
    values = {
        "definition_id": definition.id,
        "process_key": process_key,
        "status": "running",
        "status_detail": None,
        "outcome": None,
        "area": area,
        "person_id": person_id,
        "person_name": person_name,
        "team_id": team_id,
        "state": "",
        "version": 1,
        "created_by": actor.sub,
        "created_at": now,
        "updated_at": now,
        "completed_at": None,
    }
    case = Case(id=session.connection().execute(_INSERT_CASE, values).scalar_one(), **values)
    make_transient_to_detached(case)
    session.add(case)
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs)
    workflow.definition_id = definition.id
    start_task = workflow.get_tasks(state=TaskState.READY)[0]
    start_task.data.update({"timeouts": {}, **(data or {})})
    step = Step.begin(session, case, actor, parsed, workflow)
    step.record(
        "case.start",
        "case",
        case.id,
        {"process": process_key, "version": definition.version, "area": area, "team_id": team_id},
    )
    step.finish(step.advance())
    session.flush()
    return case


def complete(
    session: Session,
    *,
    actor: Actor,
    task_id: str,
    data: Any,
    expected_version: int | None = None,
) -> Case:
    """Complete a ready user task with form data, then run the case to its next wait."""
    row, case = _lock_task(session, task_id)
    _check_can_work(actor, row)
    if row.assignee not in (None, actor.sub):
        raise TaskClaimedByOther(f"任务已由 {row.assignee} 认领")
    if expected_version is not None and case.version != expected_version:
        raise StaleCaseVersion(f"案件版本已是 {case.version}，您提交的是 {expected_version}")
    parsed = parsed_for(session, case.definition_id)
    workflow = serializer.loads(case.state, parsed)
    task = workflow.get_task_from_id(UUID(row.task_guid))
    props = properties(task.task_spec)
    _check_separation(session, actor, case, props)
    if props.get("authorization"):
        grants.require(session, kind=props["authorization"], county=case.area[:6])
    data = _validated(row.form_key, props, data)
    bound = binding.check(session, case=case, form_key=row.form_key, data=data)
    submissions.check(session, actor=actor, case=case, form_key=row.form_key, data=data)
    if bound is not None:  # written with the case row when the step finishes
        set_committed_value(case, "person_id", bound.id_number)
        set_committed_value(case, "person_name", bound.name)
    task.data[props.get("dataKey") or row.form_key] = data
    step = Step.begin(session, case, actor, parsed, workflow)
    decision = data.get("decision")
    step.returning = decision == "return"
    step.record(
        "task.return" if decision == "return" else "task.complete",
        "task",
        row.task_guid,
        {"task": row.spec_name, "name": row.title, "form": row.form_key, "data": data},
    )
    with scripts_fail_as_problems():  # the task's postScript
        task.run()
    step.finish(step.advance(), completed_guid=row.task_guid)
    drafts.discard(session, task_guid=row.task_guid)
    session.flush()
    return case


def claim(session: Session, *, actor: Actor, task_id: str) -> CaseTask:
    row = _lock_row(session, task_id)
    _check_can_work(actor, row)
    if row.assignee not in (None, actor.sub):
        raise TaskClaimedByOther(f"任务已由 {row.assignee} 认领")
    row.assignee, row.claimed_at = actor.sub, utcnow()
    task_audit.record(session, actor, row, "task.claim", {})
    return row


def unclaim(session: Session, *, actor: Actor, task_id: str, by_lead: bool = False) -> CaseTask:
    """Return a claimed task to the pool: by its assignee, or by a lead (the caller decides who is one)."""
    row = _lock_row(session, task_id)
    if not by_lead:
        _check_can_work(actor, row)
        if row.assignee != actor.sub:
            raise TaskClaimedByOther("只能退回本人认领的任务")
    previous, row.assignee, row.claimed_at = row.assignee, None, None
    task_audit.record(session, actor, row, "task.unclaim", {"previous": previous})
    return row


def remind(session: Session, *, actor: Actor, task_id: str, note: str | None) -> CaseTask:
    """督办 a ready task: the county reminds the lane that holds it (the caller checked it leads it)."""
    row = _lock_row(session, task_id)
    row.reminders, row.reminded_at = row.reminders + 1, utcnow()
    task_audit.record(session, actor, row, "task.remind", {"note": note, "reminders": row.reminders})
    return row


def assign(session: Session, *, actor: Actor, task_id: str, assignee: str) -> CaseTask:
    """Assign a ready task to a user; the caller checked that the actor leads and the assignee may work it."""
    row = _lock_row(session, task_id)
    previous, row.assignee, row.claimed_at = row.assignee, assignee, utcnow()
    task_audit.record(session, actor, row, "task.assign", {"previous": previous, "assignee": assignee})
    return row


def get(session: Session, *, actor: Actor, case_id: int) -> Case:
    """A case the actor's area reaches; otherwise not found (its existence is not revealed)."""
    case = session.get(Case, case_id)
    if case is None or not actor.may_see(area=case.area, person_id=case.person_id):
        raise CaseNotFound()
    return case


def rekey_person(session: Session, *, old: str, new: str) -> int:
    """A person's corrected 公民身份号码: their cases and inbox rows follow it (the audit log keeps the
    old number in the events written before). Returns how many cases moved."""
    moved = session.connection().execute(
        update(Case.__table__).where(Case.__table__.c.person_id == old).values(person_id=new)
    )
    session.connection().execute(
        update(CaseTask.__table__).where(CaseTask.__table__.c.person_id == old).values(person_id=new)
    )
    for held in list(session.identity_map.values()):
        if isinstance(held, Case | CaseTask) and held.person_id == old:
            set_committed_value(held, "person_id", new)
    return moved.rowcount


def get_task(session: Session, *, actor: Actor, task_id: str) -> CaseTask:
    row = session.scalar(select(CaseTask).where(CaseTask.task_guid == task_id))
    if row is None:
        raise TaskNotFound()
    _check_reach(actor, row)
    return row


def check_workable(actor: Actor, row: CaseTask) -> None:
    """The actor may work this task now: it is ready, in their lane, team and area, and not someone else's."""
    if row.state != "ready":
        raise TaskAlreadyCompleted(f"任务“{row.title}”已{'办结' if row.state == 'completed' else '取消'}")
    _check_can_work(actor, row)
    if row.assignee not in (None, actor.sub):
        raise TaskClaimedByOther(f"任务已由 {row.assignee} 认领")


def required_authorization(session: Session, *, row: CaseTask) -> str | None:
    """The kind of county authorization (`grants`) completing this task needs, if any."""
    parsed = parsed_for(session, session.get(Case, row.case_id).definition_id)
    specs = [parsed.spec, *parsed.subprocess_specs.values()]
    spec = next((s.task_specs[row.spec_name] for s in specs if row.spec_name in s.task_specs), None)
    return properties(spec).get("authorization") if spec is not None else None


def task_detail(session: Session, *, case: Case, task_guid: str) -> dict[str, Any]:
    """What a user task's form needs: its instructions, allowed decisions, where its data goes, and the
    case data it sees (the form is pre-filled from `data[data_key]`)."""
    workflow = serializer.loads(case.state, parsed_for(session, case.definition_id))
    task = workflow.get_task_from_id(UUID(task_guid))
    spec = task.task_spec
    props = properties(spec)
    decisions = props.get("decisions")
    data_key = props.get("dataKey") or props.get("formKey")
    data = {k: v for k, v in task.data.items() if k != "timeouts"}
    known = set(forms.keys())
    if data_key and props.get("formKey") in known:  # submits back as it is (`forms.prefill`)
        data[data_key] = forms.prefill(props["formKey"], data.get(data_key))
    return {
        "documentation": spec.documentation,
        "decisions": decisions.split(",") if decisions else None,
        "data_key": data_key,
        "data": data,
    }


def case_data(session: Session, *, case: Case) -> dict[str, Any]:
    """The case's business data as of its latest step (form data, decisions, counters)."""
    workflow = serializer.loads(case.state, parsed_for(session, case.definition_id))
    tasks = workflow.get_tasks(
        state=TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED
    )
    latest = max(tasks, key=lambda t: t.last_state_change)
    return {k: v for k, v in latest.data.items() if k != "timeouts"}


@dataclass(frozen=True)
class Path:
    """The diagram overlay of a case: BPMN ids of completed elements and of where it waits now."""

    completed: list[str]
    active: list[str]


def path(session: Session, *, case: Case) -> Path:
    workflow = serializer.loads(case.state, parsed_for(session, case.definition_id))
    done = sorted(workflow.get_tasks(state=TaskState.COMPLETED), key=lambda t: t.last_state_change)
    active = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED)
    ids = lambda tasks: list(dict.fromkeys(t.task_spec.bpmn_id for t in tasks if t.task_spec.bpmn_id))  # noqa: E731
    return Path(completed=ids(done), active=ids(active))


# One statement locks both rows; PostgreSQL re-reads both after waiting for a lock, so a completion
# that committed meanwhile is seen here. Built once: its cache key is not recomputed per completion.
_LOCK_TASK = (
    select(CaseTask, Case)
    .join(Case, Case.id == CaseTask.case_id)
    .where(CaseTask.task_guid == bindparam("guid"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


def _lock_task(session: Session, task_id: str) -> tuple[CaseTask, Case]:
    found = session.execute(_LOCK_TASK, {"guid": task_id}).first()
    if found is None:
        raise TaskNotFound()
    row, case = found
    if row.state != "ready":
        raise TaskAlreadyCompleted(f"任务“{row.title}”已{'办结' if row.state == 'completed' else '取消'}")
    if case.status not in ("running", "waiting"):
        raise CaseNotRunning()
    return row, case


def _lock_row(session: Session, task_id: str) -> CaseTask:
    row = session.scalars(
        select(CaseTask)
        .where(CaseTask.task_guid == task_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise TaskNotFound()
    if row.state != "ready":
        raise TaskAlreadyCompleted(f"任务“{row.title}”已{'办结' if row.state == 'completed' else '取消'}")
    return row


def _check_reach(actor: Actor, row: CaseTask) -> None:
    if not actor.may_see(area=row.area, person_id=row.person_id):
        raise TaskNotFound()


def _check_can_work(actor: Actor, row: CaseTask) -> None:
    _check_reach(actor, row)
    if row.role not in actor.roles:
        raise WrongLane(f"该任务属于“{row.role}”岗位")
    if row.role == "surveyor" and row.team_id is not None and row.team_id not in actor.teams:
        raise NotInTeam()


def _check_separation(session: Session, actor: Actor, case: Case, props: dict[str, str]) -> None:
    """`separateFrom` names the task (or tasks, comma-separated) whose last completer may not do this
    one: the collector does not review their own collection (第十三、二十一条)."""
    others = [name for name in props.get("separateFrom", "").split(",") if name]
    if not others:
        return
    last_by = session.scalars(
        select(CaseTask.completed_by)
        .where(CaseTask.case_id == case.id, CaseTask.spec_name.in_(others), CaseTask.state == "completed")
        .order_by(CaseTask.id.desc())
        .limit(1)
    ).first()
    if last_by == actor.sub:
        raise SeparationOfDuties()


def _validated(form_key: str | None, props: dict[str, str], data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidFormData([FieldError("", "form.not_object", "表单数据必须是 JSON 对象")])
    try:
        data = json.loads(json.dumps(data, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise InvalidFormData([FieldError("", "form.not_json", f"表单数据不是合法的 JSON：{err}")]) from err
    errors = forms.validate(form_key, data) if form_key else []
    allowed = props.get("decisions")
    if allowed and "decision" in data and data["decision"] not in allowed.split(","):
        errors.append(FieldError("/decision", "decision.not_allowed", f"此环节只能选择：{allowed}"))
    if errors:
        raise InvalidFormData(errors)
    return data
