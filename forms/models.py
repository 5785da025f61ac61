"""The administrative divisions table (统计用区划代码, 2 to 12 digits, nested by prefix)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from canbao import clock
from canbao.db import Base

LEVELS = ("province", "city", "county", "township", "village")
LEVEL_LENGTH = {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}


class Division(Base):
    """One division code. Abolished codes keep their row with `valid_to` set: 公民身份号码 and old
    records still name them."""

    __tablename__ = "division"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(8))
    parent: Mapped[str | None] = mapped_column(String(12), ForeignKey("division.code"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint("level IN ('province', 'city', 'county', 'township', 'village')", name="level"),
        Index("ix_division_parent", "parent", "code"),
    )

    @property
    def current(self) -> bool:
        return self.valid_to is None or self.valid_to > clock.today()
