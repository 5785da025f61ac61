"""Where each part of a person's record came from (第十四条: 查询本人登记信息及其来源): the source and
confirmation time the registry keeps per group of fields, and the system behind each 险种 record,
told in words a citizen reads."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from .models import DataImport, Person

GROUPS = {
    "identity": "身份信息（姓名、性别、出生日期、民族）",
    "hukou": "户口信息",
    "residence": "常住地",
    "contact": "联系方式",
    "employment": "就业情况及未参保原因",
    "status": "生存、户籍状态",
}


def describe(session: Session, source: str | None) -> str:
    """A source tag (`import:3`, `case:12`, `exchange:4`, `survey:…`) in words."""
    if not source:
        return "尚未登记"
    kind, _, ref = source.partition(":")
    if kind == "import" and ref.isdigit():
        record = session.get(DataImport, int(ref))
        if record is None:
            return f"数据导入（第 {ref} 批）"
        what = "公安人口信息" if record.kind == "population" else f"{record.system}参保信息"
        return f"{what}（第 {record.id} 批导入，{record.at:%Y-%m-%d}）"
    if kind == "case":
        return f"全民参保登记经办（案件 {ref}）"
    if kind == "exchange":
        return f"跨地区信息交换（第 {ref} 批）"
    if kind == "survey":
        return "入户调查中补充登记"
    return source


def enrollment_source(source: str) -> str:
    return "登记表（本人自报）" if source == "registration" else source


def of_person(session: Session, person: Person) -> list[dict[str, Any]]:
    return [
        {
            "group": group,
            "label": label,
            "source": getattr(person, f"{group}_source"),
            "text": describe(session, getattr(person, f"{group}_source")),
            "confirmed_at": _iso(getattr(person, f"{group}_confirmed_at")),
        }
        for group, label in GROUPS.items()
    ]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
