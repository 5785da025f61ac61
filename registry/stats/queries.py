"""The figures: coverage table per division, unenrolled reasons, survey-team progress, and the
person-detail list behind any count (第三十条: 报表及对应人员明细), all as of a day and within the
caller's area. Every read first brings the aggregate up to date (`build.refresh`), so a figure never
lags the registry it is computed from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from canbao import audit
from canbao.actors import Actor
from canbao.db import prefix_next
from canbao.errors import FieldError, Invalid

from .. import self_reported
from ..checks import code_label, division_name
from ..common import AreaForbidden
from ..models import SurveyTeam, SurveyTeamMember
from . import build, rules
from .models import StatsCheckpoint

LEVELS = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}
LEVEL_OF_LENGTH = {n: level for level, n in LEVELS.items()}
LEVEL_TITLES = {
    "province": "省",
    "city": "市",
    "county": "县（区）",
    "township": "乡镇（街道）",
    "village": "村（社区）",
}
TZ = timezone(timedelta(hours=rules.UTC_OFFSET_HOURS))
MAX_PAGE = 500
MAX_DETAIL_ROWS = 200_000


def today() -> date:
    return datetime.now(TZ).date()


def end_of(day: date) -> datetime:
    """The first instant after day `day` (UTC+8), in UTC: what the registry knew "as of" the day."""
    return datetime.combine(day + timedelta(days=1), time(0), TZ).astimezone(UTC)


@dataclass(frozen=True)
class Scope:
    area: str  # '' = the whole country
    as_of: date
    by: str

    @property
    def length(self) -> int:
        return LEVELS[self.by]


def scope(actor: Actor, *, area: str | None, as_of: date | None, by: str | None) -> Scope:
    """Check the request's area, day and level together (every bad field named), then the actor's reach."""
    errors: list[FieldError] = []
    area = actor.area if area is None else area
    if area and (not area.isdigit() or len(area) not in LEVEL_OF_LENGTH):
        errors.append(FieldError("/area", "area.format", "区划代码应为2、4、6、9或12位数字"))
    day = as_of or today()
    if day > today():
        errors.append(FieldError("/as_of", "as_of.future", "统计日期不能晚于今天"))
    level = by
    if level is None:
        deeper = [n for n in sorted(LEVEL_OF_LENGTH) if n > len(area)]
        level = LEVEL_OF_LENGTH[deeper[0]] if deeper else "village"
    if level not in LEVELS:
        errors.append(
            FieldError("/by", "by.unknown", "分组级别应为 province、city、county、township 或 village")
        )
    elif LEVELS[level] <= len(area) and len(area) < 12:
        errors.append(
            FieldError(
                "/by", "by.not_below", f"分组级别应低于所查区划（{LEVEL_OF_LENGTH.get(len(area), '')}）"
            )
        )
    if errors:
        raise Invalid(errors)
    if not actor.reaches(area):
        raise AreaForbidden(f"区划 {area or '全国'} 不在 {actor.area or '（无）'} 范围内")
    return Scope(area, day, level)


def _area_range(column: str, area: str, params: dict[str, Any]) -> str:
    if not area:
        return "1 = 1"
    params["lo"] = area
    upper = prefix_next(area)
    if upper is None:
        return f"{column} >= :lo"
    params["hi"] = upper
    return f"{column} >= :lo AND {column} < :hi"


def _count_keys() -> list[str]:
    return [c.key for c in rules.COUNTS]


def _sums(session: Session, sc: Scope, keys: list[str] | None = None) -> dict[str, dict[str, int]]:
    """unit → {key: n} as of the day: the latest month-start checkpoint not after the day plus the
    deltas from it to the day, under the area, by the level's code prefix."""
    params: dict[str, Any] = {"d": sc.as_of, "k": sc.length}
    where = _area_range("area", sc.area, params)
    if keys is not None:
        params["keys"] = keys
        where += " AND key IN :keys"
    month = session.scalar(select(func.max(StatsCheckpoint.month)).where(StatsCheckpoint.month <= sc.as_of))
    if month is None:
        source = f"SELECT area, key, n FROM stats_delta WHERE day <= :d AND {where}"
    else:
        params["m"] = month
        source = (
            f"SELECT area, key, n FROM stats_checkpoint WHERE month = :m AND {where} "
            f"UNION ALL SELECT area, key, n FROM stats_delta WHERE day >= :m AND day <= :d AND {where}"
        )
    # One row per unit with its counts as one JSON object: a village table has ~40 counts for each of
    # thousands of villages, and fetching them as rows would cost more than computing them.
    postgres = build.dialect_of(session).name == "postgresql"
    agg = "json_object_agg(key, n)" if postgres else "json_group_object(key, n)"
    query = text(
        f"SELECT unit, {agg} FROM (SELECT substr(area, 1, :k) AS unit, key, SUM(n) AS n FROM ({source}) x "
        f"GROUP BY substr(area, 1, :k), key HAVING SUM(n) <> 0) y GROUP BY unit"
    )
    if keys is not None:
        query = query.bindparams(bindparam("keys", expanding=True))
    return {
        unit: {k: int(n) for k, n in (json.loads(counts) if isinstance(counts, str) else counts).items()}
        for unit, counts in session.execute(query, params).all()
    }


def _stored_sql() -> str:
    actions = ", ".join(f"'{a}'" for a in rules.STORE_ACTIONS)
    return (
        f"EXISTS (SELECT 1 FROM audit_event a WHERE a.case_id = c.id AND a.action IN ({actions}) "
        "AND a.at < :t)"
    )


def _case_counts(session: Session, sc: Scope) -> dict[str, dict[str, int]]:
    """unit → {collected, stored}: registration cases whose collection step / 入库 happened by the day."""
    params: dict[str, Any] = {"k": sc.length, "t": end_of(sc.as_of)}
    where = _area_range("c.area", sc.area, params)
    processes = ", ".join(f"'{p}'" for p in rules.COLLECTION_TASKS)
    task_of = " ".join(f"WHEN '{p}' THEN '{t}'" for p, t in rules.COLLECTION_TASKS.items())
    stored = _stored_sql()
    rows = session.execute(
        text(
            f"""SELECT substr(c.area, 1, :k),
  SUM(CASE WHEN EXISTS (SELECT 1 FROM case_task t WHERE t.case_id = c.id
        AND t.spec_name = CASE c.process_key {task_of} END AND t.state = 'completed' AND t.completed_at < :t)
      THEN 1 ELSE 0 END),
  SUM(CASE WHEN {stored} THEN 1 ELSE 0 END)
FROM cases c WHERE c.process_key IN ({processes}) AND c.created_at < :t AND {where}
GROUP BY substr(c.area, 1, :k)"""
        ),
        params,
    ).all()
    return {unit: {"collected": int(a or 0), "stored": int(b or 0)} for unit, a, b in rows}


def _flag_counts(session: Session, sc: Scope) -> dict[str, dict[str, int]]:
    """unit → {self_reported}: persons with a 自报待核实 flag open at the end of the day."""
    params: dict[str, Any] = {"k": sc.length, "t": end_of(sc.as_of), "kind": self_reported.KIND}
    where = _area_range("f.area", sc.area, params)
    rows = session.execute(
        text(
            f"""SELECT substr(f.area, 1, :k), COUNT(DISTINCT f.person_id) FROM flag f
WHERE f.kind = :kind AND f.raised_at < :t AND (f.cleared_at IS NULL OR f.cleared_at >= :t) AND {where}
GROUP BY substr(f.area, 1, :k)"""
        ),
        params,
    ).all()
    return {unit: {"self_reported": int(n)} for unit, n in rows}


_RATES = tuple((r.key, r.numerator, r.denominator) for r in rules.RATES)


def _rates(values: dict[str, Any]) -> None:
    for key, numerator, denominator in _RATES:
        den = values.get(denominator, 0)
        values[key] = round(values.get(numerator, 0) / den, 6) if den else None


def _units(sc: Scope, found: set[str]) -> list[str]:
    """The divisions at the level under the area (from the division table) and any code found in the data."""
    from forms import divisions

    idx = divisions.index()
    listed = {
        code
        for code in idx.names
        if len(code) == sc.length
        and code.startswith(sc.area)
        and (sc.length != 12 or code[:6] in idx.village_coverage)
    }
    return sorted(listed | found)


def _row(unit: str, sc: Scope, values: dict[str, Any]) -> dict[str, Any]:
    unassigned = len(unit) < sc.length
    name = division_name(unit) or ("全国" if not unit else "")
    if unassigned:
        name = f"{name}（未细分到{LEVEL_TITLES[sc.by]}）"
    return {"code": unit, "name": name, "unassigned": unassigned, **values}


def _meta(session: Session, sc: Scope) -> dict[str, Any]:
    found = build.state(session)
    level = LEVEL_OF_LENGTH.get(len(sc.area), "country")
    return {
        "rule_version": rules.RULE_VERSION,
        "rule_status": rules.STATUS,
        "rule_set": rules.RULE_SET.label,
        "rule_set_sha256": rules.RULE_SET.sha256,
        "as_of": sc.as_of.isoformat(),
        "area": {
            "code": sc.area,
            "name": division_name(sc.area) or ("全国" if not sc.area else ""),
            "level": level,
        },
        "by": sc.by,
        "data_through": found.refreshed_at.isoformat() if found else None,
    }


def coverage(session: Session, *, sc: Scope) -> dict[str, Any]:
    """Every count and rate of the rule set per child division of the area (rows) and for the area (total)."""
    build.refresh(session, wait=False)
    persons = _sums(session, sc)
    cases = _case_counts(session, sc)
    flagged = _flag_counts(session, sc)
    zero = dict.fromkeys([*_count_keys(), "collected", "stored", "self_reported"], 0)
    rows = []
    total = dict(zero)
    for unit in _units(sc, set(persons) | set(cases) | set(flagged)):
        values = {**zero, **persons.get(unit, {}), **cases.get(unit, {}), **flagged.get(unit, {})}
        for key in zero:
            total[key] += values[key]
        _rates(values)
        rows.append(_row(unit, sc, values))
    _rates(total)
    return {
        **_meta(session, sc),
        "columns": rules.columns(),
        "rows": rows,
        "total": {"code": sc.area, "name": _meta(session, sc)["area"]["name"], "unassigned": False, **total},
    }


def reason_columns(found: set[str]) -> list[dict[str, str]]:
    from forms import codes

    listed = [(c.code, c.label) for c in codes.get("uninsured_reason").codes]
    known = {code for code, _ in listed}
    extra = sorted(found - known - {""})
    return (
        [{"key": code, "label": label} for code, label in listed]
        + [{"key": code, "label": f"代码{code}（不在代码表中）"} for code in extra]
        + [{"key": "", "label": "未填写"}]
    )


def unenrolled_reasons(session: Session, *, sc: Scope) -> dict[str, Any]:
    """未参保人数 per child division, broken down by 未参保原因 (columns: the code list, then 未填写)."""
    build.refresh(session, wait=False)
    by_unit: dict[str, dict[str, int]] = {}
    for unit, counts in _sums(session, sc).items():
        for key, n in counts.items():
            if key.startswith("reason:"):
                by_unit.setdefault(unit, {})[key.removeprefix("reason:")] = n
    cols = reason_columns({r for counts in by_unit.values() for r in counts})
    total = {c["key"]: 0 for c in cols}
    out = []
    for unit in _units(sc, set(by_unit)):
        counts = {c["key"]: by_unit.get(unit, {}).get(c["key"], 0) for c in cols}
        for key, n in counts.items():
            total[key] += n
        out.append({**_row(unit, sc, {}), "uninsured": sum(counts.values()), "reasons": counts})
    return {
        **_meta(session, sc),
        "reasons": cols,
        "rows": out,
        "total": {
            "code": sc.area,
            "name": _meta(session, sc)["area"]["name"],
            "uninsured": sum(total.values()),
            "reasons": total,
        },
    }


TEAM_COLUMNS = (
    ("assigned", "分派案件"),
    ("collected", "已调查采集"),
    ("stored", "已入库"),
    ("rejected", "不予登记"),
    ("in_progress", "办理中（未入库、未结束）"),
    ("overdue", "逾期任务"),
)


def survey_teams(session: Session, *, sc: Scope) -> dict[str, Any]:
    """Survey progress per team of the area as of the day (入户调查 cases and their tasks)."""
    t = end_of(sc.as_of)
    params: dict[str, Any] = {"t": t}
    rejected = (
        "(c.outcome IS NOT NULL AND c.outcome = '不予登记' "
        "AND c.completed_at IS NOT NULL AND c.completed_at < :t)"
    )
    where = _area_range("c.area", sc.area, params)
    rows = session.execute(
        text(
            f"""SELECT c.team_id, COUNT(*),
  SUM(CASE WHEN EXISTS (SELECT 1 FROM case_task k WHERE k.case_id = c.id AND k.spec_name = 'survey'
        AND k.state = 'completed' AND k.completed_at < :t) THEN 1 ELSE 0 END),
  SUM(CASE WHEN {_stored_sql()} THEN 1 ELSE 0 END),
  SUM(CASE WHEN {rejected} THEN 1 ELSE 0 END),
  SUM(CASE WHEN NOT {_stored_sql()} AND NOT {rejected} THEN 1 ELSE 0 END),
  SUM((SELECT COUNT(*) FROM case_task k WHERE k.case_id = c.id AND k.created_at < :t
        AND (k.completed_at IS NULL OR k.completed_at >= :t) AND k.due_at < :t))
FROM cases c WHERE c.process_key = 'survey_registration' AND c.team_id IS NOT NULL AND c.created_at < :t
  AND {where}
GROUP BY c.team_id"""
        ),
        params,
    ).all()
    progress = {
        team: dict(zip([k for k, _ in TEAM_COLUMNS], map(int, values), strict=True)) for team, *values in rows
    }
    team_query = select(SurveyTeam).where(SurveyTeam.created_at < t).order_by(SurveyTeam.id)
    if sc.area:
        upper = prefix_next(sc.area)
        team_query = team_query.where(SurveyTeam.area >= sc.area)
        if upper:
            team_query = team_query.where(SurveyTeam.area < upper)
    teams = list(session.scalars(team_query))
    members = dict(
        session.execute(
            select(SurveyTeamMember.team_id, func.count())
            .where(SurveyTeamMember.team_id.in_([tm.id for tm in teams] or [0]))
            .group_by(SurveyTeamMember.team_id)
        ).all()
    )
    zero = {k: 0 for k, _ in TEAM_COLUMNS}
    out = []
    total = dict(zero)
    for team in teams:
        values = {**zero, **progress.get(team.id, {})}
        for k in zero:
            total[k] += values[k]
        done = values["stored"] + values["rejected"]
        out.append(
            {
                "team_id": team.id,
                "name": team.name,
                "code": team.area,
                "area_name": division_name(team.area),
                "members": int(members.get(team.id, 0)),
                "active": team.active,
                **values,
                "completion_rate": round(done / values["assigned"], 6) if values["assigned"] else None,
            }
        )
    done = total["stored"] + total["rejected"]
    return {
        **_meta(session, sc),
        "columns": [{"key": k, "label": label, "unit": "件", "kind": "count"} for k, label in TEAM_COLUMNS]
        + [
            {
                "key": "completion_rate",
                "label": "办结率",
                "unit": "ratio",
                "kind": "rate",
                "numerator": "stored+rejected",
                "denominator": "assigned",
            }
        ],
        "rows": out,
        "total": {
            **total,
            "completion_rate": round(done / total["assigned"], 6) if total["assigned"] else None,
        },
    }


# ---------------------------------------------------------------------------------------------------------
# Drill-down (第三十条: 对应人员明细)


def indicator_sql(indicator: str) -> str:
    """The profile predicate of a count that has a person list (a count key, or `reason:<code>`)."""
    if indicator.startswith("reason:") or (indicator in rules.COUNT and rules.COUNT[indicator].drill):
        return rules.count_sql(indicator)
    raise Invalid([FieldError("/indicator", "indicator.unknown", f"没有可下钻的指标“{indicator}”")])


_SCHEME_FACTS = {f"s{code}" for code in rules.SCHEMES}


def describe_profile(status: str, bits: int, reason: str) -> dict[str, Any]:
    return {
        "status": status,
        "facts": [f.key for f in rules.FACTS if bits & f.bit and f.key not in _SCHEME_FACTS],
        "schemes": [code for code in rules.SCHEMES if bits & rules.SCHEME_BIT[code]],
        "uninsured_reason": reason or None,
        "uninsured_reason_label": code_label("uninsured_reason", reason) if reason else None,
    }


def persons(
    session: Session,
    *,
    actor: Actor,
    sc: Scope,
    indicator: str,
    limit: int = 100,
    offset: int = 0,
    purpose: str = "drilldown",
) -> dict[str, Any]:
    """The persons counted in `indicator` for the area as of the day, in 公民身份号码 order, with their
    profile on that day. Paged by offset: a cursor would carry a 公民身份号码 past the masking. Audited
    as one read of a person list."""
    predicate = indicator_sql(indicator)
    if not 1 <= limit <= MAX_DETAIL_ROWS:
        raise Invalid([FieldError("/limit", "limit.range", f"每页条数应为1至{MAX_DETAIL_ROWS}")])
    build.refresh(session, wait=False)
    if offset < 0:
        raise Invalid([FieldError("/offset", "offset.range", "起始位置不能为负数")])
    params: dict[str, Any] = {"d": sc.as_of, "limit": limit + 1, "offset": offset}
    where = _area_range("area", sc.area, params)
    rows = session.execute(
        text(
            f"""SELECT s.person_id, s.area, s.status, s.bits, s.reason, p.name, p.sex, p.birth_date,
  p.hukou_division, p.residence_division
FROM (SELECT person_id, area, status, bits, reason FROM stats_span
      WHERE {where} AND day_from <= :d AND (day_to IS NULL OR day_to > :d) AND ({predicate})
        ) s
JOIN person p ON p.id = s.person_id
ORDER BY s.person_id LIMIT :limit OFFSET :offset"""
        ),
        params,
    ).all()
    page = rows[:limit]
    items = [
        {
            "id_number": r.person_id,
            "name": r.name,
            "sex": r.sex,
            "birth_date": r.birth_date.isoformat() if isinstance(r.birth_date, date) else r.birth_date,
            "area": r.area,
            "area_name": division_name(r.area),
            "hukou_division": r.hukou_division,
            "residence_division": r.residence_division,
            **describe_profile(r.status, r.bits, r.reason),
        }
        for r in page
    ]
    total = _sums(session, sc, [indicator])
    audit.record(
        session,
        actor=actor,
        action="person.list",
        object_type="stats_persons",
        object_id=indicator,
        payload={
            "purpose": purpose,
            "area": sc.area,
            "as_of": sc.as_of.isoformat(),
            "rule_version": rules.RULE_VERSION,
            "rule_set": rules.RULE_SET.label,
            "indicator": indicator,
            "offset": offset,
            "count": len(items),
            "person_ids": [i["id_number"] for i in items] if purpose == "drilldown" else None,
        },
        area=sc.area,
    )
    return {
        **_meta(session, sc),
        "indicator": indicator,
        "total": sum(v.get(indicator, 0) for v in total.values()),
        "items": items,
        "next_offset": offset + limit if len(rows) > limit else None,
    }


def profile_counts_direct(
    session: Session, *, area: str, as_of: date, length: int
) -> dict[str, dict[str, int]]:
    """The counts computed straight from the registry tables for one day, without the aggregate: the
    check that the aggregate is exact (tests and `bench.stats`)."""
    d = build.dialect_of(session)
    params: dict[str, Any] = {"k": length}
    where = _area_range("area", area, params)
    keys = _count_keys()
    sums = ", ".join(f"SUM(CASE WHEN {rules.count_sql(k)} THEN 1 ELSE 0 END)" for k in keys)
    rows = session.execute(
        text(
            f"SELECT substr(area, 1, :k), {sums} FROM ({build.spans_sql(d, None, d.literal_day(as_of))}) x "
            f"WHERE {where} GROUP BY substr(area, 1, :k)"
        ),
        params,
    ).all()
    return {row[0]: dict(zip(keys, map(int, row[1:]), strict=True)) for row in rows}
