"""Value checks that JSON Schema keywords cannot say: names, phone numbers, free text, dates.

Each `x-check` function takes a string (already known to be capped and free of control characters)
and returns None or (machine code, Chinese message). They are pure and fast: no I/O.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import date
from functools import lru_cache

from canbao import clock

Problem = tuple[str, str] | None

# C0/C1 controls, zero-width and bidi formatting characters, BOM and lone surrogates: never in a field.
CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff]"
)
# The same but allowing line breaks and tabs, for multi-line text (reasons, remarks).
CONTROL_MULTILINE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff]"
)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# 间隔号: U+00B7 is the standard one; the look-alikes typed by IMEs are accepted and normalised.
NAME_DOTS = "\u00b7\u2022\u2027\u30fb\uff65"
_CHINESE_NAME = re.compile(f"[{_CJK}]+(?:[{NAME_DOTS}][{_CJK}]+)*")
_LATIN_NAME = re.compile(r"[A-Za-z]+(?:[ .\-][A-Za-z]+)*")
_MARKUP = re.compile(r"[<>]|&#?[A-Za-z0-9]+;")
# Quotes, statement separators, comments and statement shapes (a bare word like "Alter" is a surname).
_SQL = re.compile(
    r"['\"`;=\\]|--|/\*|\*/"
    r"|\b(?:drop|alter|truncate|create)\s+table\b|\bunion\s+(?:all\s+)?select\b|\bselect\b.*\bfrom\b"
    r"|\binsert\s+into\b|\bdelete\s+from\b|\bupdate\b.*\bset\b|\bexec(?:ute)?\s*\(",
    re.IGNORECASE,
)
_TEXT_MARKUP = re.compile(r"<\s*[A-Za-z/!?]|&#?[A-Za-z0-9]+;|javascript:", re.IGNORECASE)

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_FIXED = re.compile(r"0[1-9][0-9]{1,2}-[1-9][0-9]{6,7}(?:-[0-9]{1,6})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def person_name(value: str) -> Problem:
    """姓名: Chinese characters with 间隔号 (阿依古丽·买买提), or a Latin-letter name for foreigners."""
    if _MARKUP.search(value):
        return "name.markup", "不能含有 HTML 标记或 < > 等字符"
    if _SQL.search(value):
        return "name.sql", "不能含有引号、分号、等号、注释符或 SQL 语句"
    if len(value) < 2:
        return "name.too_short", "至少2个字"
    if _CHINESE_NAME.fullmatch(value) or _LATIN_NAME.fullmatch(value):
        return None
    return (
        "name.format",
        "只能由汉字（少数民族姓名可用间隔号“·”分隔）或外文字母组成，不能含数字、空格或其他符号",
    )


def phone(value: str) -> Problem:
    """联系电话: a mobile number (1[3-9] + 9 digits) or a fixed line 区号-号码[-分机]."""
    if _MOBILE.fullmatch(value) or _FIXED.fullmatch(value):
        return None
    return "phone.format", "应为11位手机号码（如13800000000）或“区号-号码”格式的固定电话（如0531-86000000）"


def text(value: str) -> Problem:
    """Free text (addresses, reasons, names of employers): no HTML or script."""
    if _TEXT_MARKUP.search(value):
        return "text.markup", "不能含有 HTML 标记或脚本"
    return None


CHECKS: dict[str, Callable[[str], Problem]] = {"person_name": person_name, "phone": phone, "text": text}

# --------------------------------------------------------------------------------------------------------
# Dates

_today_cache: tuple[float, str] = (0.0, "")


def today_iso() -> str:
    """Today's date as YYYY-MM-DD, refreshed at most once a second (ISO dates compare as strings)."""
    global _today_cache
    now = time.monotonic()
    if now - _today_cache[0] > 1.0:
        _today_cache = (now, clock.today().isoformat())
    return _today_cache[1]


@lru_cache(maxsize=1 << 16)
def iso_date(value: str) -> date | None:
    """The date written as YYYY-MM-DD, or None when it is not one (2015-02-30, 20150301, …)."""
    if not _DATE.fullmatch(value):
        return None
    try:
        return date(int(value[:4]), int(value[5:7]), int(value[8:10]))
    except ValueError:
        return None


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
