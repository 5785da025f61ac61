"""Spans and deltas from the registry's history, as set-based SQL on PostgreSQL and SQLite.

For each person the days on which anything statistical can change are collected (start and end of
each person version, enrollment fact, survey flag, 未参保原因 value, and the day the person turns
PENSION_AGE); between two such days the profile is constant, and it is evaluated once per segment.
Transaction times become days in UTC+8: a change recorded at time t counts from the day of t.

Span boundaries become per-count deltas: each distinct profile is mapped to the counts of the rule
set it satisfies (and to its 未参保原因), so the deltas hold plain numbers per (day, division, count).

`refresh` brings the aggregate up to date: a full build when there is none or the rule version
changed, otherwise only the persons queued in `stats_dirty` (and those of the comparison runs queued in
`stats_dirty_run`, see `queue`), whose old spans are replaced and whose
deltas are corrected by the difference (old spans' events out, new spans' events in). Month-start
checkpoints are added as months begin.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from canbao import clock
from canbao.db import utcnow

from .. import self_reported
from . import queue, rules
from .models import StatsCheckpoint, StatsDelta, StatsDirty, StatsDirtyRun, StatsState

STATE_ID = 1


@dataclass(frozen=True)
class Dialect:
    name: str

    def day(self, column: str) -> str:
        """The UTC+8 calendar day of a UTC timestamp column."""
        if self.name == "postgresql":
            return f"CAST(({column} AT TIME ZONE 'UTC') + INTERVAL '{rules.UTC_OFFSET_HOURS} hours' AS DATE)"
        return f"date({column}, '+{rules.UTC_OFFSET_HOURS} hours')"

    def plus_years(self, column: str, years: int) -> str:
        """`column` + `years` years; 29 February becomes 1 March in a common year (as SQLite does)."""
        if self.name == "postgresql":
            return f"(CAST({column} - 1 + INTERVAL '{years} years' AS DATE) + 1)"
        return f"date({column}, '+{years} years')"

    def literal_day(self, day: date) -> str:
        return f"DATE '{day.isoformat()}'" if self.name == "postgresql" else f"'{day.isoformat()}'"


def dialect_of(session: Session) -> Dialect:
    return Dialect(session.get_bind().dialect.name)


def _prefix6(column: str) -> str:
    """A division code without GB/T 2260 padding (registry.common.division_prefix in SQL)."""
    return (
        f"CASE WHEN length({column}) = 6 AND substr({column}, 3, 4) = '0000' THEN substr({column}, 1, 2) "
        f"WHEN length({column}) = 6 AND substr({column}, 5, 2) = '00' THEN substr({column}, 1, 4) "
        f"ELSE {column} END"
    )


@dataclass(frozen=True)
class Stages:
    """The span computation as named steps: `tables` can be CTEs of one statement or temporary tables
    of their own (with statistics, so that PostgreSQL plans the joins of millions of rows well)."""

    tables: list[tuple[str, str]]
    ctes: list[tuple[str, str]]
    select: str

    def sql(self) -> str:
        parts = ",\n".join(f"{name} AS ({sql})" for name, sql in [*self.tables, *self.ctes])
        return f"WITH {parts}\n{self.select}"


def span_stages(d: Dialect, persons: str | None, at: str | None = None) -> Stages:
    """The spans (person_id, day_from, day_to, area, status, bits, reason) of the persons in the
    subquery `persons` (all when None). With `at` (a day literal) only the segment covering that day,
    i.e. every person's profile as of that day, computed straight from the registry tables."""
    only = f"person_id IN ({persons})" if persons else "1 = 1"
    only_person = f"id IN ({persons})" if persons else "1 = 1"
    schemes = ", ".join(f"'{s}'" for s in rules.SCHEMES)
    kinds = ", ".join(f"'{k}'" for k in rules.SURVEY_FLAG_KINDS)
    bit = rules.BIT
    scheme_bits = " + ".join(f"COALESCE(se.s{code}, 0) * {rules.SCHEME_BIT[code]}" for code in rules.SCHEMES)
    scheme_max = ",\n      ".join(
        f"MAX(CASE WHEN e1.scheme = '{code}' THEN 1 ELSE 0 END) AS s{code}" for code in rules.SCHEMES
    )
    local = (
        "(NOT e1.elsewhere AND (substr(e1.pp, 1, length(sv.rp)) = sv.rp "
        "OR substr(sv.rp, 1, length(e1.pp)) = e1.pp))"
    )
    v1 = f"""
  SELECT * FROM (
    SELECT person_id, {d.day("valid_from")} AS f,
      CASE WHEN valid_to IS NULL THEN NULL ELSE {d.day("valid_to")} END AS t,
      area, hukou_division, status, registered, insured_elsewhere,
      {d.plus_years("birth_date", rules.PENSION_AGE)} AS adult_from
    FROM person_version WHERE {only}
  ) v WHERE t IS NULL OR t > f"""
    e1 = f"""
  SELECT * FROM (
    SELECT person_id, scheme, elsewhere, {_prefix6("place")} AS pp,
      CASE WHEN start_date IS NOT NULL AND start_date > {d.day("recorded_at")} THEN start_date
           ELSE {d.day("recorded_at")} END AS f,
      CASE WHEN superseded_at IS NULL THEN end_date
           WHEN end_date IS NOT NULL AND end_date < {d.day("superseded_at")} THEN end_date
           ELSE {d.day("superseded_at")} END AS t
    FROM enrollment WHERE status = '1' AND scheme IN ({schemes}) AND source <> '{self_reported.SOURCE}'
      AND {only}
  ) e WHERE t IS NULL OR t > f"""
    fl = f"""
  SELECT person_id, {d.day("raised_at")} AS f,
    CASE WHEN cleared_at IS NULL THEN NULL ELSE {d.day("cleared_at")} END AS t
  FROM flag WHERE kind IN ({kinds}) AND {only}"""
    r = f"""
  WITH fc AS (
    SELECT person_id, {d.day("at")} AS d, old, new,
      LEAD({d.day("at")}) OVER (PARTITION BY person_id ORDER BY id) AS nd,
      ROW_NUMBER() OVER (PARTITION BY person_id ORDER BY id) AS rn
    FROM field_change WHERE field = '/uninsured_reason/code' AND {only}
  )
  SELECT person_id, d AS f, nd AS t, new AS code FROM fc WHERE nd IS NULL OR nd > d
  UNION ALL SELECT person_id, NULL, d, old FROM fc WHERE rn = 1
  UNION ALL SELECT id, NULL, NULL, uninsured_reason_code FROM person
    WHERE uninsured_reason_code IS NOT NULL AND {only_person}
      AND NOT EXISTS (SELECT 1 FROM fc WHERE fc.person_id = person.id)"""
    if at is None:
        seg = """
  WITH bp AS (
    SELECT person_id, f AS b FROM v1
    UNION SELECT person_id, t FROM v1 WHERE t IS NOT NULL
    UNION SELECT person_id, adult_from FROM v1 WHERE adult_from > f AND (t IS NULL OR adult_from < t)
    UNION SELECT person_id, f FROM e1
    UNION SELECT person_id, t FROM e1 WHERE t IS NOT NULL
    UNION SELECT person_id, f FROM fl
    UNION SELECT person_id, t FROM fl WHERE t IS NOT NULL
    UNION SELECT person_id, f FROM r WHERE f IS NOT NULL
    UNION SELECT person_id, t FROM r WHERE t IS NOT NULL
  )
  SELECT person_id, b, LEAD(b) OVER (PARTITION BY person_id ORDER BY b) AS nb FROM bp"""
    else:
        seg = f"SELECT DISTINCT person_id, {at} AS b, CAST(NULL AS DATE) AS nb FROM v1"
    sv = f"""
  SELECT seg.person_id, seg.b, seg.nb, v1.area, v1.status, v1.registered, v1.insured_elsewhere,
    v1.adult_from, CASE WHEN v1.hukou_division IS NOT NULL AND v1.hukou_division = v1.area THEN 1 ELSE 0
      END AS hukou,
    {_prefix6("substr(COALESCE(v1.hukou_division, v1.area), 1, 6)")} AS rp
  FROM seg JOIN v1 ON v1.person_id = seg.person_id AND v1.f <= seg.b AND (v1.t IS NULL OR v1.t > seg.b)"""
    se = f"""
  SELECT sv.person_id, sv.b,
      {scheme_max},
      MAX(CASE WHEN {local} THEN 1 ELSE 0 END) AS loc,
      MAX(CASE WHEN {local} THEN 0 ELSE 1 END) AS away,
      CASE WHEN COUNT(DISTINCT e1.scheme || ':' || e1.pp) > COUNT(DISTINCT e1.scheme) THEN 1 ELSE 0
        END AS dup_place
  FROM sv JOIN e1 ON e1.person_id = sv.person_id AND e1.f <= sv.b AND (e1.t IS NULL OR e1.t > sv.b)
  GROUP BY sv.person_id, sv.b"""
    sf = """
  SELECT sv.person_id, sv.b,
    MAX(CASE WHEN fl.f <= sv.b AND (fl.t IS NULL OR fl.t > sv.b) THEN 1 ELSE 0 END) AS open_,
    MAX(CASE WHEN fl.t IS NOT NULL AND fl.t <= sv.b THEN 1 ELSE 0 END) AS closed_
  FROM sv JOIN fl ON fl.person_id = sv.person_id AND fl.f <= sv.b
  GROUP BY sv.person_id, sv.b"""
    sr = """
  SELECT sv.person_id, sv.b, MAX(r.code) AS code
  FROM sv JOIN r ON r.person_id = sv.person_id
    AND (r.f IS NULL OR r.f <= sv.b) AND (r.t IS NULL OR r.t > sv.b)
  GROUP BY sv.person_id, sv.b"""
    select = f"""
SELECT sv.person_id, sv.b AS day_from, sv.nb AS day_to, sv.area, sv.status,
  sv.hukou * {bit["hukou"]}
  + CASE WHEN sv.registered THEN {bit["registered"]} ELSE 0 END
  + COALESCE(sf.open_, 0) * {bit["survey_open"]}
  + CASE WHEN COALESCE(sf.open_, 0) = 0 AND COALESCE(sf.closed_, 0) = 1
    THEN {bit["survey_closed"]} ELSE 0 END
  + CASE WHEN sv.b >= sv.adult_from THEN {bit["adult"]} ELSE 0 END
  + {scheme_bits}
  + COALESCE(se.loc, 0) * {bit["local"]}
  + COALESCE(se.away, 0) * {bit["away"]}
  + CASE WHEN sv.insured_elsewhere THEN {bit["declared_away"]} ELSE 0 END
  + COALESCE(se.dup_place, 0) * {bit["dup_place"]} AS bits,
  CASE WHEN se.person_id IS NULL AND NOT COALESCE(sv.insured_elsewhere, FALSE)
    THEN COALESCE(sr.code, '') ELSE '' END AS reason
FROM sv
LEFT JOIN se ON se.person_id = sv.person_id AND se.b = sv.b
LEFT JOIN sf ON sf.person_id = sv.person_id AND sf.b = sv.b
LEFT JOIN sr ON sr.person_id = sv.person_id AND sr.b = sv.b"""
    return Stages(
        tables=[("v1", v1), ("e1", e1), ("fl", fl), ("r", r), ("seg", seg), ("sv", sv)],
        ctes=[("se", se), ("sf", sf), ("sr", sr)],
        select=select,
    )


def spans_sql(d: Dialect, persons: str | None, at: str | None = None) -> str:
    """The spans as one statement (see `span_stages`)."""
    return span_stages(d, persons, at).sql()


def _insert_spans(session: Session, d: Dialect, target: str, persons: str | None) -> None:
    """INSERT the spans into `target`, each stage a temporary table of its own first."""
    stages = span_stages(d, persons)
    for name, sql in stages.tables:
        session.execute(text(f"DROP TABLE IF EXISTS {name}"))
        session.execute(text(f"CREATE TEMP TABLE {name} AS {sql}"))
        if d.name == "postgresql":
            session.execute(text(f"ANALYZE {name}"))
    ctes = ",\n".join(f"{name} AS ({sql})" for name, sql in stages.ctes)
    session.execute(text(f"INSERT INTO {target} ({SPAN_COLUMNS}) WITH {ctes}\n{stages.select}"))
    for name, _ in stages.tables:
        session.execute(text(f"DROP TABLE {name}"))


SPAN_COLUMNS = "person_id, day_from, day_to, area, status, bits, reason"
PROFILE = "status, bits, reason"
SPAN_TABLE_COLUMNS = (
    "person_id VARCHAR(18), day_from DATE, day_to DATE, area VARCHAR(12), status VARCHAR(12), "
    "bits INTEGER, reason VARCHAR(8)"
)


def _events(source: str, sign: int = 1) -> str:
    """+1 at the start and -1 at the end of every span of `source` (times `sign`)."""
    return (
        f"SELECT day_from AS day, area, {PROFILE}, {sign} AS n FROM {source} "
        f"UNION ALL SELECT day_to, area, {PROFILE}, {-sign} FROM {source} WHERE day_to IS NOT NULL"
    )


def _keys_of(profiles: str) -> str:
    """(status, bits, reason, key) for every count of the rule set each profile of `profiles` is in."""
    branches = [
        f"SELECT {PROFILE}, '{count.key}' AS key FROM {profiles} WHERE {count.sql()}"
        for count in rules.COUNTS
    ]
    uninsured = rules.COUNT["uninsured"].sql()
    branches.append(f"SELECT {PROFILE}, 'reason:' || reason FROM {profiles} WHERE {uninsured}")
    return " UNION ALL ".join(branches)


def _net_deltas_sql(events: str) -> str:
    """SELECT day, area, key, n: span events turned into per-count deltas, netted."""
    return f"""
WITH ev AS ({events}),
g AS (
  SELECT day, area, {PROFILE}, SUM(n) AS n FROM ev
  GROUP BY day, area, {PROFILE} HAVING SUM(n) <> 0
),
pr AS (SELECT DISTINCT {PROFILE} FROM g),
k AS ({_keys_of("pr")})
SELECT g.day, g.area, k.key, SUM(g.n) AS n
FROM g JOIN k ON k.status = g.status AND k.bits = g.bits AND k.reason = g.reason
GROUP BY g.day, g.area, k.key HAVING SUM(g.n) <> 0"""


def _temp(session: Session, name: str, columns: str) -> None:
    session.execute(text(f"DROP TABLE IF EXISTS {name}"))
    session.execute(text(f"CREATE TEMP TABLE {name} ({columns})"))


def _tune(session: Session, d: Dialect) -> None:
    if d.name == "postgresql":
        # JIT-compiling these wide statements costs more than running them (seconds per statement).
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL work_mem = '256MB'"))


def month_of(day: date) -> date:
    return day.replace(day=1)


@dataclass
class RefreshResult:
    mode: str  # none / incremental / full / busy (another transaction is refreshing)
    persons: int
    seconds: float


def state(session: Session) -> StatsState | None:
    return session.get(StatsState, STATE_ID)


def _checkpoint_missing(session: Session) -> bool:
    """Whether deltas before this month exist without this month's checkpoint."""
    month = month_of(clock.today())
    has = session.scalar(select(StatsCheckpoint.month).where(StatsCheckpoint.month == month).limit(1))
    if has is not None:
        return False
    return session.scalar(select(StatsDelta.day).where(StatsDelta.day < month).limit(1)) is not None


def is_current(session: Session) -> bool:
    return (
        _built(state(session))
        and session.scalar(select(StatsDirty.person_id).limit(1)) is None
        and session.scalar(select(StatsDirtyRun.run_id).limit(1)) is None
        and not _checkpoint_missing(session)
    )


def _built(found: StatsState | None) -> bool:
    return (
        found is not None
        and found.rule_version == rules.RULE_VERSION
        and found.rule_set_sha256 == rules.RULE_SET.sha256
    )


def refresh(session: Session, *, full: bool = False, wait: bool = True) -> RefreshResult:
    """Bring spans, deltas and checkpoints up to date with the registry, in the caller's transaction.
    Without `wait`, a refresh another transaction is making already (PostgreSQL) is not waited for: the
    caller reads the figures last refreshed, which say so by their `data_through` (mode "busy"), rather
    than queue behind it — under load, readers of statistics waiting on each other's refreshes held the
    office's connections for seconds. A missing or outdated build is always waited for."""
    started = time.perf_counter()
    if not full and is_current(session):
        return RefreshResult("none", 0, 0.0)
    d = dialect_of(session)
    if d.name == "postgresql":
        session.execute(
            text(
                "INSERT INTO stats_state (id, rule_version, built_at, refreshed_at, persons_refreshed) "
                "VALUES (:id, '', :now, :now, 0) ON CONFLICT (id) DO NOTHING"
            ),
            {"id": STATE_ID, "now": utcnow()},
        )
        lock = "SELECT id FROM stats_state WHERE id = :id FOR UPDATE"
        if wait or full:
            session.execute(text(lock), {"id": STATE_ID})
        elif session.execute(text(lock + " SKIP LOCKED"), {"id": STATE_ID}).first() is None:
            if _built(state(session)):
                return RefreshResult("busy", 0, time.perf_counter() - started)
            session.execute(text(lock), {"id": STATE_ID})
    current = state(session)
    _tune(session, d)
    if (
        full
        or current is None
        or current.rule_version != rules.RULE_VERSION
        or current.rule_set_sha256 != rules.RULE_SET.sha256
    ):
        persons = _rebuild(session, d)
        mode = "full"
    else:
        persons = _incremental(session, d)
        mode = "incremental"
    _add_checkpoints(session)
    now = utcnow()
    current = state(session)
    if current is None:
        current = StatsState(id=STATE_ID, built_at=now)
        session.add(current)
    if mode == "full":
        current.built_at = now
    current.rule_version = rules.RULE_VERSION
    current.rule_set = rules.RULE_SET.label
    current.rule_set_sha256 = rules.RULE_SET.sha256
    current.refreshed_at = now
    current.persons_refreshed = persons
    session.flush()
    return RefreshResult(mode, persons, time.perf_counter() - started)


def _rebuild(session: Session, d: Dialect) -> int:
    for table in ("stats_dirty", "stats_dirty_run", "stats_span", "stats_delta", "stats_checkpoint"):
        session.execute(text(f"DELETE FROM {table}"))
    _insert_spans(session, d, "stats_span", None)
    session.execute(
        text(f"INSERT INTO stats_delta (day, area, key, n) {_net_deltas_sql(_events('stats_span'))}")
    )
    return session.scalar(select(func.count()).select_from(text("person"))) or 0


def _take_queue(session: Session, d: Dialect) -> int:
    _temp(session, "_stats_p", "person_id VARCHAR(18) PRIMARY KEY")
    if d.name == "postgresql":
        # One statement takes the queue: a writer that marks a person meanwhile waits for this
        # transaction (the row is locked) and re-queues them after it.
        session.execute(
            text(
                "WITH q AS (DELETE FROM stats_dirty RETURNING person_id) "
                "INSERT INTO _stats_p SELECT person_id FROM q"
            )
        )
    else:  # SQLite: the writer lock is held for the whole transaction (BEGIN IMMEDIATE)
        session.execute(text("INSERT INTO _stats_p SELECT person_id FROM stats_dirty"))
        session.execute(text("DELETE FROM stats_dirty"))
    queue.take_runs(session, "_stats_p")  # and the persons of the flags the queued comparisons changed
    return session.scalar(text("SELECT COUNT(*) FROM _stats_p")) or 0


def _incremental(session: Session, d: Dialect) -> int:
    n = _take_queue(session, d)
    if n:
        _temp(session, "_stats_old", SPAN_TABLE_COLUMNS)
        _temp(session, "_stats_new", SPAN_TABLE_COLUMNS)
        _temp(session, "_stats_net", "day DATE, area VARCHAR(12), key VARCHAR(24), n BIGINT")
        mine = "person_id IN (SELECT person_id FROM _stats_p)"
        session.execute(text(f"INSERT INTO _stats_old SELECT {SPAN_COLUMNS} FROM stats_span WHERE {mine}"))
        _insert_spans(session, d, "_stats_new", "SELECT person_id FROM _stats_p")
        session.execute(text(f"DELETE FROM stats_span WHERE {mine}"))
        session.execute(
            text(f"INSERT INTO stats_span ({SPAN_COLUMNS}) SELECT {SPAN_COLUMNS} FROM _stats_new")
        )
        events = f"{_events('_stats_new')} UNION ALL {_events('_stats_old', -1)}"
        session.execute(text(f"INSERT INTO _stats_net (day, area, key, n) {_net_deltas_sql(events)}"))
        # WHERE 1 = 1: SQLite needs it to tell the upsert's ON CONFLICT from a join constraint.
        session.execute(
            text(
                "INSERT INTO stats_delta (day, area, key, n) SELECT day, area, key, n FROM _stats_net "
                "WHERE 1 = 1 ON CONFLICT (day, area, key) DO UPDATE SET n = stats_delta.n + excluded.n"
            )
        )
        _correct_checkpoints(session)
        for name in ("_stats_old", "_stats_new", "_stats_net"):
            session.execute(text(f"DROP TABLE {name}"))
    session.execute(text("DROP TABLE _stats_p"))
    return n


def _correct_checkpoints(session: Session) -> None:
    """Add net deltas dated before existing checkpoints to them (a change committed after the day it
    was recorded on had begun, e.g. a long import across midnight), so checkpoints stay exact."""
    first = session.scalar(text("SELECT MIN(day) FROM _stats_net"))
    last = session.scalar(select(func.max(StatsCheckpoint.month)))
    if first is None or last is None or _as_date(first) >= last:
        return
    session.execute(
        text(
            "INSERT INTO stats_checkpoint (month, area, key, n) "
            "SELECT c.month, x.area, x.key, SUM(x.n) FROM _stats_net x "
            "JOIN (SELECT DISTINCT month FROM stats_checkpoint WHERE month > :first) c ON x.day < c.month "
            "WHERE 1 = 1 GROUP BY c.month, x.area, x.key "
            "ON CONFLICT (month, area, key) DO UPDATE SET n = stats_checkpoint.n + excluded.n"
        ),
        {"first": _as_date(first)},
    )


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _add_checkpoints(session: Session) -> None:
    """Create the missing month-start checkpoints up to this month, each from the one before."""
    first = session.scalar(select(func.min(StatsDelta.day)))
    if first is None:
        return
    last = session.scalar(select(func.max(StatsCheckpoint.month)))
    month = _next_month(_as_date(first)) if last is None else _next_month(last)
    now = month_of(clock.today())
    previous = last
    while month <= now:
        if previous is None:
            source = "SELECT area, key, n FROM stats_delta WHERE day < :month"
        else:
            source = (
                "SELECT area, key, n FROM stats_checkpoint WHERE month = :previous "
                "UNION ALL SELECT area, key, n FROM stats_delta WHERE day >= :previous AND day < :month"
            )
        session.execute(
            text(
                f"INSERT INTO stats_checkpoint (month, area, key, n) SELECT :month, area, key, SUM(n) "
                f"FROM ({source}) x GROUP BY area, key HAVING SUM(n) <> 0"
            ),
            {"month": month, "previous": previous},
        )
        previous, month = month, _next_month(month)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)
