"""Eight writers appending at once for ten seconds leave valid chains with no gaps and every event."""

import random
import threading
import time

from sqlalchemy import func, select

from canbao import audit
from canbao.audit.models import AuditChainHead, AuditEvent

from .helpers import CLERK, run

WRITERS = 8
SECONDS = 10


def test_eight_concurrent_writers_for_ten_seconds(db):
    committed = [0] * WRITERS
    errors: list[BaseException] = []
    stop = time.monotonic() + SECONDS
    start = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        rng = random.Random(n)
        try:
            start.wait()
            while time.monotonic() < stop:
                events = rng.randint(1, 5)
                rollback = rng.random() < 0.1
                try:
                    with db.sessions() as s, s.begin():
                        for i in range(events):
                            audit.record(
                                s,
                                actor=CLERK,
                                action="task.complete",
                                object_type="task",
                                object_id=f"w{n}-{i}",
                                payload={"writer": n, "i": i},
                                case_id=n + 1,
                            )
                        if rollback:
                            raise _RolledBack
                    committed[n] += events
                except _RolledBack:
                    pass
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(committed), committed

    report = run(db)
    assert report.ok, report.as_dict()["breaks"]
    assert report.events == sum(committed)
    with db.sessions() as s:
        per_chain = dict(s.execute(select(AuditEvent.chain, func.count()).group_by(AuditEvent.chain)).all())
        heads = dict(s.execute(select(AuditChainHead.chain, AuditChainHead.seq)).all())
        by_writer = dict(
            s.execute(select(AuditEvent.case_id, func.count()).group_by(AuditEvent.case_id)).all()
        )
    assert len(per_chain) > 1  # the writers spread over chains instead of queueing on one
    assert all(heads[c] == n for c, n in per_chain.items())  # seq 1..n in every chain: no gaps
    assert by_writer == {n + 1: committed[n] for n in range(WRITERS)}


class _RolledBack(Exception):
    pass
