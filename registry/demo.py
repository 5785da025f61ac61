"""Synthetic but valid population and enrollment files for the Jinan (3701) divisions, with planted
findings at known rates and the truth beside them. Used by `canbao demo` (small) and by
`bench.comparison` (10 M persons); generated in DuckDB so that millions of rows take seconds.

Every 公民身份号码 is valid (address code = the county of the person's village, birth date, order
code unique per county and birth date with the sex parity, GB 11643 check character). Ages follow the
2020 census pyramid in 5-year bands; 51.25 % male. Planted (rates of all persons, `PLANTED`):
deaths (some still insured), cancellations, moves, duplicate medical / pension / pooling-area
enrollments, name and birth-date disagreements, uninsured persons, and persons missing medical or
pension insurance. Noise that must *not* be flagged: terminated earlier enrollments, 15-digit and
lower-case-x numbers in the insurance files.

Files (CSV, UTF-8, English headings accepted by `registry.imports`): population.csv,
enrollments_shebao.csv (pension 110/170), enrollments_yibao.csv (medical 310/390), truth.csv
(id_number, klass, dup, survey, inacc).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .comparison import duckdb_macros

AS_OF = date(2026, 6, 30)
DEFAULT_AREA = "3701"
# Share of each 5-year age band, 0–4 … 95–99 (七普 2020, rounded).
AGE_BANDS = (
    5.4,
    6.3,
    6.1,
    5.2,
    5.3,
    6.6,
    8.9,
    7.2,
    6.8,
    8.2,
    8.7,
    7.2,
    5.2,
    5.0,
    3.5,
    2.2,
    1.4,
    0.7,
    0.25,
    0.05,
)
MALE_SHARE = 0.5125
EMPLOYEE_SHARE = 0.45
PLANTED = {  # class → share of all persons
    "dead": 0.008,
    "dead_active": 0.002,
    "cancelled": 0.003,
    "moved_out": 0.007,
    "dup_medical": 0.005,
    "dup_pension": 0.003,
    "dup_place": 0.002,
    "name_mismatch": 0.004,
    "birth_mismatch": 0.002,
    "uninsured": 0.04,
    "missing_medical": 0.015,
    "missing_pension": 0.015,
}
NOISE_SHARE = 0.05  # insured persons with a terminated earlier enrollment
SHORT_ID_SHARE = 0.01  # rows in the insurance files written with the 15-digit number
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红娥玲芬飞鹏辉建国春雪琳晨宇浩然欣怡子涵梓轩"


@dataclass
class Generated:
    directory: Path
    persons: int
    enrollment_rows: int
    planted: dict[str, int]

    @property
    def population(self) -> Path:
        return self.directory / "population.csv"

    @property
    def enrollments(self) -> dict[str, Path]:
        return {
            "社保": self.directory / "enrollments_shebao.csv",
            "医保": self.directory / "enrollments_yibao.csv",
        }

    @property
    def truth(self) -> Path:
        return self.directory / "truth.csv"


def _villages(area: str) -> list[str]:
    from forms.divisions import DATA_DIR

    codes: list[str] = []
    for file in sorted(DATA_DIR.glob("villages*.csv")):
        with file.open(encoding="utf-8") as fh:
            next(fh)
            codes.extend(line.split(",", 1)[0] for line in fh if line.startswith(area))
    if not codes:
        raise ValueError(f"no village codes for {area} in {DATA_DIR}")
    return sorted(codes)


def _u(k: int) -> str:
    return f"((hash(i, seed, {k}) % 10000000)::DOUBLE / 10000000.0)"


def generate(
    directory: Path | str,
    *,
    persons: int,
    seed: int = 1,
    as_of: date = AS_OF,
    area: str = DEFAULT_AREA,
    threads: int | None = None,
    memory_limit: str = "6GB",
) -> Generated:
    """Write the files for `persons` persons into `directory` (reused when already complete)."""
    import duckdb

    directory = Path(directory)
    meta_path = directory / "meta.json"
    wanted = {"persons": persons, "seed": seed, "as_of": as_of.isoformat(), "area": area, "version": 1}
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("params") == wanted:
            return Generated(directory, persons, meta["enrollment_rows"], meta["planted"])
    directory.mkdir(parents=True, exist_ok=True)
    villages = _villages(area)
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    for statement in duckdb_macros():
        con.execute(statement)
    con.execute(
        "CREATE TABLE v AS SELECT (row_number() OVER (ORDER BY code) - 1)::BIGINT AS vi, code "
        "FROM (SELECT unnest($1::VARCHAR[]) AS code)",
        [villages],
    )
    bands, acc = [], 0.0
    total = sum(AGE_BANDS)
    for band, share in enumerate(AGE_BANDS):
        acc += share / total
        bands.append(f"WHEN u_age < {acc:.6f} THEN {band}")
    classes, acc = [], 0.0
    for name, share in PLANTED.items():
        acc += share
        classes.append(f"WHEN u_class < {acc:.6f} THEN '{name}'")
    surnames, given = list(SURNAMES), list(GIVEN)
    d = f"DATE '{as_of.isoformat()}'"
    con.execute(f"""
CREATE TABLE p0 AS
SELECT i, seed,
  floor({_u(1)} * {len(villages)})::BIGINT AS vi,
  CASE WHEN {_u(2)} < {MALE_SHARE} THEN 1 ELSE 0 END AS male,
  {_u(3)} AS u_age, {_u(4)} AS u_year, {_u(5)} AS u_day, {_u(6)} AS u_class, {_u(7)} AS u_emp,
  {_u(8)} AS u_noise, {_u(9)} AS u_short, {_u(10)} AS u_start, {_u(11)} AS u_name
FROM (SELECT range AS i, {int(seed)} AS seed FROM range({int(persons)}))
""")
    con.execute(f"""
CREATE TABLE p1 AS
SELECT p0.i, v.code AS village, substr(v.code, 1, 6) AS county, male,
  (CASE {" ".join(bands)} ELSE {len(AGE_BANDS) - 1} END) * 5 + floor(u_year * 5)::INT AS age,
  u_day, u_class, u_emp, u_noise, u_short, u_start, u_name
FROM p0 JOIN v USING (vi)
""")
    con.execute(f"""
CREATE TABLE p2 AS
SELECT *, ({d} - INTERVAL (age) YEAR - INTERVAL (floor(u_day * 365)::INT) DAY)::DATE AS birth,
  CASE {" ".join(classes)} ELSE 'insured' END AS planted
FROM p1
""")
    con.execute(
        f"""
CREATE TABLE persons AS
SELECT *, body || cb_check(body) AS id FROM (
  SELECT p2.*, county || strftime(birth, '%Y%m%d')
      || lpad(((row_number() OVER (PARTITION BY county, birth ORDER BY i) - 1) * 2 +
        male)::VARCHAR, 3, '0') AS body,
    CASE WHEN age < 16 THEN (CASE planted WHEN 'missing_medical' THEN 'uninsured'
                                          WHEN 'dup_pension' THEN 'insured' WHEN 'missing_pension'
                                            THEN 'insured'
                                          ELSE planted END) ELSE planted END AS cls,
    age >= 16 AND age < 60 AND u_emp < {EMPLOYEE_SHARE / 0.7:.4f} AS employee,
    list_extract($1::VARCHAR[], (hash(i, 'sn') % {len(surnames)})::INT + 1)
      || list_extract($2::VARCHAR[], (hash(i, 'g1') % {len(given)})::INT + 1)
      || CASE WHEN u_name < 0.7 THEN list_extract($2::VARCHAR[], (hash(i, 'g2') %
        {len(given)})::INT + 1) ELSE '' END AS name
  FROM p2)
""",
        [surnames, given],
    )
    bad = con.execute("SELECT count(*) FROM persons WHERE id IS NULL OR length(body) <> 17").fetchone()[0]
    if bad:
        raise RuntimeError(f"{bad} generated numbers are invalid (order codes exhausted?)")
    pop = directory / "population.csv"
    con.execute(f"""
COPY (SELECT id AS id_number, name, CASE WHEN male = 1 THEN '1' ELSE '2' END AS sex,
  strftime(birth, '%Y-%m-%d') AS birth_date,
        '01' AS ethnicity, village AS hukou_division, '济南市' || village || '号' AS hukou_address,
        CASE WHEN substr(village, 10, 1) IN ('0', '1') THEN '10' ELSE '20' END AS hukou_nature,
        CASE cls WHEN 'dead' THEN '死亡' WHEN 'dead_active' THEN '死亡' WHEN 'cancelled' THEN '注销'
                 WHEN 'moved_out' THEN '迁出' ELSE '正常' END AS status
      FROM persons) TO '{pop}' (HEADER, DELIMITER ',')
""")
    # Enrollment facts: (person, scheme, status, place, start, end, src name, src birth).
    start = (
        "least(greatest(birth + INTERVAL 1 DAY, "
        "DATE '2000-01-01' + INTERVAL (floor(u_start * 8000)::INT) DAY), "
        f"{d} - INTERVAL 1 DAY)::DATE"
    )
    medical = "CASE WHEN employee THEN '310' ELSE '390' END"
    other_medical = "CASE WHEN employee THEN '390' ELSE '310' END"
    pension = "CASE WHEN employee THEN '110' ELSE '170' END"
    other_pension = "CASE WHEN employee THEN '170' ELSE '110' END"
    other_place = "CASE WHEN county = '370103' THEN '370104' ELSE '370103' END"
    adult = "age >= 16"
    con.execute(f"""
CREATE TABLE facts AS
SELECT id, name, birth, {medical} AS scheme, '1' AS status, county AS place, {start} AS s,
  NULL::DATE AS e, cls
  FROM persons WHERE cls NOT IN ('dead', 'cancelled', 'moved_out', 'uninsured', 'missing_medical')
UNION ALL
SELECT id, name, birth, {pension}, '1', county, {start}, NULL, cls
  FROM persons WHERE {adult} AND cls NOT IN ('dead', 'dead_active', 'cancelled', 'moved_out',
    'uninsured', 'missing_pension')
UNION ALL
SELECT id, name, birth, {other_medical}, '1', county, {start}, NULL, cls FROM persons WHERE cls =
  'dup_medical'
UNION ALL
SELECT id, name, birth, {other_pension}, '1', county, {start}, NULL, cls FROM persons WHERE cls =
  'dup_pension'
UNION ALL
SELECT id, name, birth, {medical}, '1', {other_place}, {start}, NULL, cls FROM persons WHERE cls = 'dup_place'
UNION ALL
SELECT id, name, birth, {other_medical}, '4', county, (birth + INTERVAL 1 DAY)::DATE,
       least({start} - INTERVAL 1 DAY, {d} - INTERVAL 1 DAY)::DATE, cls
  FROM persons WHERE cls = 'insured' AND u_noise < {NOISE_SHARE} AND {start} > birth + INTERVAL 2 DAY
""")
    rows = con.execute("SELECT count(*) FROM facts").fetchone()[0]
    for _label, schemes, file in (
        ("社保", "('110', '120', '170')", "enrollments_shebao.csv"),
        ("医保", "('310', '390')", "enrollments_yibao.csv"),
    ):
        con.execute(f"""
COPY (SELECT
        CASE WHEN hash(id, scheme, 'short') % 1000 < {int(SHORT_ID_SHARE * 1000)} AND substr(id, 7, 2) = '19'
             THEN substr(id, 1, 6) || substr(id, 9, 9)
             WHEN substr(id, 18, 1) = 'X' AND hash(id, 'x') % 2 = 0 THEN lower(id) ELSE id END AS id_number,
        CASE WHEN cls = 'name_mismatch' AND scheme IN ('310', '390') THEN name || '华' ELSE name END AS name,
        strftime(CASE WHEN cls = 'birth_mismatch' AND scheme IN ('310', '390') THEN birth +
          INTERVAL 1 DAY ELSE birth END,
                 '%Y-%m-%d') AS birth_date,
        scheme, status, CASE WHEN status = '1' THEN '1' ELSE '3' END AS pay_status, place,
        strftime(s, '%Y-%m-%d') AS start_date, coalesce(strftime(e, '%Y-%m-%d'), '') AS end_date
      FROM facts WHERE scheme IN {schemes}) TO '{directory / file}' (HEADER, DELIMITER ',')
""")
    truth = directory / "truth.csv"
    con.execute(f"""
COPY (SELECT id AS id_number,
        CASE cls WHEN 'dead' THEN 'excluded.dead' WHEN 'dead_active' THEN 'excluded.dead'
                 WHEN 'cancelled' THEN 'excluded.cancelled' WHEN 'moved_out' THEN 'excluded.moved_out'
                 WHEN 'dup_medical' THEN 'duplicate' WHEN 'dup_pension' THEN 'duplicate' WHEN
                   'dup_place' THEN 'duplicate'
                 WHEN 'name_mismatch' THEN 'inaccurate' WHEN 'birth_mismatch' THEN 'inaccurate'
                 WHEN 'uninsured' THEN 'uninsured' WHEN 'missing_medical' THEN 'partial'
                 WHEN 'missing_pension' THEN 'partial' ELSE 'insured' END AS klass,
        CASE cls WHEN 'dup_medical' THEN 'dup.medical' WHEN 'dup_pension' THEN 'dup.pension'
                 WHEN 'dup_place' THEN 'dup.place.' || {medical} ELSE '' END AS dup,
        CASE cls WHEN 'uninsured' THEN 'uninsured' WHEN 'missing_medical' THEN 'missing.medical'
                 WHEN 'missing_pension' THEN 'missing.pension' ELSE '' END AS survey,
        CASE cls WHEN 'name_mismatch' THEN 'mismatch.name' WHEN 'birth_mismatch' THEN 'mismatch.birth_date'
                 WHEN 'dead_active' THEN 'status.dead_active' ELSE '' END AS inacc
      FROM persons) TO '{truth}' (HEADER, DELIMITER ',')
""")
    planted = dict(con.execute("SELECT cls, count(*) FROM persons GROUP BY cls ORDER BY cls").fetchall())
    con.close()
    meta_path.write_text(
        json.dumps(
            {"params": wanted, "enrollment_rows": rows, "planted": planted}, ensure_ascii=False, indent=1
        )
    )
    return Generated(directory, persons, rows, planted)


def truth_flags(truth: Path) -> set[tuple[str, str, str]]:
    """(id_number, flag kind, reasons) for every flag the truth file expects."""
    import duckdb

    con = duckdb.connect()
    rows = con.execute(f"""
SELECT id_number, 'duplicate', dup FROM read_csv('{truth}', all_varchar = true) WHERE coalesce(dup, '') <> ''
UNION ALL SELECT id_number, 'needs_survey', survey FROM read_csv('{truth}', all_varchar = true)
  WHERE coalesce(survey, '') <> ''
UNION ALL SELECT id_number, 'inaccurate', inacc FROM read_csv('{truth}', all_varchar = true) WHERE
  coalesce(inacc, '') <> ''
""").fetchall()
    con.close()
    return {(a, b, c) for a, b, c in rows}


def load(session: Any, *, actor: Any, generated: Generated) -> dict[str, Any]:
    """Import the generated files through the normal recorded imports."""
    from . import imports

    result = {
        "population": imports.import_path(
            session, actor=actor, kind="population", path=generated.population
        ).as_dict()
    }
    for system, path in generated.enrollments.items():
        result[system] = imports.import_path(
            session, actor=actor, kind="enrollments", path=path, system=system
        ).as_dict()
    return result
