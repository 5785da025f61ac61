"""Bulk migration of running cases on PostgreSQL, against raw SpiffWorkflow migrating them in memory.

    python -m bench.migration [--cases 2000] [--workers 2]

Cases wait at the survey of survey_registration v1; v2 adds a task after it, so every case can move.
Measured: a dry run, a real migration by one worker and one by several worker processes (each case
in its own transaction: lock, migrate, re-project inbox and wake-ups, audit). The baseline does the
least any migration must: deserialize the full SpiffWorkflow JSON, diff against the new spec, check
spiff-arena's rule, migrate and serialize again, in memory. `ratio_vs_raw` compares one worker's time
per case with the baseline's.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time
from datetime import date, timedelta

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import diff_workflow, filter_tasks, migrate_workflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import text

from canbao import migrate
from canbao.actors import Actor
from canbao.config import PROJECT_ROOT
from canbao.db import make_engine, make_sessionmaker
from composition.wiring import wire
from engine import cases, definitions, migration, specs
from forms.idnumber import check_char

from .scratch import scratch_database

VILLAGE = "370102001002"
PLATFORM = Actor(sub="platform1", roles=("platform_reviewer",), area=VILLAGE[:9])
MANAGER = Actor(sub="manager1", roles=("process_manager",), area="")
BPMN = (PROJECT_ROOT / "bpmn" / "survey_registration.bpmn").read_text(encoding="utf-8")
V2 = BPMN.replace(
    '<bpmn:sequenceFlow id="f_survey" sourceRef="survey" targetRef="initial_review" />',
    '<bpmn:userTask id="precheck" name="材料预审"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="formKey" value="review_decision" /></spiffworkflow:properties>'
    "</bpmn:extensionElements></bpmn:userTask>"
    '<bpmn:sequenceFlow id="f_precheck" sourceRef="precheck" targetRef="initial_review" />'
    '<bpmn:sequenceFlow id="f_survey" sourceRef="survey" targetRef="precheck" />',
).replace(
    "<bpmn:flowNodeRef>initial_review</bpmn:flowNodeRef>",
    "<bpmn:flowNodeRef>precheck</bpmn:flowNodeRef><bpmn:flowNodeRef>initial_review</bpmn:flowNodeRef>",
)
RESET = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def person(i: int) -> str:
    body = (
        f"{VILLAGE[:6]}{(date(1950, 1, 1) + timedelta(days=i // 900)).strftime('%Y%m%d')}{i % 900 + 100:03d}"
    )
    return body + check_char(body)


def raw_baseline(n: int) -> float:
    """Seconds per case to migrate a serialized workflow in memory with SpiffWorkflow alone."""
    old, new = specs.parse(BPMN, check=False), specs.parse(V2, check=False)
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    states = []
    for _ in range(n):
        wf = BpmnWorkflow(old.spec, old.subprocess_specs)
        wf.get_tasks(state=TaskState.READY)[0].data.update({"timeouts": {}})
        wf.do_engine_steps()
        states.append(serializer.serialize_json(wf))
    started = time.perf_counter()
    for state in states:
        wf = serializer.deserialize_json(state)
        top, _ = diff_workflow(serializer.registry, wf, new.spec, new.subprocess_specs)
        assert not filter_tasks(top.changed + top.removed, state=TaskState.COMPLETED | TaskState.STARTED)
        migrate_workflow(top, wf, new.spec, reset_mask=RESET)
        wf.subprocess_specs = new.subprocess_specs
        wf.do_engine_steps()
        serializer.serialize_json(wf)
    return (time.perf_counter() - started) / n


def _start(url: str, first: int, count: int) -> None:
    wire()
    sessions = make_sessionmaker(make_engine(url, pool_size=2))
    for at in range(first, first + count, 500):
        with sessions() as s, s.begin():
            for i in range(at, min(first + count, at + 500)):
                cases.start(
                    s,
                    actor=PLATFORM,
                    process_key="survey_registration",
                    area=VILLAGE,
                    person_id=person(i),
                    team_id=1,
                )


def _migrate(url: str, job_id: int) -> None:
    wire()
    migration.run(make_sessionmaker(make_engine(url, pool_size=2)), job_id=job_id, limit=10**9)


def _parallel(target, jobs: list[tuple]) -> float:
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=target, args=args) for args in jobs]
    started = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    return time.perf_counter() - started


def _job(sessions, *, to: int, dry_run: bool, case_ids: list[int] | None = None) -> int:
    with sessions() as s, s.begin():
        return migration.request(
            s,
            actor=MANAGER,
            key="survey_registration",
            from_version=1,
            to_version=to,
            dry_run=dry_run,
            case_ids=case_ids,
        ).id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000, help="cases in each migration run")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    n, w = args.cases, args.workers

    raw = raw_baseline(min(n, 500))
    print(f"raw SpiffWorkflow, in memory: {raw * 1000:.2f} ms per case ({1 / raw:.0f} cases/s, one core)")
    with scratch_database() as url:
        migrate.upgrade(url)
        wire()
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        with sessions() as s, s.begin():
            definitions.deploy_directory(s, actor=MANAGER, directory=PROJECT_ROOT / "bpmn")
        share = -(-2 * n // w)
        _parallel(_start, [(url, k * share, min(share, 2 * n - k * share)) for k in range(w)])
        with sessions() as s, s.begin():
            to = definitions.deploy(s, actor=MANAGER, bpmn_xml=V2)[0].version
        with engine.connect() as conn:
            ids = [r[0] for r in conn.execute(text("SELECT id FROM cases ORDER BY id"))]

        started = time.perf_counter()
        migration.run(sessions, job_id=_job(sessions, to=to, dry_run=True, case_ids=ids[:n]), limit=10**9)
        dry = time.perf_counter() - started
        print(f"dry run, one worker: {n} cases in {dry:.1f} s ({n / dry:.0f} cases/s)")

        one = _parallel(_migrate, [(url, _job(sessions, to=to, dry_run=False, case_ids=ids[:n]))])
        print(f"migration, one worker: {n} cases in {one:.1f} s ({n / one:.0f} cases/s)")
        job = _job(sessions, to=to, dry_run=False, case_ids=ids[n:])
        many = _parallel(_migrate, [(url, job)] * w)
        print(f"migration, {w} workers: {n} cases in {many:.1f} s ({n / many:.0f} cases/s)")
        with sessions() as s:
            done = migration.counts(s, job=migration.get_or_raise(s, key="survey_registration", job_id=job))
        assert done["migrated"] == n, done
        engine.dispose()
    print(
        json.dumps(
            {
                "bench": "migration",
                "cases": n,
                "workers": w,
                "raw_spiff_ms_per_case": round(raw * 1000, 3),
                "dry_run_cases_per_s": round(n / dry, 1),
                "migrate_one_worker_cases_per_s": round(n / one, 1),
                f"migrate_{w}_workers_cases_per_s": round(n / many, 1),
                "ratio_vs_raw": round((one / n) / raw, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
