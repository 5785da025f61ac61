"""Full survey lifecycles through the engine on PostgreSQL, against raw SpiffWorkflow in memory.

    python -m bench.lifecycle [--cases 2000] [--single 300] [--rounds 4]

Each case: start → 入户调查 → 初审 → 审定 (registry.store inline) → 入库 (归档 by the worker), five
persisted transitions. The baseline runs the same BPMN with SpiffWorkflow's own script engine and
full serializer, parsed once, serializing and deserializing the whole workflow at each wait — the
least any persistence must do. `ratio_vs_raw` compares one worker's time per case with the baseline's;
the two alternate in rounds, so that a change in the machine's speed during the run falls on both.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from collections import Counter
from datetime import date, timedelta

import psycopg
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Engine

from canbao.actors import Actor
from canbao.config import PROJECT_ROOT
from canbao.db import make_engine, make_sessionmaker
from composition.wiring import wire
from engine import cases, specs, worker
from engine.models import Case, CaseTask
from forms.idnumber import check_char

from .scratch import deploy_processes, scratch_database, seed_office

VILLAGE = "370102001002"
SURVEYOR = Actor(sub="surveyor1", roles=("surveyor",), area=VILLAGE[:9], teams=(1,))
PLATFORM = Actor(sub="platform1", roles=("platform_reviewer",), area=VILLAGE[:9])
COUNTY = Actor(sub="county1", roles=("county_approver",), area=VILLAGE[:6])
APPROVE = {"decision": "approve"}
BPMN = PROJECT_ROOT / "bpmn" / "survey_registration.bpmn"


def person(i: int) -> str:
    born = date(1950, 1, 1) + timedelta(days=i // 400 % 15_000)
    body = f"{VILLAGE[:6]}{born:%Y%m%d}{i % 400 + 100:03d}"
    return body + check_char(body)


def registration(pid: str) -> dict:
    return {
        "id_type": "01",
        "id_number": pid,
        "name": "张三",
        "sex": "1" if int(pid[16]) % 2 else "2",
        "birth_date": f"{pid[6:10]}-{pid[10:12]}-{pid[12:14]}",
        "ethnicity": "01",
        "hukou": {"division": VILLAGE, "address": "济南市历下区解放路1号", "nature": "10"},
        "residence": {"division": VILLAGE, "address": "济南市历下区解放路1号"},
        "phone": "13805310000",
        "employment": {"status": "11", "employer": "济南某某有限公司"},
        "insurance": [{"scheme": "110", "status": "1", "place": VILLAGE[:6], "first_date": "2015-03-01"}],
        "insured_elsewhere": False,
        "survey": {
            "channel": "survey",
            "team": "JFL-01",
            "date": "2026-11-20",
            "signed": True,
            "surveyors": [{"name": "李四", "card_no": "DC0001"}, {"name": "王五", "card_no": "DC0002"}],
        },
    }


def _ready_guid(session, case_id: int) -> str:
    return session.scalar(
        text("SELECT task_guid FROM case_task WHERE case_id = :c AND state = 'ready'"), {"c": case_id}
    )


def run_cases(url: str, first: int, count: int) -> tuple[float, list[int]]:
    """Run `count` lifecycles in this process; returns the wall time and the state sizes at each wait."""
    wire()
    engine = make_engine(url, pool_size=2)
    sessions = make_sessionmaker(engine)
    sizes: list[int] = []
    ids: list[int] = []
    started = time.perf_counter()
    for i in range(first, first + count):
        pid = person(i)
        with sessions() as s, s.begin():
            case = cases.start(
                s,
                actor=PLATFORM,
                process_key="survey_registration",
                area=VILLAGE,
                person_id=pid,
                person_name="张三",
                team_id=1,
            )
            ids.append(case.id)
            sizes.append(len(case.state))
        for actor, data in ((SURVEYOR, registration(pid)), (PLATFORM, APPROVE), (COUNTY, APPROVE)):
            with sessions() as s, s.begin():
                case = cases.complete(s, actor=actor, task_id=_ready_guid(s, ids[-1]), data=data)
                sizes.append(len(case.state))
        # 归档 runs in the worker: one due wake-up per lifecycle, whichever case it belongs to (with
        # several processes polling, another may hold this one); what is left is drained at the end.
        worker.run_due(sessions, limit=1)
    while True:  # another process may still be sealing one of these cases
        worker.run_due(sessions)
        with sessions() as s, s.begin():
            ended = s.execute(select(Case.status, func.length(Case.state)).where(Case.id.in_(ids))).all()
        if all(status != "waiting" for status, _ in ended):
            break
    wall = time.perf_counter() - started
    engine.dispose()
    assert len(ended) == count and {status for status, _ in ended} == {"completed"}, Counter(ended)
    return wall, sizes + [size for _, size in ended]


def count_statements(url: str, n: int = 20) -> tuple[float, float]:
    """Statements and commits per lifecycle, counted on a separate warm-up run (the timed runs carry
    no listeners)."""
    counts = {"statements": 0, "commits": 0}

    def statement(*_args) -> None:
        counts["statements"] += 1

    def commit(_conn) -> None:
        counts["commits"] += 1

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Engine, "commit", commit)
    try:
        run_cases(url, 20_000_000, n)
    finally:
        event.remove(Engine, "before_cursor_execute", statement)
        event.remove(Engine, "commit", commit)
    return counts["statements"] / n, counts["commits"] / n


def postgres_floor(url: str, statements: float, commits: float) -> tuple[float, float, float]:
    """This server's durable commit and round trip, and the least time per case that `statements`
    round trips of which `commits` are durable commits take, before any work in them."""
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute("CREATE TABLE bench_floor (x int)")
        conn.commit()
        started = time.perf_counter()
        for _ in range(300):
            conn.execute("INSERT INTO bench_floor VALUES (1)")
            conn.commit()
        commit = (time.perf_counter() - started) / 300
        started = time.perf_counter()
        for _ in range(3000):
            conn.execute("SELECT 1").fetchone()
        trip = (time.perf_counter() - started) / 3000
        conn.execute("DROP TABLE bench_floor")
        conn.commit()
    return commit, trip, commits * commit + (statements - commits) * trip


def _worker_main(url: str, first: int, count: int, out: mp.Queue) -> None:
    try:
        out.put(run_cases(url, first, count))
    except BaseException as exc:
        out.put(exc)
        raise


def raw_baseline(n: int) -> float:
    """Seconds per case for the same lifecycle in memory with SpiffWorkflow's defaults."""
    parsed = specs.parse(BPMN.read_text(), check=False)
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))

    class Engine(type(BpmnWorkflow(parsed.spec, parsed.subprocess_specs).script_engine)):
        def call_service(self, task, **kwargs):
            return "{}"

    engine = Engine()
    started = time.perf_counter()
    for i in range(n):
        wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine)
        wf.get_tasks(state=TaskState.READY)[0].data.update({"timeouts": {}})
        wf.do_engine_steps()
        for key, data in (
            ("registration", registration(person(i))),
            ("initial_review", APPROVE),
            ("final_review", APPROVE),
        ):
            wf = serializer.deserialize_json(serializer.serialize_json(wf))
            wf.script_engine = engine
            [task] = wf.get_tasks(state=TaskState.READY, manual=True)
            task.data[key] = data
            task.run()
            wf.do_engine_steps()
        assert wf.is_completed()
        serializer.serialize_json(wf)
    return (time.perf_counter() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000, help="lifecycles in the multi-process run")
    parser.add_argument("--single", type=int, default=300, help="lifecycles in the single-worker run")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of baseline and one worker")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    # The archive's embedded store (a local directory) lives in the data directory.
    os.environ.setdefault("CANBAO_DATA_DIR", tempfile.mkdtemp(prefix="canbao-bench-"))

    with scratch_database() as url:
        deploy_processes(url)
        assert seed_office(url, township=VILLAGE[:9], county=VILLAGE[:6]) == 1  # the cases' team_id
        raw_baseline(20)  # warm-up of both sides: spec caches, connections, first-call paths
        run_cases(url, 10_000_000, 20)
        raw_s = single = 0.0
        sizes: list[int] = []
        share = args.single // args.rounds
        for r in range(args.rounds):
            raw_s += raw_baseline(share) * share
            wall, part = run_cases(url, r * share, share)
            single += wall
            sizes += part
        raw, per_case = raw_s / (share * args.rounds), single / (share * args.rounds)
        print(f"raw SpiffWorkflow in memory: {raw * 1000:.2f} ms per case ({1 / raw:.0f} cases/s, one core)")
        print(f"canbao, one worker: {per_case * 1000:.2f} ms per case over {share * args.rounds} cases")
        statements, commits = count_statements(url)
        commit, trip, floor = postgres_floor(url, statements, commits)
        print(
            f"PostgreSQL here: durable commit {commit * 1000:.2f} ms, round trip {trip * 1000:.3f} ms; "
            f"a case's {statements:.0f} statements ({commits:.0f} commits; 3 are the harness's task lookups) "
            f"take at least {floor * 1000:.2f} ms = {floor / raw:.2f}× the raw case, before any work"
        )
        out: mp.Queue = mp.get_context("spawn").Queue()
        share = args.cases // args.workers
        procs = [
            mp.get_context("spawn").Process(
                target=_worker_main, args=(url, 1_000_000 + w * share, share, out)
            )
            for w in range(args.workers)
        ]
        started = time.perf_counter()
        for p in procs:
            p.start()
        results = [out.get() for _ in procs]
        if failed := [r for r in results if isinstance(r, BaseException)]:
            raise RuntimeError("a worker process failed") from failed[0]
        for p in procs:
            p.join()
        wall = time.perf_counter() - started
        total = share * args.workers
        sizes += [s for _, part in results for s in part]
        engine = make_engine(url)
        with engine.connect() as conn:
            done = conn.scalar(text("SELECT count(*) FROM cases WHERE status = 'completed'"))
            tasks = conn.scalar(text(f"SELECT count(*) FROM {CaseTask.__tablename__}"))
        engine.dispose()
        print(
            f"canbao, {args.workers} workers: {total} cases in {wall:.1f} s ({total / wall:.0f} cases/s); "
            f"{done} completed cases, {tasks} task rows in the database"
        )
        report = {
            "cases_per_s": round(total / wall, 1),
            "raw_cases_per_s": round(1 / raw, 1),
            "ratio_vs_raw": round(per_case / raw, 2),
            "state_bytes_p50": int(statistics.median(sizes)),
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
