"""Department files at scale: `python -m bench.departments --persons 200000`.

In a scratch PostgreSQL database: a 公安 population file of N persons of one county is imported (the
baseline: registry.imports' set-based path, COPY into a staging table and a handful of statements), then
department files of N rows over the same persons (registry.departments: each row weighed field by field
against the precedence table): 就业 (two fields, both new), the same 就业 data again as a new file (every
value already held: nothing written), and 民政 deaths for a tenth of the persons (status and person
versions). Prints rows per second for each and, as the last line, one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import time

from canbao.actors import SYSTEM
from forms.idnumber import check_char

COUNTY = "370102"
VILLAGE = "370102001002"


def _numbers(n: int) -> list[str]:
    found = []
    day = 0
    while len(found) < n:
        birth = f"19{60 + day // 336:02d}{1 + day // 28 % 12:02d}{1 + day % 28:02d}"
        for order in range(1, 1000):
            body = f"{COUNTY}{birth}{order:03d}"
            found.append(body + check_char(body))
            if len(found) == n:
                break
        day += 1
    return found


def _csv(header: list[str], rows) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("gbk")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=100_000)
    args = parser.parse_args()

    from canbao import migrate
    from canbao.db import make_engine, make_sessionmaker
    from registry import departments, imports

    from .scratch import scratch_database

    numbers = _numbers(args.persons)
    population = _csv(
        ["公民身份号码", "姓名", "性别", "出生日期", "户籍地区划", "管理状态"],
        (
            [n, f"居民{i}", "1" if int(n[16]) % 2 else "2", n[6:14], VILLAGE, "正常"]
            for i, n in enumerate(numbers)
        ),
    )
    jobs = [
        [n, "在职" if i % 3 else "灵活就业", f"单位{i % 500}", "2025-01-01"] for i, n in enumerate(numbers)
    ]
    employment = _csv(["公民身份号码", "就业状态", "就业单位", "登记日期"], jobs)
    employment_again = _csv(
        ["公民身份号码", "就业状态", "就业单位", "登记日期", "证明编号"], [[*j, ""] for j in jobs]
    )
    deaths = _csv(["公民身份号码", "死亡日期"], ([n, "2026-03-01"] for n in numbers[::10]))

    timings: dict[str, float] = {}
    with scratch_database("canbao_bench_departments") as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)

        def timed(label: str, rows: int, call) -> dict:
            started = time.perf_counter()
            with sessions() as s, s.begin():
                result = call(s).as_dict()
            seconds = time.perf_counter() - started
            timings[label] = seconds
            print(
                f"{label}: {rows:,} rows in {seconds:.2f} s ({rows / seconds:,.0f} rows/s) {result}",
                flush=True,
            )
            return result

        timed(
            "population (baseline)",
            args.persons,
            lambda s: imports.import_file(
                s, actor=SYSTEM, kind="population", filename="p.csv", content=population
            ),
        )
        first = timed(
            "employment",
            args.persons,
            lambda s: departments.import_file(
                s, actor=SYSTEM, kind="employment", filename="e.csv", content=employment
            ),
        )
        again = timed(
            "employment again",
            args.persons,
            lambda s: departments.import_file(
                s, actor=SYSTEM, kind="employment", filename="e2.csv", content=employment_again
            ),
        )
        dead = timed(
            "deaths_civil",
            len(numbers[::10]),
            lambda s: departments.import_file(
                s, actor=SYSTEM, kind="deaths_civil", filename="d.csv", content=deaths
            ),
        )
        engine.dispose()
    print(
        json.dumps(
            {
                "persons": args.persons,
                "population_s": round(timings["population (baseline)"], 3),
                "employment_s": round(timings["employment"], 3),
                "employment_again_s": round(timings["employment again"], 3),
                "deaths_s": round(timings["deaths_civil"], 3),
                "employment_vs_population": round(
                    timings["employment"] / timings["population (baseline)"], 2
                ),
                "updated": [first["updated"], again["updated"], dead["updated"]],
            }
        )
    )


if __name__ == "__main__":
    main()
