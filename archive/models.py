"""The archive's rows: each stored document of a case, and the sealed package of a finished case.

A row is written only after its object is stored, so a row always points at bytes; the reverse (an
object without a row, after a crash between the two) is found by `canbao archive verify` and is
never served, since objects are only reached through rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from canbao.db import Base, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")
# Keys sort bytewise on PostgreSQL as in S3 listings, so verification can merge the two in order.
ObjectKey = String(200).with_variant(String(200, collation="C"), "postgresql")


class Document(Base):
    __tablename__ = "document"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    task_guid: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(32))
    media_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(ObjectKey, index=True)
    object_version: Mapped[str | None] = mapped_column(String(200))
    retention_class: Mapped[str] = mapped_column(String(32))
    # Set when the case is sealed: from then on the object is under retention until this time.
    retain_until: Mapped[datetime | None]
    sealed_at: Mapped[datetime | None]
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("case_id", "sha256"),)


class ArchivePackage(Base):
    """The manifest of an archived case (归档, of every outcome): form data, documents, decisions, the
    audit chain anchor, and its classification and 档号 (`archive.classification`)."""

    __tablename__ = "archive_package"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    manifest_key: Mapped[str] = mapped_column(ObjectKey, index=True)
    manifest_version: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    documents: Mapped[int] = mapped_column(Integer)
    protection: Mapped[str] = mapped_column(String(16))
    retention_class: Mapped[str] = mapped_column(String(32))
    retain_until: Mapped[datetime]
    archive_no: Mapped[str] = mapped_column(String(40), unique=True)  # 档号
    archive_year: Mapped[int] = mapped_column(Integer)  # 年度
    category: Mapped[str] = mapped_column(String(8))  # 业务类别
    step: Mapped[str] = mapped_column(String(8))  # 业务环节
    outcome: Mapped[str] = mapped_column(String(8))  # approved | rejected
    audit_event_id: Mapped[int | None] = mapped_column(BigInteger)
    audit_event_hash: Mapped[str | None] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArchiveSeries(Base):
    """The last 件号 given in each 档号 series (全宗-年度-保管期限-类别-环节-结果)."""

    __tablename__ = "archive_series"

    series: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_item: Mapped[int] = mapped_column(Integer)


class RestoredVersion(Base):
    """An object version written by `canbao backup restore`, and the version it had when sealed.

    An S3 server gives every object it stores a version id of its own, so a restored document or
    manifest no longer has the version its rows and its sealed manifest name. Restore points the rows
    at the new version and records here which sealed version it stands for; `archive verify` checks a
    manifest's versions through this table.
    """

    __tablename__ = "archive_restored_version"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    object_key: Mapped[str] = mapped_column(ObjectKey)
    version: Mapped[str | None] = mapped_column(String(200))
    original_version: Mapped[str | None] = mapped_column(String(200))
    restored_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("object_key", "version"),)
