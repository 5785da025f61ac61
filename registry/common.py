"""Small helpers shared by the registry modules: area prefixes, value text, typed errors."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from canbao.actors import Actor
from canbao.db import prefix_next
from canbao.errors import Conflict, FieldError, Invalid, NotFound

_DIGITS = re.compile(r"[0-9]{2,12}")
_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y.%m.%d")


class PersonNotFound(NotFound):
    code = "registry.person_not_found"
    title = "登记库中没有此人"


class StaleValue(Conflict):
    """A change request's `old` value no longer matches the registry (someone changed it meanwhile)."""

    code = "registry.stale_value"
    title = "变更前的值与登记库当前值不一致"


class AreaForbidden(NotFound):
    """Outside the actor's area: answered as not found, so the resource's existence is not revealed."""

    code = "registry.out_of_area"
    title = "不存在或不在本人管辖区域内"


def sql_in_area(column: str, area: str | None) -> str:
    """The same as literal SQL (area is validated digits)."""
    if not area:
        return "1=1"
    check_area(area)
    upper = prefix_next(area)
    return f"({column} >= '{area}' AND {column} < '{upper}')" if upper else f"{column} >= '{area}'"


def check_area(area: str, pointer: str = "/area") -> str:
    if not _DIGITS.fullmatch(area or ""):
        raise Invalid([FieldError(pointer, "area.format", "区划代码应为2至12位数字")])
    return area


def require_reach(actor: Actor, area: str | None) -> None:
    if not actor.reaches(area or ""):
        raise AreaForbidden(f"所查询的对象不在 {actor.area or '（无）'} 范围内")


def parse_date(text: Any) -> date | None:
    """A date from an ISO string, YYYYMMDD, a date or a datetime; None for blank; ValueError otherwise."""
    if text is None:
        return None
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    raw = str(text).strip()
    if not raw:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(raw[:10] if "-" in raw[:10] else raw, fmt).date()
        except ValueError:
            continue
    raise ValueError(raw)


def value_text(value: Any) -> str | None:
    """How a field value is written in field history and compared with a change request's `old`."""
    import json

    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return str(value)


def division_prefix(code: str) -> str:
    """A division code without the GB/T 2260 padding: "370100" → "3701", "370000" → "37"."""
    if len(code) == 6:
        if code.endswith("0000"):
            return code[:2]
        if code.endswith("00"):
            return code[:4]
    return code


def place_covers(place: str, division: str) -> bool:
    """Whether an insurance place (统筹区, any level) and a division lie one within the other."""
    a, b = division_prefix(place), division_prefix(division)
    return a.startswith(b) or b.startswith(a)


def is_division(code: Any) -> bool:
    return isinstance(code, str) and _DIGITS.fullmatch(code) is not None and len(code) in (2, 4, 6, 9, 12)
