"""A province-sized office under load: `canbao serve` with the worker, and a load generator in its own
process running the action mix of an office day at rising concurrency.

    python -m bench.office [--persons N] [--tasks T] [--cases C] [--workers W] [--steps 1,4,16,64,256]
                           [--seconds S] [--pg URL]

1. A fresh PostgreSQL database: the demo office (`canbao demo`: divisions, processes, users, survey
   team, the county's grants) with C real survey cases opened through the engine, plus N persons
   (COPY, over 历下区 and 市中区) and T open tasks with their cases (COPY, as bench.inbox loads them)
   across the same two counties; the demo's users county2 / platform2 work 市中区.
2. `canbao serve --workers W` and `canbao worker` as subprocesses, configured from the environment as
   in production (CANBAO_DB_POOL, CANBAO_MAX_INFLIGHT, … pass through).
3. `python -m bench.office_load` (asyncio, one connection per simulated user) at each concurrency for
   S seconds: inbox pages with filters, counts, open a task, complete a survey task with a valid
   登记表, approve it at 初审, upload a scan, the case page, its history, statistics.

Prints per step the throughput and p50/p95/p99 per action and the errors; the baseline is the step at
concurrency 1 of the same run (what one user alone gets). The last line is one JSON object:
{"steps": {...}, "peak_rps": …, "rps_at_256_over_peak": …, "errors_5xx": …, "over_10s": …}.
Bars: errors_5xx = 0 and over_10s = 0 at every step, rps at the last step ≥ 0.8 × peak.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from .inbox import _copy, _name, _person_id, jinan_villages
from .inbox import load as load_tasks
from .scratch import PG_ADMIN, scratch_database

COUNTIES = ("370102", "370103")  # 历下区, 市中区 (济南)
PASSWORD = "bench-office-password"
SECRET = "bench-office-secret-0123456789abcdef0123456789"
BAR_RATIO = 0.8
# role in the load generator: username
USERS = {
    "surveyor1": "surveyor1",
    "platform1": "platform1",
    "county1": "county1",
    "platform2": "platform2",
    "county2": "county2",
}


def setup_office(url: str, data_dir: Path, *, cases: int) -> None:
    """The demo office (two counties, with their users: county2 and platform2 are 市中区's) with `cases`
    survey cases."""
    from canbao import migrate
    from canbao.config import PROJECT_ROOT, Settings
    from canbao.db import make_engine, make_sessionmaker
    from composition import demo
    from composition.wiring import wire

    migrate.upgrade(url)
    wire()
    settings = Settings(
        database_url=url, data_dir=data_dir, bpmn_dir=PROJECT_ROOT / "bpmn", demo_password=PASSWORD
    )
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    tick = time.perf_counter()
    report = demo.run(sessions, settings, persons=2000, cases=cases)
    engine.dispose()
    print(f"demo office with {report.survey_cases} survey cases in {time.perf_counter() - tick:.1f} s")


def load_persons(url: str, count: int, seed: int) -> None:
    """`count` persons over the two counties' villages, by COPY into a staging table and one INSERT …
    SELECT that skips numbers the demo already holds."""
    rng = random.Random(seed)
    villages = [v for v in jinan_villages() if v.startswith(COUNTIES)]
    tick = time.perf_counter()
    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(
            "CREATE TEMP TABLE staged (id text, name text, sex text, birth_date date, area text)"
            " ON COMMIT DROP"
        )

        def rows():
            for n in range(count):
                village = villages[n % len(villages)]
                pid = _person_id(n, village[:6])
                yield f"{pid}\t{_name(rng)}\t{'1' if int(pid[16]) % 2 else '2'}\t{pid[6:14]}\t{village}\n"

        _copy(cur, "staged", ["id", "name", "sex", "birth_date", "area"], rows())
        cur.execute(
            "INSERT INTO person (id, id_type, name, sex, birth_date, ethnicity, hukou_division, hukou_nature,"
            " residence_division, status, area, created_at, updated_at)"
            " SELECT id, '01', name, sex, birth_date, '01', area, '10', area, 'normal', area, now(), now()"
            " FROM staged ON CONFLICT (id) DO NOTHING"
        )
        # Their history as the registry keeps it (one open version each), which the statistics count.
        cur.execute(
            "INSERT INTO person_version (person_id, valid_from, area, hukou_division, residence_division,"
            " status, sex, birth_date, registered, insured_elsewhere, source)"
            " SELECT s.id, now() - interval '400 days', s.area, s.area, s.area, 'normal', s.sex,"
            " s.birth_date, false, NULL, 'import:bench' FROM staged s"
            " WHERE NOT EXISTS (SELECT 1 FROM person_version v WHERE v.person_id = s.id)"
        )
        raw.commit()
    finally:
        raw.close()
    with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text("VACUUM (ANALYZE) person"))
        conn.execute(text("VACUUM (ANALYZE) person_version"))
        total = conn.scalar(text("SELECT count(*) FROM person"))
    engine.dispose()
    print(f"{total:,} persons in the registry ({time.perf_counter() - tick:.1f} s)")


def refresh_statistics(url: str) -> None:
    """Build the statistics over the loaded registry once, as `canbao stats refresh --full` does after a
    bulk import, so that the first statistics request of the load does not do it."""
    from canbao.db import make_engine, make_sessionmaker, transaction
    from registry.stats import build

    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as s:
        result = build.refresh(s, full=True)
    engine.dispose()
    print(f"statistics built over {result.persons:,} persons in {result.seconds:.1f} s")


def load_open_tasks(url: str, count: int, seed: int) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        first = conn.scalar(
            text("SELECT greatest((SELECT coalesce(max(id), 0) FROM cases),"
                 " (SELECT coalesce(max(id), 0) FROM case_task)) + 1")
        )  # fmt: skip
    engine.dispose()
    tick = time.perf_counter()
    villages = [v for v in jinan_villages() if v.startswith(COUNTIES)]
    load_tasks(url, count, seed, datetime.now(UTC), villages=villages, first_id=first)
    print(f"{count:,} open tasks in {time.perf_counter() - tick:.1f} s")


def registration(person: dict[str, Any]) -> dict[str, Any]:
    """The 登记表 a surveyor of the demo team hands in for `person`."""
    pid = person["id"]
    return {
        "id_type": "01",
        "id_number": pid,
        "name": person["name"],
        "sex": person["sex"],
        "birth_date": f"{pid[6:10]}-{pid[10:12]}-{pid[12:14]}",
        "ethnicity": "01",
        "hukou": {"division": person["area"], "address": "济南市历下区解放路1号", "nature": "10"},
        "residence": {"division": person["area"], "address": "济南市历下区解放路1号"},
        "phone": "13805310000",
        "employment": {"status": "11", "employer": "济南某某有限公司"},
        "insurance": [{"scheme": "110", "status": "1", "place": "370102", "first_date": "2015-03-01"}],
        "insured_elsewhere": False,
        "survey": {
            "channel": "survey",
            "team": "JFL-01",
            "surveyors": [
                {"name": "李调查", "card_no": "JN-LX-0001"},
                {"name": "王调查", "card_no": "JN-LX-0002"},
            ],
            "date": datetime.now(UTC).date().isoformat(),
            "signed": True,
        },
    }


def open_cases(url: str, base: str, count: int) -> None:
    """`count` survey cases opened by platform1 through the API, for registry persons of its township
    (the demo's 历下区 platform township) who have none (the engine's own path, as a platform reviewer
    starts them)."""
    from composition.demo import LIXIA

    township = LIXIA.township
    engine = create_engine(url)
    with engine.connect() as conn:
        team = conn.scalar(
            text("SELECT id FROM survey_team WHERE area = :t ORDER BY id LIMIT 1"), {"t": township}
        )
        persons = conn.execute(
            text(
                "SELECT id, area FROM person p WHERE area LIKE :t || '%' AND length(area) = 12"
                " AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.person_id = p.id) ORDER BY id LIMIT :n"
            ),
            {"n": count, "t": township},
        ).all()
    engine.dispose()
    token = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": "platform1", "password": PASSWORD}, timeout=30
    ).json()["access_token"]
    tick = time.perf_counter()

    def start(person) -> int:
        r = httpx.post(
            f"{base}/api/v1/cases",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "process": "survey_registration",
                "person_id": person.id,
                "area": person.area,
                "team_id": team,
            },
            timeout=60,
        )
        return r.status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(start, persons))
    print(
        f"{statuses.count(201)} survey cases opened through the API in {time.perf_counter() - tick:.1f} s"
        f"{'' if statuses.count(201) == len(statuses) else f'; statuses {sorted(set(statuses))}'}"
    )


def real_work(url: str) -> tuple[list[dict[str, Any]], list[int], dict[str, Any]]:
    """The ready survey tasks of the engine's cases, those cases, and a valid 登记表 per person."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT t.task_guid, t.case_id, t.person_id, c.area, p.name, p.sex FROM case_task t"
                " JOIN cases c ON c.id = t.case_id JOIN person p ON p.id = t.person_id"
                " WHERE t.spec_name = 'survey' AND t.state = 'ready' AND c.state <> ''"
            )
        ).all()
    engine.dispose()
    tasks = [{"id": r.task_guid, "case_id": r.case_id, "person_id": r.person_id} for r in rows]
    forms = {
        r.person_id: registration({"id": r.person_id, "name": r.name, "sex": r.sex, "area": r.area})
        for r in rows
    }
    return tasks, sorted({r.case_id for r in rows}), forms


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(url: str, data_dir: Path, workers: int) -> tuple[str, list[subprocess.Popen]]:
    canbao = str(Path(sys.executable).parent / "canbao")
    env = os.environ | {
        "DATABASE_URL": url,
        "CANBAO_DATA_DIR": str(data_dir),
        "CANBAO_JWT_SECRET": SECRET,
        "CANBAO_JWT_TTL_MINUTES": "240",
    }
    port = _free_port()
    log = open(data_dir / "server.log", "w")  # noqa: SIM115 (open for the processes' lifetime)
    server = subprocess.Popen(
        [canbao, "serve", "--port", str(port), "--workers", str(workers)], env=env, stdout=log, stderr=log
    )
    worker = subprocess.Popen([canbao, "worker"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start: {(data_dir / 'server.log').read_text()[-3000:]}")
        time.sleep(0.3)
    return base, [server, worker]


def _statuses(step: dict[str, Any]) -> dict[str, int]:
    """How often each status (or error without one) was answered in the step, over every action."""
    total: dict[str, int] = {}
    for action in step["actions"].values():
        for status, n in action["statuses"].items():
            total[status] = total.get(status, 0) + n
    return dict(sorted(total.items()))


def table(steps: list[dict[str, Any]]) -> str:
    lines = [
        "| concurrency | req/s | 5xx | >10 s | action | n | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for step in steps:
        first = True
        for action, a in step["actions"].items():
            head = (
                f"| {step['concurrency']} | {step['rps']} | {step['errors_5xx']} | {step['over_10s']} "
                if first
                else "| | | | "
            )
            lines.append(f"{head}| {action} | {a['n']} | {a['p50_ms']} | {a['p95_ms']} | {a['p99_ms']} |")
            first = False
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=600, help="survey cases opened through the engine")
    parser.add_argument("--workers", type=int, default=2, help="canbao serve --workers")
    parser.add_argument("--steps", default="1,4,16,64,256")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each step")
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--pg", default=PG_ADMIN, help="URL of a PostgreSQL admin database")
    args = parser.parse_args(argv)
    steps = [int(s) for s in args.steps.split(",")]
    began = time.perf_counter()
    with (
        scratch_database("canbao_bench_office", admin_url=args.pg) as url,
        tempfile.TemporaryDirectory(prefix="canbao-bench-office-") as folder,
    ):
        data_dir = Path(folder)
        setup_office(url, data_dir, cases=0)  # the bench opens its own (below); demo ones would share persons
        load_persons(url, args.persons, args.seed)
        load_open_tasks(url, args.tasks, args.seed)
        refresh_statistics(url)
        base, processes = serve(url, data_dir, args.workers)
        try:
            open_cases(url, base, args.cases)
            survey_tasks, cases, forms = real_work(url)
            print(f"setup done in {time.perf_counter() - began:.0f} s; {len(survey_tasks)} real survey tasks")
            plan = {
                "base": base,
                "users": USERS,
                "password": PASSWORD,
                "survey_tasks": survey_tasks,
                "cases": cases,
                "forms": forms,
                "steps": steps,
                "seconds": args.seconds,
                "seed": args.seed,
            }
            (data_dir / "plan.json").write_text(json.dumps(plan, ensure_ascii=False))
            generator = subprocess.run(
                [sys.executable, "-m", "bench.office_load", str(data_dir / "plan.json")],
                capture_output=True,
                text=True,
                check=False,
            )
            if generator.returncode != 0:
                print(generator.stderr[-3000:], file=sys.stderr)
                return 2
            results = [json.loads(line) for line in generator.stdout.splitlines() if line.startswith("{")]
        finally:
            for p in processes:
                p.terminate()
            for p in processes:
                p.wait(20)
        errors = [line for line in (data_dir / "server.log").read_text().splitlines() if "ERROR" in line]
    print(
        f"\n{args.persons:,} persons, {args.tasks:,} open tasks in two counties; canbao serve --workers "
        f"{args.workers} (CANBAO_DB_POOL={os.environ.get('CANBAO_DB_POOL', '8')}) and canbao worker; "
        f"{args.seconds:g} s per step; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n"
    )
    print(table(results))
    for line in errors[:10]:
        print("server:", line)
    peak = max(s["rps"] for s in results)
    last = results[-1]
    summary = {
        "steps": {
            str(s["concurrency"]): {
                "rps": s["rps"],
                "errors_5xx": s["errors_5xx"],
                "over_10s": s["over_10s"],
                "no_answer": s["no_answer"],
                "statuses": _statuses(s),
                "actions": {
                    a: {k: v[k] for k in ("n", "p50_ms", "p95_ms", "p99_ms")} for a, v in s["actions"].items()
                },
            }
            for s in results
        },
        "peak_rps": peak,
        "rps_at_256_over_peak": round(last["rps"] / peak, 2) if peak else 0.0,
        "errors_5xx": sum(s["errors_5xx"] for s in results),
        "over_10s": sum(s["over_10s"] for s in results),
        "no_answer": sum(s["no_answer"] for s in results),
    }
    met = (
        summary["errors_5xx"] == 0
        and summary["over_10s"] == 0
        and summary["rps_at_256_over_peak"] >= BAR_RATIO
    )
    print(
        f"peak {peak} req/s; at {last['concurrency']}: {last['rps']} req/s "
        f"({summary['rps_at_256_over_peak']} of peak); 5xx {summary['errors_5xx']}, over 10 s "
        f"{summary['over_10s']}; bars {'met' if met else 'MISSED'}"
    )
    print(json.dumps(summary, ensure_ascii=False))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
