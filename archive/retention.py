"""Retention periods (保管期限) of 《社会保险业务档案管理规定(试行)》 (人社部、国家档案局令第3号).

The 规定 knows 永久 and fixed terms of 10, 30, 50 and 100 years; a fixed term is a minimum, counted from
1 January of the year after the record was formed, and each kind of material has the term the annex
《社会保险业务材料归档范围与保管期限》 gives it (第七条). The personal registration material of 参保人员
(registration, relationship changes, basic-information changes, and their review material; annex
一（二）) is kept for 100 years.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

# The year a record is formed in is the year of the office that formed it (China Standard Time).
from canbao.clock import CHINA


@dataclass(frozen=True)
class RetentionClass:
    code: str
    title: str
    years: int

    @property
    def mark(self) -> str:
        """The term as a 档号 writes it (DA/T 22: D10, D30 …; 永久 would be Y)."""
        return f"D{self.years}"

    def until(self, formed_at: datetime) -> datetime:
        """The end of the period for a record formed at `formed_at`: 1 January, China time."""
        year = formed_at.astimezone(CHINA).year + 1 + self.years
        return datetime(year, 1, 1, tzinfo=CHINA).astimezone(UTC)


PERSONAL_REGISTRATION = RetentionClass("personal_registration", "参保人员登记材料（100年）", 100)
