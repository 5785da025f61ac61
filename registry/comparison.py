"""信息比对 (第八–十条): classify every person of an area as of a date, flag, count, diff.

The rules are data: the classification conditions of the rule set in force (`registry.rules`,
shipped as registry/rules/default.yaml with the rules below; a province sets its own with
CANBAO_RULES), compiled by `rules_sql` into one SQL statement over two relations — persons
`p(id, area, name, birth_date, status)` and enrollment facts `e0(person_id, scheme, status, place,
start_date, end_date, src_name, src_birth_date)` — and optional per-person relations the rule set
declares. The statement is written in the SQL that PostgreSQL, SQLite, DuckDB and Spark SQL share, so
the same text runs in the database over the registry (`run`), in DuckDB over import files
(`run_files`, for province-size extracts and the benchmark) and on Apache Spark (`registry.spark`, the
national comparison). Matching is by the normalised 18-character number only. Every run records the
rule set's name, version and content digest.

The default rules (domain notes §5.3, §6.1; issue 7):
- active enrollment on day D: 参保状态 1 (正常参保) and start_date <= D < end_date (open ends allowed);
- excluded: 生存/户籍管理状态 死亡 / 注销 / 迁出 (`excluded.dead|cancelled|moved_out`); a dead or
  cancelled person with an active enrollment is also flagged 信息不准 (`status.dead_active`,
  `status.cancelled_active`);
- 重复参保 (flag `duplicate`): active in 职工医保 310 and 居民医保 390 (`dup.medical`); active in
  职工养老 110/120 and 居民养老 170 (`dup.pension`); active in the same 险种 in two 参保地
  (`dup.place.<险种>`);
- 信息不准 (flag `inaccurate`): a source system's name or birth date differs from the population
  data, which wins for identity (`mismatch.name`, `mismatch.birth_date`);
- 未参保 (flag `needs_survey`, `uninsured`): no active enrollment at all;
- 未参全 (flag `needs_survey`): no active basic medical insurance (310/390, every age:
  `missing.medical`), or aged 16 or over on D without active basic pension (110/120/170:
  `missing.pension`); under 16 the pension requirement does not apply (counted as
  `scheme_exempt.pension_under_16`); a 在校学生 (教育's data) is not required to hold a pension, and
  an employee (就业's data: 单位就业) without active 失业 210 or 工伤 410 is 未参全 too
  (`missing.unemployment`, `missing.injury`; the relation `departments`, over the registry only, see
  `department_facts`);
- 已参保: none of the above — the record is confirmed, no flag.
Each person gets one class for the counts, by precedence excluded > duplicate > inaccurate >
uninsured > partial > insured; flags are raised for every condition found.
"""

from __future__ import annotations

import csv
import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    String,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from canbao import audit, clock
from canbao.actors import Actor
from canbao.db import area_within, utcnow
from canbao.errors import FieldError, Invalid, NotFound
from forms import codes as code_lists

from . import rules, self_reported
from .common import AreaForbidden, check_area, sql_in_area
from .imports import _stage_table, drop, insert_rows, stage
from .models import ComparisonCount, ComparisonRun, Enrollment, Flag, Person
from .rules import RuleSet
from .rules import expressions as rules_expr
from .rules.expressions import Scope
from .stats import queue as stats_queue

FLAG_COLUMNS = {"duplicate": "dup", "needs_survey": "survey", "inaccurate": "inacc"}
FLAG_WORK_MEM = "256MB"  # PostgreSQL work_mem while the flags are written (see _work_mem)


AreaForbiddenError = AreaForbidden


class ComparisonNotFound(NotFound):
    code = "comparison.not_found"
    title = "比对记录不存在"


def _lit(day: date) -> str:
    return f"'{day.isoformat()}'"


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def birth_cutoff(as_of: date, years: int) -> str:
    """The SQL literal of the latest birth date of a person `years` old on `as_of`."""
    return _lit(_years_before(as_of, years))


def rules_sql(
    p_sql: str,
    e_sql: str,
    *,
    as_of: date,
    rule_set: RuleSet | None = None,
    relations: dict[str, str] | None = None,
    cte_hints: bool = True,
) -> str:
    """The classification of every person in `p_sql` under `rule_set` (default: the active one): one
    row per person with its class, the space-separated reason codes for each flag kind (empty when
    none), `under_age` and `noted` (1 when the class is not the default one or there is a reason: the
    persons whose findings are kept).

    Each reason is one condition over per-person facts, from which both its code in the strings and
    `noted` follow, so a filter on `noted` skips building the strings of the persons without findings.
    Per person the enrollments are reduced to a few numbers: which scheme groups are active, whether
    any is, whether a source system's name or birth date differs, and the lowest and highest place of
    the active ones. Only persons active in more than one place can hold one 险种 in two places; for
    them alone the places are compared per 险种 (`pl`), which keeps the aggregation over all enrollments
    narrow.

    `relations` gives the SQL of the optional per-person relations the rule set declares (rows of
    `person_id` and the declared columns; several rows per person are reduced with MAX); a relation not
    given counts as empty. `cte_hints=False` leaves out `[NOT] MATERIALIZED`, which Spark SQL lacks."""
    rs = (rule_set or rules.active()).comparison
    relations = relations or {}
    d = _lit(as_of)
    schemes = rs.schemes

    def is_in(codes: tuple[str, ...]) -> str:
        return "scheme IN (" + ", ".join(f"'{c}'" for c in codes) + ")"

    def hint(materialized: bool) -> str:
        if not cte_hints:
            return ""
        return "MATERIALIZED " if materialized else "NOT MATERIALIZED "

    statuses = ", ".join(f"'{s}'" for s in rs.active_status)
    active = (
        f"e0.status IN ({statuses}) AND (e0.start_date IS NULL OR e0.start_date <= {d}) "
        f"AND (e0.end_date IS NULL OR e0.end_date > {d})"
    )
    per_scheme = ",\n    ".join(
        f"CASE WHEN MIN(CASE WHEN scheme = '{c}' THEN place END) "
        f"<> MAX(CASE WHEN scheme = '{c}' THEN place END) THEN 1 ELSE 0 END AS two_places_{c}"
        for c in schemes
    )
    groups = "".join(
        f"MAX(CASE WHEN active = 1 AND {is_in(codes)} THEN 1 ELSE 0 END) AS {name},\n    "
        for name, codes in rs.scheme_groups.items()
    )
    joins, rel_columns = [], []
    for rel, columns in rs.relations.items():
        for col, kind in columns.items():
            zero = "''" if kind == "str" else "0"
            value = f"COALESCE(x_{rel}.{col}, {zero})" if rel in relations else zero
            rel_columns.append(f"{value} AS {rel}__{col}")
        if rel in relations:
            reduced = ", ".join(f"MAX({col}) AS {col}" for col in columns)
            joins.append(
                f"LEFT JOIN (SELECT person_id, {reduced} FROM ({relations[rel]}) AS x GROUP BY person_id) "
                f"AS x_{rel} ON x_{rel}.person_id = p.id"
            )
    scope = Scope(
        types=rs.types(),
        params=rs.params,
        columns={f"{rel}.{col}": f"{rel}__{col}" for rel, cols in rs.relations.items() for col in cols},
        cutoff=lambda years: _lit(_years_before(as_of, years)),
        allow_flag_calls=True,
    )
    for name, (kind, node) in rs.facts.items():
        scope.derived[name] = (rules_expr.to_sql if kind == "bool" else rules_expr.value_sql)(node, scope)
    reasons = {
        column: [(r.code, rules_expr.to_sql(r.when, scope)) for r in rs.reasons_of(kind)]
        for kind, column in FLAG_COLUMNS.items()
    }
    scope.reasons = {code: cond for rs_ in reasons.values() for code, cond in rs_}
    codes = {
        column: "TRIM("
        + (" || ".join(f"CASE WHEN {cond} THEN '{code} ' ELSE '' END" for code, cond in rs_) or "''")
        + ")"
        for column, rs_ in reasons.items()
    }
    # `noted` sees a flag as its reasons' conditions; the class CASE as the reason string built in `r`
    scope.flags = {
        kind: " OR ".join(f"({cond})" for _, cond in reasons[column]) or "1 = 0"
        for kind, column in FLAG_COLUMNS.items()
    }
    default_class = rs.classes[-1].key
    noted = (
        " OR ".join(
            [f"({rules_expr.to_sql(k.when, scope)})" for k in rs.classes[:-1] if k.when is not None]
            + [f"({cond})" for rs_ in reasons.values() for _, cond in rs_]
        )
        or "1 = 0"
    )
    scope.flags = {kind: f"{column} <> ''" for kind, column in FLAG_COLUMNS.items()}
    klass = "\n       ".join(
        f"WHEN {rules_expr.to_sql(k.when, scope)} THEN '{k.key}'"
        for k in rs.classes[:-1]
        if k.when is not None
    )
    pension_age = _lit(_years_before(as_of, rs.pension_age))
    group_columns = "".join(f"COALESCE(g.{name}, 0) AS {name}, " for name in rs.scheme_groups)
    return f"""
WITH p AS {hint(False)}({p_sql}),
e0 AS {hint(False)}({e_sql}),
e AS {hint(False)}(
  SELECT e0.person_id, e0.scheme, e0.place,
    CASE WHEN {active} THEN 1 ELSE 0 END AS active,
    CASE WHEN e0.src_name IS NOT NULL AND e0.src_name <> '' AND e0.src_name <> p.name THEN 1 ELSE 0
      END AS name_mismatch,
    CASE WHEN e0.src_birth_date IS NOT NULL AND e0.src_birth_date <> p.birth_date THEN 1 ELSE 0 END
      AS birth_mismatch
  FROM e0 JOIN p ON p.id = e0.person_id
),
g AS {hint(True)}(
  SELECT person_id,
    {groups}MAX(active) AS any_active, MAX(name_mismatch) AS name_mismatch,
    MAX(birth_mismatch) AS birth_mismatch,
    MIN(CASE WHEN active = 1 AND {is_in(schemes)} THEN place END) AS place_lo,
    MAX(CASE WHEN active = 1 AND {is_in(schemes)} THEN place END) AS place_hi
  FROM e GROUP BY person_id
),
pl AS (
  SELECT e0.person_id,
    {per_scheme}
  FROM e0
  WHERE {active} AND e0.person_id IN (SELECT person_id FROM g WHERE place_lo <> place_hi)
  GROUP BY e0.person_id
),
c AS (
  SELECT p.id AS person_id, p.area AS area, p.status AS status, p.birth_date AS birth_date,
    {group_columns}COALESCE(g.any_active, 0) AS any_active,
    COALESCE(g.name_mismatch, 0) AS name_mismatch,
    COALESCE(g.birth_mismatch, 0) AS birth_mismatch,
    {", ".join([f"COALESCE(pl.two_places_{c}, 0) AS two_places_{c}" for c in schemes] + rel_columns)}
  FROM p LEFT JOIN g ON g.person_id = p.id LEFT JOIN pl ON pl.person_id = p.id
  {" ".join(joins)}
),
r AS (
  SELECT c.*,
    CASE WHEN {noted} THEN 1 ELSE 0 END AS noted,
    {codes["dup"]} AS dup,
    {codes["inacc"]} AS inacc,
    {codes["survey"]} AS survey
  FROM c
)
SELECT person_id, area,
  CASE {klass}
       ELSE '{default_class}' END AS klass,
  dup, survey, inacc,
  CASE WHEN status = 'normal' AND (CASE WHEN birth_date <= {pension_age} THEN 1 ELSE 0 END) = 0
    THEN 1 ELSE 0 END AS under_age,
  noted
FROM r
"""


def registry_inputs(area: str) -> tuple[str, str]:
    """The two input relations over the registry tables of one area."""
    p_sql = f"SELECT id, area, name, birth_date, status FROM person WHERE {sql_in_area('area', area)}"
    e_sql = (
        "SELECT en.person_id, en.scheme, en.status, en.place, en.start_date, en.end_date, en.src_name, "
        "en.src_birth_date FROM enrollment en WHERE en.superseded_at IS NULL"
        # 第二十二条: 参保信息 is the 社会保险业务库's; 自报 (registry.self_reported) is checked, not counted.
        f" AND en.source <> '{self_reported.SOURCE}'"
    )
    return p_sql, e_sql


def department_facts(as_of: date) -> str:
    """The rule set's relation `departments(person_id, student, employed)` over `person_field`
    (registry.departments): 在校学生 are the persons 教育 reports 在校 with an expected graduation not
    before `as_of`; employees those 就业 reports in 单位就业 (the employment_status codes marked
    `employed`)."""
    codes = code_lists.get("employment_status").extra["employed"]
    employed = ", ".join(f"'{c}'" for c in sorted([codes] if isinstance(codes, str) else codes))
    return (
        "SELECT person_id, "
        "MAX(CASE WHEN field = '/student/status' AND value = '1' THEN 1 ELSE 0 END) "
        f"* MAX(CASE WHEN field = '/student/graduation' AND value >= {_lit(as_of)} THEN 1 ELSE 0 END) "
        "AS student, "
        f"MAX(CASE WHEN field = '/employment/status' AND source = '就业' AND value IN ({employed}) "
        "THEN 1 ELSE 0 END) AS employed "
        "FROM person_field WHERE field IN ('/student/status', '/student/graduation', '/employment/status') "
        "GROUP BY person_id"
    )


def _finding_table():
    return _stage_table(
        "_cmp_finding",
        [
            Column("person_id", String(18), primary_key=True),
            Column("area", String(12)),
            Column("klass", String(24)),
            Column("dup", String(200)),
            Column("survey", String(200)),
            Column("inacc", String(200)),
            Column("under_age", Integer),
        ],
    )


@dataclass
class RunResult:
    run: ComparisonRun
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return summary(self.run)


def summary(run: ComparisonRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "area": run.area,
        "as_of": run.as_of.isoformat(),
        "rule_version": run.rule_version,
        "rule_set": run.rule_set,
        "rule_set_sha256": run.rule_set_sha256,
        "mode": run.mode,
        "inputs": run.inputs,
        "counts": run.counts,
        "diff": run.diff,
        "previous_run_id": run.previous_run_id,
        "actor": run.actor_sub,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def start_run(
    session: Session, *, actor: Actor, area: str, as_of: date, mode: str, inputs: dict, rule_set: RuleSet
) -> ComparisonRun:
    check_area(area)
    if not actor.reaches(area):
        raise AreaForbidden(f"无权对 {area} 进行信息比对")
    previous = session.scalar(
        select(ComparisonRun.id)
        .where(ComparisonRun.area == area, ComparisonRun.finished_at.is_not(None))
        .order_by(ComparisonRun.id.desc())
        .limit(1)
    )
    run = ComparisonRun(
        area=area,
        as_of=as_of,
        rule_version=rule_set.version,
        rule_set=rule_set.label,
        rule_set_sha256=rule_set.sha256,
        mode=mode,
        inputs=inputs,
        counts={},
        diff={},
        previous_run_id=previous,
        actor_sub=actor.sub,
        started_at=utcnow(),
    )
    session.add(run)
    session.flush()
    return run


def run(
    session: Session,
    *,
    actor: Actor,
    area: str,
    as_of: date | None = None,
    rule_set: RuleSet | None = None,
    relations: dict[str, str] | None = None,
) -> RunResult:
    """Compare the registry of `area` as of `as_of` (today) under `rule_set` (the active one): flags,
    counts per class and division, diff. `relations`: SQL of the rule set's optional relations."""
    started = time.perf_counter()
    rule_set = rule_set or rules.active()
    as_of = as_of or clock.today()
    imports = session.execute(
        text("SELECT kind, system, MAX(id) FROM data_import GROUP BY kind, system ORDER BY kind, system")
    ).all()
    inputs = {
        "source": "registry",
        "latest_imports": [{"kind": k, "system": s, "import_id": i} for k, s, i in imports],
        "enrollment_rows_current": session.scalar(
            select(func.count()).select_from(Enrollment).where(Enrollment.superseded_at.is_(None))
        ),
    }
    cmp_run = start_run(
        session, actor=actor, area=area, as_of=as_of, mode="database", inputs=inputs, rule_set=rule_set
    )
    f = _finding_table()
    conn = session.connection()
    drop(session, f)
    f.create(conn)
    p_sql, e_sql = registry_inputs(area)
    # the departments' facts the default rules use (registry.departments), unless the caller gives them
    relations = {"departments": department_facts(as_of), **(relations or {})}
    sql = rules_sql(p_sql, e_sql, as_of=as_of, rule_set=rule_set, relations=relations)
    session.execute(
        text(
            f"INSERT INTO _cmp_finding (person_id, area, klass, dup, survey, inacc, under_age) "
            f"SELECT person_id, area, klass, dup, survey, inacc, under_age FROM ({sql}) AS x "
            f"WHERE noted = 1 OR under_age = 1"
        )
    )
    totals = dict(
        session.execute(
            select(Person.area, func.count()).where(area_within(Person.area, area)).group_by(Person.area)
        ).all()
    )
    _finish(session, cmp_run, f, totals, actor=actor)
    drop(session, f)
    return RunResult(cmp_run, time.perf_counter() - started)


def _finish(
    session: Session,
    cmp_run: ComparisonRun,
    f,
    totals: dict[str, int],
    *,
    actor: Actor,
    detail_duplicates: bool = True,
    under: dict[str, int] | None = None,
) -> None:
    """Counts, flags and diff from the findings table `f` (persons not insured, or with notes)."""
    at = utcnow()
    rows = session.execute(select(f.c.area, f.c.klass, func.count()).group_by(f.c.area, f.c.klass)).all()
    if under is None:
        under = dict(
            session.execute(select(f.c.area, func.count()).where(f.c.under_age == 1).group_by(f.c.area)).all()
        )
    per_division: dict[str, dict[str, int]] = {}
    for division, klass, n in rows:
        per_division.setdefault(division, {})[klass] = n
    for division, total in totals.items():
        counts = per_division.setdefault(division, {})
        counts["insured"] = total - sum(n for k, n in counts.items() if k != "insured")
        if counts["insured"] == 0:
            counts.pop("insured")
    count_rows = [
        {"run_id": cmp_run.id, "division": division, "klass": klass, "n": n}
        for division, counts in per_division.items()
        for klass, n in counts.items()
        if n
    ] or [{"run_id": cmp_run.id, "division": cmp_run.area, "klass": "insured", "n": 0}]
    insert_rows(session, ComparisonCount.__table__, count_rows)
    by_class: dict[str, int] = {}
    for counts in per_division.values():
        for klass, n in counts.items():
            by_class[klass] = by_class.get(klass, 0) + n

    flag = Flag.__table__
    kinds = list(FLAG_COLUMNS)
    seen: dict[str, int] = {}
    # The statistics refresh takes the persons whose flags this run raises or clears from the run's id
    # on those flags (registry.stats.queue); the flags seen again only get new reasons, area and run,
    # which the statistics do not read.
    with stats_queue.writer_marks_flags(session, cmp_run.id), _work_mem(session, FLAG_WORK_MEM):
        for kind, column in FLAG_COLUMNS.items():
            seen[kind] = session.execute(
                update(flag)
                .where(
                    flag.c.person_id == f.c.person_id,
                    flag.c.kind == kind,
                    flag.c.status == "open",
                    f.c[column] != "",
                )
                .values(reasons=f.c[column], area=f.c.area, last_seen_run_id=cmp_run.id)
            ).rowcount
        # The new flags of all kinds in one statement, in the order of the person index (most of the
        # cost of a first run is index upkeep).
        # A person whose 自报 参保 awaits 核实 was surveyed: what is open is the 核实, not a new survey.
        awaiting_check = exists().where(
            flag.c.person_id == f.c.person_id, flag.c.kind == self_reported.KIND, flag.c.status == "open"
        )
        raised = [
            select(
                f.c.person_id.label("person_id"),
                literal(kind).label("kind"),
                f.c[column].label("reasons"),
                f.c.area.label("area"),
            ).where(
                f.c[column] != "",
                ~exists().where(
                    flag.c.person_id == f.c.person_id, flag.c.kind == kind, flag.c.status == "open"
                ),
                *((~awaiting_check,) if kind == "needs_survey" else ()),
            )
            for kind, column in FLAG_COLUMNS.items()
        ]
        new = union_all(*raised).subquery("new")
        session.execute(
            insert(flag).from_select(
                [
                    "person_id",
                    "kind",
                    "reasons",
                    "area",
                    "status",
                    "raised_at",
                    "raised_by_run_id",
                    "last_seen_run_id",
                ],
                select(
                    new.c.person_id,
                    new.c.kind,
                    new.c.reasons,
                    new.c.area,
                    literal("open"),
                    literal(at, flag.c.raised_at.type),
                    literal(cmp_run.id),
                    literal(cmp_run.id),
                ).order_by(new.c.person_id, new.c.kind),
            )
        )
        session.execute(
            update(flag)
            .where(
                flag.c.kind.in_(kinds),
                flag.c.status == "open",
                area_within(flag.c.area, cmp_run.area),
                flag.c.last_seen_run_id.is_distinct_from(cmp_run.id),
            )
            .values(status="cleared", cleared_at=at, cleared_by_run_id=cmp_run.id)
        )

    def per_kind(*where) -> dict[str, int]:
        found = dict(
            session.execute(select(flag.c.kind, func.count()).where(*where).group_by(flag.c.kind)).all()
        )
        return {kind: found.get(kind, 0) for kind in kinds}

    raised = per_kind(flag.c.raised_by_run_id == cmp_run.id, flag.c.kind.in_(kinds))
    diff: dict[str, Any] = {
        "new": raised,
        "resolved": per_kind(flag.c.cleared_by_run_id == cmp_run.id, flag.c.kind.in_(kinds)),
        # open after this run: the open flags it saw again (updated above) and the ones it raised
        "open": {kind: seen[kind] + raised[kind] for kind in kinds},
    }
    if detail_duplicates:
        _detail_duplicates(session, cmp_run.id)
    previous = session.get(ComparisonRun, cmp_run.previous_run_id) if cmp_run.previous_run_id else None
    if previous is not None:
        before = previous.counts.get("by_class", {})
        diff["class_delta"] = {k: by_class.get(k, 0) - before.get(k, 0) for k in sorted({*by_class, *before})}
    cmp_run.counts = {
        "persons": sum(totals.values()),
        "by_class": by_class,
        "scheme_exempt": {"pension_under_16": sum(under.values())},
    }
    cmp_run.diff = diff
    cmp_run.finished_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action="comparison.run",
        object_type="comparison_run",
        object_id=cmp_run.id,
        payload={
            "area": cmp_run.area,
            "as_of": cmp_run.as_of.isoformat(),
            "rule_version": cmp_run.rule_version,
            "rule_set": cmp_run.rule_set,
            "rule_set_sha256": cmp_run.rule_set_sha256,
            "mode": cmp_run.mode,
            "counts": cmp_run.counts,
            "diff": diff,
        },
        area=cmp_run.area,
    )


@contextmanager
def _work_mem(session: Session, size: str) -> Iterator[None]:
    """PostgreSQL: `work_mem` raised to `size` for the block only, so that sorting and deduplicating a
    city's hundreds of thousands of flags happens in memory instead of in temporary files."""
    if session.connection().dialect.name != "postgresql":
        yield
        return
    before = session.scalar(text("SELECT current_setting('work_mem')"))
    session.execute(text("SELECT set_config('work_mem', :size, true)"), {"size": size})
    try:
        yield
    finally:
        session.execute(text("SELECT set_config('work_mem', :size, true)"), {"size": before})


def _detail_duplicates(session: Session, run_id: int) -> None:
    """Record on each duplicate flag raised or seen by this run the active enrollments behind it."""
    e, flag = Enrollment.__table__, Flag.__table__
    rows = session.execute(
        select(flag.c.id, e.c.id, e.c.scheme, e.c.place, e.c.source, e.c.start_date)
        .join(e, e.c.person_id == flag.c.person_id)
        .where(
            flag.c.last_seen_run_id == run_id,
            flag.c.kind == "duplicate",
            flag.c.status == "open",
            e.c.superseded_at.is_(None),
            e.c.status == "1",
        )
        .order_by(flag.c.id, e.c.scheme, e.c.place)
    ).all()
    details: dict[int, list[dict[str, Any]]] = {}
    for flag_id, enrollment_id, scheme, place, source, start in rows:
        details.setdefault(flag_id, []).append(
            {
                "enrollment_id": enrollment_id,
                "scheme": scheme,
                "place": place,
                "source": source,
                "start_date": start.isoformat() if start else None,
            }
        )
    for flag_id, enrollments in details.items():
        session.execute(update(Flag).where(Flag.id == flag_id).values(details={"enrollments": enrollments}))


# ---------------------------------------------------------------------------------------------------------
# Over files, in DuckDB

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def duckdb_macros() -> list[str]:
    """DuckDB macros: `cb_id(x)` is the canonical 18-character number of `x` (15-digit upgraded), or NULL
    when it is not a valid 公民身份号码 (format, birth date, check character) — forms.idnumber in SQL."""
    total = " + ".join(f"CAST(substr(b, {i + 1}, 1) AS INTEGER) * {w}" for i, w in enumerate(WEIGHTS))
    return [
        "CREATE OR REPLACE MACRO cb_body(r) AS CASE "
        "WHEN regexp_full_match(r, '[0-9]{15}') THEN substr(r, 1, 6) || '19' || substr(r, 7, 9) "
        "WHEN regexp_full_match(r, '[0-9]{17}[0-9X]') THEN substr(r, 1, 17) END",
        f"CREATE OR REPLACE MACRO cb_check(b) AS substr('10X98765432', (({total}) % 11) + 1, 1)",
        "CREATE OR REPLACE MACRO cb_id2(r, b) AS CASE WHEN b IS NULL THEN NULL "
        "WHEN length(r) = 18 AND substr(r, 18, 1) <> cb_check(b) THEN NULL "
        "WHEN try_strptime(substr(b, 7, 8), '%Y%m%d') IS NULL THEN NULL ELSE b || cb_check(b) END",
        "CREATE OR REPLACE MACRO cb_id(x) AS cb_id2(upper(trim(x)), cb_body(upper(trim(x))))",
        # The matching key of a number on the insurance side: the 18-character form, without checking
        # it (it is only ever joined with population numbers that `cb_id` has checked, and a wrong check
        # character cannot equal a right one).
        "CREATE OR REPLACE MACRO cb_key2(r) AS CASE WHEN length(r) = 18 THEN r "
        "WHEN length(r) = 15 THEN cb_id2(r, cb_body(r)) END",
        "CREATE OR REPLACE MACRO cb_key(x) AS cb_key2(upper(trim(x)))",
    ]


def _check_from_int(n: str) -> str:
    """The GB 11643 check character of the 17-digit body held as the integer `n` (DuckDB SQL)."""
    terms = " + ".join(f"(({n} // {10 ** (16 - i)}) % 10) * {w}" for i, w in enumerate(WEIGHTS))
    return f"substr('10X98765432', (({terms}) % 11)::INTEGER + 1, 1)"


# In DuckDB the 18-character number is carried as one BIGINT, `body * 16 + position of the last
# character in CHECK_CHARS`: one-to-one for every string of 17 digits and a digit or X, so joining on
# it is joining on the number, and hashing and comparing 8 bytes is much cheaper than a string.
CHECK_CHARS = "0123456789X"


def _key(body: str, last: str) -> str:
    return f"(CAST({body} AS BIGINT) * 16 + instr('{CHECK_CHARS}', {last}) - 1)"


def id_from_key(key: str) -> str:
    """The 18-character number of the key `key` (DuckDB SQL)."""
    last = f"substr('{CHECK_CHARS}', CAST({key} % 16 AS INTEGER) + 1, 1)"
    return f"(lpad(CAST({key} // 16 AS VARCHAR), 17, '0') || {last})"


def file_inputs(
    population: Path, enrollments: dict[str, Path], area: str, *, rule_set: RuleSet | None = None
) -> tuple[list[str], str, str]:
    """DuckDB tables for the population file and each system's enrollment file (CSV or Parquet with
    the import headings in English, as `registry.demo` writes them). Returns (setup statements, p_sql,
    e_sql).

    Person ids are keys (see `_key`); `pop.id` is NULL for a number that is not a valid 公民身份号码,
    `enr.has_id` says whether the enrollment's number has an 18-character form at all (the 18
    characters as given, or a valid 15-digit number upgraded), `enr.person_id` is its key (NULL when
    that form is not 17 digits and a digit or X, so that it cannot be a valid number), and `place` is
    numbered through the table `places` (the rules only compare places for equality). The rules only
    compare `scheme` with the rule set's codes and `status` with its active statuses, so `enr` holds
    them as small integers (another code as 0, another status as 255; DuckDB compares them with the
    rules' string literals as numbers): 17 M enrollments take 200 MB less of the memory limit, which the
    aggregation of the rules then has for itself instead of spilling."""

    rs = (rule_set or rules.active()).comparison

    def csv_scan(path: Path) -> str:
        if path.suffix.lower() == ".parquet":
            return f"read_parquet('{path}')"
        return f"read_csv('{path}', header = true, all_varchar = true)"

    status = (
        "CASE coalesce(status, '') WHEN '死亡' THEN 'dead' WHEN '注销' THEN 'cancelled' "
        "WHEN '迁出' THEN 'moved_out' "
        "WHEN '正常' THEN 'normal' WHEN '管理中' THEN 'normal' WHEN '' THEN 'normal' ELSE status END"
    )
    setup = [
        *duckdb_macros(),
        # Each step projected once (a macro used twice would be evaluated twice): the 17-digit body
        # (15-digit numbers upgraded), its check character from integer arithmetic, then the checks.
        "CREATE OR REPLACE TEMP TABLE pop AS SELECT "
        "CASE WHEN b IS NULL OR (length(r) = 18 AND substr(r, 18, 1) <> c) OR born IS NULL THEN NULL "
        f"ELSE n * 16 + instr('{CHECK_CHARS}', c) - 1 END AS id, "
        "area, name, CAST(born AS DATE) AS birth_date, status "
        f"FROM (SELECT *, {_check_from_int('n')} AS c, try_strptime(substr(b, 7, 8), '%Y%m%d') AS born "
        "FROM (SELECT *, CAST(b AS BIGINT) AS n FROM ("
        "SELECT cb_body(r) AS b, r, area, name, status FROM ("
        f"SELECT upper(trim(id_number)) AS r, hukou_division AS area, name, {status} AS status "
        f"FROM {csv_scan(population)} WHERE {sql_in_area('hukou_division', area)}))))",
    ]
    union = " UNION ALL ".join(
        "SELECT id_number, scheme, status, place, start_date, end_date, name, birth_date "
        f"FROM {csv_scan(path)}"
        for path in enrollments.values()
    )
    scheme_codes = " ".join(f"WHEN '{c}' THEN {int(c)}" for c in rs.schemes)
    status_codes = " ".join(f"WHEN '{c}' THEN {int(c)}" for c in rs.active_status)
    # An 18-character number is taken as given (it only ever joins with numbers `pop` has checked,
    # and a wrong check character cannot equal a right one); a 15-digit one is upgraded and checked.
    body18 = "substr(r, 1, 17)"
    setup.append(
        "CREATE OR REPLACE TEMP TABLE enr AS SELECT person_id, "
        "person_id IS NOT NULL OR length(r) = 18 AS has_id, * EXCLUDE (person_id, r) FROM (SELECT "
        "CASE WHEN length(r) = 18 THEN "
        f"CASE WHEN regexp_full_match(r, '[0-9]{{17}}[0-9X]') THEN {_key(body18, 'substr(r, 18, 1)')} END "
        "WHEN length(r) = 15 THEN "
        f"CASE WHEN cb_id2(r, cb_body(r)) IS NOT NULL THEN {_key('cb_body(r)', 'cb_check(cb_body(r))')} END "
        "END AS person_id, r, "
        f"CAST(CASE CAST(scheme AS VARCHAR) {scheme_codes} ELSE 0 END AS SMALLINT) AS scheme, "
        f"CAST(CASE CAST(status AS VARCHAR) {status_codes} ELSE 255 END AS UTINYINT) AS status, "
        "place, try_cast(start_date AS DATE) AS start_date, "
        "try_cast(end_date AS DATE) AS end_date, nullif(name, '') AS src_name, "
        "try_cast(birth_date AS DATE) AS src_birth_date "
        f"FROM (SELECT upper(trim(id_number)) AS r, * EXCLUDE (id_number) FROM ({union})))"
    )
    setup.append(
        "CREATE OR REPLACE TEMP TABLE places AS "
        "SELECT place, CAST(row_number() OVER () AS INTEGER) AS n FROM (SELECT DISTINCT place FROM enr)"
    )
    p_sql = "SELECT id, area, name, birth_date, status FROM pop WHERE id IS NOT NULL"
    e_sql = (
        "SELECT enr.person_id, enr.scheme, enr.status, places.n AS place, enr.start_date, enr.end_date, "
        "enr.src_name, enr.src_birth_date FROM enr LEFT JOIN places ON places.place = enr.place "
        "WHERE enr.person_id IS NOT NULL"
    )
    return setup, p_sql, e_sql


def classify_files(
    out: Path,
    *,
    population: Path,
    enrollments: dict[str, Path],
    area: str,
    as_of: date,
    rule_set: RuleSet | None = None,
    memory_limit: str = "3GB",
    threads: int | None = None,
) -> None:
    """Every person's classification over extract files in DuckDB, written to `out` as Parquet
    (person_id, area, klass, dup, survey, inacc) — what `registry.spark` writes, to compare the engines."""
    import duckdb

    rule_set = rule_set or rules.active()
    with tempfile.TemporaryDirectory(prefix="canbao-cmp-") as tmp:
        con = duckdb.connect()
        try:
            con.execute(f"SET memory_limit = '{memory_limit}'")
            con.execute("SET preserve_insertion_order = false")
            if threads:
                con.execute(f"SET threads = {int(threads)}")
            con.execute(f"SET temp_directory = '{tmp}/spill'")
            setup, p_sql, e_sql = file_inputs(population, enrollments, area, rule_set=rule_set)
            for statement in setup:
                con.execute(statement)
            sql = rules_sql(p_sql, e_sql, as_of=as_of, rule_set=rule_set)
            con.execute(
                f"COPY (SELECT {id_from_key('person_id')} AS person_id, area, klass, dup, survey, inacc "
                f"FROM ({sql})) TO '{out}' (FORMAT parquet)"
            )
        finally:
            con.close()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_files(
    session: Session,
    *,
    actor: Actor,
    area: str,
    population: Path | str,
    enrollments: dict[str, Path | str],
    as_of: date | None = None,
    memory_limit: str = "3GB",
    threads: int | None = None,
    hash_inputs: bool = True,
    rule_set: RuleSet | None = None,
    relations: dict[str, str] | None = None,
) -> RunResult:
    """Compare a population file with insurance systems' enrollment files in DuckDB (for extracts of
    millions of persons), then record the run, counts and flags in the registry database.

    Flags are raised for the persons of the files (they appear on survey lists once the person is in
    the registry, i.e. after the population import). `relations`: DuckDB SQL of the rule set's optional
    relations, keyed by the 18-character number as `person_id`."""
    import duckdb

    started = time.perf_counter()
    rule_set = rule_set or rules.active()
    as_of = as_of or clock.today()
    population = Path(population)
    enrollment_paths = {k: Path(v) for k, v in enrollments.items()}
    inputs: dict[str, Any] = {
        "source": "files",
        "population": {"file": population.name, "sha256": None},
        "enrollments": {k: {"file": v.name, "sha256": None} for k, v in enrollment_paths.items()},
    }
    cmp_run = start_run(
        session, actor=actor, area=area, as_of=as_of, mode="files", inputs=inputs, rule_set=rule_set
    )
    with ThreadPoolExecutor(max_workers=1) as pool, tempfile.TemporaryDirectory(prefix="canbao-cmp-") as tmp:
        con = duckdb.connect()
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET preserve_insertion_order = false")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        con.execute(f"SET temp_directory = '{tmp}/spill'")
        setup, p_sql, e_sql = file_inputs(population, enrollment_paths, area, rule_set=rule_set)
        for statement in setup:
            con.execute(statement)
        keyed = {
            name: f"SELECT {_key('substr(x.person_id, 1, 17)', 'substr(x.person_id, 18, 1)')} AS person_id, "
            f"x.* EXCLUDE (person_id) FROM ({sql}) AS x"
            for name, sql in (relations or {}).items()
        }
        sql = rules_sql(p_sql, e_sql, as_of=as_of, rule_set=rule_set, relations=keyed)
        findings = Path(tmp) / "findings.csv"
        # Only the persons with a finding leave DuckDB, in the order of the numbers (the key's order):
        # PostgreSQL then fills the findings' index, the flags' person indexes and the statistics queue
        # at their right edges instead of all over them.
        con.execute(
            f"COPY (SELECT {id_from_key('person_id')}, area, klass, dup, survey, inacc, under_age "
            f"FROM ({sql}) WHERE noted = 1 ORDER BY person_id) "
            f"TO '{findings}' (HEADER false, DELIMITER ',')"
        )
        totals, under, rejected = _population_counts(con, as_of, rule_set.comparison.pension_age)
        # The enrollments outside the population (DuckDB) and the inputs' checksums are counted beside
        # the work in the database (DuckDB, hashlib and psycopg release the GIL while they work), one
        # after the other in one thread, so that they leave the database server a core.
        con.execute("SET threads = 1")
        unmatched = pool.submit(_unmatched, con)
        hashes = (
            {path: pool.submit(sha256_file, path) for path in (population, *enrollment_paths.values())}
            if hash_inputs
            else {}
        )
        try:
            record_findings(session, cmp_run, findings, totals, under, actor=actor)
        finally:
            try:
                outside = unmatched.result()
            finally:
                con.close()
        if hash_inputs:
            inputs["population"]["sha256"] = hashes[population].result()
            for key, path in enrollment_paths.items():
                inputs["enrollments"][key]["sha256"] = hashes[path].result()
    cmp_run.inputs = {
        **inputs,
        "population_invalid_ids": rejected,
        "enrollments_outside_population": outside,
    }
    return RunResult(cmp_run, time.perf_counter() - started)


def record_findings(
    session: Session,
    cmp_run: ComparisonRun,
    findings: Path,
    totals: dict[str, int],
    under: dict[str, int],
    *,
    actor: Actor,
) -> None:
    """Counts, flags and diff of a run over files from its findings (CSV without heading: person_id,
    area, klass, dup, survey, inacc, under_age; the persons with a finding), whichever engine made them."""
    f = _finding_table()
    _load_findings(session, f, findings)
    _finish(session, cmp_run, f, totals, actor=actor, detail_duplicates=False, under=under)
    drop(session, f)


def _population_counts(con, as_of: date, pension_age: int) -> tuple[dict[str, int], dict[str, int], int]:
    """From `pop` (see `file_inputs`): valid persons and persons under the pension age per division
    (the classification counts every valid person once), and the number of invalid numbers."""
    cutoff = _lit(_years_before(as_of, pension_age))
    totals: dict[str, int] = {}
    under: dict[str, int] = {}
    rejected = 0
    for division, valid, invalid, young in con.execute(
        "SELECT area, count(id), count(*) - count(id), "
        f"count(*) FILTER (WHERE id IS NOT NULL AND status = 'normal' AND NOT birth_date <= {cutoff}) "
        "FROM pop GROUP BY area"
    ).fetchall():
        rejected += invalid
        if valid:
            totals[division] = valid
        if young:
            under[division] = young
    return totals, under, rejected


def _unmatched(con) -> int:
    """Enrollments with an 18-character number that is no valid person's of the population."""
    return con.execute(
        "SELECT count(*) FROM enr WHERE has_id "
        "AND NOT EXISTS (SELECT 1 FROM pop WHERE pop.id = enr.person_id)"
    ).fetchone()[0]


def _load_findings(session: Session, f, path: Path) -> None:
    conn = session.connection()
    drop(session, f)
    f.create(conn)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with (
            raw.cursor() as cur,
            cur.copy(
                f"COPY {f.name} (person_id, area, klass, dup, survey, inacc, under_age) "
                "FROM STDIN (FORMAT csv)"
            ) as copy,
            path.open("rb") as fh,
        ):
            for block in iter(lambda: fh.read(1 << 20), b""):
                copy.write(block)
        # Temporary tables are never analysed by autovacuum; without statistics the planner may pick a
        # nested loop over the flag table for the new flags.
        conn.execute(text(f"ANALYZE {f.name}"))
        return
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [
            dict(zip(("person_id", "area", "klass", "dup", "survey", "inacc", "under_age"), r, strict=True))
            for r in csv.reader(fh)
        ]
    for r in rows:
        for k in ("dup", "survey", "inacc"):
            r[k] = r[k] or ""
        r["under_age"] = int(r["under_age"])
    stage(session, f, rows)


# ---------------------------------------------------------------------------------------------------------
# Reads


def get_or_raise(session: Session, *, run_id: int) -> ComparisonRun:
    found = session.get(ComparisonRun, run_id)
    if found is None:
        raise ComparisonNotFound(f"比对记录 {run_id} 不存在")
    return found


def get_all(session: Session, *, area: str | None = None, limit: int = 20) -> list[ComparisonRun]:
    query = select(ComparisonRun).order_by(ComparisonRun.id.desc()).limit(limit)
    if area:
        query = query.where(area_within(ComparisonRun.area, area))
    return list(session.scalars(query))


def counts_by_division(session: Session, *, run_id: int, level: int = 6) -> dict[str, dict[str, int]]:
    """Counts per class rolled up to divisions of `level` digits (2, 4, 6, 9 or 12)."""
    if level not in (2, 4, 6, 9, 12):
        raise Invalid([FieldError("/level", "level.unknown", "级别应为2、4、6、9或12位")])
    prefix = func.substr(ComparisonCount.division, literal_column("1"), literal_column(str(level))).label("d")
    rows = session.execute(
        select(prefix, ComparisonCount.klass, func.sum(ComparisonCount.n))
        .where(ComparisonCount.run_id == run_id)
        .group_by(prefix, ComparisonCount.klass)
    ).all()
    result: dict[str, dict[str, int]] = {}
    for division, klass, n in rows:
        result.setdefault(division, {})[klass] = int(n)
    return result


def changes(
    session: Session,
    *,
    run_id: int,
    change: str = "new",
    kind: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Flag]:
    """Flags newly raised (`new`) or resolved (`resolved`) by a run: the diff with the previous run."""
    if change not in ("new", "resolved"):
        raise Invalid([FieldError("/change", "change.unknown", "应为 new 或 resolved")])
    column = Flag.raised_by_run_id if change == "new" else Flag.cleared_by_run_id
    query = select(Flag).where(column == run_id).order_by(Flag.id).limit(limit).offset(offset)
    if kind:
        query = query.where(Flag.kind == kind)
    return list(session.scalars(query))


def default_threads() -> int:
    return max(1, os.cpu_count() or 1)
