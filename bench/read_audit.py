"""What the read-audit costs an inbox page: the page's transaction with its `person.read` events against
the same transaction without them.

    python -m bench.read_audit [--tasks N] [--requests R] [--seed K] [--pg URL]

Loads N open tasks as bench.inbox does (COPY), then, alternating on one connection, runs each inbox
page of 50 rows as the route does (`inbox.query`, then `audit.record_reads` for each person shown,
then COMMIT, which appends the events to the hash chain in one `audit_append_events` call; the append
and the COMMIT are timed apart) and, as the baseline, the same page and COMMIT without the events.

Last line: {"tasks": …, "page_p50_ms": …, "page_audited_p50_ms": …, "audit_p50_ms": …,
"audit_share_p50": …, "events_per_page": …}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime

from canbao import audit, migrate
from canbao.audit import chain
from canbao.db import make_engine, make_sessionmaker
from engine import inbox

from .inbox import _deploy, _ms, _p, load, requests
from .scratch import PG_ADMIN, scratch_database


def measure(url: str, office, count: int, seed: int) -> dict[str, float]:
    engine = make_engine(url, pool_size=1)
    sessions = make_sessionmaker(engine)
    plain: list[float] = []
    audited: list[float] = []
    events: list[int] = []

    parts: dict[str, list[float]] = {"append": [], "commit_audited": [], "commit_plain": []}

    def page(r, with_audit: bool) -> float:
        """The page's time; its append (what the before-commit hook runs) and COMMIT timed apart."""
        tick = time.perf_counter()
        with sessions() as s:
            s.begin()
            shown = inbox.query(s, actor=r.actor, q=r.q).items
            if with_audit:
                events.append(
                    audit.record_reads(
                        s,
                        actor=r.actor,
                        shown=((t.person_id, t.area, t.case_id) for t in shown),
                        purpose="list",
                        route="GET /tasks",
                    )
                )
                pending = s.info.pop(chain.PENDING, [])
                appended = time.perf_counter()
                if pending:
                    s.execute(chain._APPEND, chain._append_arguments(pending))
                parts["append"].append(time.perf_counter() - appended)
            committed = time.perf_counter()
            s.commit()
            parts["commit_audited" if with_audit else "commit_plain"].append(time.perf_counter() - committed)
        return time.perf_counter() - tick

    for r in requests(office, 200, seed + 1):  # warm the indexes and the statement caches
        page(r, r.kind != "all")
    for i, r in enumerate(x for x in requests(office, count, seed) if not x.next_page):
        first = i % 2 == 0
        a = page(r, first)
        b = page(r, not first)
        audited.append(a if first else b)
        plain.append(b if first else a)
    engine.dispose()
    p50, p95 = _p(plain, 50), _p(plain, 95)
    a50, a95 = _p(audited, 50), _p(audited, 95)
    return {
        "page_p50_ms": _ms(p50),
        "page_p95_ms": _ms(p95),
        "page_audited_p50_ms": _ms(a50),
        "page_audited_p95_ms": _ms(a95),
        "audit_p50_ms": _ms(a50 - p50),
        "audit_share_p50": round((a50 - p50) / a50, 2),
        "events_per_page": round(sum(events) / max(1, len(events)), 1),
        **{f"{name}_p50_ms": _ms(_p(values, 50)) for name, values in parts.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--pg", default=PG_ADMIN, help="URL of a PostgreSQL admin database")
    args = parser.parse_args(argv)
    with scratch_database("canbao_bench_read_audit", admin_url=args.pg) as url:
        migrate.upgrade(url)
        _deploy(url)
        office = load(url, args.tasks, args.seed, datetime.now(UTC))
        figures = measure(url, office, args.requests, args.seed)
    print(
        f"inbox page of 50 with {args.tasks:,} open tasks: p50 {figures['page_p50_ms']} ms without the "
        f"read-audit, {figures['page_audited_p50_ms']} ms with it ({figures['events_per_page']} person.read "
        f"events per page): the audit is {figures['audit_p50_ms']} ms, "
        f"{figures['audit_share_p50']:.0%} of the audited page: the append {figures['append_p50_ms']} ms, "
        f"COMMIT {figures['commit_audited_p50_ms']} ms "
        f"(with nothing written {figures['commit_plain_p50_ms']} ms)"
    )
    print(f"load average (1 min) at the end: {round(os.getloadavg()[0], 1)} on {os.cpu_count()} cores")
    print(json.dumps({"tasks": args.tasks, **figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
