"""The national comparison on Apache Spark (issue 19): the rule set's SQL in Spark SQL over extract files
classifies every person exactly as DuckDB does, and the run lands in the registry as the DuckDB run
over files does (flags, counts, invalid and outside numbers)."""

from __future__ import annotations

import duckdb
import pytest
from sqlalchemy import select

from canbao.actors import Actor
from registry import comparison, demo, rules
from registry import spark as spark_engine
from registry.models import ComparisonRun, Flag
from tests.registry.helpers import AS_OF, CLERK, csv_bytes, pid
from tests.registry.test_comparison import ADULT, build_cases, flags_of

CITY = Actor(sub="demo", roles=("city_admin",), area="3701")
POP_HEADER = ["id_number", "name", "sex", "birth_date", "hukou_division", "hukou_address", "status"]
ENR_HEADER = [
    "id_number",
    "name",
    "birth_date",
    "scheme",
    "status",
    "pay_status",
    "place",
    "start_date",
    "end_date",
]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return demo.generate(tmp_path_factory.mktemp("extract"), persons=4000, seed=11)


def _differences(a: str, b: str) -> tuple[int, int, int]:
    """(rows in a, rows in b, persons whose area, class or reasons differ or who are on one side only)."""
    con = duckdb.connect()
    try:
        n_a = con.execute(f"SELECT count(*) FROM read_parquet('{a}')").fetchone()[0]
        n_b = con.execute(f"SELECT count(*) FROM read_parquet('{b}')").fetchone()[0]
        diff = con.execute(
            f"SELECT count(*) FROM read_parquet('{a}') x FULL JOIN read_parquet('{b}') y USING (person_id) "
            "WHERE x.person_id IS NULL OR y.person_id IS NULL OR x.area IS DISTINCT FROM y.area "
            "OR x.klass IS DISTINCT FROM y.klass OR x.dup IS DISTINCT FROM y.dup "
            "OR x.survey IS DISTINCT FROM y.survey OR x.inacc IS DISTINCT FROM y.inacc"
        ).fetchone()[0]
    finally:
        con.close()
    return n_a, n_b, diff


def _as_parquet(planted, directory):
    """The planted extract as Parquet files (every column text, as the CSV files hold it)."""
    directory.mkdir()
    con = duckdb.connect()
    for path in (planted.population, *planted.enrollments.values()):
        con.execute(
            f"COPY (SELECT * FROM read_csv('{path}', header = true, all_varchar = true)) "
            f"TO '{directory / path.with_suffix('.parquet').name}' (FORMAT parquet)"
        )
    con.close()
    return demo.Generated(directory, planted.persons, planted.enrollment_rows, planted.planted)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_every_person_classified_as_duckdb_does(spark, planted, tmp_path, fmt):
    extract = planted if fmt == "csv" else _as_parquet(planted, tmp_path / "parquet")
    population = extract.directory / f"population.{fmt}"
    enrollments = {
        k: extract.directory / v.with_suffix(f".{fmt}").name for k, v in planted.enrollments.items()
    }
    duck = tmp_path / "duckdb.parquet"
    comparison.classify_files(
        duck, population=population, enrollments=enrollments, area="3701", as_of=demo.AS_OF
    )
    inputs = spark_engine.find_inputs(spark, str(extract.directory))
    assert set(inputs.enrollments) == {"shebao", "yibao"} and inputs.population.endswith(fmt)
    frame = spark_engine.classification(
        spark, inputs, area="3701", as_of=demo.AS_OF, rule_set=rules.default()
    )
    frame.select("person_id", "area", "klass", "dup", "survey", "inacc").write.parquet(
        str(tmp_path / "spark")
    )
    n_duck, n_spark, different = _differences(str(duck), str(tmp_path / "spark" / "*.parquet"))
    assert n_duck == n_spark == planted.persons
    assert different == 0


def test_compare_on_spark_records_flags_like_duckdb(db, spark, planted, tmp_path):
    truth = demo.truth_flags(planted.truth)
    with db.sessions() as s, s.begin():
        result = spark_engine.run(
            s,
            actor=CITY,
            area="3701",
            input_dir=str(planted.directory),
            out_dir=str(tmp_path / "out"),
            as_of=demo.AS_OF,
            spark=spark,
        )
        run_id = result.run.id
        found = {
            (f.person_id, f.kind, f.reasons) for f in s.scalars(select(Flag).where(Flag.status == "open"))
        }
    assert found == truth
    with db.sessions() as s, s.begin():
        spark_run = s.get(ComparisonRun, run_id)
        assert spark_run.mode == "spark"
        assert spark_run.rule_set == rules.default().label
        assert spark_run.rule_set_sha256 == rules.default().sha256
        assert spark_run.inputs["population_invalid_ids"] == 0
        assert spark_run.counts["persons"] == planted.persons
        duck_run = comparison.run_files(
            s,
            actor=CITY,
            area="3701",
            population=planted.population,
            enrollments=planted.enrollments,
            as_of=demo.AS_OF,
        ).run
        # the same findings again: nothing new, nothing resolved, the same counts
        assert duck_run.counts == spark_run.counts
        assert sum(duck_run.diff["new"].values()) == 0 and sum(duck_run.diff["resolved"].values()) == 0
        assert (
            duck_run.inputs["enrollments_outside_population"]
            == spark_run.inputs["enrollments_outside_population"]
        )
    con = duckdb.connect()
    written = con.execute(f"SELECT count(*) FROM read_parquet('{tmp_path / 'out'}/*.parquet')").fetchone()[0]
    assert written == planted.persons


def test_extract_files_are_read_from_the_s3_store_and_answered_there(
    db, spark, planted, tmp_path, s3_server, monkeypatch
):
    """第五、十条: extracts arrive in the object store; the run reads them there and writes the
    classification back beside them."""
    import uuid

    from minio import Minio

    from canbao.config import get_settings

    bucket = f"canbao-extract-{uuid.uuid4().hex[:8]}"
    client = Minio(s3_server.endpoint, s3_server.access_key, s3_server.secret_key, secure=False)
    client.make_bucket(bucket)
    for path in (planted.population, *planted.enrollments.values()):
        client.fput_object(bucket, f"2026-12/{path.name}", str(path))
    for name, value in (
        ("CANBAO_S3_ENDPOINT", s3_server.endpoint),
        ("CANBAO_S3_ACCESS_KEY", s3_server.access_key),
        ("CANBAO_S3_SECRET_KEY", s3_server.secret_key),
    ):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        with db.sessions() as s, s.begin():
            run = spark_engine.run(
                s, actor=CITY, area="3701", input_dir=f"s3://{bucket}/2026-12", as_of=demo.AS_OF, spark=spark
            ).run
            found = {
                (f.person_id, f.kind, f.reasons) for f in s.scalars(select(Flag).where(Flag.status == "open"))
            }
            assert found == demo.truth_flags(planted.truth)
            assert (run.inputs["input"], run.inputs["output"]) == (
                f"s3://{bucket}/2026-12",
                f"s3://{bucket}/2026-12/classification/",
            )
    finally:
        get_settings.cache_clear()
    answered = [o.object_name for o in client.list_objects(bucket, prefix="2026-12/classification/")]
    assert answered and all(name.endswith(".parquet") for name in answered)
    for name in answered:
        client.fget_object(bucket, name, str(tmp_path / "back" / name.rsplit("/", 1)[1]))
    con = duckdb.connect()
    back = con.execute(f"SELECT count(*) FROM read_parquet('{tmp_path / 'back'}/*.parquet')").fetchone()[0]
    assert back == planted.persons


def test_hand_made_cases_and_bad_numbers_on_spark(db, spark, tmp_path):
    """Each hand-made rule case, plus invalid numbers (wrong check character, impossible birth date),
    15-digit numbers, lower case and numbers outside the population: as DuckDB and the registry do."""
    population, enrollments, expected = build_cases()
    a = pid(ADULT, 90)
    wrong = a[:17] + ("0" if a[17] != "0" else "1")
    legacy = a[:6] + a[8:17]
    population += [
        [wrong, "假号", "", "", "370102001002", "", "正常"],
        [pid("19800231", 91), "无日", "", "", "370102001002", "", "正常"],
    ]
    population.append([a, "张九", "", "", "370102001002", "", "正常"])
    enrollments += [
        [legacy, "", "", "310", "1", "1", "370102", "2015-01-01", ""],
        [a.lower(), "", "", "110", "1", "1", "370102", "2015-01-01", ""],
        [wrong, "", "", "110", "1", "1", "370102", "2015-01-01", ""],
        ["12345", "", "", "310", "1", "1", "370102", "2015-01-01", ""],
    ]
    expected[a] = ("legacy", "insured", {})
    directory = tmp_path / "in"
    directory.mkdir()
    (directory / "population.csv").write_bytes(csv_bytes(POP_HEADER, population))
    (directory / "enrollments_shebao.csv").write_bytes(csv_bytes(ENR_HEADER, enrollments))
    with db.sessions() as s, s.begin():
        run = spark_engine.run(
            s, actor=CLERK, area="370102", input_dir=str(directory), as_of=AS_OF, spark=spark
        ).run
        found = flags_of(s)
    for number, (name, _klass, flags) in expected.items():
        assert found.get(number, {}) == flags, name
    want: dict[str, int] = {}
    for _name, klass, _flags in expected.values():
        want[klass] = want.get(klass, 0) + 1
    assert run.counts["by_class"] == want
    assert run.inputs["population_invalid_ids"] == 2
    assert run.inputs["enrollments_outside_population"] == 1  # the wrong check character
    duck = tmp_path / "duck.parquet"
    comparison.classify_files(
        duck,
        population=directory / "population.csv",
        enrollments={"社保": directory / "enrollments_shebao.csv"},
        area="370102",
        as_of=AS_OF,
    )
    n_duck, n_spark, different = _differences(str(duck), str(directory / "classification" / "*.parquet"))
    assert n_duck == n_spark == len(expected) and different == 0


def test_an_input_directory_without_extracts_is_refused(spark, tmp_path):
    (tmp_path / "notes.txt").write_text("nothing")
    with pytest.raises(comparison.Invalid) as caught:
        spark_engine.find_inputs(spark, str(tmp_path))
    assert {e.code for e in caught.value.errors} == {"input.population", "input.enrollments"}
