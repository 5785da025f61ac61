"""The 档案 classification of an archived case and its 档号 (规程第三十二条: 全民参保登记资料 are archived
under 《社会保险业务档案管理规定（试行）》, 人社部、国家档案局令第3号, 2009).

- 第七条: materials are collected, arranged and archived by the annex 《社会保险业务材料归档范围与保管
  期限》. Everything these processes form — the 登记表, its scans, the review decisions — is the annex's
  一、社会保险管理类（二）参保人员登记材料 ("参保登记、社会保险关系变动、基本信息变更等登记手续时填报
  的登记表单及相关审核材料", 100年). A refused application is such a form with its review material too, so
  refusals are archived under the same class and term.
- 第八条: classification by 年度—业务环节 or 年度—险种—业务环节. 全民参保登记 spans every 险种, so the middle
  level is the annex's business category (业务类别) instead, and below it the 业务环节 (登记 / 变更 / 更正)
  with the outcome (准予 / 不予).
- 第四条: the archives are kept centrally by the 经办机构 at county level or above: the county is the
  全宗 (fonds).
- The retention term (保管期限) of each annex item is a minimum, counted from 1 January of the year after
  the record was formed (`retention.RetentionClass`).

The 档号 follows the order of DA/T 22《归档文件整理规则》 (全宗号-年度-保管期限-类别-件号, 保管期限 marked
Y / D100 / D30 / D10): the 全宗 is the county's 经办机构, which keeps the archives (第四条: 县级以上社会保险
经办机构集中保存), 件号 run from 1 in each series. Example: 370102-2026-D100-RYDJ-DJ-BY-000017 is the 17th
refused registration archived by 历下区 in 2026. The codes are this system's (the 规定 leaves the 分类方案 to
each office); an office that has its own rewrites `CATEGORIES` and `STEPS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from canbao.clock import CHINA

from .models import ArchivePackage, ArchiveSeries
from .retention import PERSONAL_REGISTRATION, RetentionClass

ITEM_DIGITS = 6


@dataclass(frozen=True)
class Category:
    """业务类别: an item of the annex, with the retention it prescribes."""

    code: str
    title: str
    annex: str
    retention: RetentionClass


@dataclass(frozen=True)
class Step:
    """业务环节, and what its two outcomes are called."""

    code: str
    title: str
    approved: str
    rejected: str


REGISTRATION_MATERIAL = Category(
    "RYDJ", "参保人员登记材料", "一、社会保险管理类（二）", PERSONAL_REGISTRATION
)
REGISTRATION = Step("DJ", "参保登记", "准予登记", "不予登记")
CHANGE = Step("BG", "信息变更", "准予变更", "不予变更")
CORRECTION = Step("GZ", "信息更正", "准予更正", "不予更正")
OTHER = Step("QT", "其他登记业务", "准予办理", "不予办理")

# By process key. A process drawn later without an entry here is archived as 其他登记业务 (QT).
STEPS: dict[str, Step] = {
    "survey_registration": REGISTRATION,
    "counter_collection": REGISTRATION,
    "change_approval": CHANGE,
    "self_service_update": CORRECTION,  # 第二十三条: the user corrects, the office confirms
    "id_correction": CORRECTION,
}
OUTCOMES = {"approved": "ZY", "rejected": "BY"}
CATEGORIES = {c.code: c for c in (REGISTRATION_MATERIAL,)}
STEP_CODES = {s.code: s for s in (REGISTRATION, CHANGE, CORRECTION, OTHER)}


@dataclass(frozen=True)
class Classification:
    fonds: str
    year: int
    category: Category
    step: Step
    outcome: str  # approved | rejected

    @property
    def outcome_title(self) -> str:
        return self.step.approved if self.outcome == "approved" else self.step.rejected

    @property
    def series(self) -> str:
        """The 档号 without its 件号: items are numbered within it."""
        parts = (self.category.retention.mark, self.category.code, self.step.code, OUTCOMES[self.outcome])
        return "-".join((self.fonds, str(self.year), *parts))

    @property
    def title(self) -> str:
        return f"{self.year}年 {self.category.title} {self.step.title} {self.outcome_title}"

    def manifest(self, archive_no: str) -> dict[str, Any]:
        return {
            "archive_no": archive_no,
            "fonds": self.fonds,
            "year": self.year,
            "category": {
                "code": self.category.code,
                "title": self.category.title,
                "annex": self.category.annex,
            },
            "step": {"code": self.step.code, "title": self.step.title},
            "outcome": {"code": OUTCOMES[self.outcome], "title": self.outcome_title},
            "title": self.title,
        }


def of_package(package: ArchivePackage) -> Classification:
    """The classification recorded on a package row."""
    return Classification(
        fonds=package.archive_no[:6],
        year=package.archive_year,
        category=CATEGORIES[package.category],
        step=STEP_CODES[package.step],
        outcome=package.outcome,
    )


def classify(*, process_key: str, area: str, at: datetime, decisions: Sequence[str | None]) -> Classification:
    """The classification of a case of `process_key` in `area`, archived at `at`, whose reviews decided
    `decisions` in order: refused when the last approval or refusal among them is a refusal."""
    final = [d for d in decisions if d in ("approve", "reject")]
    return Classification(
        fonds=area[:6],
        year=at.astimezone(CHINA).year,
        category=REGISTRATION_MATERIAL,
        step=STEPS.get(process_key, OTHER),
        outcome="rejected" if final and final[-1] == "reject" else "approved",
    )


def _next_item(insert: Callable[..., Any]) -> Insert:
    """Take the series' next item number: insert its row at 1, or add 1 to it (locking it)."""
    return (
        insert(ArchiveSeries)
        .values(series=bindparam("series"), last_item=1)
        .on_conflict_do_update(index_elements=["series"], set_={"last_item": ArchiveSeries.last_item + 1})
        .returning(ArchiveSeries.last_item)
    )


_NEXT_ITEM = {"postgresql": _next_item(postgresql.insert), "sqlite": _next_item(sqlite.insert)}


def archive_no(session: Session, classified: Classification) -> str:
    """The next 档号 of the classification's series. The series row stays locked until the caller's
    transaction ends, so concurrent archiving numbers one after another, and a rolled-back number is
    given again."""
    connection = session.connection()
    next_item = _NEXT_ITEM[connection.dialect.name]
    item = connection.execute(next_item, {"series": classified.series}).scalar_one()
    return f"{classified.series}-{item:0{ITEM_DIGITS}d}"
