"""Statistics at scale: `python -m bench.stats --persons 10000000`.

1. The synthetic Jinan population and enrollment files of `registry.demo` (generated once, cached
   under bench/.cache/ and shared with bench.comparison), turned by DuckDB into the registry's own
   rows with a history: population imported on 2026-01-05, enrollments on 01-06, the comparison's
   flags on 02-02, and on 03-02 a fifth of the 需调查 persons registered through cases (new person
   version, flag cleared, 390 enrollment) and 0.3 % of everyone dead. The rows are COPYed into a
   PostgreSQL database created for this run (and dropped at the end).
2. The full build of the statistics aggregate (`registry.stats.build.refresh(full=True)`).
3. The product's coverage tables (`registry.stats.queries.coverage`, as an API request runs them:
   freshness check, every indicator of the rule set, case counts, division names): the province by
   city, the city by county and by village today, and the city by county as of 2026-02-15. Median of
   3 after one warm-up.
4. An incremental refresh after 1,000 new enrollment facts recorded through the triggers.
5. Baseline, same run, same database: one hand-written GROUP BY over person_version and enrollment
   for three figures of the as-of table (应登记, 基本养老参保, 基本医疗参保 per county) — it must give
   the same numbers.

Prints the figures and, as the last line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"
T_POP, T_ENR, T_CMP, T_CHG = (
    "2026-01-05 02:00:00+00",
    "2026-01-06 02:00:00+00",
    "2026-02-02 02:00:00+00",
    "2026-03-02 02:00:00+00",
)
PAST = date(2026, 2, 15)
CITY = "3701"


def prepare_rows(generated, directory: Path) -> dict[str, Path]:
    """CSV files in the registry tables' layout (cached next to the demo files)."""
    import duckdb

    from registry.comparison import duckdb_macros

    out = {t: directory / f"{t}.csv" for t in ("person", "person_version", "enrollment", "flag")}
    done = directory / "complete"  # written last: an interrupted run leaves no half files in use
    if done.exists():
        return out
    directory.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET memory_limit = '4GB'")
    con.execute("SET preserve_insertion_order = false")
    for statement in duckdb_macros():
        con.execute(statement)
    status = (
        "CASE status WHEN '死亡' THEN 'dead' WHEN '注销' THEN 'cancelled' WHEN '迁出' THEN 'moved_out' "
        "ELSE 'normal' END"
    )
    con.execute(
        f"CREATE TABLE pop AS SELECT id_number AS id, name, sex, CAST(birth_date AS DATE) AS birth_date, "
        f"ethnicity, hukou_division, hukou_address, hukou_nature, {status} AS status "
        f"FROM read_csv('{generated.population}', header = true, all_varchar = true)"
    )
    con.execute(
        f"COPY (SELECT id, '01', name, sex, birth_date, ethnicity, hukou_division, hukou_address, "
        f"hukou_nature, status, hukou_division, TIMESTAMPTZ '{T_POP}', TIMESTAMPTZ '{T_POP}' FROM pop) "
        f"TO '{out['person']}' (HEADER false)"
    )
    con.execute(
        f"COPY (SELECT id, TIMESTAMPTZ '{T_POP}', hukou_division, hukou_division, status, sex, birth_date, "
        f"false, 'import:1' FROM pop) TO '{out['person_version']}' (HEADER false)"
    )
    union = " UNION ALL ".join(
        f"SELECT cb_id(id_number) AS person_id, scheme, status, pay_status, place, "
        f"try_cast(start_date AS DATE) AS start_date, try_cast(end_date AS DATE) AS end_date, "
        f"'{system}' AS source, name, try_cast(birth_date AS DATE) AS src_birth "
        f"FROM read_csv('{path}', header = true, all_varchar = true)"
        for system, path in generated.enrollments.items()
    )
    con.execute(
        f"COPY (SELECT person_id, scheme, status, pay_status, place, start_date, end_date, source, false, "
        f"name, src_birth, TIMESTAMPTZ '{T_ENR}' FROM ({union}) e SEMI JOIN pop ON pop.id = e.person_id "
        "QUALIFY row_number() OVER (PARTITION BY person_id, scheme, source, place "
        "ORDER BY start_date DESC) = 1"
        f") TO '{out['enrollment']}' (HEADER false)"
    )
    kinds = {"duplicate": "dup", "needs_survey": "survey", "inaccurate": "inacc"}
    flags = " UNION ALL ".join(
        f"SELECT t.id_number, '{kind}', t.{col}, p.hukou_division FROM read_csv('{generated.truth}', "
        f"all_varchar = true) t JOIN pop p ON p.id = t.id_number WHERE coalesce(t.{col}, '') <> ''"
        for kind, col in kinds.items()
    )
    con.execute(
        f"COPY (SELECT *, 'open', TIMESTAMPTZ '{T_CMP}' FROM ({flags})) TO '{out['flag']}' (HEADER false)"
    )
    con.close()
    done.write_text("ok\n")
    return out


COLUMNS = {
    "person": "id, id_type, name, sex, birth_date, ethnicity, hukou_division, hukou_address, hukou_nature, "
    "status, area, created_at, updated_at",
    "person_version": "person_id, valid_from, area, hukou_division, status, sex, birth_date, registered, "
    "source",
    "enrollment": "person_id, scheme, status, pay_status, place, start_date, end_date, source, elsewhere, "
    "src_name, src_birth_date, recorded_at",
    "flag": "person_id, kind, reasons, area, status, raised_at",
}

LATER = f"""
SET work_mem = '256MB';
CREATE TEMP TABLE chosen AS
  SELECT person_id, area FROM flag WHERE kind = 'needs_survey' AND abs(hashtext(person_id)) % 5 = 0;
CREATE TEMP TABLE died AS
  SELECT p.id AS person_id FROM person p
  WHERE p.status = 'normal' AND abs(hashtext(p.id || 'd')) % 1000 < 3
    AND NOT EXISTS (SELECT 1 FROM chosen c WHERE c.person_id = p.id);
CREATE TEMP TABLE later AS
  SELECT person_id, true AS registered FROM chosen UNION ALL SELECT person_id, false FROM died;
ANALYZE chosen; ANALYZE died; ANALYZE later;
UPDATE person_version v SET valid_to = '{T_CHG}' FROM later l WHERE v.person_id = l.person_id;
INSERT INTO person_version (person_id, valid_from, area, hukou_division, status, sex, birth_date,
    registered, source)
  SELECT p.id, '{T_CHG}', p.area, p.hukou_division,
    CASE WHEN l.registered THEN p.status ELSE 'dead' END, p.sex, p.birth_date, l.registered, 'case:1'
  FROM person p JOIN later l ON l.person_id = p.id;
UPDATE person p SET registered_at = '{T_CHG}' FROM chosen c WHERE c.person_id = p.id;
UPDATE person p SET status = 'dead' FROM died d WHERE d.person_id = p.id;
UPDATE flag f SET status = 'cleared', cleared_at = '{T_CHG}'
  FROM chosen c WHERE f.kind IN ('needs_survey', 'inaccurate') AND f.person_id = c.person_id;
INSERT INTO enrollment (person_id, scheme, status, pay_status, place, start_date, source, elsewhere,
    recorded_at)
  SELECT person_id, '390', '1', '1', substr(area, 1, 6), '2026-03-01', 'registration', false, '{T_CHG}'
  FROM chosen;
"""

BASELINE = """
WITH pv AS (
  SELECT person_id, area, status, birth_date FROM person_version
  WHERE valid_from < :k AND (valid_to IS NULL OR valid_to >= :k) AND area LIKE :like
), e AS (
  SELECT person_id, bool_or(scheme IN ('110', '120', '170')) AS pension,
    bool_or(scheme IN ('310', '390')) AS medical
  FROM enrollment
  WHERE status = '1' AND recorded_at < :k AND (superseded_at IS NULL OR superseded_at >= :k)
    AND (start_date IS NULL OR start_date <= :d) AND (end_date IS NULL OR end_date > :d)
  GROUP BY person_id
)
SELECT substr(pv.area, 1, 6),
  count(*) FILTER (WHERE status = 'normal'),
  count(*) FILTER (WHERE status = 'normal' AND birth_date <= :adult AND e.pension),
  count(*) FILTER (WHERE status = 'normal' AND e.medical)
FROM pv LEFT JOIN e USING (person_id) GROUP BY 1
"""


def timed(fn, runs: int = 3) -> tuple[float, object]:
    fn()  # warm-up (division names, plans, caches)
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    args = parser.parse_args()

    import psycopg
    from sqlalchemy import text

    from canbao import migrate
    from canbao.actors import Actor
    from canbao.db import make_engine, make_sessionmaker, transaction
    from registry import demo
    from registry.stats import build, queries

    from .scratch import scratch_database

    started = time.perf_counter()
    generated = demo.generate(
        CACHE / f"comparison-{args.persons}-seed{args.seed}", persons=args.persons, seed=args.seed
    )
    rows = prepare_rows(generated, CACHE / f"stats-{args.persons}-seed{args.seed}")
    print(f"data: {generated.persons:,} persons ({time.perf_counter() - started:.1f} s, cached)", flush=True)

    result: dict[str, object] = {}
    with scratch_database("canbao_bench_stats", keep=args.keep) as url:
        migrate.upgrade(url)
        started = time.perf_counter()
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
            with conn.cursor() as cur:
                cur.execute("SET session_replication_role = replica")  # bulk load: no queueing triggers
                # Secondary indexes are dropped for the load and built again after it (faster than
                # maintaining them row by row); the schema ends up as the migrations made it.
                cur.execute(
                    "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                    "JOIN pg_class c ON c.relname = i.indexname JOIN pg_index x ON x.indexrelid = c.oid "
                    "WHERE i.tablename = ANY(%s) AND NOT x.indisprimary",
                    (list(rows),),
                )
                indexes = cur.fetchall()
                for index, _ in indexes:
                    cur.execute(f'DROP INDEX "{index}"')
                for table, path in rows.items():
                    with (
                        cur.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN (FORMAT csv)") as copy,
                        path.open("rb") as fh,
                    ):
                        for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                            copy.write(block)
                cur.execute(LATER)
                for _, definition in indexes:
                    cur.execute(definition)
                cur.execute("ANALYZE")
            conn.commit()
        load_s = time.perf_counter() - started
        print(f"load (COPY + later history): {load_s:.1f} s", flush=True)

        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        with engine.connect() as conn:
            counts = {
                t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                for t in ("person", "person_version", "enrollment", "flag")
            }
        print(f"rows: {counts}", flush=True)
        started = time.perf_counter()
        with transaction(sessions) as s:
            build.refresh(s, full=True)
        rebuild_s = time.perf_counter() - started
        with engine.connect() as conn:
            conn.execute(text("ANALYZE stats_delta"))
            conn.execute(text("ANALYZE stats_span"))
            conn.commit()
            spans = conn.execute(text("SELECT count(*) FROM stats_span")).scalar()
            deltas = conn.execute(text("SELECT count(*) FROM stats_delta")).scalar()
        print(f"full build: {rebuild_s:.1f} s ({spans:,} spans, {deltas:,} delta rows)", flush=True)

        ministry = Actor(sub="bench", roles=("ministry",), area="")

        def table(area: str, by: str, as_of: date | None = None):
            with transaction(sessions) as s:
                return queries.coverage(s, sc=queries.scope(ministry, area=area, as_of=as_of, by=by))

        province_ms, province = timed(lambda: table("37", "city"))
        county_ms, by_county = timed(lambda: table(CITY, "county"))
        village_ms, by_village = timed(lambda: table(CITY, "village"))
        as_of_ms, past = timed(lambda: table(CITY, "county", PAST))
        for label, ms, t in (
            ("province 37 by city", province_ms, province),
            ("city 3701 by county", county_ms, by_county),
            ("city 3701 by village", village_ms, by_village),
            (f"city 3701 by county as of {PAST}", as_of_ms, past),
        ):
            total = t["total"]
            print(
                f"{label}: {ms:.0f} ms, {len(t['rows'])} rows; 应登记 {total['target']:,}, "
                f"全民参保登记率 {total['registration_rate']}, 基本养老 {total['pension_rate']}, "
                f"基本医疗 {total['medical_rate']}, 重复参保 {total['duplicate']:,}",
                flush=True,
            )
        assert (
            by_county["total"]["target"]
            == by_village["total"]["target"]
            == next(r for r in province["rows"] if r["code"] == CITY)["target"]
        )

        # Incremental: 1,000 enrollment facts recorded now (the triggers queue the persons).
        with transaction(sessions) as s:
            s.execute(
                text(
                    "INSERT INTO enrollment (person_id, scheme, status, pay_status, place, start_date, "
                    "source, "
                    "elsewhere, recorded_at) SELECT id, '410', '1', '1', substr(area, 1, 6), CURRENT_DATE, "
                    "'bench', false, now() FROM person WHERE status = 'normal' ORDER BY id LIMIT 1000"
                )
            )
        started = time.perf_counter()
        with transaction(sessions) as s:
            refreshed = build.refresh(s)
        incremental_ms = (time.perf_counter() - started) * 1000
        print(f"incremental refresh: {refreshed.persons} persons, {incremental_ms:.0f} ms", flush=True)

        adult = date(PAST.year - 16, PAST.month, PAST.day)
        params = {"k": queries.end_of(PAST), "d": PAST, "adult": adult, "like": f"{CITY}%"}

        def baseline():
            with engine.connect() as conn:
                return {r[0]: tuple(r[1:]) for r in conn.execute(text(BASELINE), params)}

        baseline_ms, hand = timed(baseline, runs=1)
        ours = {
            r["code"]: (r["target"], r["pension_insured"], r["medical_insured"])
            for r in past["rows"]
            if r["target"]
        }
        matches = hand == ours
        print(
            f"baseline (hand-written GROUP BY over the registry tables, as of {PAST}): {baseline_ms:.0f} ms; "
            f"same figures: {matches}",
            flush=True,
        )
        engine.dispose()
        result = {
            "persons": counts["person"],
            "coverage_by_county_ms": round(county_ms, 1),
            "coverage_by_village_ms": round(village_ms, 1),
            "as_of_ms": round(as_of_ms, 1),
            "province_by_city_ms": round(province_ms, 1),
            "baseline_group_by_ms": round(baseline_ms, 1),
            "baseline_matches": matches,
            "full_build_s": round(rebuild_s, 1),
            "incremental_refresh_1000_ms": round(incremental_ms, 1),
            "load_s": round(load_s, 1),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
