"""Statistics (第二十七–三十一条): indicators per division as of a day, unenrolled reasons, survey-team
progress, the rule set, and the person list behind any count (masked per role, audited)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from canbao.actors import Actor
from registry.stats import queries, rules

from ..bodies import Body
from ..deps import MAX_ID, Db, permit
from ..masking import MaskingRoute
from ..problems import answers

# Every table is of an area: one outside the actor's is not found (404).
router = APIRouter(tags=["stats 统计"], route_class=MaskingRoute, responses=answers(404))
Reader = Annotated[Actor, Depends(permit("stats.read"))]
Area = Annotated[str | None, Query(max_length=12, description="区划代码（2、4、6、9或12位），默认为本人辖区")]
AsOf = Annotated[date | None, Query(description="统计日期（北京时间自然日），默认今天")]
By = Annotated[
    Literal["province", "city", "county", "township", "village"] | None,
    Query(description="按哪一级下级区划分行，默认下一级"),
]


class AreaRef(Body):
    code: str
    name: str | None
    level: str


class StatsTable(Body):
    """A statistics table as of a day: one row per division (or team) and the total."""

    rule_version: str
    rule_status: str
    as_of: str
    area: AreaRef
    by: str | None
    data_through: str | None = Field(description="统计数据更新至（北京时间）")
    rows: list[dict[str, Any]]
    total: dict[str, Any]


class Coverage(StatsTable):
    columns: list[dict[str, Any]] = Field(description="各列：键、名称、单位、口径")


class UnenrolledReasons(StatsTable):
    reasons: list[dict[str, Any]] = Field(description="未参保原因各列")


class TeamProgress(StatsTable):
    columns: list[dict[str, Any]]


class StatsPersons(Body):
    rule_version: str
    rule_status: str
    as_of: str
    area: AreaRef
    by: str | None
    data_through: str | None
    indicator: str
    total: int
    items: list[dict[str, Any]] = Field(description="人员及其在统计日的情况（按岗位脱敏）")
    next_offset: int | None


class RuleSetOut(Body):
    """The rule set in force (registry.rules): what every comparison run and figure records."""

    name: str
    version: str
    title: str
    sha256: str
    source: str
    comparison: dict[str, Any]
    completeness: dict[str, Any]


class Rules(Body):
    version: str
    status: str
    rule_set: RuleSetOut
    status_note: str
    as_of: str
    schemes: list[str]
    pension_age: int
    facts: list[dict[str, Any]]
    counts: list[dict[str, Any]]
    rates: list[dict[str, Any]]
    unenrolled_reasons: str
    groups: Any


@router.get(
    "/stats/rules",
    response_model=Rules,
    summary="生效的规则集：统计口径（版本化的指标定义）、比对规则与入库完整性规则",
)
def get_rules(actor: Reader) -> dict[str, Any]:
    return rules.describe()


@router.get(
    "/stats/coverage",
    summary="全民参保登记率、分险种参保、本地/异地、重复参保、需调查（按下级区划分行）",
    response_model=Coverage,
)
def coverage(actor: Reader, db: Db, area: Area = None, as_of: AsOf = None, by: By = None) -> dict[str, Any]:
    return queries.coverage(db, sc=queries.scope(actor, area=area, as_of=as_of, by=by))


@router.get(
    "/stats/unenrolled-reasons",
    summary="未参保人数按未参保原因（按下级区划分行）",
    response_model=UnenrolledReasons,
)
def unenrolled_reasons(
    actor: Reader, db: Db, area: Area = None, as_of: AsOf = None, by: By = None
) -> dict[str, Any]:
    return queries.unenrolled_reasons(db, sc=queries.scope(actor, area=area, as_of=as_of, by=by))


@router.get("/stats/survey-teams", summary="入户调查小组进度", response_model=TeamProgress)
def survey_teams(actor: Reader, db: Db, area: Area = None, as_of: AsOf = None) -> dict[str, Any]:
    return queries.survey_teams(db, sc=queries.scope(actor, area=area, as_of=as_of, by=None))


@router.get(
    "/stats/persons",
    summary="指标对应的人员明细（第三十条；按岗位脱敏，记录审计）",
    response_model=StatsPersons,
)
def persons(
    actor: Reader,
    db: Db,
    indicator: Annotated[
        str, Query(min_length=1, max_length=40, description="指标键，或 reason:<未参保原因代码>")
    ],
    area: Area = None,
    as_of: AsOf = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="上一页的 next_offset")] = 0,
) -> dict[str, Any]:
    sc = queries.scope(actor, area=area, as_of=as_of, by=None)
    return queries.persons(db, actor=actor, sc=sc, indicator=indicator, limit=limit, offset=offset)
