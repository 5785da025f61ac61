"""Running a case one step and projecting what changed, inside the caller's transaction.

A step is: load the workflow of a locked case, apply one thing (start, a completed user task, a due
timer, a deferred operation), run engine steps to the next wait, then write back the lean state,
the inbox rows, the wake-ups and the audit events. Any exception leaves the transaction to roll back
with the in-memory workflow discarded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, delete, insert, select, tuple_, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from canbao import audit
from canbao.actors import Actor
from canbao.db import insert_missing, utcnow
from canbao.errors import CanbaoError

from . import operations, serializer
from .errors import ScriptFailed, ScriptLimit, StaleCaseVersion
from .limits import LimitExceeded
from .models import Case, CaseTask, CaseWakeup, ProcessDefinition
from .sandbox import ENVIRONMENT
from .specs import DEFAULT_DUE, SPECS, Parsed, due_at, properties, role_of

# The case row and its projections are written with Core statements on the step's connection: the
# ORM's unit of work, bulk-update synchronisation and autoflush cost more than the statements
# themselves. The case stays an ORM object for the callers, flushed before the step begins.
_TASKS = CaseTask.__table__
_WAKEUPS = CaseWakeup.__table__
_CLOSE_TASKS = (
    update(_TASKS)
    .where(_TASKS.c.task_guid == bindparam("b_guid"))
    .values(state=bindparam("b_state"), completed_at=bindparam("b_at"), completed_by=bindparam("b_by"))
)
_OPEN_TASKS = insert(_TASKS)
_SUPERVISE = (
    update(_TASKS).where(_TASKS.c.task_guid == bindparam("b_guid")).values(supervised_at=bindparam("b_at"))
)
_CASES = Case.__table__
_CASE_WRITTEN = (
    "status",
    "status_detail",
    "outcome",
    "completed_at",
    "state",
    "updated_at",
    "version",
    "person_id",
    "person_name",
)
_WRITE_CASE = (
    update(_CASES)
    .where(_CASES.c.id == bindparam("b_id"), _CASES.c.version == bindparam("b_expected"))
    .values({name: bindparam(f"b_{name}") for name in _CASE_WRITTEN})
)
_ADD_WAKEUPS = insert(_WAKEUPS)
# Engine tasks one step may complete. A process that goes round without waiting for anyone (a loop of
# scripts and gateways) would otherwise run until SpiffWorkflow's task tree reaches its depth of 1000,
# where the engine stops seeing the ready tasks and reports the case completed.
MAX_STEP_TASKS = 200


def parsed_for(session: Session, definition_id: int) -> Parsed:
    def load() -> tuple[str, dict[str, str]]:
        row = session.execute(
            select(ProcessDefinition.bpmn_xml, ProcessDefinition.dmn).where(
                ProcessDefinition.id == definition_id
            )
        ).one()
        return row.bpmn_xml, row.dmn

    return SPECS.get(definition_id, load)


class _Deferred(Exception):
    def __init__(self, task: Task) -> None:
        self.task = task


class CaseScriptEngine(PythonScriptEngine):
    """The sandboxed engine, bound to one step so service operations see the case and the actor."""

    def __init__(self, step: Step) -> None:
        super().__init__(environment=ENVIRONMENT)
        self.step = step

    def call_service(self, task, operation_name, operation_params):
        op = operations.get(operation_name)
        if op is None:
            raise ScriptFailed(f"未登记的操作：{operation_name}", task=task.task_spec.bpmn_id, line=None)
        ctx = operations.OperationContext(
            session=self.step.session,
            actor=self.step.actor,
            case_id=self.step.case.id,
            case_area=self.step.case.area,
            person_id=self.step.case.person_id,
            process_key=self.step.case.process_key,
            data=task.data,
        )
        result = op.fn(ctx, **{name: p["value"] for name, p in operation_params.items()}) or {}
        self.step.services.append((task, operation_name, result))
        return json.dumps(result, default=str)


@dataclass
class Step:
    session: Session
    case: Case
    actor: Actor
    parsed: Parsed
    workflow: BpmnWorkflow
    since: float
    services: list
    # What the projections held when the step began, read off the workflow rather than queried:
    # the inbox rows in state "ready" are exactly the ready user tasks, and wake-up rows exist only
    # for waiting timers and, while the case is "waiting", for its deferred operation.
    ready_before: frozenset[str]
    may_have_wakeups: bool
    # This step completes a return (退回补正): tasks it re-opens go back to whoever last did them.
    returning: bool = False

    @classmethod
    def begin(
        cls, session: Session, case: Case, actor: Actor, parsed: Parsed, workflow: BpmnWorkflow
    ) -> Step:
        ready = frozenset(_ready_user_tasks(workflow))
        with scripts_fail_as_problems():
            waits = case.status == "waiting" or bool(_due_timers(workflow))
        step = cls(session, case, actor, parsed, workflow, time.time(), [], ready, waits)
        workflow.script_engine = CaseScriptEngine(step)
        return step

    def record(self, action: str, object_type: str, object_id: str | int, payload: dict[str, Any]) -> None:
        audit.record(
            self.session,
            actor=self.actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            payload=payload,
            area=self.case.area,
            case_id=self.case.id,
            person_id=self.case.person_id,
        )

    def advance(self, *, allow_deferred: bool = False) -> Task | None:
        """Run engine steps to the next wait; a deferred operation stops the run and is returned."""
        completed = 0

        def guard(task: Task) -> None:
            nonlocal completed
            completed += 1
            if completed > MAX_STEP_TASKS:
                raise ScriptLimit(
                    f"{_label(task)}：流程在一次推进中执行了超过 {MAX_STEP_TASKS} 个环节而没有停下等待办理，"
                    "可能陷入了无等待的循环，已中止；案件未作任何改动",
                    task=task.task_spec.bpmn_id,
                    line=None,
                )
            name = getattr(task.task_spec, "operation_name", None)
            if name and not allow_deferred:
                op = operations.get(name)
                if op is not None and op.deferred:
                    raise _Deferred(task)

        try:
            with scripts_fail_as_problems():
                self.workflow.do_engine_steps(will_complete_task=guard)
        except _Deferred as deferred:
            return deferred.task
        return None

    def finish(self, deferred: Task | None, *, completed_guid: str | None = None) -> None:
        """Write back state and projections, and record what the engine did."""
        now = utcnow()
        self._record_engine_events()
        self._project_inbox(now, completed_guid)
        with scripts_fail_as_problems():  # timer expressions are evaluated here
            self._project_wakeups(now, deferred)
        case, wf = self.case, self.workflow
        values = {
            "outcome": case.outcome,
            "completed_at": case.completed_at,
            "status_detail": None,
            # A case without a person is bound by its first accepted form (`binding`).
            "person_id": case.person_id,
            "person_name": case.person_name,
        }
        if wf.is_completed():
            values.update(status="completed", completed_at=now, outcome=_outcome(wf))
            self.record("case.complete", "case", case.id, {"outcome": values["outcome"]})
        elif deferred is not None:
            op = operations.get(deferred.task_spec.operation_name)
            values.update(
                status="waiting", status_detail=f"等待{op.title if op else deferred.task_spec.bpmn_name}"
            )
        else:
            values["status"] = "running"
        self._write_case(state=serializer.dumps(wf), updated_at=now, **values)

    def _write_case(self, **values: Any) -> None:
        """One UPDATE of the case row, guarded by its version; the ORM object takes the new values as
        committed state (a unit-of-work flush of the row would cost more than the statement)."""
        case = self.case
        values["version"] = case.version + 1
        written = self.session.connection().execute(
            _WRITE_CASE,
            {"b_id": case.id, "b_expected": case.version, **{f"b_{k}": v for k, v in values.items()}},
        )
        if written.rowcount != 1:
            raise StaleCaseVersion("案件已被他人更新，请刷新后重试")
        for name, value in values.items():
            set_committed_value(case, name, value)

    def _record_engine_events(self) -> None:
        done = (
            t
            for t in _tasks(self.workflow)
            if t.state == TaskState.COMPLETED and t.last_state_change >= self.since
        )
        for task in sorted(done, key=_changed_at):
            spec = task.task_spec
            if spec.bpmn_id is None or spec.manual:
                continue
            if isinstance(spec, ExclusiveGateway):
                chosen = [c.task_spec.bpmn_id for c in task.children if c.task_spec.bpmn_id]
                self.record(
                    "gateway.taken",
                    "case",
                    self.case.id,
                    {"gateway": spec.bpmn_id, "name": spec.bpmn_name, "to": chosen},
                )
            elif isinstance(spec, BoundaryEvent):
                self.record(
                    "timer.fire", "case", self.case.id, {"event": spec.bpmn_id, "name": spec.bpmn_name}
                )
                if properties(spec).get("supervise") == "true":
                    self._supervise(task)
        for task, name, result in self.services:
            self.record(
                "service.run",
                "case",
                self.case.id,
                {"task": task.task_spec.bpmn_id, "operation": name, "result": result},
            )

    def _supervise(self, boundary: Task) -> None:
        """督办: a non-interrupting timer marked `supervise` found its task overdue. The task stays where
        it is (第十九条: 初审 is never skipped); its inbox row is marked, and the county's 督办 list
        shows it (`inbox.supervision`)."""
        overdue = [t for t in boundary.parent.children if t.task_spec.manual and t.state == TaskState.READY]
        for task in overdue:
            self.session.connection().execute(_SUPERVISE, {"b_guid": str(task.id), "b_at": utcnow()})
            self.record(
                "task.supervise",
                "task",
                str(task.id),
                {
                    "task": task.task_spec.bpmn_id,
                    "name": task.task_spec.bpmn_name,
                    "by": boundary.task_spec.bpmn_id,
                },
            )

    def _project_inbox(self, now: datetime, completed_guid: str | None) -> None:
        ready = _ready_user_tasks(self.workflow)
        gone = [guid for guid in self.ready_before if guid not in ready]
        if gone:
            self.session.connection().execute(
                _CLOSE_TASKS,
                [
                    {
                        "b_guid": guid,
                        "b_state": "completed" if guid == completed_guid else "cancelled",
                        "b_at": now,
                        "b_by": self.actor.sub if guid == completed_guid else None,
                    }
                    for guid in gone
                ],
            )
        for guid in gone:
            if guid != completed_guid:
                self.record("task.cancel", "task", guid, {})
        rows = []
        opened = {guid: task for guid, task in ready.items() if guid not in self.ready_before}
        done_by = self._done_before({t.task_spec for t in opened.values()}) if self.returning else {}
        for guid, task in opened.items():
            spec = task.task_spec
            props = properties(spec)
            again = done_by.get(spec.bpmn_id)
            rows.append(
                {
                    "case_id": self.case.id,
                    "task_guid": guid,
                    "spec_name": spec.bpmn_id,
                    "title": spec.bpmn_name or spec.bpmn_id,
                    "role": role_of(spec),
                    "area": self.case.area,
                    "team_id": self.case.team_id,
                    "process_key": self.case.process_key,
                    "form_key": props.get("formKey"),
                    "person_id": self.case.person_id,
                    "person_name": self.case.person_name,
                    "state": "ready",
                    "created_at": now,
                    "due_at": due_at(props.get("dueIn", DEFAULT_DUE), now),
                    "assignee": again,
                    "claimed_at": now if again else None,
                    "returned_by": self.actor.sub if again else None,
                }
            )
            self.record(
                "task.ready",
                "task",
                guid,
                {"task": spec.bpmn_id, "name": spec.bpmn_name, "role": role_of(spec)},
            )
            if props.get("escalation") == "true":
                self.record(
                    "case.escalate", "case", self.case.id, {"task": spec.bpmn_id, "name": spec.bpmn_name}
                )
        if rows:
            self.session.connection().execute(_OPEN_TASKS, rows)

    def _done_before(self, specs: set) -> dict[str, str]:
        """Who last completed each of these user tasks in this case, for those done before: a task a return
        re-opens goes back to that person (退回补正 to the surveyor who submitted). Read only when the
        workflow shows such a task completed earlier."""
        again = {
            t.task_spec.bpmn_id
            for t in _tasks(self.workflow)
            if t.task_spec in specs and t.state == TaskState.COMPLETED
        }
        if not again:
            return {}
        rows = self.session.connection().execute(
            select(_TASKS.c.spec_name, _TASKS.c.completed_by)
            .where(
                _TASKS.c.case_id == self.case.id,
                _TASKS.c.spec_name.in_(sorted(again)),
                _TASKS.c.state == "completed",
                _TASKS.c.completed_by.is_not(None),
            )
            .order_by(_TASKS.c.id)
        )
        return {row.spec_name: row.completed_by for row in rows}  # the latest completion wins

    def _project_wakeups(self, now: datetime, deferred: Task | None) -> None:
        due: dict[tuple[str, str], tuple[datetime, str | None]] = {
            (guid, "timer"): (at, None) for guid, at in _due_timers(self.workflow).items()
        }
        if deferred is not None:
            due[(str(deferred.id), "operation")] = (now, deferred.task_spec.operation_name)
        rows = [
            {"case_id": self.case.id, "task_guid": guid, "kind": kind, "due_at": at, "operation": operation}
            for (guid, kind), (at, operation) in due.items()
        ]
        connection = self.session.connection()
        if not self.may_have_wakeups:
            if rows:
                connection.execute(_ADD_WAKEUPS, rows)
            return
        # Rows still due stay as they are (a postponed operation keeps its attempts and back-off).
        stale = delete(_WAKEUPS).where(_WAKEUPS.c.case_id == self.case.id)
        if due:
            stale = stale.where(tuple_(_WAKEUPS.c.task_guid, _WAKEUPS.c.kind).not_in(list(due)))
        connection.execute(stale)
        if rows:
            connection.execute(insert_missing(self.session, _WAKEUPS), rows)


@contextmanager
def scripts_fail_as_problems() -> Iterator[None]:
    """A script, condition or timer expression that fails inside the engine, as ScriptFailed (ScriptLimit
    when it went over a limit) naming the element and the line."""
    try:
        yield
    except CanbaoError:
        raise
    except SpiffWorkflowException as err:
        task = getattr(err, "task", None)
        element = task.task_spec.bpmn_id if task is not None else None
        line = getattr(err, "line_number", None) or None
        limit = _limit_exceeded(err)
        if limit is not None:
            where = _label(task) if task is not None else "流程脚本"
            raise ScriptLimit(
                f"{where}的脚本或条件{limit}，已中止；案件未作任何改动", task=element, line=line
            ) from err
        raise ScriptFailed(str(err).splitlines()[0], task=element, line=line) from err


def _limit_exceeded(err: BaseException) -> LimitExceeded | None:
    """The LimitExceeded behind an engine error, which SpiffWorkflow wraps (and may wrap again)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [err]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        if isinstance(current, LimitExceeded):
            return current
        seen.add(id(current))
        pending += [getattr(current, "exception", None), current.__cause__, current.__context__]
    return None


def _label(task: Task) -> str:
    spec = task.task_spec
    return f"“{spec.bpmn_name}”（{spec.bpmn_id}）" if spec.bpmn_name else f"“{spec.bpmn_id}”"


def _changed_at(task: Task) -> float:
    return task.last_state_change


def _tasks(workflow: BpmnWorkflow) -> Iterator[Task]:
    """Every task of the case, its subprocesses' included. A pass over the task maps costs a fraction
    of a filtered walk of the task tree (`get_tasks`), and a step looks at the tasks several times."""
    yield from workflow.tasks.values()
    for subprocess in workflow.subprocesses.values():
        yield from subprocess.tasks.values()


def _ready_user_tasks(workflow: BpmnWorkflow) -> dict[str, Task]:
    return {str(t.id): t for t in _tasks(workflow) if t.state == TaskState.READY and t.task_spec.manual}


def _due_timers(workflow: BpmnWorkflow) -> dict[str, datetime]:
    """When each waiting timer event of the workflow falls due, by task id."""
    due = {}
    for task in _tasks(workflow):
        spec = task.task_spec
        if (
            task.state == TaskState.WAITING
            and isinstance(spec, CatchingEvent)
            and isinstance(spec.event_definition, TimerEventDefinition)
        ):
            value = spec.event_definition.details(task).value
            if isinstance(value, str):
                due[str(task.id)] = datetime.fromisoformat(value)
    return due


def _outcome(workflow: BpmnWorkflow) -> str | None:
    """The name of the end event the case reached."""
    ends = [
        t
        for t in _tasks(workflow)
        if t.state == TaskState.COMPLETED and isinstance(t.task_spec, EndEvent) and t.task_spec.bpmn_id
    ]
    if not ends:
        return None
    end = max(ends, key=_changed_at).task_spec
    return end.bpmn_name or end.bpmn_id
