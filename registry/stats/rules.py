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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RULE_VERSION = "stats-2026.2"  # .2: 自报 enrollments are not 参保 (第二十二条)
STATUS = "proposal"
UTC_OFFSET_HOURS = 8  # Asia/Shanghai

# 险种 (AAE140) the rule set knows; enrollments in other (local) schemes are ignored.
SCHEMES = ("110", "120", "170", "210", "310", "390", "410", "510")
PENSION = ("110", "120", "170")
EMPLOYEE_PENSION = ("110", "120")
RESIDENT_PENSION = ("170",)
MEDICAL = ("310", "390")
EMPLOYEE_SCHEMES = ("110", "120", "310")  # holding one of these makes a person a 职工 (see `employees`)
PENSION_AGE = 16
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


def _schemes(codes: tuple[str, ...]) -> int:
    return sum(SCHEME_BIT[c] for c in codes)


ALL_SCHEMES = _schemes(SCHEMES)


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


def _scheme_counts() -> list[Count]:
    out = []
    for code in PENSION:
        out.append(
            Count(
                f"scheme_{code}",
                f"险种{code}参保人数",
                f"应登记人员中年满{PENSION_AGE}周岁且D日有险种{code}有效参保记录的人数",
                P(all_of=BIT["adult"] | SCHEME_BIT[code]),
                "coverage",
            )
        )
    for code in MEDICAL:
        out.append(
            Count(
                f"scheme_{code}",
                f"险种{code}参保人数",
                f"应登记人员中D日有险种{code}有效参保记录的人数",
                P(all_of=SCHEME_BIT[code]),
                "coverage",
            )
        )
    for code in ("210", "410", "510"):
        out.append(
            Count(
                f"scheme_{code}",
                f"险种{code}参保人数",
                f"职工（见“职工人数”）中D日有险种{code}有效参保记录的人数",
                P(all_of=SCHEME_BIT[code], any_of=(_schemes(EMPLOYEE_SCHEMES),)),
                "coverage",
            )
        )
    return out


COUNTS: tuple[Count, ...] = (
    Count(
        "persons",
        "登记库人数",
        "D日末登记库中有记录的全部人员（含死亡、注销、迁出）",
        P(statuses=None),
        "population",
    ),
    Count("excluded_dead", "排除：死亡", "生存/户籍管理状态为死亡", P(statuses=("dead",)), "population"),
    Count("excluded_cancelled", "排除：注销", "户籍已注销", P(statuses=("cancelled",)), "population"),
    Count("excluded_moved_out", "排除：迁出", "户籍已迁出", P(statuses=("moved_out",)), "population"),
    Count(
        "target",
        "应登记人数",
        "D日末状态为正常的户籍人口和常住非户籍人口（不含死亡、注销、迁出）；每人只计入其管理区划一次",
        P(),
        "registration",
    ),
    Count(
        "target_hukou",
        "其中：户籍人口",
        "应登记人员中管理区划为户口所在地的",
        P(all_of=BIT["hukou"]),
        "registration",
    ),
    Count(
        "target_resident",
        "其中：常住非户籍人口",
        "应登记人员中管理区划为常住地（户口在外）的",
        P(none_of=BIT["hukou"]),
        "registration",
    ),
    Count(
        "registered",
        "已登记入库人数",
        "应登记人员中：经案件审定入库的，或虽未经案件、但D日有正常参保记录且无未关闭需调查/信息不准标记"
        "（经信息比对确认）的",
        (P(all_of=BIT["registered"]), P(any_of=(ALL_SCHEMES,), none_of=BIT["survey_open"])),
        "registration",
    ),
    Count(
        "registered_case",
        "其中：经案件入库",
        "应登记人员中经案件审定入库的",
        P(all_of=BIT["registered"]),
        "registration",
    ),
    Count(
        "registered_confirmed",
        "其中：经比对确认",
        "应登记人员中未经案件入库，但D日有正常参保记录且无未关闭需调查/信息不准标记的",
        P(any_of=(ALL_SCHEMES,), none_of=BIT["registered"] | BIT["survey_open"]),
        "registration",
    ),
    Count("insured", "参保人数", "应登记人员中本地参保或异地参保的人数", P(any_of=(INSURED_ANY,)), "place"),
    Count(
        "insured_local",
        "本地参保人数",
        "应登记人员中D日至少有一条参保地覆盖户口所在县的有效参保记录的",
        P(all_of=BIT["local"]),
        "place",
    ),
    Count(
        "insured_away",
        "异地参保人数",
        "应登记人员中无本地有效参保记录，但有异地有效参保记录或登记为异地参保的",
        P(any_of=(BIT["away"] | BIT["declared_away"],), none_of=BIT["local"]),
        "place",
    ),
    Count(
        "uninsured",
        "未参保人数",
        "应登记人员中既无本地也无异地参保的（按未参保原因细分）",
        P(none_of=INSURED_ANY),
        "place",
    ),
    Count(
        "pension_eligible",
        "基本养老应参保人数",
        f"应登记人员中D日年满{PENSION_AGE}周岁的（不扣除在校学生：登记库不记录在校状态的历史）",
        P(all_of=BIT["adult"]),
        "coverage",
    ),
    Count(
        "pension_insured",
        "基本养老参保人数",
        "基本养老应参保人员中D日有110/120/170任一有效参保记录的",
        P(all_of=BIT["adult"], any_of=(_schemes(PENSION),)),
        "coverage",
    ),
    Count("medical_eligible", "基本医疗应参保人数", "全部应登记人员（各年龄）", P(), "coverage"),
    Count(
        "medical_insured",
        "基本医疗参保人数",
        "应登记人员中D日有310/390任一有效参保记录的",
        P(any_of=(_schemes(MEDICAL),)),
        "coverage",
    ),
    Count(
        "employees",
        "职工人数",
        "应登记人员中D日有职工养老（110/120）或职工医保（310）有效参保记录的；失业、工伤、生育保险的应参保人数"
        "（登记库不记录就业状态的历史，以职工险种参保代替法定职工人群）",
        P(any_of=(_schemes(EMPLOYEE_SCHEMES),)),
        "coverage",
    ),
    *_scheme_counts(),
    Count(
        "duplicate",
        "重复参保人数",
        "应登记人员中D日同时参加职工医保和居民医保、职工养老和居民养老，或同一险种在两地同时有效的",
        (
            P(all_of=SCHEME_BIT["310"] | SCHEME_BIT["390"]),
            P(all_of=SCHEME_BIT["170"], any_of=(_schemes(EMPLOYEE_PENSION),)),
            P(all_of=BIT["dup_place"]),
        ),
        "duplicate",
    ),
    Count(
        "duplicate_medical",
        "其中：职工医保与居民医保",
        "D日310与390同时有效（规则 dup.medical）",
        P(all_of=SCHEME_BIT["310"] | SCHEME_BIT["390"]),
        "duplicate",
    ),
    Count(
        "duplicate_pension",
        "其中：职工养老与居民养老",
        "D日110或120与170同时有效（规则 dup.pension）",
        P(all_of=SCHEME_BIT["170"], any_of=(_schemes(EMPLOYEE_PENSION),)),
        "duplicate",
    ),
    Count(
        "duplicate_place",
        "其中：同险种两地参保",
        "D日同一险种在两个参保地同时有效（规则 dup.place）",
        P(all_of=BIT["dup_place"]),
        "duplicate",
    ),
    Count(
        "survey_open",
        "需调查（未办结）",
        "应登记人员中D日末有未关闭需调查登记/信息不准标记的",
        P(all_of=BIT["survey_open"]),
        "survey",
    ),
    Count(
        "survey_closed",
        "需调查（已办结）",
        "应登记人员中D日末标记均已关闭（入库或复核后清除）的",
        P(all_of=BIT["survey_closed"], none_of=BIT["survey_open"]),
        "survey",
    ),
)
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

RATES: tuple[Rate, ...] = (
    Rate(
        "registration_rate",
        "全民参保登记率",
        "registered",
        "target",
        "已登记入库人数 ÷ 应登记人数",
        "registration",
    ),
    Rate("storage_rate", "入库率", "stored", "collected", "已入库件数 ÷ 已采集件数", "registration"),
    Rate("insured_rate", "参保率", "insured", "target", "参保人数 ÷ 应登记人数", "place"),
    Rate("local_share", "本地参保占比", "insured_local", "insured", "本地参保人数 ÷ 参保人数", "place"),
    Rate(
        "pension_rate",
        "基本养老参保率",
        "pension_insured",
        "pension_eligible",
        "基本养老参保人数 ÷ 基本养老应参保人数",
        "coverage",
    ),
    Rate(
        "medical_rate",
        "基本医疗参保率",
        "medical_insured",
        "medical_eligible",
        "基本医疗参保人数 ÷ 基本医疗应参保人数",
        "coverage",
    ),
    *(
        Rate(
            f"scheme_{code}_rate",
            f"险种{code}参保率",
            f"scheme_{code}",
            "pension_eligible" if code in PENSION else "medical_eligible" if code in MEDICAL else "employees",
            f"险种{code}参保人数 ÷ "
            + (
                "基本养老应参保人数"
                if code in PENSION
                else "基本医疗应参保人数"
                if code in MEDICAL
                else "职工人数"
            ),
            "coverage",
        )
        for code in SCHEMES
    ),
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
