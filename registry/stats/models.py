"""Pre-aggregated statistics that stay exact as of any day.

`stats_span` holds, per person, the day ranges over which their statistical profile (status, fact
bits, 未参保原因; see `rules`) is constant; `stats_delta` holds per day, managing division and count
the change in the number of persons counted (+1 where a span in the count starts, -1 where it ends),
and `stats_checkpoint` the running sums at each month start. The figure as of day D for any division
is one checkpoint plus at most a month of deltas under its code prefix: index ranges, not a scan of
persons. Spans are rebuilt per person from the registry's own history (person versions,
enrollment facts, flags, field history), so the aggregate never holds anything the registry does not.

`stats_dirty` is the queue of persons whose registry history changed since the last refresh; database
triggers on person_version, enrollment, flag and field_change fill it in the writer's transaction
(migration 0004), so no write path can be missed. A comparison queues its run in `stats_dirty_run`
instead of each person whose flags it raises or clears (registry.stats.queue, migrations 0008–0009).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from canbao.db import AreaCode, Base, utcnow


class StatsSpan(Base):
    __tablename__ = "stats_span"

    person_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    day_from: Mapped[date] = mapped_column(Date, primary_key=True)
    day_to: Mapped[date | None] = mapped_column(Date)  # exclusive; None: open
    area: Mapped[str] = mapped_column(AreaCode)
    status: Mapped[str] = mapped_column(String(12))
    bits: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(8), default="")

    __table_args__ = (Index("ix_stats_span_area", "area", "day_from"),)


class StatsDelta(Base):
    """Change on `day` in the number of persons of division `area` counted in `key` (a count of the
    rule set, or `reason:<未参保原因>`)."""

    __tablename__ = "stats_delta"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    area: Mapped[str] = mapped_column(AreaCode, primary_key=True)
    key: Mapped[str] = mapped_column(String(24), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class StatsCheckpoint(Base):
    """The sum of all deltas before `month` (the first day of a month) per division and key, so that a
    figure as of any day adds at most one month of deltas to one checkpoint."""

    __tablename__ = "stats_checkpoint"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    area: Mapped[str] = mapped_column(AreaCode, primary_key=True)
    key: Mapped[str] = mapped_column(String(24), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class StatsDirty(Base):
    __tablename__ = "stats_dirty"

    person_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)


class StatsDirtyRun(Base):
    """A comparison run whose raised and cleared flags (`flag.raised_by_run_id`, `cleared_by_run_id`)
    the next refresh takes as queued persons (registry.stats.queue)."""

    __tablename__ = "stats_dirty_run"

    run_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)


class StatsState(Base):
    """One row: which rule version the aggregate was built with, and when it was last brought up to date."""

    __tablename__ = "stats_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_version: Mapped[str] = mapped_column(String(32))
    # the rule set (registry.rules) the aggregate was built with: name@version and content digest
    rule_set: Mapped[str | None] = mapped_column(String(64))
    rule_set_sha256: Mapped[str | None] = mapped_column(String(64))
    built_at: Mapped[datetime]
    refreshed_at: Mapped[datetime]
    persons_refreshed: Mapped[int] = mapped_column(BigInteger, default=0)
