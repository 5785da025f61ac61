"""The registry (登记库): persons, their effective-dated versions and field history, enrollments,
flags, imports, comparison runs, survey teams and exchange batches.

History is kept so that any figure can be recomputed as of a past moment (issue 8):
- `person` holds the current state; every change of a statistics-relevant attribute closes the
  person's current `person_version` row (`valid_to`) and opens a new one, so "who was where, in
  which status, registered or not, at time T" is `valid_from <= T < coalesce(valid_to, ∞)`;
- every field change is a `field_change` row (old → new, when, by which case, import or exchange);
- `enrollment` rows are never changed: a newer fact about the same relationship (person, 险种,
  source system, 参保地) is a new row, and the older one is stamped `superseded_at` (transaction
  time). Insurance periods (`start_date`/`end_date`) are valid time. Together they answer "what did
  we know at K about coverage on day D".
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from canbao.db import AreaCode, Base, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")

# 生存/户籍管理状态 (public-security management status), machine codes.
PERSON_STATUSES: dict[str, str] = {"normal": "正常", "dead": "死亡", "cancelled": "注销", "moved_out": "迁出"}

# Flag kinds. 需调查登记 and 信息不准 persons are both survey targets (第十条); 重复参保 is marked apart.
FLAG_KINDS: dict[str, str] = {
    "needs_survey": "需调查登记",
    "duplicate": "重复参保",
    "inaccurate": "信息不准",
    "verify": "自报待核实",  # registry.self_reported
}


class Person(Base):
    """One person, keyed by their 社会保障号码 (规程第八条; for a citizen the 公民身份号码, see
    forms/ssnumber.py), with the document they registered with beside it. Current state only."""

    __tablename__ = "person"

    id: Mapped[str] = mapped_column(String(18), primary_key=True)
    # 证件类型 and 证件号码 as on the document (a 居民身份证's number is the key itself).
    id_type: Mapped[str] = mapped_column(String(2), default="01")
    document_number: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    ethnicity: Mapped[str | None] = mapped_column(String(2))
    hukou_division: Mapped[str | None] = mapped_column(String(12))
    hukou_address: Mapped[str | None] = mapped_column(String(200))
    hukou_nature: Mapped[str | None] = mapped_column(String(2))
    residence_division: Mapped[str | None] = mapped_column(String(12))
    residence_address: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    employment_status: Mapped[str | None] = mapped_column(String(8))
    employer: Mapped[str | None] = mapped_column(String(200))
    uninsured_reason_code: Mapped[str | None] = mapped_column(String(8))
    uninsured_reason_text: Mapped[str | None] = mapped_column(String(200))
    insured_elsewhere: Mapped[bool | None] = mapped_column(Boolean)
    guardian: Mapped[dict[str, Any] | None]
    # 生存/户籍管理状态: normal / dead / cancelled / moved_out (PERSON_STATUSES).
    status: Mapped[str] = mapped_column(String(12), default="normal")
    # The division that manages the person (access control: a user reaches it when it starts with
    # the user's area). The 户口所在地 for local-hukou persons, the 常住所在地 for others.
    area: Mapped[str] = mapped_column(String(12))
    # 入库: the registration was approved and stored through a case.
    registered_at: Mapped[datetime | None]
    registered_case_id: Mapped[int | None] = mapped_column(BigInteger)
    # Source and last confirmation of each field group: "import:<id>", "case:<id>", "exchange:<id>".
    identity_source: Mapped[str | None] = mapped_column(String(32))
    identity_confirmed_at: Mapped[datetime | None]
    hukou_source: Mapped[str | None] = mapped_column(String(32))
    hukou_confirmed_at: Mapped[datetime | None]
    residence_source: Mapped[str | None] = mapped_column(String(32))
    residence_confirmed_at: Mapped[datetime | None]
    contact_source: Mapped[str | None] = mapped_column(String(32))
    contact_confirmed_at: Mapped[datetime | None]
    employment_source: Mapped[str | None] = mapped_column(String(32))
    employment_confirmed_at: Mapped[datetime | None]
    status_source: Mapped[str | None] = mapped_column(String(32))
    status_confirmed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_person_area", "area"),
        Index("ix_person_residence_division", "residence_division"),
        Index("ix_person_document", "document_number", "id_type"),
    )


class PersonVersion(Base):
    """Effective-dated copy of the attributes statistics group and filter by (SCD type 2)."""

    __tablename__ = "person_version"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(18))
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    area: Mapped[str] = mapped_column(String(12))
    hukou_division: Mapped[str | None] = mapped_column(String(12))
    residence_division: Mapped[str | None] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    registered: Mapped[bool] = mapped_column(Boolean, default=False)
    insured_elsewhere: Mapped[bool | None] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_person_version_person_id", "person_id", "valid_from"),
        Index("ix_person_version_area_valid_from", "area", "valid_from"),
        Index(
            "uq_person_version_current",
            "person_id",
            unique=True,
            postgresql_where=text("valid_to IS NULL"),
            sqlite_where=text("valid_to IS NULL"),
        ),
    )


class FieldChange(Base):
    """Field history: one registered field changed from `old` to `new` (JSON text), when and by what."""

    __tablename__ = "field_change"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(18))
    field: Mapped[str] = mapped_column(
        String(40)
    )  # JSON pointer into the 登记表: "/phone", "/hukou/division"
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))  # case / import / exchange
    case_id: Mapped[int | None] = mapped_column(BigInteger)
    import_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_sub: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_field_change_person_id", "person_id", "id"),
        Index("ix_field_change_import_id", "import_id"),
    )


class Enrollment(Base):
    """One fact about one insurance relationship, as a source system (or a case) reported it.

    The relationship is (person, scheme, source, place). A newer fact for it is a new row; the
    older row keeps its values and gets `superseded_at`. At most one current row per relationship.
    """

    __tablename__ = "enrollment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(18))
    scheme: Mapped[str] = mapped_column(String(3))  # 险种 (AAE140): 110 120 170 210 310 390 410 510 …
    status: Mapped[str] = mapped_column(String(1))  # 参保状态: 0 未参保 1 正常参保 2 暂停参保 4 终止参保
    pay_status: Mapped[str | None] = mapped_column(String(1))  # 缴费状态: 1 参保缴费 2 暂停缴费 3 终止缴费
    place: Mapped[str] = mapped_column(String(12))  # 参保地 (统筹区) division
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(32))  # system name, "registration", "exchange"
    elsewhere: Mapped[bool] = mapped_column(Boolean, default=False)  # 异地参保
    # Identity as the source system holds it (信息不准 when it disagrees with public security).
    src_name: Mapped[str | None] = mapped_column(String(64))
    src_birth_date: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime]
    superseded_at: Mapped[datetime | None]
    import_id: Mapped[int | None] = mapped_column(BigInteger)
    case_id: Mapped[int | None] = mapped_column(BigInteger)
    exchange_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_enrollment_person_id", "person_id"),
        Index(
            "uq_enrollment_current",
            "person_id",
            "scheme",
            "source",
            "place",
            unique=True,
            postgresql_where=text("superseded_at IS NULL"),
            sqlite_where=text("superseded_at IS NULL"),
        ),
    )


class Flag(Base):
    """A mark on a person: 需调查登记 / 重复参保 / 信息不准, with reason codes; at most one open per kind."""

    __tablename__ = "flag"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(18))
    kind: Mapped[str] = mapped_column(String(16))  # FLAG_KINDS
    # Space-separated reason codes ("dup.medical dup.place"): set-based SQL can build them on every backend.
    reasons: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any] | None]
    area: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(8), default="open")  # open / cleared
    raised_at: Mapped[datetime]
    raised_by_run_id: Mapped[int | None] = mapped_column(BigInteger)
    raised_by_sub: Mapped[str | None] = mapped_column(String(64))
    last_seen_run_id: Mapped[int | None] = mapped_column(BigInteger)
    cleared_at: Mapped[datetime | None]
    cleared_by_case_id: Mapped[int | None] = mapped_column(BigInteger)
    cleared_by_run_id: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_flag_person_id", "person_id"),
        Index("ix_flag_area_status", "area", "status"),
        Index("ix_flag_raised_by_run_id", "raised_by_run_id"),
        Index("ix_flag_cleared_by_run_id", "cleared_by_run_id"),
        Index(
            "uq_flag_open",
            "person_id",
            "kind",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )


class DataImport(Base):
    """A recorded import of another department's or an insurance system's file."""

    __tablename__ = "data_import"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # population / enrollments
    system: Mapped[str] = mapped_column(String(32))  # "公安" for population, the system name for enrollments
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejection_file: Mapped[str | None] = mapped_column(String(300))
    actor_sub: Mapped[str] = mapped_column(String(64))
    # The importer's area: the file and its rejected rows are seen within it only.
    area: Mapped[str] = mapped_column(AreaCode, default="")
    at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("kind", "system", "sha256"),)


class ComparisonRun(Base):
    """One 信息比对 run: inputs, rule version, counts per class, and the diff with the previous run."""

    __tablename__ = "comparison_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    area: Mapped[str] = mapped_column(String(12))
    as_of: Mapped[date] = mapped_column(Date)
    rule_version: Mapped[str] = mapped_column(String(16))
    # the rule set (registry.rules): name@version and content digest (migration 0019)
    rule_set: Mapped[str | None] = mapped_column(String(64))
    rule_set_sha256: Mapped[str | None] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))  # database / files / spark
    inputs: Mapped[dict[str, Any]]
    counts: Mapped[dict[str, Any]]
    diff: Mapped[dict[str, Any]]
    previous_run_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_sub: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_comparison_run_area", "area", "id"),)


class ComparisonCount(Base):
    """Persons per class per division (the person's managing area) in one run."""

    __tablename__ = "comparison_count"

    run_id: Mapped[int] = mapped_column(ForeignKey("comparison_run.id", ondelete="CASCADE"), primary_key=True)
    division: Mapped[str] = mapped_column(String(12), primary_key=True)
    klass: Mapped[str] = mapped_column(String(24), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class SurveyTeam(Base):
    """入户调查 team (第十八条): 2–3 surveyors, each with a 全民参保登记调查证."""

    __tablename__ = "survey_team"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    area: Mapped[str] = mapped_column(String(12))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_survey_team_area", "area"),)


class SurveyTeamMember(Base):
    __tablename__ = "survey_team_member"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("survey_team.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    card_no: Mapped[str] = mapped_column(String(32), unique=True)  # 调查证 number
    user_sub: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (Index("ix_survey_team_member_team_id", "team_id"),)


class ExchangeBatch(Base):
    """A file exchanged with the upper-level registry (第十条), in either direction. An export keeps its
    signed file until the level above has fetched it (`ready` → `fetched`); an import is `applied`."""

    __tablename__ = "exchange_batch"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    direction: Mapped[str] = mapped_column(String(8))  # export / import
    kind: Mapped[str] = mapped_column(String(16))  # changes / elsewhere:<for_area>
    origin: Mapped[str] = mapped_column(String(12))  # the area of the registry that wrote the file
    origin_batch: Mapped[int] = mapped_column(Integer)  # that registry's batch number
    # elsewhere: the lower registry the file is for (取回 of its persons insured outside it)
    for_area: Mapped[str | None] = mapped_column(String(12))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    cursor: Mapped[dict[str, Any]]  # export: the high-water marks this file covers
    counts: Mapped[dict[str, Any]]
    actor_sub: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="applied")  # ready / fetched / applied
    content: Mapped[bytes | None] = mapped_column(LargeBinary)  # an export's signed file
    fetched_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("direction", "kind", "origin", "origin_batch"),)


class PersonField(Base):
    """A person field as a department's record last set it (registry.departments), with its source and
    the record's date: the holder the precedence table (registry.precedence) weighs the next record
    against. For a field that is also a `person` column the value is mirrored there."""

    __tablename__ = "person_field"

    person_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    field: Mapped[str] = mapped_column(String(40), primary_key=True)  # JSON pointer: "/student/school"
    value: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # a source of the precedence table: 民政, 卫健, …
    recorded_on: Mapped[date | None] = mapped_column(Date)  # the date of the department's record
    applied_at: Mapped[datetime]
    import_id: Mapped[int] = mapped_column(BigInteger)
