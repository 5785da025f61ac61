"""The statistics rule set (统计口径), one version for every figure, report and drill-down.

**Status: proposal.** The 规程 (第二十七–三十一条) names the statistics but not their numerators and
denominators; domain-research §5 found no official definition of 全民参保登记率 or of a report layout
([U]). Every definition below is therefore written out, numbered by `RULE_VERSION`, served by
`GET /api/v1/stats/rules`, and named on every response and report, so that an office can check the
口径 and a later version can change it without silently changing old figures' meaning.

How a figure "as of day D" is defined (exact and reproducible):

- D is a calendar day in Asia/Shanghai (UTC+8, no daylight saving). A figure as of D is computed from
  what the registry knew at the end of D: person versions, enrollment facts, flags and field history
  whose transaction time falls before D+1 00:00 (UTC+8), and of those the state in force at their
  end of D. Insurance periods are valid time: an enrollment is active on D when 参保状态 is 1 (正常参保)
  and start_date <= D < end_date (open ends allowed), as in the comparison rules (registry.comparison).
- Changes made later never alter a figure as of an earlier day, so last month's report is reproduced
  exactly; a correction shows from the day it was recorded.

Each person is reduced, for every day, to a *profile*: the 生存/户籍管理状态 and the fact bits of
`FACTS` plus the 未参保原因. Every count is the number of persons whose profile satisfies its
predicate (`Count.where`), every rate a quotient of two counts.

The counts and rates are data: the `statistics` section of the rule set in force (registry.rules;
registry/rules/default.yaml ships the definitions this text describes), which names facts of `FACTS`.
Every figure names the rule set (name@version and digest) beside `RULE_VERSION`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from registry import rules as rule_sets

# The rule set in force when the process started (CANBAO_RULES, else the default): a changed file takes
# effect on restart, and the next refresh rebuilds the statistics (build.refresh compares digests).
RULE_SET = rule_sets.active()
_STATS = RULE_SET.statistics
RULE_VERSION = str(_STATS["version"])
STATUS = str(_STATS["status"])
UTC_OFFSET_HOURS = 8  # Asia/Shanghai

# 险种 (AAE140) the profile holds a fact for; enrollments in other (local) schemes are ignored.
SCHEMES = rule_sets.STATS_SCHEMES
PENSION_AGE = int(_STATS["pension_age"])
SURVEY_FLAG_KINDS = ("needs_survey", "inaccurate")
COLLECTION_TASKS = {
    "survey_registration": "survey",
    "counter_collection": "collect",
    "self_service_update": "submit",
}
# Audit actions of the 入库 step (registry.store / registry.apply_change): a case is stored once one ran.
STORE_ACTIONS = ("registry.store", "registry.change")


@dataclass(frozen=True)
class Fact:
    bit: int
    key: str
    label: str
    definition: str


_SCHEME_BASE = 32
FACTS: tuple[Fact, ...] = (
    Fact(1, "hukou", "户籍人口", "管理区划等于户口所在地区划（户籍人口）；否则为常住非户籍人口"),
    Fact(
        2,
        "registered",
        "经案件入库",
        "D日末已经入户调查、窗口采集或自助更正，审定后入库（person_version.registered）",
    ),
    Fact(4, "survey_open", "需调查未办结", "D日末有未关闭的需调查登记或信息不准标记"),
    Fact(
        8, "survey_closed", "需调查已办结", "D日末无未关闭的需调查登记/信息不准标记，且此前至少有一个已关闭"
    ),
    Fact(
        16,
        "adult",
        f"年满{PENSION_AGE}周岁",
        f"D日已年满{PENSION_AGE}周岁（出生日期加{PENSION_AGE}年不晚于D；2月29日出生者为3月1日）",
    ),
    *(
        Fact(
            _SCHEME_BASE << i,
            f"s{code}",
            f"险种{code}有效",
            f"D日有险种{code}的正常参保记录（参保状态1，参保期间覆盖D）",
        )
        for i, code in enumerate(SCHEMES)
    ),
    Fact(
        1 << 13,
        "local",
        "本地参保",
        "D日至少一条有效参保记录的参保地与户口所在地（无户口所在地时为管理区划）所在县相互包含，且未标记为异地",
    ),
    Fact(
        1 << 14,
        "away",
        "异地参保记录",
        "D日至少一条有效参保记录的参保地在户口所在县之外，或来源标记为异地参保",
    ),
    Fact(
        1 << 15,
        "declared_away",
        "申报异地参保",
        "D日末登记为异地参保（insured_elsewhere，入户调查申报或上级交换）",
    ),
    Fact(1 << 16, "dup_place", "同险种多地参保", "D日同一险种在两个及以上参保地同时有效"),
)
BIT = {f.key: f.bit for f in FACTS}
SCHEME_BIT = {code: BIT[f"s{code}"] for code in SCHEMES}


def _any(*keys: str) -> int:
    return sum(BIT[k] for k in keys)


# ---------------------------------------------------------------------------------------------------------
# Predicates over a profile (status, bits, reason), as SQL and as Python


@dataclass(frozen=True)
class P:
    """A predicate: status in `statuses` (None = any), all of `all_of`, at least one of each `any_of`
    group, none of `none_of`."""

    statuses: tuple[str, ...] | None = ("normal",)
    all_of: int = 0
    any_of: tuple[int, ...] = ()
    none_of: int = 0
    reason: str | None = None  # exact 未参保原因 code ('' = not recorded)

    def sql(self) -> str:
        parts = []
        if self.statuses is not None:
            parts.append("status IN (" + ", ".join(f"'{s}'" for s in self.statuses) + ")")
        if self.all_of:
            parts.append(f"(bits & {self.all_of}) = {self.all_of}")
        parts.extend(f"(bits & {group}) <> 0" for group in self.any_of)
        if self.none_of:
            parts.append(f"(bits & {self.none_of}) = 0")
        if self.reason is not None:
            parts.append("reason = '" + self.reason.replace("'", "''") + "'")
        return " AND ".join(parts) or "1 = 1"

    def test(self, status: str, bits: int, reason: str = "") -> bool:
        return (
            (self.statuses is None or status in self.statuses)
            and bits & self.all_of == self.all_of
            and all(bits & g for g in self.any_of)
            and not bits & self.none_of
            and (self.reason is None or reason == self.reason)
        )


INSURED_ANY = _any("local", "away", "declared_away")


@dataclass(frozen=True)
class Count:
    key: str
    label: str
    definition: str
    where: P | tuple[P, ...]  # a tuple means any of them
    group: str
    drill: bool = True

    @property
    def alternatives(self) -> tuple[P, ...]:
        return self.where if isinstance(self.where, tuple) else (self.where,)

    def sql(self) -> str:
        return " OR ".join(f"({p.sql()})" for p in self.alternatives)

    def test(self, status: str, bits: int, reason: str = "") -> bool:
        return any(p.test(status, bits, reason) for p in self.alternatives)


@dataclass(frozen=True)
class Rate:
    key: str
    label: str
    numerator: str
    denominator: str
    definition: str
    group: str


def _predicate(where: dict[str, Any]) -> P:
    statuses = where.get("statuses", ["normal"])
    return P(
        statuses=None if statuses == "any" else tuple(statuses),
        all_of=sum(BIT[k] for k in where.get("all_of", [])),
        any_of=tuple(sum(BIT[k] for k in group) for group in where.get("any_of", [])),
        none_of=sum(BIT[k] for k in where.get("none_of", [])),
        reason=where.get("reason"),
    )


def _count(item: dict[str, Any]) -> Count:
    where = item["where"]
    return Count(
        item["key"],
        item["label"],
        item["definition"],
        tuple(_predicate(w) for w in where) if isinstance(where, list) else _predicate(where),
        item["group"],
        item.get("drill", True),
    )


# The counts and rates are the rule set's statistics 口径 (registry/rules/default.yaml, `statistics`).
COUNTS: tuple[Count, ...] = tuple(_count(item) for item in _STATS["counts"])
COUNT = {c.key: c for c in COUNTS}

# Counts from the engine's cases (入库率, 第十九条): not per person but per registration case.
CASE_COUNTS: tuple[tuple[str, str, str], ...] = (
    (
        "collected",
        "已采集件数",
        "入户调查登记、窗口采集、自助更正案件中，"
        "采集环节（survey / collect / submit）已于D日末前办结的案件数",
    ),
    (
        "stored",
        "已入库件数",
        "上述案件中D日末前已执行入库步骤（审计记录 registry.store / registry.change）的案件数",
    ),
)

# Persons counted from their flags rather than their profile: 自报 参保 awaiting 核实 (第二十二条).
FLAG_COUNTS: tuple[tuple[str, str, str], ...] = (
    (
        "self_reported",
        "自报待核实人数",
        "D日末有未关闭的“自报待核实”标记的人数：登记表上自报的险种在社会保险业务库中尚无正常参保记录；"
        "自报参保不计入任何参保人数",
    ),
)

RATES: tuple[Rate, ...] = tuple(
    Rate(r["key"], r["label"], r["numerator"], r["denominator"], r["definition"], r["group"])
    for r in _STATS["rates"]
)
RATE = {r.key: r for r in RATES}

GROUPS = {
    "population": "登记库",
    "registration": "参保登记",
    "place": "本地/异地参保",
    "coverage": "分险种参保",
    "duplicate": "重复参保",
    "survey": "需调查",
}


def count_sql(key: str) -> str:
    """The SQL predicate over (status, bits, reason) of count `key` (or `reason:<code>`)."""
    if key.startswith("reason:"):
        return reason_predicate(key.split(":", 1)[1]).sql()
    return COUNT[key].sql()


def reason_predicate(code: str) -> P:
    return P(none_of=INSURED_ANY, reason=code)


def describe() -> dict[str, Any]:
    """The whole rule set as data (for the API, the reports' rule sheet and the web page)."""
    return {
        "version": RULE_VERSION,
        "status": STATUS,
        "rule_set": RULE_SET.describe(),
        "status_note": "统计口径为待确认的提议（domain-research §5.2 [U]），请与本地统计口径核对后使用",
        "as_of": "D为北京时间自然日；按D日24时登记库已记录的信息、D日有效的参保期间计算；"
        "以后的更正不改变D日的数字",
        "schemes": list(SCHEMES),
        "pension_age": PENSION_AGE,
        "facts": [{"key": f.key, "label": f.label, "definition": f.definition} for f in FACTS],
        "counts": [
            {"key": c.key, "label": c.label, "definition": c.definition, "group": c.group, "drill": c.drill}
            for c in COUNTS
        ]
        + [
            {"key": k, "label": label, "definition": d, "group": "registration", "drill": False}
            for k, label, d in CASE_COUNTS
        ]
        + [
            {"key": k, "label": label, "definition": d, "group": "place", "drill": False}
            for k, label, d in FLAG_COUNTS
        ],
        "rates": [
            {
                "key": r.key,
                "label": r.label,
                "numerator": r.numerator,
                "denominator": r.denominator,
                "definition": r.definition,
                "group": r.group,
            }
            for r in RATES
        ],
        "unenrolled_reasons": "未参保人数按D日末的未参保原因（field_change 历史）细分；未填写者归入“未填写”",
        "groups": GROUPS,
    }


def columns() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for c in COUNTS:
        out.append(
            {
                "key": c.key,
                "label": c.label,
                "unit": "人",
                "kind": "count",
                "group": c.group,
                "drill": c.drill,
            }
        )
    for key, label, _ in CASE_COUNTS:
        out.append(
            {
                "key": key,
                "label": label,
                "unit": "件",
                "kind": "count",
                "group": "registration",
                "drill": False,
            }
        )
    for key, label, _ in FLAG_COUNTS:
        out.append(
            {"key": key, "label": label, "unit": "人", "kind": "count", "group": "place", "drill": False}
        )
    for r in RATES:
        out.append(
            {
                "key": r.key,
                "label": r.label,
                "unit": "ratio",
                "kind": "rate",
                "group": r.group,
                "numerator": r.numerator,
                "denominator": r.denominator,
            }
        )
    return out
