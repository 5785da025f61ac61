"""Inbox pages with 1,000,000 open tasks: `engine.inbox.query` against the same page as one hand-written
SQL statement.

    python -m bench.inbox [--tasks N] [--requests R] [--seed K] [--pg URL]

Creates a fresh PostgreSQL database (dropped at the end), migrates it to head, loads N ready tasks and
their cases spread over the Jinan villages (codes 3701…) with COPY, vacuums, warms up on other pages,
then times pages of 50 rows for township platform reviewers and county approvers with filters (status,
overdue, process, text, age order, next page). The baseline, timed in the same run on the same
connection, is each page as one hand-written SQL statement; both must return the same rows. The
per-status counts are a separate call
(`inbox.counts`) and are timed separately.

The last line is one JSON object: {"tasks": …, "p50_ms": …, "p95_ms": …, "plain_sql_p95_ms": …}.
Bars: p95_ms ≤ 20 and ≤ 2× plain_sql_p95_ms.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, text

from canbao import migrate
from canbao.actors import Actor
from canbao.db import make_engine, make_sessionmaker
from engine import inbox
from forms import divisions, idnumber

from .scratch import PG_ADMIN, scratch_database

BAR_MS = 20.0
BAR_RATIO = 2.0
PAGE = 50
VILLAGES = divisions.DATA_DIR / "villages_jinan_dongcheng.csv"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红梅玉文志海燕鹏飞宇晨浩然子轩欣怡佳琪雨萱"
# (process, task, title, role, form, days until due, weight): the user tasks of bpmn/, weighted roughly as
# an office's open work is (most of it is survey work waiting for teams and reviews).
TASK_KINDS = [
    ("survey_registration", "survey", "入户调查登记", "surveyor", "registration", 10, 30),
    ("survey_registration", "initial_review", "基层平台初审", "platform_reviewer", "review_decision", 5, 18),
    ("survey_registration", "final_review", "县级审定", "county_approver", "review_decision", 10, 14),
    ("survey_registration", "escalation_review", "县级处理超限", "county_approver", "review_decision", 5, 1),
    ("counter_collection", "collect", "窗口采集", "platform_reviewer", "registration", 1, 6),
    ("counter_collection", "check", "复核校核", "platform_reviewer", "review_decision", 2, 5),
    ("change_approval", "collect_change", "变更采集", "platform_reviewer", "change_request", 5, 4),
    ("change_approval", "initial_review", "基层平台初审", "platform_reviewer", "review_decision", 5, 4),
    ("change_approval", "final_review", "县级审定", "county_approver", "review_decision", 10, 6),
    ("self_service_update", "confirm", "经办机构确认", "platform_reviewer", "review_decision", 5, 4),
    ("self_service_update", "submit", "提交更正信息", "citizen", "change_request", 30, 2),
]
PROCESSES = sorted({k[0] for k in TASK_KINDS})
ASSIGNED_SHARE = 0.3
WARMUP = 300
NULL = "\\N"  # COPY text format
LEADS_PER_UNIT = 3


@dataclass
class Office:
    """What the load produced that the requests pick from: units, their users and some persons."""

    townships: list[str] = field(default_factory=list)
    counties: list[str] = field(default_factory=list)
    persons: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # unit → [(id, name)]

    def user(self, role: str, unit: str, k: int = 0) -> str:
        return f"{'p' if role == 'platform_reviewer' else 'c'}{unit}-{k}"


def jinan_villages(path=VILLAGES) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [row["code"] for row in csv.DictReader(f) if row["code"].startswith("3701")]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


DAYS = 365 * 80


def _person_id(n: int, county: str) -> str:
    """The n-th person: distinct for every n below DAYS × 1000 (one open case per person and process)."""
    born = datetime(1940, 1, 1) + timedelta(days=n % DAYS)
    body = f"{county}{born:%Y%m%d}{n // DAYS % 1000:03d}"
    return body + idnumber.check_char(body)


def _copy(cursor, table: str, columns: list[str], rows: Iterator[str], chunk: int = 20_000) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        buffer: list[str] = []
        for line in rows:
            buffer.append(line)
            if len(buffer) >= chunk:
                copy.write("".join(buffer))
                buffer.clear()
        if buffer:
            copy.write("".join(buffer))


def load(
    url: str, tasks: int, seed: int, now: datetime, *, villages: list[str] | None = None, first_id: int = 1
) -> Office:
    """COPY `tasks` ready tasks (one running case each, ids from `first_id`) into the migrated database
    at `url`, spread over `villages` (all of Jinan's by default)."""
    rng = random.Random(seed)
    villages = villages or jinan_villages()
    office = Office(townships=sorted({v[:9] for v in villages}), counties=sorted({v[:6] for v in villages}))
    weights = [k[-1] for k in TASK_KINDS]
    engine = create_engine(url)
    with engine.begin() as conn:
        definitions = dict(
            conn.execute(text("SELECT key, max(id) FROM process_definition GROUP BY key")).fetchall()
        )
    kinds = rng.choices(TASK_KINDS, weights, k=tasks)
    places = [rng.choice(villages) for _ in range(tasks)]
    tick = time.perf_counter()
    case_lines: list[str] = []
    task_lines: list[str] = []
    for i in range(tasks):
        process, spec, title, role, form, due_days, _ = kinds[i]
        area = places[i]
        township, county = area[:9], area[:6]
        person, name = _person_id(i, county), _name(rng)
        created = now - timedelta(seconds=rng.randrange(30 * 86400))
        due = created + timedelta(days=due_days)
        team = (office.townships.index(township) * 2 + rng.randrange(2) + 1) if role == "surveyor" else None
        assignee = None
        if role in ("platform_reviewer", "county_approver") and rng.random() < ASSIGNED_SHARE:
            assignee = office.user(
                role, township if role == "platform_reviewer" else county, rng.randrange(LEADS_PER_UNIT)
            )
        if rng.random() < 0.002:
            office.persons.setdefault(township, []).append((person, name))
            office.persons.setdefault(county, []).append((person, name))
        case_id = first_id + i
        team_text = NULL if team is None else str(team)
        case_lines.append(
            f"{case_id}\t{definitions[process]}\t{process}\trunning\t{area}\t{person}\t{name}\t{team_text}\t"
            f"\t1\tbench\t{created.isoformat()}\t{created.isoformat()}\n"
        )
        task_lines.append(
            f"{case_id}\t{case_id}\t{uuid.UUID(int=case_id)}\t{spec}\t{title}\t{role}\t{area}\t{team_text}\t"
            f"{process}\t{form}\t{person}\t{name}\tready\t{assignee or NULL}\t"
            f"{created.isoformat() if assignee else NULL}\t{created.isoformat()}\t{due.isoformat()}\t0\n"
        )
    print(f"generated {tasks:,} tasks in {time.perf_counter() - tick:.1f} s", file=sys.stderr)
    tick = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        # Bulk-load practice: drop the secondary indexes (exactly as migrated), COPY, build them again.
        cur.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
            " WHERE indrelid IN ('cases'::regclass, 'case_task'::regclass)"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = indexrelid)"
        )
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f"DROP INDEX {name}")
        _copy(
            cur,
            "cases",
            [
                "id",
                "definition_id",
                "process_key",
                "status",
                "area",
                "person_id",
                "person_name",
                "team_id",
                "state",
                "version",
                "created_by",
                "created_at",
                "updated_at",
            ],
            iter(case_lines),
        )
        _copy(
            cur,
            "case_task",
            [
                "id",
                "case_id",
                "task_guid",
                "spec_name",
                "title",
                "role",
                "area",
                "team_id",
                "process_key",
                "form_key",
                "person_id",
                "person_name",
                "state",
                "assignee",
                "claimed_at",
                "created_at",
                "due_at",
                "reminders",
            ],
            iter(task_lines),
        )
        for table in ("cases", "case_task"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" greatest(%s, (SELECT coalesce(max(id), 1) FROM {table})))",
                (first_id + tasks - 1,),
            )
        print(f"copied in {time.perf_counter() - tick:.1f} s", file=sys.stderr)
        tick = time.perf_counter()
        cur.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cur.execute(definition)
        raw.commit()
    finally:
        raw.close()
    print(f"built {len(indexes)} indexes in {time.perf_counter() - tick:.1f} s", file=sys.stderr)
    tick = time.perf_counter()
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as conn:
        conn.execute(text("VACUUM (ANALYZE) cases"))
        conn.execute(text("VACUUM (ANALYZE) case_task"))
    print(f"vacuumed in {time.perf_counter() - tick:.1f} s", file=sys.stderr)
    engine.dispose()
    return office


@dataclass(frozen=True)
class Request:
    kind: str
    actor: Actor
    q: inbox.InboxQuery
    next_page: bool = False


def requests(office: Office, count: int, seed: int) -> list[Request]:
    """Pages a township reviewer or a county approver asks for, with the filters of the inbox."""
    rng = random.Random(seed)
    scenarios = {
        "all": 3, "open": 2, "mine": 2, "others": 1, "overdue": 2, "open_overdue": 1, "process": 1,
        "name": 1, "id_number": 1, "masked_id": 1, "age": 1, "next_page": 2,
    }  # fmt: skip
    out = []
    for _ in range(count):
        level, role = rng.choice(((9, "platform_reviewer"), (6, "county_approver")))
        unit = rng.choice(office.townships if level == 9 else office.counties)
        actor = Actor(sub=office.user(role, unit, rng.randrange(LEADS_PER_UNIT)), roles=(role,), area=unit)
        kind = rng.choices(list(scenarios), list(scenarios.values()))[0]
        known = office.persons.get(unit) or [(_person_id(rng.randrange(DAYS), unit[:6]), _name(rng))]
        person, name = rng.choice(known)
        q = {
            "all": {},
            "open": {"status": "open"},
            "mine": {"status": "mine"},
            "others": {"status": "others"},
            "overdue": {"overdue": True},
            "open_overdue": {"status": "open", "overdue": True},
            "process": {"process": rng.choice(PROCESSES)},
            "name": {"text": name},
            "id_number": {"text": person},
            "masked_id": {"text": idnumber.mask(person)},
            "age": {"sort": "age"},
            "next_page": {},
        }[kind]
        out.append(Request(kind, actor, inbox.InboxQuery(limit=PAGE, **q), next_page=kind == "next_page"))
    return out


COLUMNS = (
    "id, case_id, task_guid, spec_name, title, role, area, team_id, process_key, form_key, person_id, "
    "person_name, state, assignee, claimed_at, created_at, due_at, completed_at, completed_by"
)


def plain_sql(r: Request, now: datetime) -> tuple[str, dict[str, Any]]:
    """The page as one hand-written statement, using the same indexes the way a DBA would."""
    q, actor = r.q, r.actor
    (role,) = actor.roles
    where = ["state = 'ready'", "role = %(role)s"]
    params: dict[str, Any] = {"role": role, "area": actor.area, "me": actor.sub, "now": now}
    where.append(f"substr(area, 1, {len(actor.area)}) = %(area)s")
    where += {
        "open": ["assignee IS NULL"],
        "mine": ["assignee = %(me)s"],
        "others": ["assignee IS NOT NULL", "assignee <> %(me)s"],
        None: [],
    }[q.status]
    if q.overdue:
        where.append("due_at < %(now)s")
    if q.process:
        where.append("process_key = %(process)s")
        params["process"] = q.process
    if q.text:
        if "*" in q.text:
            where.append("person_id LIKE %(head)s AND person_id LIKE %(tail)s")
            params |= {"head": q.text[:6] + "%", "tail": "%" + q.text[-4:]}
        elif q.text[:1].isdigit():
            where.append("person_id = %(person)s")
            params["person"] = q.text
        else:
            where.append("person_name LIKE %(name)s")
            params["name"] = f"%{q.text}%"
    key = "due_at" if q.sort == "due" else "created_at"
    if q.after:
        params["after_key"], params["after_id"] = inbox.decode_cursor(q.after)
        where.append(f"({key}, id) > (%(after_key)s, %(after_id)s)")
    page = f"SELECT id FROM case_task WHERE {' AND '.join(where)} ORDER BY {key}, id LIMIT {q.limit + 1}"
    return f"SELECT {COLUMNS} FROM case_task WHERE id IN ({page}) ORDER BY {key}, id", params


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _p(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1] if len(values) > 1 else values[0]


def measure(url: str, office: Office, count: int, seed: int) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    todo = requests(office, count, seed)
    timings: dict[str, list[float]] = {"inbox": [], "plain": [], "counts": []}
    by_kind: dict[str, list[float]] = {}
    by_level: dict[int, list[float]] = {6: [], 9: []}
    mismatches = 0
    with sessions() as session:
        conn = session.connection()

        def timed(fn: Callable[..., Any], *args: Any, **kw: Any) -> tuple[float, Any]:
            tick = time.perf_counter()
            result = fn(*args, **kw)
            return time.perf_counter() - tick, result

        def plain(r: Request) -> list[Any]:
            sql, params = plain_sql(r, datetime.now(UTC))
            return conn.exec_driver_sql(sql, params).all()

        # A working office's inbox indexes are hot: bring them into memory before timing.
        for r in requests(office, WARMUP, seed + 1):
            inbox.query(session, actor=r.actor, q=r.q)
            plain(r)
        for i, r in enumerate(todo):
            if r.next_page:
                first = inbox.query(session, actor=r.actor, q=r.q)
                r = Request(r.kind, r.actor, inbox.InboxQuery(limit=PAGE, after=first.next), True)
            # Alternate which goes first, so that neither always finds the pages the other warmed.
            if i % 2 == 0:
                plain_s, plain_rows = timed(plain, r)
                inbox_s, page = timed(inbox.query, session, actor=r.actor, q=r.q)
            else:
                inbox_s, page = timed(inbox.query, session, actor=r.actor, q=r.q)
                plain_s, plain_rows = timed(plain, r)
            if [row.id for row in page.items] != [row[0] for row in plain_rows[:PAGE]]:
                mismatches += 1
            if i % 4 == 0:
                counts_s, _ = timed(inbox.counts, session, actor=r.actor, q=r.q)
                timings["counts"].append(counts_s)
            timings["inbox"].append(inbox_s)
            timings["plain"].append(plain_s)
            by_kind.setdefault(r.kind, []).append(inbox_s)
            by_level[len(r.actor.area)].append(inbox_s)
        session.rollback()
    engine.dispose()
    for kind, values in sorted(by_kind.items()):
        p50, p95 = _ms(_p(values, 50)), _ms(_p(values, 95))
        print(f"  {kind:<13} n={len(values):<4} p50 {p50:>6} ms   p95 {p95:>6} ms")
    for level, name in ((9, "township reviewer"), (6, "county approver")):
        values = by_level[level]
        print(f"  {name:<18} p50 {_ms(_p(values, 50)):>6} ms   p95 {_ms(_p(values, 95)):>6} ms")
    return {
        "p50_ms": _ms(_p(timings["inbox"], 50)),
        "p95_ms": _ms(_p(timings["inbox"], 95)),
        "plain_sql_p50_ms": _ms(_p(timings["plain"], 50)),
        "plain_sql_p95_ms": _ms(_p(timings["plain"], 95)),
        "counts_p50_ms": _ms(_p(timings["counts"], 50)),
        "counts_p95_ms": _ms(_p(timings["counts"], 95)),
        "township_p95_ms": _ms(_p(by_level[9], 95)),
        "county_p95_ms": _ms(_p(by_level[6], 95)),
        "mismatched_pages": mismatches,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument("--pg", default=PG_ADMIN, help="URL of a PostgreSQL admin database")
    args = parser.parse_args(argv)
    with scratch_database("canbao_bench_inbox", admin_url=args.pg) as url:
        migrate.upgrade(url)
        _deploy(url)
        office = load(url, args.tasks, args.seed, datetime.now(UTC))
        print(f"inbox pages of {PAGE} with {args.tasks:,} open tasks, {args.requests} requests:")
        figures = measure(url, office, args.requests, args.seed)
    ratio = figures["p95_ms"] / figures["plain_sql_p95_ms"]
    ok = figures["p95_ms"] <= BAR_MS and ratio <= BAR_RATIO and figures["mismatched_pages"] == 0
    print(
        f"inbox.query p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms; plain SQL p95 "
        f"{figures['plain_sql_p95_ms']} ms ({ratio:.2f}×); "
        f"counts (separate call) p95 {figures['counts_p95_ms']} ms; "
        f"bar p95 ≤ {BAR_MS:g} ms and ≤ {BAR_RATIO:g}× plain SQL: {'met' if ok else 'MISSED'}"
    )
    # Other work on the machine slows both sides alike; the load shows how much there was.
    loadavg = round(os.getloadavg()[0], 1)
    print(f"load average (1 min) at the end: {loadavg} on {os.cpu_count()} cores")
    print(
        json.dumps(
            {"tasks": args.tasks, **figures, "ratio": round(ratio, 2), "bar_met": ok, "loadavg": loadavg}
        )
    )
    return 0 if ok else 1


def _deploy(url: str) -> None:
    """The four processes of bpmn/, so that cases reference real definitions."""
    from canbao.config import PROJECT_ROOT
    from composition.wiring import wire
    from engine import definitions

    wire()
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session, session.begin():
        definitions.deploy_directory(
            session, actor=Actor(sub="bench", roles=("system",), area=""), directory=PROJECT_ROOT / "bpmn"
        )
    engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
