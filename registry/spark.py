"""The national comparison on Apache Spark (规程第五、十条): the rule set's SQL (`comparison.rules_sql`,
the very text DuckDB and the registry database run) over extract files in Spark SQL, for more persons
than one machine holds.

Inputs are a directory (local, or `s3a://bucket/prefix` on the object store) holding
`population.csv|parquet` and one `enrollments_<system>.csv|parquet` per insurance system, with the
import headings in English (as `registry.demo` writes them). The numbers are normalised as in DuckDB
(`comparison.file_inputs`): a 公民身份号码 with a wrong check character or birth date is no person, a
15-digit number is upgraded. Each person's classification is written back as Parquet
(`<out>/classification`), and the persons with a finding are recorded in the registry the same way as
the DuckDB run over files (`comparison.record_findings`: counts, flags, diff).
"""

from __future__ import annotations

import csv
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from canbao import clock
from canbao.actors import Actor
from canbao.errors import FieldError, Invalid

from . import comparison, rules
from .common import sql_in_area
from .rules import RuleSet

WEIGHTS = comparison.WEIGHTS
POPULATION_COLUMNS = ("id_number", "name", "hukou_division", "status")
ENROLLMENT_COLUMNS = (
    "id_number",
    "scheme",
    "status",
    "place",
    "start_date",
    "end_date",
    "name",
    "birth_date",
)
FINDING_COLUMNS = ("person_id", "area", "klass", "dup", "survey", "inacc", "under_age")
HADOOP_AWS = "org.apache.hadoop:hadoop-aws"


def session(
    master: str = "local[2]",
    *,
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
    s3: bool = False,
):
    """A SparkSession for the comparison. ANSI mode is off so that a malformed date or number in an
    extract becomes NULL (as DuckDB's try_cast) instead of failing the job. With `s3`, the s3a file
    system is configured from the CANBAO_S3_* settings (needs the hadoop-aws package on the cluster)."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.appName("canbao-compare")
        .master(master)
        .config("spark.sql.ansi.enabled", "false")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    if driver_memory:  # local mode: the driver is the executor (takes effect when the JVM starts)
        builder = builder.config("spark.driver.memory", driver_memory)
    if s3:
        from canbao.config import get_settings

        settings = get_settings()
        scheme = "https" if settings.s3_secure else "http"
        builder = (
            builder.config("spark.hadoop.fs.s3a.endpoint", f"{scheme}://{settings.s3_endpoint}")
            .config("spark.hadoop.fs.s3a.access.key", settings.s3_access_key or "")
            .config("spark.hadoop.fs.s3a.secret.key", settings.s3_secret_key or "")
            .config("spark.hadoop.fs.s3a.path.style.access", "true")
            .config("spark.hadoop.fs.s3a.connection.ssl.enabled", str(settings.s3_secure).lower())
        )
        if os.environ.get("CANBAO_SPARK_PACKAGES") != "none":
            hadoop = os.environ.get("CANBAO_HADOOP_VERSION", "3.4.1")
            builder = builder.config("spark.jars.packages", f"{HADOOP_AWS}:{hadoop}")
    return builder.getOrCreate()


@dataclass
class Inputs:
    population: str
    enrollments: dict[str, str]  # system -> path


def find_inputs(spark, directory: str) -> Inputs:
    """The extract files in `directory` (any Hadoop file system: local paths, s3a://…)."""
    jvm = spark._jvm
    path = jvm.org.apache.hadoop.fs.Path(directory)
    fs = path.getFileSystem(spark._jsc.hadoopConfiguration())
    if not fs.exists(path):
        raise Invalid([FieldError("/input", "input.not_found", f"输入目录不存在：{directory}")])
    names = sorted(str(status.getPath().getName()) for status in fs.listStatus(path))
    base = directory.rstrip("/")
    population = [n for n in names if n in ("population.csv", "population.parquet")]
    enrollments = {
        n.split(".", 1)[0].removeprefix("enrollments_"): f"{base}/{n}"
        for n in names
        if n.startswith("enrollments_") and n.endswith((".csv", ".parquet"))
    }
    errors = []
    if len(population) != 1:
        errors.append(
            FieldError("/input", "input.population", "输入目录应有且只有一个 population.csv 或 .parquet")
        )
    if not enrollments:
        errors.append(
            FieldError("/input", "input.enrollments", "输入目录没有 enrollments_<系统>.csv 或 .parquet")
        )
    if errors:
        raise Invalid(errors)
    return Inputs(f"{base}/{population[0]}", enrollments)


def _read(spark, path: str, columns: tuple[str, ...]):
    if path.endswith(".parquet"):
        frame = spark.read.parquet(path)
    else:
        frame = spark.read.option("header", "true").option("encoding", "UTF-8").csv(path)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise Invalid(
            [FieldError("/input", "input.columns", f"{path} 缺少列：{', '.join(missing)}")],
        )
    return frame.selectExpr(*(f"CAST({c} AS STRING) AS {c}" for c in columns))


def _check(body: str) -> str:
    """The GB 11643 check character of the 17-digit `body` (Spark SQL)."""
    total = " + ".join(f"CAST(substr({body}, {i + 1}, 1) AS INT) * {w}" for i, w in enumerate(WEIGHTS))
    return f"substr('10X98765432', (({total}) % 11) + 1, 1)"


def _body(r: str) -> str:
    return (
        f"CASE WHEN {r} RLIKE '^[0-9]{{15}}$' THEN substr({r}, 1, 6) || '19' || substr({r}, 7, 9) "
        f"WHEN {r} RLIKE '^[0-9]{{17}}[0-9X]$' THEN substr({r}, 1, 17) END"
    )


STATUS = (
    "CASE coalesce(status, '') WHEN '死亡' THEN 'dead' WHEN '注销' THEN 'cancelled' "
    "WHEN '迁出' THEN 'moved_out' "
    "WHEN '正常' THEN 'normal' WHEN '管理中' THEN 'normal' WHEN '' THEN 'normal' ELSE status END"
)


def register_inputs(spark, inputs: Inputs, area: str) -> tuple[str, str]:
    """Temporary views `pop` and `enr` (as `comparison.file_inputs` makes them in DuckDB, with the
    number kept as its 18 characters); returns (p_sql, e_sql) for the rules."""
    from pyspark import StorageLevel

    _read(spark, inputs.population, POPULATION_COLUMNS).createOrReplaceTempView("pop_raw")
    frames = [_read(spark, path, ENROLLMENT_COLUMNS) for path in inputs.enrollments.values()]
    union = frames[0]
    for frame in frames[1:]:
        union = union.unionByName(frame)
    union.createOrReplaceTempView("enr_raw")
    # Both are kept (memory, else local disk) once read: Spark SQL inlines the rules' CTEs, which would
    # otherwise scan and parse the files again for each use of `p` and `e0`.
    spark.sql(
        "SELECT CASE WHEN b IS NULL OR (length(r) = 18 AND substr(r, 18, 1) <> c) OR born IS NULL "
        "THEN NULL ELSE b || c END AS id, area, name, born AS birth_date, status FROM ("
        f"SELECT *, {_check('b')} AS c, to_date(substr(b, 7, 8), 'yyyyMMdd') AS born FROM ("
        f"SELECT {_body('r')} AS b, r, area, name, status FROM ("
        f"SELECT upper(trim(id_number)) AS r, hukou_division AS area, name, {STATUS} AS status "
        f"FROM pop_raw WHERE {sql_in_area('hukou_division', area)})))"
    ).persist(StorageLevel.MEMORY_AND_DISK).createOrReplaceTempView("pop")
    # 18 characters are taken as given (they only ever join with numbers `pop` checked); a 15-digit
    # number is upgraded when its birth date is a date.
    upgraded = f"CASE WHEN to_date(substr(b, 7, 8), 'yyyyMMdd') IS NOT NULL THEN b || {_check('b')} END"
    spark.sql(
        "SELECT person_id, person_id IS NOT NULL OR length(r) = 18 AS has_id, scheme, status, place, "
        "start_date, end_date, src_name, src_birth_date FROM ("
        "SELECT CASE WHEN length(r) = 18 THEN CASE WHEN r RLIKE '^[0-9]{17}[0-9X]$' THEN r END "
        f"WHEN length(r) = 15 THEN {upgraded} END AS person_id, * FROM ("
        f"SELECT upper(trim(id_number)) AS r, {_body('upper(trim(id_number))')} AS b, scheme, status, "
        "place, to_date(start_date, 'yyyy-MM-dd') AS start_date, "
        "to_date(end_date, 'yyyy-MM-dd') AS end_date, "
        "nullif(name, '') AS src_name, to_date(birth_date, 'yyyy-MM-dd') AS src_birth_date FROM enr_raw))"
    ).persist(StorageLevel.MEMORY_AND_DISK).createOrReplaceTempView("enr")
    p_sql = "SELECT id, area, name, birth_date, status FROM pop WHERE id IS NOT NULL"
    e_sql = (
        "SELECT person_id, scheme, status, place, start_date, end_date, src_name, src_birth_date "
        "FROM enr WHERE person_id IS NOT NULL"
    )
    return p_sql, e_sql


def classification(
    spark,
    inputs: Inputs,
    *,
    area: str,
    as_of: date,
    rule_set: RuleSet,
    relations: dict[str, str] | None = None,
):
    """Every person's classification (a DataFrame of `comparison.rules_sql`'s columns). `relations`:
    Spark SQL of the rule set's optional relations, with the 18-character number as `person_id`."""
    p_sql, e_sql = register_inputs(spark, inputs, area)
    return spark.sql(
        comparison.rules_sql(
            p_sql, e_sql, as_of=as_of, rule_set=rule_set, relations=relations, cte_hints=False
        )
    )


def population_counts(spark, pension_age: int, as_of: date) -> tuple[dict[str, int], dict[str, int], int]:
    """As `comparison._population_counts`: valid and under-age persons per division, invalid numbers."""
    cutoff = comparison.birth_cutoff(as_of, pension_age)
    totals: dict[str, int] = {}
    under: dict[str, int] = {}
    rejected = 0
    for row in spark.sql(
        "SELECT area, count(id) AS valid, count(*) - count(id) AS invalid, "
        "count(CASE WHEN id IS NOT NULL AND status = 'normal' "
        f"AND (CASE WHEN birth_date <= {cutoff} THEN 1 ELSE 0 END) = 0 THEN 1 END) AS young "
        "FROM pop GROUP BY area"
    ).collect():
        rejected += row["invalid"]
        if row["valid"]:
            totals[row["area"]] = row["valid"]
        if row["young"]:
            under[row["area"]] = row["young"]
    return totals, under, rejected


def unmatched(spark) -> int:
    return spark.sql(
        "SELECT count(*) AS n FROM enr WHERE has_id "
        "AND NOT EXISTS (SELECT 1 FROM pop WHERE pop.id IS NOT NULL AND pop.id = enr.person_id)"
    ).collect()[0]["n"]


def _findings_file(spark, frame, master: str, tmp: Path) -> Path:
    """The persons with a finding, in the order of their numbers, as one local CSV file."""
    noted = frame.where("noted = 1").select(*FINDING_COLUMNS).orderBy("person_id")
    target = tmp / "findings.csv"
    if master.startswith("local"):
        # executors share the driver's disk: Spark writes the file itself
        out = tmp / "findings"
        noted.coalesce(1).write.mode("overwrite").option("header", "false").csv(str(out))
        parts = sorted(out.glob("part-*.csv"))
        with target.open("wb") as fh:
            for part in parts:
                fh.write(part.read_bytes())
        return target
    with target.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        for row in noted.toLocalIterator():
            writer.writerow([row[c] if row[c] is not None else "" for c in FINDING_COLUMNS])
    return target


def _store():
    """The S3 store of the CANBAO_S3_* settings (the archive's server)."""
    from minio import Minio

    from canbao.config import get_settings

    settings = get_settings()
    if not settings.s3_endpoint:
        raise ValueError("s3:// 输入需要 CANBAO_S3_ENDPOINT")
    return Minio(
        settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        secure=settings.s3_secure,
        region=settings.s3_region,
    )


def _fetch(url: str, directory: Path) -> tuple[str, str]:
    """The extract files directly under `s3://bucket/prefix/` copied into `directory`, for a Spark whose
    driver reads local files (local mode; a cluster reads `s3a://` itself). Returns (bucket, prefix)."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    prefix = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
    client = _store()
    for item in client.list_objects(bucket, prefix=prefix):
        name = item.object_name[len(prefix) :]
        if not item.is_dir and "/" not in name:
            client.fget_object(bucket, item.object_name, str(directory / name))
    return bucket, prefix


def _upload(directory: Path, bucket: str, prefix: str) -> str:
    """The classification files back into the store beside the extract; returns their s3:// prefix."""
    client = _store()
    for path in sorted(directory.glob("*.parquet")):
        client.fput_object(bucket, prefix + path.name, str(path))
    return f"s3://{bucket}/{prefix}"


def run(
    session_: Session,
    *,
    actor: Actor,
    area: str,
    input_dir: str,
    out_dir: str | None = None,
    as_of: date | None = None,
    master: str = "local[2]",
    spark=None,
    rule_set: RuleSet | None = None,
    relations: dict[str, str] | None = None,
) -> comparison.RunResult:
    """Compare the extract files in `input_dir` on Spark, write every person's classification to
    `out_dir` (default `<input_dir>/classification`) as Parquet, and record the run, counts and flags in
    the registry database (in the caller's transaction). `input_dir` is a directory, an `s3a://` URL a
    cluster reads itself, or `s3://bucket/prefix` in the archive's S3 store, fetched for the driver and
    answered there (`…/classification/`)."""
    if input_dir.startswith("s3://"):
        with tempfile.TemporaryDirectory(prefix="canbao-extract-") as local:
            bucket, prefix = _fetch(input_dir, Path(local))
            result = run(
                session_,
                actor=actor,
                area=area,
                input_dir=local,
                out_dir=out_dir or f"{local}/classification",
                as_of=as_of,
                master=master,
                spark=spark,
                rule_set=rule_set,
                relations=relations,
            )
            if out_dir is None:
                result.run.inputs = {
                    **result.run.inputs,
                    "input": input_dir,
                    "output": _upload(Path(local) / "classification", bucket, f"{prefix}classification/"),
                }
        return result
    started = time.perf_counter()
    as_of = as_of or clock.today()
    rule_set = rule_set or rules.active()
    own = spark is None
    if own:
        spark = session(master, s3=input_dir.startswith("s3a://"))
    try:
        inputs = find_inputs(spark, input_dir)
        recorded: dict[str, Any] = {
            "source": "files",
            "engine": "spark",
            "master": spark.sparkContext.master,
            "population": {"file": inputs.population},
            "enrollments": {k: {"file": v} for k, v in inputs.enrollments.items()},
        }
        cmp_run = comparison.start_run(
            session_, actor=actor, area=area, as_of=as_of, mode="spark", inputs=recorded, rule_set=rule_set
        )
        frame = classification(spark, inputs, area=area, as_of=as_of, rule_set=rule_set, relations=relations)
        frame = frame.persist()
        out = out_dir or f"{input_dir.rstrip('/')}/classification"
        frame.select("person_id", "area", "klass", "dup", "survey", "inacc").write.mode("overwrite").parquet(
            out
        )
        totals, under, rejected = population_counts(spark, rule_set.comparison.pension_age, as_of)
        outside = unmatched(spark)
        with tempfile.TemporaryDirectory(prefix="canbao-spark-") as tmp:
            findings = _findings_file(spark, frame, spark.sparkContext.master, Path(tmp))
            spark.catalog.clearCache()
            comparison.record_findings(session_, cmp_run, findings, totals, under, actor=actor)
        cmp_run.inputs = {
            **recorded,
            "output": out,
            "population_invalid_ids": rejected,
            "enrollments_outside_population": outside,
        }
    finally:
        if own:
            spark.stop()
    return comparison.RunResult(cmp_run, time.perf_counter() - started)
