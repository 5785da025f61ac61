"""Tables for changing processes safely: migration jobs with one result row per case, and the
tombstones of deleted versions (so that a version number, once given, always means one content)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from canbao.db import Base, utcnow

from .models import BigId


class DeletedDefinition(Base):
    __tablename__ = "process_definition_deleted"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    deleted_by: Mapped[str] = mapped_column(String(64))
    deleted_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("key", "version"),)


class MigrationJob(Base):
    """A request to move the running cases of one version to another (or to check whether they can).

    The cases it covers are fixed when it is requested (one `MigrationItem` each); workers then work
    through the pending items, one case per transaction, so progress is the count of items done.
    Versions are kept by number and id without a foreign key: the record outlives a deleted version.
    """

    __tablename__ = "migration_job"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    process_key: Mapped[str] = mapped_column(String(100))
    from_version: Mapped[int] = mapped_column(Integer)
    to_version: Mapped[int] = mapped_column(Integer)
    from_definition_id: Mapped[int] = mapped_column(BigInteger)
    to_definition_id: Mapped[int] = mapped_column(BigInteger)
    dry_run: Mapped[bool]
    filter: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # queued → running → done
    status: Mapped[str] = mapped_column(String(16), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_migration_job_key", "process_key", "id"),)


class MigrationItem(Base):
    """One case of a migration job and what happened to it.

    outcome: pending; migrated; movable (a dry run found it can move); refused (it cannot move, and
    stays); skipped (it finished or changed version after the request); failed (an error rolled the
    migration of this case back; it stays).
    """

    __tablename__ = "migration_item"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("migration_job.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    processed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_migration_item_job", "job_id", "outcome", "id"),)
