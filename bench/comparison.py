"""信息比对 at scale: `python -m bench.comparison --persons 10000000`.

1. Generates (once; cached under bench/.cache/) a synthetic Jinan population with planted findings
   and the insurance systems' enrollment files (`registry.demo`).
2. Runs the comparison as the product does for extract files (`registry.comparison.run_files`:
   DuckDB over the CSV files, then the run, counts and flags recorded in a PostgreSQL database created
   for this run), in a child process whose peak RSS is measured.
3. Checks the flags written to PostgreSQL against the planted truth (precision, recall).
4. Baseline, same files, same run: one hand-written DuckDB query doing the same join and
   classification counts (no ID normalisation, no flags, no database), in its own child process.

Prints the figures and, as the last line, one JSON object.

`--engine spark` instead compares the engines (issue 19): the same generated files classified by
DuckDB (`registry.comparison.classify_files`) and by Spark in local mode (`registry.spark`, the rule
set's same SQL), each in its own child process writing every person's classification as Parquet; then
every person's class and reasons are compared. Last line:
`{"persons": N, "spark_s": …, "duckdb_s": …, "identical": true|false, "differences": n}`.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"


def _child(args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.comparison", *args], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _peak_mb() -> float:
    """This process's peak resident set (VmHWM: its own, unlike ru_maxrss, which Linux carries from
    the parent across fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_product(directory: Path, url: str) -> dict:
    """Child: the product's comparison over the files, recorded in the database at `url`."""
    from canbao.actors import Actor
    from canbao.db import make_engine, make_sessionmaker, transaction
    from registry import comparison, demo

    generated = demo.Generated(directory, 0, 0, {})
    engine = make_engine(url)
    actor = Actor(sub="bench", roles=("city_admin",), area="3701")
    started = time.perf_counter()
    with transaction(make_sessionmaker(engine)) as s:
        result = comparison.run_files(
            s,
            actor=actor,
            area="3701",
            population=generated.population,
            enrollments=generated.enrollments,
            as_of=demo.AS_OF,
            memory_limit="3GB",
        )
        counts = result.run.counts
        run_id = result.run.id
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": seconds, "peak_rss_mb": _peak_mb(), "counts": counts, "run_id": run_id}


def run_baseline(directory: Path) -> dict:
    """Child: one hand-written DuckDB query, the same join and classification on the same files."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET memory_limit = '3GB'")
    pop, shebao, yibao = (
        directory / n for n in ("population.csv", "enrollments_shebao.csv", "enrollments_yibao.csv")
    )
    started = time.perf_counter()
    rows = con.execute(f"""
WITH e AS (
  SELECT upper(id_number) AS id, scheme, place, name AS src_name, birth_date AS src_birth,
         (status = '1' AND start_date <= '2026-06-30'
          AND (end_date IS NULL OR end_date > '2026-06-30'))::INT AS active
  FROM read_csv(['{shebao}', '{yibao}'], header = true,
                types = {{'start_date': 'DATE', 'end_date': 'DATE', 'birth_date': 'DATE'}})
), g AS (
  SELECT e.id, max(active * (scheme = '310')::INT) AS m1, max(active * (scheme = '390')::INT) AS m2,
         max(active * (scheme IN ('110', '120'))::INT) AS p1, max(active * (scheme = '170')::INT) AS p2,
         max(active) AS any_active, count(DISTINCT CASE WHEN active = 1 THEN scheme || place END)
           - count(DISTINCT CASE WHEN active = 1 THEN scheme END) AS extra_places,
         max((src_name <> p.name)::INT) AS name_mis, max((src_birth <> p.birth_date)::INT) AS birth_mis
  FROM e JOIN read_csv('{pop}', header = true, types = {{'birth_date': 'DATE'}}) p ON p.id_number = e.id
  GROUP BY e.id
)
SELECT CASE WHEN p.status <> '正常' THEN 'excluded'
            WHEN m1 + m2 = 2 OR p1 + p2 = 2 OR extra_places > 0 THEN 'duplicate'
            WHEN name_mis = 1 OR birth_mis = 1 THEN 'inaccurate'
            WHEN coalesce(any_active, 0) = 0 THEN 'uninsured'
            WHEN m1 + m2 = 0 OR (p1 + p2 = 0 AND p.birth_date <= DATE '2010-06-30') THEN 'partial'
            ELSE 'insured' END AS klass, count(*)
FROM read_csv('{pop}', header = true, types = {{'birth_date': 'DATE'}}) p LEFT JOIN g ON g.id = p.id_number
GROUP BY ALL ORDER BY 1
""").fetchall()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_rss_mb": _peak_mb(), "counts": dict(rows)}


def classify_duckdb(directory: Path, out: Path) -> dict:
    """Child: every person's classification by DuckDB, to Parquet."""
    from registry import comparison, demo

    generated = demo.Generated(directory, 0, 0, {})
    started = time.perf_counter()
    comparison.classify_files(
        out,
        population=generated.population,
        enrollments=generated.enrollments,
        area=demo.DEFAULT_AREA,
        as_of=demo.AS_OF,
    )
    return {"seconds": time.perf_counter() - started, "peak_rss_mb": _peak_mb()}


def classify_spark(directory: Path, out: Path, master: str) -> dict:
    """Child: every person's classification by Spark (local mode), to Parquet; the JVM's start apart."""
    from registry import demo, rules
    from registry import spark as spark_engine

    started = time.perf_counter()
    spark = spark_engine.session(master, shuffle_partitions=8, driver_memory="2g")
    spark.sparkContext.setLogLevel("ERROR")
    session_s = time.perf_counter() - started
    started = time.perf_counter()
    inputs = spark_engine.find_inputs(spark, str(directory))
    frame = spark_engine.classification(
        spark, inputs, area=demo.DEFAULT_AREA, as_of=demo.AS_OF, rule_set=rules.active()
    )
    frame.select("person_id", "area", "klass", "dup", "survey", "inacc").write.mode("overwrite").parquet(
        str(out)
    )
    seconds = time.perf_counter() - started
    spark.stop()
    return {"seconds": seconds, "session_s": session_s}


def differences(duck: Path, spark_dir: Path) -> dict:
    """Persons whose area, class or reasons differ between the engines, or who are on one side only."""
    import duckdb

    con = duckdb.connect()
    a, b = f"read_parquet('{duck}')", f"read_parquet('{spark_dir}/*.parquet')"
    rows = {
        "duckdb": con.execute(f"SELECT count(*) FROM {a}").fetchone()[0],
        "spark": con.execute(f"SELECT count(*) FROM {b}").fetchone()[0],
    }
    rows["differences"] = con.execute(
        f"SELECT count(*) FROM {a} x FULL JOIN {b} y USING (person_id) "
        "WHERE x.person_id IS NULL OR y.person_id IS NULL OR x.area IS DISTINCT FROM y.area "
        "OR x.klass IS DISTINCT FROM y.klass OR x.dup IS DISTINCT FROM y.dup "
        "OR x.survey IS DISTINCT FROM y.survey OR x.inacc IS DISTINCT FROM y.inacc"
    ).fetchone()[0]
    rows["classes"] = dict(con.execute(f"SELECT klass, count(*) FROM {b} GROUP BY ALL ORDER BY 1").fetchall())
    con.close()
    return rows


def main_engines(args, directory: Path, generated) -> None:
    with tempfile.TemporaryDirectory(prefix="canbao-engines-") as tmp:
        duck_out, spark_out = Path(tmp) / "duckdb.parquet", Path(tmp) / "spark"
        duck = _child(["--child", "duckdb", "--dir", str(directory), "--out", str(duck_out)])
        print(f"DuckDB (rules over the files → Parquet): {duck['seconds']:.2f} s", flush=True)
        spark = _child(
            ["--child", "spark", "--dir", str(directory), "--out", str(spark_out), "--master", args.master]
        )
        print(
            f"Spark {args.master} (the same rules' SQL over the same files → Parquet): "
            f"{spark['seconds']:.2f} s "
            f"(+ {spark['session_s']:.1f} s to start the session)",
            flush=True,
        )
        found = differences(duck_out, spark_out)
    print(
        f"rows: DuckDB {found['duckdb']:,}, Spark {found['spark']:,}; "
        f"differing persons: {found['differences']}"
    )
    print(f"classes: {json.dumps(found['classes'], ensure_ascii=False)}", flush=True)
    identical = found["differences"] == 0 and found["duckdb"] == found["spark"] == generated.persons
    print(
        json.dumps(
            {
                "persons": generated.persons,
                "spark_s": round(spark["seconds"], 2),
                "duckdb_s": round(duck["seconds"], 2),
                "identical": identical,
                "differences": found["differences"],
            }
        )
    )


def check_truth(url: str, run_id: int, truth: Path) -> dict:
    """Precision and recall of the open flags raised by the run against the planted truth."""
    import duckdb
    import psycopg

    with tempfile.TemporaryDirectory() as tmp:
        found = Path(tmp) / "found.csv"
        with (
            psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn,
            conn.cursor() as cur,
            found.open("wb") as fh,
            cur.copy(
                f"COPY (SELECT person_id, kind, reasons FROM flag WHERE status = 'open' "
                f"AND last_seen_run_id = {int(run_id)}) TO STDOUT (FORMAT csv)"
            ) as copy,
        ):
            for block in copy:
                fh.write(block)
        con = duckdb.connect()
        con.execute(
            f"CREATE TABLE found AS SELECT * FROM read_csv('{found}', header = false, "
            "columns = {'id': 'VARCHAR', 'kind': 'VARCHAR', 'reasons': 'VARCHAR'})"
        )
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{truth}', all_varchar = true)")
        con.execute(
            "CREATE TABLE truth AS "
            "SELECT id_number AS id, 'duplicate' AS kind, dup AS reasons FROM t WHERE dup <> '' "
            "UNION ALL SELECT id_number, 'needs_survey', survey FROM t WHERE survey <> '' "
            "UNION ALL SELECT id_number, 'inaccurate', inacc FROM t WHERE inacc <> ''"
        )
        n_found = con.execute("SELECT count(*) FROM found").fetchone()[0]
        n_truth = con.execute("SELECT count(*) FROM truth").fetchone()[0]
        hits = con.execute("SELECT count(*) FROM found JOIN truth USING (id, kind, reasons)").fetchone()[0]
    return {
        "found": n_found,
        "planted": n_truth,
        "correct": hits,
        "precision": hits / n_found if n_found else 1.0,
        "recall": hits / n_truth if n_truth else 1.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--engine", choices=("duckdb", "spark"), default="duckdb", help="spark: compare Spark with DuckDB"
    )
    parser.add_argument("--master", default="local[2]", help="Spark master for --engine spark")
    parser.add_argument("--child", choices=("product", "baseline", "duckdb", "spark"), help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "product":
        print(json.dumps(run_product(Path(args.dir), args.url)))
        return
    if args.child == "baseline":
        print(json.dumps(run_baseline(Path(args.dir))))
        return
    if args.child == "duckdb":
        print(json.dumps(classify_duckdb(Path(args.dir), Path(args.out))))
        return
    if args.child == "spark":
        print(json.dumps(classify_spark(Path(args.dir), Path(args.out), args.master)))
        return

    from canbao import migrate
    from registry import demo

    from .scratch import scratch_database

    directory = CACHE / f"comparison-{args.persons}-seed{args.seed}"
    started = time.perf_counter()
    generated = demo.generate(directory, persons=args.persons, seed=args.seed)
    print(
        f"data: {generated.persons:,} persons, {generated.enrollment_rows:,} enrollment rows "
        f"({time.perf_counter() - started:.1f} s, cached in {directory})",
        flush=True,
    )
    print(f"planted: {json.dumps(generated.planted, ensure_ascii=False)}", flush=True)
    if args.engine == "spark":
        main_engines(args, directory, generated)
        return

    with scratch_database() as url:
        migrate.upgrade(url)
        product = _child(["--child", "product", "--dir", str(directory), "--url", url])
        print(
            "comparison (DuckDB over the files + run, counts, flags in PostgreSQL): "
            f"{product['seconds']:.2f} s, "
            f"peak RSS {product['peak_rss_mb']:.0f} MB",
            flush=True,
        )
        print(f"classes: {json.dumps(product['counts']['by_class'], ensure_ascii=False)}", flush=True)
        truth = check_truth(url, product["run_id"], generated.truth)
        print(f"planted truth: {truth}", flush=True)
        baseline = _child(["--child", "baseline", "--dir", str(directory)])
        print(
            f"baseline (one hand-written DuckDB query, same files): {baseline['seconds']:.2f} s, "
            f"peak RSS {baseline['peak_rss_mb']:.0f} MB; classes {baseline['counts']}",
            flush=True,
        )
    print(
        json.dumps(
            {
                "persons": generated.persons,
                "enrollment_rows": generated.enrollment_rows,
                "seconds": round(product["seconds"], 2),
                "peak_rss_mb": round(product["peak_rss_mb"]),
                "precision": truth["precision"],
                "recall": truth["recall"],
                "duckdb_baseline_seconds": round(baseline["seconds"], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
