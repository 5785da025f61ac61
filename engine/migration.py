"""Moving running cases to another version of their process, in bulk, with a dry run.

A manager's request becomes a job that fixes the cases it covers (one item each). Workers (the API
process right after the request for small jobs, `canbao worker` for the rest) work through the items:
a real migration moves each case in its own transaction under the case's row lock, so a failure
leaves that one case where it was. A dry run decides the same way and changes no case.

Whether a case can move is SpiffWorkflow's alignment of the case's task tree with the new spec by
BPMN id (`bpmn.util.diff`) and spiff-arena's rule: a task that is completed or started must not be
changed or removed by the new version. Tasks waiting now (ready, waiting) are reset onto the new
spec; user tasks keep their ids, so the inbox rows stay and are refreshed in place. Boundary timers
restart at migration time (SpiffWorkflow clears a reset timer's deadline); each case reports which.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, filter_tasks, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import BigInteger, String, delete, func, insert, literal, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from canbao import audit
from canbao.actors import SYSTEM, Actor
from canbao.db import area_within, utcnow
from canbao.errors import FieldError, Invalid, NotFound

from . import definitions, serializer
from .change_models import MigrationItem, MigrationJob
from .errors import UnknownProcess
from .models import Case, CaseTask, CaseWakeup
from .runner import Step, parsed_for
from .sandbox import ENVIRONMENT
from .specs import Parsed, properties, role_of

log = logging.getLogger(__name__)

OPEN = ("running", "waiting")
RESET = TaskState.READY | TaskState.WAITING | TaskState.STARTED
SETTLED = TaskState.COMPLETED | TaskState.STARTED
# Jobs up to this many cases run in the API process right after the request; larger ones in the worker.
INLINE_LIMIT = 200
DRY_RUN_BATCH = 200
OUTCOMES = ("pending", "migrated", "movable", "refused", "skipped", "failed")

_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)


class MigrationNotFound(NotFound):
    code = "migration.not_found"
    title = "迁移任务不存在"


def request(
    session: Session,
    *,
    actor: Actor,
    key: str,
    from_version: int,
    to_version: int,
    dry_run: bool,
    area: str | None = None,
    case_ids: list[int] | None = None,
    waiting_at: list[str] | None = None,
) -> MigrationJob:
    """Record a migration job covering the open cases of `from_version` that match the filter (and
    lie in the actor's area). Refuses bad versions and filters, naming each bad field."""
    if not definitions.get_versions(session, key=key):
        raise UnknownProcess(f"流程 {key} 不存在")
    source = definitions.get_version(session, key=key, version=from_version)
    target = definitions.get_version(session, key=key, version=to_version)
    errors = []
    if source is None:
        errors.append(FieldError("/from", "migration.unknown_version", f"流程 {key} 没有版本 {from_version}"))
    if target is None:
        errors.append(FieldError("/to", "migration.unknown_version", f"流程 {key} 没有版本 {to_version}"))
    elif target.retired_at is not None:
        errors.append(FieldError("/to", "migration.target_retired", f"版本 {to_version} 已停用，不能迁入"))
    if from_version == to_version:
        errors.append(FieldError("/to", "migration.same_version", "目标版本与原版本相同"))
    scope = area if area is not None else actor.area
    if not actor.reaches(scope):
        errors.append(
            FieldError(
                "/filter/area", "migration.area_out_of_reach", f"区划 {area} 不在您的管辖范围 {actor.area} 内"
            )
        )
    if errors:
        raise Invalid(errors)
    assert source is not None and target is not None
    filters = {"area": scope, "case_ids": case_ids, "waiting_at": waiting_at}
    job = MigrationJob(
        process_key=key,
        from_version=from_version,
        to_version=to_version,
        from_definition_id=source.id,
        to_definition_id=target.id,
        dry_run=dry_run,
        filter={k: v for k, v in filters.items() if v is not None},
        requested_by=actor.sub,
        requested_at=utcnow(),
    )
    session.add(job)
    session.flush()
    cases = select(literal(job.id, BigInteger), Case.id, literal("pending", String)).where(
        Case.definition_id == source.id, Case.status.in_(OPEN), area_within(Case.area, scope)
    )
    if case_ids is not None:
        cases = cases.where(Case.id.in_(case_ids))
    if waiting_at is not None:
        ready = select(CaseTask.id).where(
            CaseTask.case_id == Case.id, CaseTask.state == "ready", CaseTask.spec_name.in_(waiting_at)
        )
        cases = cases.where(ready.exists())
    session.execute(
        insert(MigrationItem).from_select(["job_id", "case_id", "outcome"], cases.order_by(Case.id))
    )
    job.total = session.scalar(select(func.count()).where(MigrationItem.job_id == job.id))
    if job.total == 0:
        job.status, job.finished_at = "done", utcnow()
    audit.record(
        session,
        actor=actor,
        action="migration.request",
        object_type="migration",
        object_id=job.id,
        payload={
            "key": key,
            "from": from_version,
            "to": to_version,
            "dry_run": dry_run,
            "filter": {
                **job.filter,
                **({"case_ids": len(case_ids)} if case_ids and len(case_ids) > 100 else {}),
            },
            "total": job.total,
        },
    )
    return job


def get_or_raise(session: Session, *, key: str, job_id: int) -> MigrationJob:
    job = session.get(MigrationJob, job_id)
    if job is None or job.process_key != key:
        raise MigrationNotFound(f"流程 {key} 没有迁移任务 {job_id}")
    return job


def get_all(session: Session, *, key: str, limit: int = 50) -> list[MigrationJob]:
    return list(
        session.scalars(
            select(MigrationJob)
            .where(MigrationJob.process_key == key)
            .order_by(MigrationJob.id.desc())
            .limit(limit)
        )
    )


def counts(session: Session, *, job: MigrationJob) -> dict[str, int]:
    """Cases of a job per outcome (every outcome present, zero when none)."""
    rows = session.execute(
        select(MigrationItem.outcome, func.count())
        .where(MigrationItem.job_id == job.id)
        .group_by(MigrationItem.outcome)
    ).all()
    return {outcome: 0 for outcome in OUTCOMES} | dict(rows)


def items(
    session: Session, *, job: MigrationJob, outcome: str | None = None, after: int = 0, limit: int = 100
) -> list[MigrationItem]:
    """A page of a job's per-case results, in case order of the request (keyset on item id)."""
    query = select(MigrationItem).where(MigrationItem.job_id == job.id, MigrationItem.id > after)
    if outcome is not None:
        query = query.where(MigrationItem.outcome == outcome)
    return list(session.scalars(query.order_by(MigrationItem.id).limit(limit)))


# Deciding and migrating one case.


@dataclass(frozen=True)
class Plan:
    """What a job moves between, parsed once per run: the specs and their diffs (alignment by id)."""

    job_id: int
    requested_by: str
    key: str
    from_version: int
    to_version: int
    to_id: int
    source: Parsed
    target: Parsed
    top: SpecDiff
    subprocesses: dict[str, SpecDiff | None]
    changes: dict[Any, list[str]]

    @classmethod
    def build(cls, session: Session, job: MigrationJob) -> Plan:
        source = parsed_for(session, job.from_definition_id)
        target = parsed_for(session, job.to_definition_id)
        top = SpecDiff(_REGISTRY, source.spec, target.spec)
        subprocesses = {
            name: SpecDiff(_REGISTRY, spec, target.subprocess_specs[name])
            if name in target.subprocess_specs
            else None
            for name, spec in source.subprocess_specs.items()
        }
        changes = dict(top.changed)
        for sub in subprocesses.values():
            if sub is not None:
                changes.update(sub.changed)
        return cls(
            job.id,
            job.requested_by,
            job.process_key,
            job.from_version,
            job.to_version,
            job.to_definition_id,
            source,
            target,
            top,
            subprocesses,
            changes,
        )


@dataclass(frozen=True)
class Verdict:
    outcome: str
    reason: str | None = None
    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Assessment:
    top: WorkflowDiff
    subprocesses: dict[Any, WorkflowDiff]
    blockers: list[dict[str, Any]]


def assess(workflow: BpmnWorkflow, plan: Plan) -> _Assessment:
    """Align a case with the target version; blockers are the settled tasks the target would change."""
    top = WorkflowDiff(workflow, plan.top)
    blockers = _blockers(top, plan, workflow.spec)
    subprocesses = {}
    for sp_id, sp in workflow.subprocesses.items():
        spec_diff = plan.subprocesses.get(sp.spec.name)
        if spec_diff is None:
            blockers[sp.spec.name] = {
                "element": sp.spec.name,
                "name": sp.spec.description,
                "changes": ["removed"],
            }
            continue
        subprocesses[sp_id] = WorkflowDiff(sp, spec_diff)
        blockers.update(_blockers(subprocesses[sp_id], plan, sp.spec))
    return _Assessment(top, subprocesses, list(blockers.values()))


def _blockers(diff: WorkflowDiff, plan: Plan, spec: BpmnProcessSpec) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    removed = set(diff.removed)
    for task in filter_tasks(diff.changed + diff.removed, state=SETTLED):
        ts = task.task_spec
        # Internal specs (Start, x.BoundaryEventSplit, …) are reported as the element they belong to.
        element = ts.bpmn_id or ts.name.split(".")[0]
        owner = spec.task_specs.get(element)
        entry = found.setdefault(
            element,
            {"element": element, "name": getattr(owner, "bpmn_name", None), "changes": []},
        )
        what = ["removed"] if task in removed else plan.changes.get(ts, [])
        entry["changes"] = sorted({*entry["changes"], *what})
    return found


def _refusal(blockers: list[dict[str, Any]]) -> str:
    listed = "、".join(
        f"{b['name'] or b['element']}（{b['element']}：{', '.join(b['changes'])}）" for b in blockers
    )
    return f"已办理或正在办理的环节在新版本中被修改或删除：{listed}"


def _position(workflow: BpmnWorkflow) -> list[dict[str, str]]:
    """Where a case waits: its ready, waiting and started elements."""
    seen: dict[str, dict[str, str]] = {}
    for task in workflow.get_tasks(state=RESET):
        ts = task.task_spec
        if ts.bpmn_id and ts.bpmn_id not in seen:
            seen[ts.bpmn_id] = {
                "element": ts.bpmn_id,
                "name": ts.bpmn_name,
                "state": TaskState.get_name(task.state).lower(),
            }
    return list(seen.values())


def _timers(workflow: BpmnWorkflow) -> dict[str, dict[str, Any]]:
    timers = {}
    for task in workflow.get_tasks(state=TaskState.WAITING):
        ts = task.task_spec
        if isinstance(ts, CatchingEvent) and isinstance(ts.event_definition, TimerEventDefinition):
            due = ts.event_definition.details(task).value
            timers[str(task.id)] = {"event": ts.bpmn_id, "name": ts.bpmn_name, "due": due}
    return timers


def _restarted(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"event": t["event"], "name": t["name"], "was": t["due"], "now": after[guid]["due"]}
        for guid, t in before.items()
        if guid in after and after[guid]["due"] != t["due"]
    ]


def _apply(workflow: BpmnWorkflow, plan: Plan, assessment: _Assessment) -> None:
    migrate_workflow(assessment.top, workflow, plan.target.spec, reset_mask=RESET)
    for sp_id, sp in workflow.subprocesses.items():
        migrate_workflow(
            assessment.subprocesses[sp_id], sp, plan.target.subprocess_specs[sp.spec.name], reset_mask=RESET
        )
        if not sp.is_completed():
            # As spiff-arena does: the reset above left the task that runs the subprocess unstarted.
            workflow.get_task_from_id(sp_id)._set_state(TaskState.STARTED)
    workflow.subprocess_specs = plan.target.subprocess_specs
    workflow.definition_id = plan.to_id


def _stranded(workflow: BpmnWorkflow, plan: Plan) -> list[str]:
    """Tasks left on a spec the target version does not have: the stored state would not load."""
    found = [
        t.task_spec.name
        for t in workflow.tasks.values()
        if t.task_spec.name not in plan.target.spec.task_specs
    ]
    for sp in workflow.subprocesses.values():
        specs = plan.target.subprocess_specs[sp.spec.name].task_specs
        found += [t.task_spec.name for t in sp.tasks.values() if t.task_spec.name not in specs]
    return sorted(set(found))


def _stranded_verdict(stranded: list[str], before: list[dict[str, str]]) -> Verdict:
    return Verdict("refused", f"迁移后这些环节在新版本中不存在：{'、'.join(stranded)}", {"at": before})


def _skip(case: Case | None, plan: Plan, from_id: int) -> Verdict | None:
    if case is None or case.status not in OPEN:
        return Verdict("skipped", "案件已办结")
    if case.definition_id != from_id:
        return Verdict("skipped", f"案件已不在版本 {plan.from_version} 上")
    return None


def dry_run_case(case: Case | None, plan: Plan, from_id: int) -> Verdict:
    """What migrating a case would do, worked out on an in-memory copy; nothing is written."""
    skipped = _skip(case, plan, from_id)
    if skipped is not None:
        return skipped
    assert case is not None
    workflow = serializer.loads(case.state, plan.source)
    workflow.script_engine = PythonScriptEngine(environment=ENVIRONMENT)
    before, timers = _position(workflow), _timers(workflow)
    assessment = assess(workflow, plan)
    if assessment.blockers:
        return Verdict(
            "refused", _refusal(assessment.blockers), {"at": before, "blockers": assessment.blockers}
        )
    _apply(workflow, plan, assessment)
    stranded = _stranded(workflow, plan)
    if stranded:
        return _stranded_verdict(stranded, before)
    report = {
        "at": before,
        "will_be_at": _position(workflow),
        "timers_restart": _restarted(timers, _timers(workflow)),
    }
    return Verdict("movable", None, report)


def migrate_case(session: Session, case: Case, plan: Plan, from_id: int) -> Verdict:
    """Move one locked case onto the target version in the caller's transaction: re-project its inbox
    and wake-ups through the engine's step, switch its definition, and record `case.migrate`."""
    skipped = _skip(case, plan, from_id)
    if skipped is not None:
        return skipped
    workflow = serializer.loads(case.state, plan.source)
    before, timers = _position(workflow), _timers(workflow)
    assessment = assess(workflow, plan)
    if assessment.blockers:
        return Verdict(
            "refused", _refusal(assessment.blockers), {"at": before, "blockers": assessment.blockers}
        )
    inbox_before = _inbox_fields(workflow)
    step = Step.begin(session, case, SYSTEM, plan.target, workflow)
    _apply(workflow, plan, assessment)
    stranded = _stranded(workflow, plan)
    if stranded:
        return _stranded_verdict(stranded, before)
    if timers:
        # Reset timers have new deadlines; the step writes their wake-ups afresh from the workflow.
        session.execute(delete(CaseWakeup).where(CaseWakeup.case_id == case.id, CaseWakeup.kind == "timer"))
    deferred = step.advance()
    report = {
        "at": before,
        "now_at": _position(workflow),
        "timers_restarted": _restarted(timers, _timers(workflow)),
    }
    step.record(
        "case.migrate",
        "case",
        case.id,
        {
            "key": plan.key,
            "from": plan.from_version,
            "to": plan.to_version,
            "job": plan.job_id,
            "requested_by": plan.requested_by,
            **report,
        },
    )
    step.finish(deferred)
    case.definition_id = plan.to_id
    _refresh_ready_rows(session, inbox_before, _inbox_fields(workflow))
    return Verdict("migrated", None, report)


def _inbox_fields(workflow: BpmnWorkflow) -> dict[str, dict[str, str | None]]:
    """What the inbox shows of each ready user task, by task id."""
    return {
        str(t.id): {
            "spec_name": t.task_spec.bpmn_id,
            "title": t.task_spec.bpmn_name or t.task_spec.bpmn_id,
            "role": role_of(t.task_spec),
            "form_key": properties(t.task_spec).get("formKey"),
        }
        for t in workflow.get_tasks(state=TaskState.READY, manual=True)
    }


def _refresh_ready_rows(
    session: Session, before: dict[str, dict[str, str | None]], after: dict[str, dict[str, str | None]]
) -> None:
    """Inbox rows of tasks that stayed ready take the new version's title, role and form (the step
    adds rows only for new tasks); a claim made under another role is released."""
    for guid, fields in after.items():
        old = before.get(guid)
        if old is None or old == fields:
            continue
        released = {"assignee": None, "claimed_at": None} if old["role"] != fields["role"] else {}
        session.execute(
            update(CaseTask)
            .where(CaseTask.task_guid == guid, CaseTask.state == "ready")
            .values(**fields, **released)
        )


# Working through jobs.


def run(sessions: sessionmaker[Session], *, job_id: int | None = None, limit: int = 500) -> int:
    """Handle up to `limit` cases of the oldest unfinished job (or of `job_id`); returns how many.

    Any number of workers may run this at once: items are claimed with `FOR UPDATE SKIP LOCKED`.
    """
    with sessions() as session, session.begin():
        query = select(MigrationJob).where(MigrationJob.status != "done")
        if job_id is not None:
            query = query.where(MigrationJob.id == job_id)
        job = session.scalars(query.order_by(MigrationJob.id).limit(1)).first()
        if job is None:
            return 0
        if job.status == "queued":
            session.execute(
                update(MigrationJob)
                .where(MigrationJob.id == job.id, MigrationJob.status == "queued")
                .values(status="running", started_at=utcnow())
            )
        plan = Plan.build(session, job)
        from_id, dry = job.from_definition_id, job.dry_run
    # Claims move forward from the last item this run took: settled items are not scanned again
    # (their old index entries linger until vacuum). One sweep from the start at the end picks up
    # items another worker released by rolling back.
    handled, after = 0, 0
    while handled < limit:
        if dry:
            count, last = _dry_run_batch(sessions, plan, from_id, after, min(DRY_RUN_BATCH, limit - handled))
        else:
            count, last = _migrate_next(sessions, plan, from_id, after)
        if count:
            handled, after = handled + count, last
        elif after:
            after = 0
        else:
            _finish(sessions, plan.job_id)
            break
    return handled


def _claim(session: Session, job_id: int, after: int, n: int) -> list[MigrationItem]:
    return list(
        session.scalars(
            select(MigrationItem)
            .where(
                MigrationItem.job_id == job_id, MigrationItem.outcome == "pending", MigrationItem.id > after
            )
            .order_by(MigrationItem.id)
            .limit(n)
            .with_for_update(skip_locked=True)
        )
    )


def _settle(item: MigrationItem, verdict: Verdict) -> None:
    item.outcome, item.reason, item.report, item.processed_at = (
        verdict.outcome,
        verdict.reason,
        verdict.report,
        utcnow(),
    )


def _dry_run_batch(
    sessions: sessionmaker[Session], plan: Plan, from_id: int, after: int, n: int
) -> tuple[int, int]:
    with sessions() as session, session.begin():
        claimed = _claim(session, plan.job_id, after, n)
        found = {
            c.id: c for c in session.scalars(select(Case).where(Case.id.in_([i.case_id for i in claimed])))
        }
        for item in claimed:
            try:
                verdict = dry_run_case(found.get(item.case_id), plan, from_id)
            except Exception as err:
                log.exception("migration %s: dry run of case %s failed", plan.job_id, item.case_id)
                verdict = Verdict("failed", _failure(err))
            _settle(item, verdict)
        return len(claimed), claimed[-1].id if claimed else after


def _migrate_next(sessions: sessionmaker[Session], plan: Plan, from_id: int, after: int) -> tuple[int, int]:
    item_id = None
    try:
        with sessions() as session, session.begin():
            _unsynchronised(session)
            claimed = _claim(session, plan.job_id, after, 1)
            if not claimed:
                return 0, after
            [item] = claimed
            item_id = item.id
            case = session.scalars(
                select(Case)
                .where(Case.id == item.case_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).one()
            _settle(item, migrate_case(session, case, plan, from_id))
    except Exception as err:
        if item_id is None:
            raise
        log.exception("migration %s: case item %s failed", plan.job_id, item_id)
        with sessions() as session, session.begin():
            item = session.scalars(
                select(MigrationItem).where(MigrationItem.id == item_id).with_for_update()
            ).one()
            if item.outcome == "pending":
                _settle(item, Verdict("failed", _failure(err)))
    return 1, item_id


def _unsynchronised(session: Session) -> None:
    """Commit without waiting for the WAL flush (PostgreSQL). A crash can lose only the last few
    commits, each whole (case, inbox, audit and item together), and their items stay pending, so the
    job redoes them; meanwhile thousands of per-case commits do not each wait for the disk."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO off"))


def _failure(err: Exception) -> str:
    detail = getattr(err, "detail", None) or next(iter(str(err).splitlines()), "") or type(err).__name__
    return f"迁移失败，案件保持原版本：{detail}"[:2000]


def _finish(sessions: sessionmaker[Session], job_id: int) -> None:
    with sessions() as session, session.begin():
        job = session.scalars(
            select(MigrationJob)
            .where(MigrationJob.id == job_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        if job.status == "done":
            return
        tally = counts(session, job=job)
        if tally["pending"]:
            return
        job.status, job.finished_at = "done", utcnow()
        audit.record(
            session,
            actor=SYSTEM,
            action="migration.finish",
            object_type="migration",
            object_id=job.id,
            payload={
                "key": job.process_key,
                "from": job.from_version,
                "to": job.to_version,
                "dry_run": job.dry_run,
                **tally,
            },
        )
