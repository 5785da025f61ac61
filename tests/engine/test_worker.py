"""The worker: deferred operations wait and retry visibly; timers fire exactly once across workers."""

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from canbao.audit.models import AuditEvent
from canbao.db import make_engine, make_sessionmaker, utcnow
from canbao.errors import Unavailable
from engine import cases, definitions, operations, worker
from engine.models import Case, CaseWakeup

from . import samples
from .office import MANAGER, PLATFORM1, SURVEYOR1, id_number, registration


class Flaky:
    """A deferred operation whose outside system is down for the first `failures` calls."""

    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0

    def __call__(self, ctx, **params):
        self.calls += 1
        if self.calls <= self.failures:
            raise Unavailable("对象存储暂不可用")
        return {"sealed_case": ctx.case_id}


def test_deferred_operation_waits_and_retries_until_it_succeeds(office):
    flaky = Flaky(failures=2)
    operations.register("test.flaky", flaky, title="测试归档", deferred=True)
    xml = samples.process(samples.service_task("test.flaky"), lane="县级经办机构")
    with office.db.sessions() as s, s.begin():
        definitions.deploy(s, actor=MANAGER, bpmn_xml=xml)
    with office.db.sessions() as s, s.begin():
        case_id = cases.start(s, actor=PLATFORM1, process_key="sample", area="370102001002").id
    case = office.case(case_id)
    assert (case.status, case.status_detail, flaky.calls) == ("waiting", "等待测试归档", 0)

    assert worker.run_due(office.db.sessions) == 0
    case = office.case(case_id)
    assert (
        case.status == "waiting"
        and "第 1 次尝试失败" in case.status_detail
        and "对象存储暂不可用" in case.status_detail
    )
    assert worker.run_due(office.db.sessions) == 0  # backing off: not due again yet
    assert flaky.calls == 1

    later = utcnow() + timedelta(hours=1)
    assert worker.run_due(office.db.sessions, now=later) == 0
    assert worker.run_due(office.db.sessions, now=later + timedelta(hours=1)) == 1
    case = office.case(case_id)
    assert (case.status, case.outcome, flaky.calls) == ("completed", "end", 3)
    with office.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(CaseWakeup)) == 0
        runs = s.scalars(select(AuditEvent.payload).where(AuditEvent.action == "service.run")).all()
        assert len(runs) == 1 and '"sealed_case":' in runs[0]


def test_timers_fire_once_with_concurrent_workers(pg_office):
    started = []
    for n in range(12):
        person = id_number(seq=f"{200 + 2 * n}")
        case_id = pg_office.start(person=person, data={"timeouts": {"initial_review": "PT1S"}})
        pg_office.complete(SURVEYOR1, case_id, "survey", registration(person))
        started.append(case_id)
    time.sleep(1.2)
    fired = []

    def poll():
        fired.append(worker.run_due(pg_office.db.sessions))

    threads = [threading.Thread(target=poll) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(fired) == 12
    with pg_office.db.sessions() as s:
        fires = s.scalars(select(AuditEvent.case_id).where(AuditEvent.action == "timer.fire")).all()
    assert sorted(fires) == sorted(started)
    assert all(pg_office.task(c).supervised_at is not None for c in started)  # 督办, still at 初审


def test_a_case_busy_with_a_user_is_skipped_not_blocked(pg_office):
    person = id_number(seq="301")
    case_id = pg_office.start(person=person, data={"timeouts": {"initial_review": "PT0.5S"}})
    pg_office.complete(SURVEYOR1, case_id, "survey", registration(person))
    time.sleep(0.6)
    with pg_office.db.sessions() as holder, holder.begin():
        holder.scalars(select(Case).where(Case.id == case_id).with_for_update()).one()
        assert worker.run_due(pg_office.db.sessions) == 0
    assert worker.run_due(pg_office.db.sessions) == 1
    assert pg_office.task(case_id).supervised_at is not None


def test_serve_runs_the_chores_and_survives_a_failing_one(office):
    calls = []

    def broken():
        calls.append("broken")
        raise RuntimeError("archive unreachable")

    def stop():
        calls.append("stop")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        worker.serve(office.db.sessions, interval=0, chores=[broken, stop])
    assert calls == ["broken", "stop"]


def test_serve_outlives_a_lost_database_connection(pg_office):
    """A server restart between polls: the poll on the dead connection fails, the next one runs."""
    engine = make_engine(pg_office.db.url, pool_size=1, max_overflow=0)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        backend = s.scalar(text("SELECT pg_backend_pid()"))
    with pg_office.db.engine.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:p, 5000)"), {"p": backend})
    polls = []

    def stop_at_second_poll():
        polls.append(1)
        if len(polls) == 2:
            raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            worker.serve(sessions, interval=0, chores=[stop_at_second_poll])
    finally:
        engine.dispose()
    assert len(polls) == 2
