"""Recorded imports (第八、九条): public-security population data and one insurance system's enrollments.

Whose numbers each holds (forms/ssnumber.py): the 公安 population file lists 户籍人员 by the 公民身份号码
of their 居民身份证 (a 居住证 or 永居证 number in it is a rejected row); an insurance system keys its
enrollments by 社会保障号码 (第八条), of any scheme.

Every row is validated; rejected rows go to a rejection file (CSV, UTF-8 with BOM for Excel) with the
reason per row; accepted rows are staged in a temporary table (COPY on PostgreSQL) and applied with a
handful of set-based statements. An import is recorded with the file's sha256, counts, who and when;
the same file imported again is recognised and changes nothing, and a different file with the same
content applies no change either (rows are compared with the registry).

Service entry point for the CLI and `POST /api/v1/imports`: `import_file(...)`.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    MetaData,
    String,
    Table,
    and_,
    cast,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from canbao import audit
from canbao.actors import Actor
from canbao.config import get_settings
from canbao.db import area_within, utcnow
from canbao.errors import FieldError, Invalid
from forms import ssnumber
from forms.idnumber import IdNumberError
from forms.idnumber import sex as sex_of

from . import checks, precedence, self_reported
from .common import parse_date
from .models import DataImport, Enrollment, FieldChange, Person, PersonField, PersonVersion

KINDS = {"population": "公安人口信息", "enrollments": "参保信息"}
POPULATION_SYSTEM = "公安"
MAX_ROWS = 20_000_000

# Column aliases: the Chinese headings that other departments' files use, and English ones.
POPULATION_COLUMNS = {
    "id_number": ("公民身份号码", "身份证号码", "身份证号", "证件号码", "id_number"),
    "name": ("姓名", "name"),
    "sex": ("性别", "sex"),
    "birth_date": ("出生日期", "birth_date"),
    "ethnicity": ("民族", "ethnicity"),
    "hukou_division": ("户籍地区划", "户籍地址区划", "户口所在地区划", "行政区划", "hukou_division"),
    "hukou_address": ("户籍地址", "户口所在地地址", "hukou_address"),
    "hukou_nature": ("户口性质", "hukou_nature"),
    "status": ("管理状态", "人员状态", "status"),
}
ENROLLMENT_COLUMNS = {
    "id_number": ("社会保障号码", "公民身份号码", "身份证号码", "身份证号", "证件号码", "id_number"),
    "name": ("姓名", "name"),
    "birth_date": ("出生日期", "birth_date"),
    "scheme": ("险种", "险种类型", "scheme"),
    "status": ("参保状态", "status"),
    "pay_status": ("缴费状态", "pay_status"),
    "place": ("参保地", "参保地区划", "统筹区", "place"),
    "start_date": ("参保日期", "开始日期", "首次参保日期", "start_date"),
    "end_date": ("终止日期", "结束日期", "end_date"),
}
STATUS_WORDS = {
    "正常": "normal",
    "管理中": "normal",
    "在册": "normal",
    "normal": "normal",
    "1": "normal",
    "死亡": "dead",
    "dead": "dead",
    "2": "dead",
    "注销": "cancelled",
    "cancelled": "cancelled",
    "3": "cancelled",
    "迁出": "moved_out",
    "moved_out": "moved_out",
    "4": "moved_out",
}
SEX_WORDS = {"1": "1", "男": "1", "2": "2", "女": "2"}


class ImportFileError(Invalid):
    code = "import.file"
    title = "导入文件无法读取"


@dataclass
class Rejection:
    row: int
    values: dict[str, str]
    errors: list[FieldError]


@dataclass
class ImportResult:
    record: DataImport
    repeated: bool
    rejections: list[Rejection] = field(default_factory=list)
    persons_added: int = 0  # 非本地户籍 参保 persons the file made known (第三条)

    def as_dict(self) -> dict[str, Any]:
        r = self.record
        return {
            "id": r.id,
            "kind": r.kind,
            "system": r.system,
            "filename": r.filename,
            "sha256": r.sha256,
            "total": r.total,
            "accepted": r.accepted,
            "rejected": r.rejected,
            "inserted": r.inserted,
            "updated": r.updated,
            "unchanged": r.unchanged,
            "rejection_file": r.rejection_file,
            "actor": r.actor_sub,
            "at": r.at.isoformat(),
            "repeated": self.repeated,
            "persons_added": self.persons_added,
        }


# ---------------------------------------------------------------------------------------------------------
# Reading files


def read_rows(content: bytes, filename: str, columns: dict[str, tuple[str, ...]]) -> Iterator[dict[str, str]]:
    """Rows of a CSV (UTF-8, UTF-8 with BOM or GB18030) or XLSX file as {field: text}, by heading."""
    is_xlsx = filename.lower().endswith((".xlsx", ".xlsm"))
    rows = _xlsx_rows(content) if is_xlsx else _csv_rows(content)
    try:
        header = next(rows)
    except StopIteration:
        raise ImportFileError([FieldError("/file", "file.empty", "文件为空")]) from None
    heading = [str(h or "").strip() for h in header]
    mapping: dict[str, int] = {}
    for key, aliases in columns.items():
        for i, h in enumerate(heading):
            if h in aliases:
                mapping[key] = i
                break
    required = ("id_number",)
    missing = [columns[k][0] for k in required if k not in mapping]
    if missing:
        raise ImportFileError([FieldError("/file", "file.columns", f"文件缺少列：{'、'.join(missing)}")])
    for values in rows:
        cells = ["" if v is None else str(v).strip() for v in values]
        if not any(cells):
            yield {}
            continue
        yield {key: (cells[i] if i < len(cells) else "") for key, i in mapping.items()}


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError([FieldError("/file", "file.encoding", "文件编码应为UTF-8或GB18030")])
    yield from csv.reader(io.StringIO(text, newline=""))


def _xlsx_rows(content: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:
        raise ImportFileError(
            [FieldError("/file", "file.xlsx", f"无法读取XLSX文件（{type(exc).__name__}）")]
        ) from None
    sheet = wb.worksheets[0]
    for row in sheet.iter_rows(values_only=True):
        yield [
            v.date().isoformat() if isinstance(v, datetime) else v.isoformat() if isinstance(v, date) else v
            for v in row
        ]
    wb.close()


# ---------------------------------------------------------------------------------------------------------
# Row validation


def _resident(raw: str, errors: list[FieldError]) -> str | None:
    """The 公民身份号码 of a 居民身份证 (the population file's rows), or None after recording why not."""
    try:
        return ssnumber.resident_id(raw).number
    except IdNumberError as exc:
        errors.append(FieldError("/id_number", exc.code, exc.message))
        return None


def _key(raw: str, errors: list[FieldError]) -> str | None:
    """A 社会保障号码 of any scheme (an enrollment's person), or None after recording the rule it breaks."""
    try:
        return ssnumber.normalize(raw)
    except IdNumberError as exc:
        errors.append(FieldError("/id_number", exc.code, exc.message))
        return None


def _date(raw: str, pointer: str, errors: list[FieldError]) -> date | None:
    try:
        return parse_date(raw)
    except ValueError:
        errors.append(FieldError(pointer, f"{pointer.strip('/')}.format", "日期格式应为YYYY-MM-DD或YYYYMMDD"))
        return None


def validate_population_row(row: dict[str, str]) -> tuple[dict[str, Any] | None, list[FieldError]]:
    errors: list[FieldError] = []
    pid = _resident(row.get("id_number", ""), errors)
    name = row.get("name", "")
    if not name:
        errors.append(FieldError("/name", "name.required", "缺少姓名"))
    elif len(name) > 64 or any(ord(c) < 32 for c in name):
        errors.append(FieldError("/name", "name.format", "姓名过长或含控制字符"))
    sex = row.get("sex", "")
    if sex and sex not in SEX_WORDS:
        errors.append(FieldError("/sex", "sex.unknown", "性别应为1（男）或2（女）"))
    elif sex and pid and SEX_WORDS[sex] != sex_of(pid):
        errors.append(FieldError("/sex", "sex.mismatch", "性别与公民身份号码不符"))
    born = _date(row.get("birth_date", ""), "/birth_date", errors)
    if born and pid and born.strftime("%Y%m%d") != pid[6:14]:
        errors.append(FieldError("/birth_date", "birth_date.mismatch", "出生日期与公民身份号码不符"))
    division = row.get("hukou_division", "")
    if not division:
        errors.append(FieldError("/hukou/division", "hukou_division.required", "缺少户籍地区划代码"))
    else:
        problem = checks.division_problem(division)
        if problem:
            errors.append(FieldError("/hukou/division", *problem))
    status_word = row.get("status", "") or "正常"
    status = STATUS_WORDS.get(status_word)
    if status is None:
        errors.append(FieldError("/status", "status.unknown", "管理状态应为正常、死亡、注销或迁出"))
    ethnicity = row.get("ethnicity") or None
    if ethnicity and ethnicity not in checks.code_values("ethnicity", (ethnicity,)):
        errors.append(FieldError("/ethnicity", "ethnicity.unknown", "民族代码不在代码表中"))
    nature = row.get("hukou_nature") or None
    if nature and nature not in checks.code_values("hukou_nature", (nature,)):
        errors.append(FieldError("/hukou/nature", "hukou_nature.unknown", "户口性质代码不在代码表中"))
    if errors:
        return None, errors
    assert pid is not None
    return {
        "id": pid,
        "name": name,
        "sex": sex_of(pid),
        "birth_date": date(int(pid[6:10]), int(pid[10:12]), int(pid[12:14])),
        "ethnicity": ethnicity,
        "hukou_division": division,
        "hukou_address": row.get("hukou_address") or None,
        "hukou_nature": nature,
        "status": status,
    }, []


def validate_enrollment_row(row: dict[str, str]) -> tuple[dict[str, Any] | None, list[FieldError]]:
    errors: list[FieldError] = []
    pid = _key(row.get("id_number", ""), errors)
    scheme = row.get("scheme", "")
    if scheme not in checks.code_values("insurance_scheme", checks.RULE_SCHEMES):
        errors.append(FieldError("/scheme", "scheme.unknown", f"险种代码“{scheme}”不在代码表中"))
    status = row.get("status", "")
    if status not in checks.code_values("enrollment_status", checks.ENROLLMENT_STATUSES):
        errors.append(FieldError("/status", "status.unknown", f"参保状态“{status}”不在代码表中"))
    pay = row.get("pay_status") or None
    if pay and pay not in checks.code_values("payment_status", checks.PAYMENT_STATUSES):
        errors.append(FieldError("/pay_status", "pay_status.unknown", f"缴费状态“{pay}”不在代码表中"))
    place = row.get("place", "")
    if not place:
        errors.append(FieldError("/place", "place.required", "缺少参保地区划代码"))
    else:
        problem = checks.division_problem(place, levels=("province", "city", "county", "township", "village"))
        if problem:
            errors.append(FieldError("/place", *problem))
    start = _date(row.get("start_date", ""), "/start_date", errors)
    end = _date(row.get("end_date", ""), "/end_date", errors)
    if start and end and end < start:
        errors.append(FieldError("/end_date", "end_date.before_start", "终止日期早于参保日期"))
    born = _date(row.get("birth_date", ""), "/birth_date", errors)
    name = row.get("name") or None
    if name and len(name) > 64:
        errors.append(FieldError("/name", "name.format", "姓名过长"))
    if errors:
        return None, errors
    return {
        "person_id": pid,
        "scheme": scheme,
        "status": status,
        "pay_status": pay,
        "place": place,
        "start_date": start,
        "end_date": end,
        "src_name": name,
        "src_birth_date": born,
    }, []


# ---------------------------------------------------------------------------------------------------------
# Staging


def _stage_table(name: str, columns: list[Column]) -> Table:
    return Table(name, MetaData(), *columns, prefixes=["TEMPORARY"])


def stage(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Create the temporary table and fill it."""
    conn = session.connection()
    table.drop(conn, checkfirst=True)
    table.create(conn)
    if rows:
        insert_rows(session, table, rows, names=[c.name for c in table.columns])


def insert_rows(
    session: Session, table: Table, rows: list[dict[str, Any]], *, names: list[str] | None = None
) -> None:
    """Insert `rows` (columns `names`, else the first row's keys): COPY on PostgreSQL, executemany
    elsewhere."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    names = names or list(rows[0])
    raw = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row.get(n) for n in names])


def drop(session: Session, *tables: Table) -> None:
    for table in tables:
        table.drop(session.connection(), checkfirst=True)


# ---------------------------------------------------------------------------------------------------------
# The import


def _rejection_file(record: DataImport, header: list[str], rejections: list[Rejection]) -> str:
    directory = get_settings().data_dir / "imports"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{record.id}-{record.kind}-rejected.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["行号", *header, "原因代码", "原因"])
        for rej in rejections:
            writer.writerow(
                [
                    rej.row,
                    *(rej.values.get(k, "") for k in header),
                    ";".join(e.code for e in rej.errors),
                    "；".join(e.message for e in rej.errors),
                ]
            )
    return str(path)


def import_file(
    session: Session, *, actor: Actor, kind: str, content: bytes, filename: str, system: str | None = None
) -> ImportResult:
    """Validate and apply one file of `kind` ("population" or "enrollments" with `system`), recorded."""
    if kind not in KINDS:
        raise Invalid([FieldError("/kind", "import.kind", "导入类型应为 population 或 enrollments")])
    if kind == "enrollments" and not (system or "").strip():
        raise Invalid([FieldError("/system", "import.system", "导入参保信息须指明业务系统名称")])
    system = POPULATION_SYSTEM if kind == "population" else str(system).strip()[:32]
    digest = hashlib.sha256(content).hexdigest()
    previous = imported_before(
        session, actor=actor, kind=kind, system=system, digest=digest, filename=filename
    )
    if previous is not None:
        return ImportResult(previous, repeated=True)

    columns = POPULATION_COLUMNS if kind == "population" else ENROLLMENT_COLUMNS
    validate = validate_population_row if kind == "population" else validate_enrollment_row
    accepted: list[dict[str, Any]] = []
    rejections: list[Rejection] = []
    seen: dict[tuple, int] = {}
    total = 0
    for number, row in enumerate(read_rows(content, filename, columns), start=2):
        if not row:
            continue
        total += 1
        if total > MAX_ROWS:
            raise ImportFileError([FieldError("/file", "file.too_large", f"单个文件最多 {MAX_ROWS} 行")])
        values, errors = validate(row)
        if values is not None:
            key = (
                (values["id"],)
                if kind == "population"
                else (values["person_id"], values["scheme"], values["place"])
            )
            if key in seen:
                errors = [FieldError("/id_number", "row.duplicate_in_file", f"与第 {seen[key]} 行重复")]
                values = None
            else:
                seen[key] = number
        if values is None:
            rejections.append(Rejection(number, row, errors))
        else:
            accepted.append(values)

    at = utcnow()
    record = DataImport(
        kind=kind,
        system=system,
        filename=filename[:200],
        sha256=digest,
        total=total,
        accepted=len(accepted),
        rejected=len(rejections),
        actor_sub=actor.sub,
        area=actor.area,
        at=at,
    )
    session.add(record)
    session.flush()
    persons_added = 0
    if kind == "population":
        inserted, updated = _apply_population(session, record, accepted, actor=actor, at=at)
    else:
        inserted, updated = _apply_enrollments(session, record, accepted, at=at)
        persons_added = _add_insured_here(session, record, accepted, at=at)
        self_reported.recheck(session, (row["person_id"] for row in accepted), at=at, import_id=record.id)
    record_applied(
        session,
        record,
        actor=actor,
        header=list(columns),
        rejections=rejections,
        counts={"inserted": inserted, "updated": updated, "persons_added": persons_added},
        filename=filename,
    )
    return ImportResult(record, repeated=False, rejections=rejections, persons_added=persons_added)


def imported_before(
    session: Session, *, actor: Actor, kind: str, system: str, digest: str, filename: str
) -> DataImport | None:
    """The earlier import of the same content of `kind` from `system`, its repeat audited; None when
    the file is new (imports are idempotent by content hash)."""
    previous = session.scalar(
        select(DataImport).where(
            DataImport.kind == kind, DataImport.system == system, DataImport.sha256 == digest
        )
    )
    if previous is not None:
        audit.record(
            session,
            actor=actor,
            action="import.repeat",
            object_type="data_import",
            object_id=previous.id,
            payload={"sha256": digest, "filename": filename},
        )
    return previous


def record_applied(
    session: Session,
    record: DataImport,
    *,
    actor: Actor,
    header: list[str],
    rejections: list[Rejection],
    counts: dict[str, int],
    filename: str,
) -> None:
    """The end of every applied import: its counts and rejection file on the record, and the audit
    event that pins down the field history it wrote."""
    record.inserted, record.updated = counts["inserted"], counts["updated"]
    record.unchanged = record.accepted - record.inserted - record.updated
    if rejections:
        record.rejection_file = _rejection_file(record, header, rejections)
    changes, changes_sha256 = _field_change_digest(session, record.id)
    audit.record(
        session,
        actor=actor,
        action="import.apply",
        object_type="data_import",
        object_id=record.id,
        payload={
            # The field history the import wrote (old → new per field) stays in `field_change`; the
            # event pins it down, so an edited, added or removed history row is detectable.
            "field_changes": changes,
            "field_changes_sha256": changes_sha256,
            "kind": record.kind,
            "system": record.system,
            "filename": filename,
            "sha256": record.sha256,
            "total": record.total,
            "accepted": record.accepted,
            "rejected": record.rejected,
            **counts,
        },
    )


def _field_change_digest(session: Session, import_id: int) -> tuple[int, str]:
    digest, count = hashlib.sha256(), 0
    rows = session.execute(
        select(FieldChange.person_id, FieldChange.field, FieldChange.old, FieldChange.new)
        .where(FieldChange.import_id == import_id)
        .order_by(FieldChange.id)
        .execution_options(yield_per=10_000)
    )
    for row in rows:
        digest.update("\x1f".join("" if v is None else str(v) for v in row).encode() + b"\x1e")
        count += 1
    return count, digest.hexdigest()


def import_path(
    session: Session, *, actor: Actor, kind: str, path: Path | str, system: str | None = None
) -> ImportResult:
    path = Path(path)
    return import_file(
        session, actor=actor, kind=kind, content=path.read_bytes(), filename=path.name, system=system
    )


def get(session: Session, *, actor: Actor, import_id: int) -> DataImport | None:
    """An import made within the actor's area (the rows it rejected name persons of that area)."""
    record = session.get(DataImport, import_id)
    return record if record is not None and actor.reaches(record.area) else None


def get_all(
    session: Session, *, actor: Actor, kind: str | None = None, limit: int = 50, offset: int = 0
) -> list[DataImport]:
    query = (
        select(DataImport)
        .where(area_within(DataImport.area, actor.area))
        .order_by(DataImport.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if kind:
        query = query.where(DataImport.kind == kind)
    return list(session.scalars(query))


# ---------------------------------------------------------------------------------------------------------
# Set-based apply

POP_FIELDS = (
    ("/name", "name"),
    ("/sex", "sex"),
    ("/birth_date", "birth_date"),
    ("/ethnicity", "ethnicity"),
    ("/hukou/division", "hukou_division"),
    ("/hukou/address", "hukou_address"),
    ("/hukou/nature", "hukou_nature"),
    ("/status", "status"),
)


def _population_stage() -> Table:
    return _stage_table(
        "_stage_population",
        [
            Column("id", String(18), primary_key=True),
            Column("name", String(64)),
            Column("sex", String(1)),
            Column("birth_date", Date),
            Column("ethnicity", String(2)),
            Column("hukou_division", String(12)),
            Column("hukou_address", String(200)),
            Column("hukou_nature", String(2)),
            Column("status", String(12)),
        ],
    )


def _apply_population(
    session: Session, record: DataImport, rows: list[dict[str, Any]], *, actor: Actor, at: datetime
) -> tuple[int, int]:
    s = _population_stage()
    stage(session, s, rows)
    p = Person.__table__
    src = f"import:{record.id}"
    # A status that a stronger source (registry.precedence) still holds stays: a routine 公安 file
    # listing a person as 正常 does not revive a death that 卫健 or 民政 reported.
    precedence.take_turn(session)
    pf = PersonField.__table__
    session.execute(
        update(s)
        .where(
            s.c.id.in_(
                select(pf.c.person_id)
                .join(p, p.c.id == pf.c.person_id)
                .where(
                    pf.c.field == "/status",
                    pf.c.source.in_(precedence.stronger_than("/status", precedence.REGISTRY)),
                    pf.c.value == p.c.status,
                )
            )
        )
        .values(status=None)
    )

    def differs(col: str):
        return and_(s.c[col].is_not(None), p.c[col].is_distinct_from(s.c[col]))

    changed_any = or_(*(differs(col) for _, col in POP_FIELDS))
    versioned = or_(*(differs(col) for col in ("sex", "birth_date", "hukou_division", "status")))
    changed = _stage_table(
        "_stage_changed", [Column("id", String(18), primary_key=True), Column("v", Boolean)]
    )
    conn = session.connection()
    changed.drop(conn, checkfirst=True)
    changed.create(conn)
    session.execute(
        insert(changed).from_select(
            ["id", "v"], select(p.c.id, versioned).select_from(p.join(s, s.c.id == p.c.id)).where(changed_any)
        )
    )
    updated = session.scalar(select(func.count()).select_from(changed)) or 0
    # Field history of every changed field, one statement per field.
    for pointer, col in POP_FIELDS:
        session.execute(
            insert(FieldChange.__table__).from_select(
                ["person_id", "field", "old", "new", "at", "source", "import_id", "actor_sub"],
                select(
                    p.c.id,
                    literal(pointer),
                    cast(p.c[col], String),
                    cast(s.c[col], String),
                    literal(at, p.c.created_at.type),
                    literal("import"),
                    literal(record.id),
                    literal(actor.sub),
                )
                .select_from(p.join(s, s.c.id == p.c.id))
                .where(differs(col)),
            )
        )
    # Close the current version of persons whose statistical attributes change.
    pv = PersonVersion.__table__
    session.execute(
        update(pv)
        .where(pv.c.valid_to.is_(None), pv.c.person_id.in_(select(changed.c.id).where(changed.c.v)))
        .values(valid_to=at)
    )
    # Update the persons (public security wins for identity, hukou and status); confirm all matched rows.
    area_follows_hukou = or_(p.c.area == p.c.hukou_division, p.c.hukou_division.is_(None))
    session.execute(
        update(p)
        .where(p.c.id == s.c.id)
        .values(
            name=func.coalesce(s.c.name, p.c.name),
            sex=func.coalesce(s.c.sex, p.c.sex),
            birth_date=func.coalesce(s.c.birth_date, p.c.birth_date),
            ethnicity=func.coalesce(s.c.ethnicity, p.c.ethnicity),
            hukou_division=func.coalesce(s.c.hukou_division, p.c.hukou_division),
            hukou_address=func.coalesce(s.c.hukou_address, p.c.hukou_address),
            hukou_nature=func.coalesce(s.c.hukou_nature, p.c.hukou_nature),
            status=func.coalesce(s.c.status, p.c.status),
            area=_case_area(area_follows_hukou, s.c.hukou_division, p.c.area),
            identity_source=src,
            identity_confirmed_at=at,
            hukou_source=src,
            hukou_confirmed_at=at,
            status_source=src,
            status_confirmed_at=at,
        )
    )
    session.execute(update(p).where(p.c.id.in_(select(changed.c.id))).values(updated_at=at))
    # New persons.
    inserted = (
        session.scalar(select(func.count()).select_from(s).where(~exists().where(p.c.id == s.c.id))) or 0
    )
    session.execute(
        insert(p).from_select(
            [
                "id",
                "id_type",
                "document_number",
                "name",
                "sex",
                "birth_date",
                "ethnicity",
                "hukou_division",
                "hukou_address",
                "hukou_nature",
                "status",
                "area",
                "identity_source",
                "identity_confirmed_at",
                "hukou_source",
                "hukou_confirmed_at",
                "status_source",
                "status_confirmed_at",
                "created_at",
                "updated_at",
            ],
            select(
                s.c.id,
                literal("01"),
                s.c.id,
                s.c.name,
                s.c.sex,
                s.c.birth_date,
                s.c.ethnicity,
                s.c.hukou_division,
                s.c.hukou_address,
                s.c.hukou_nature,
                s.c.status,
                s.c.hukou_division,
                literal(src),
                literal(at, p.c.created_at.type),
                literal(src),
                literal(at, p.c.created_at.type),
                literal(src),
                literal(at, p.c.created_at.type),
                literal(at, p.c.created_at.type),
                literal(at, p.c.created_at.type),
            ).where(~exists().where(p.c.id == s.c.id)),
        )
    )
    # Open a version for every staged person that has none current (new, or closed above).
    _open_missing_versions(session, select(s.c.id), at=at, source=src)
    drop(session, s, changed)
    return inserted, updated


def _case_area(condition, hukou, area):
    from sqlalchemy import case

    return case((condition, func.coalesce(hukou, area)), else_=area)


def _open_missing_versions(session: Session, ids, *, at: datetime, source: str) -> None:
    p, pv = Person.__table__, PersonVersion.__table__
    session.execute(
        insert(pv).from_select(
            [
                "person_id",
                "valid_from",
                "area",
                "hukou_division",
                "residence_division",
                "status",
                "sex",
                "birth_date",
                "registered",
                "insured_elsewhere",
                "source",
            ],
            select(
                p.c.id,
                literal(at, pv.c.valid_from.type),
                p.c.area,
                p.c.hukou_division,
                p.c.residence_division,
                p.c.status,
                p.c.sex,
                p.c.birth_date,
                p.c.registered_at.is_not(None),
                p.c.insured_elsewhere,
                literal(source),
            ).where(p.c.id.in_(ids), ~exists().where(pv.c.person_id == p.c.id, pv.c.valid_to.is_(None))),
        )
    )


ENROLLMENT_VALUES = (
    "status",
    "pay_status",
    "start_date",
    "end_date",
    "src_name",
    "src_birth_date",
    "elsewhere",
)


def _enrollment_stage() -> Table:
    return _stage_table(
        "_stage_enrollment",
        [
            Column("person_id", String(18)),
            Column("scheme", String(3)),
            Column("status", String(1)),
            Column("pay_status", String(1)),
            Column("place", String(12)),
            Column("start_date", Date),
            Column("end_date", Date),
            Column("src_name", String(64)),
            Column("src_birth_date", Date),
            Column("elsewhere", Boolean),
        ],
    )


def apply_enrollment_rows(
    session: Session,
    rows: list[dict[str, Any]],
    *,
    source: str,
    at: datetime,
    import_id: int | None = None,
    exchange_id: int | None = None,
) -> tuple[int, int]:
    """Set-based upsert of enrollment facts for one source: a changed fact supersedes the current row
    of its relationship (person, scheme, source, place); an equal one changes nothing."""
    for row in rows:
        row.setdefault("elsewhere", False)
    s = _enrollment_stage()
    stage(session, s, rows)
    e = Enrollment.__table__
    same_key = and_(e.c.person_id == s.c.person_id, e.c.scheme == s.c.scheme, e.c.place == s.c.place)
    differs = or_(*(e.c[c].is_distinct_from(s.c[c]) for c in ENROLLMENT_VALUES))
    current = and_(same_key, e.c.source == source, e.c.superseded_at.is_(None))
    updated = session.scalar(select(func.count()).select_from(s).where(exists().where(current, differs))) or 0
    fresh = session.scalar(select(func.count()).select_from(s).where(~exists().where(current))) or 0
    session.execute(
        update(e)
        .where(e.c.superseded_at.is_(None), e.c.source == source, exists().where(same_key, differs))
        .values(superseded_at=at)
    )
    session.execute(
        insert(e).from_select(
            [
                "person_id",
                "scheme",
                "status",
                "pay_status",
                "place",
                "start_date",
                "end_date",
                "src_name",
                "src_birth_date",
                "elsewhere",
                "source",
                "recorded_at",
                "import_id",
                "exchange_id",
            ],
            select(
                s.c.person_id,
                s.c.scheme,
                s.c.status,
                s.c.pay_status,
                s.c.place,
                s.c.start_date,
                s.c.end_date,
                s.c.src_name,
                s.c.src_birth_date,
                s.c.elsewhere,
                literal(source),
                literal(at, e.c.recorded_at.type),
                literal(import_id, e.c.import_id.type),
                literal(exchange_id, e.c.exchange_id.type),
            ).where(~exists().where(same_key, e.c.source == source, e.c.superseded_at.is_(None))),
        )
    )
    drop(session, s)
    return fresh, updated


def _apply_enrollments(
    session: Session, record: DataImport, rows: list[dict[str, Any]], *, at: datetime
) -> tuple[int, int]:
    return apply_enrollment_rows(session, rows, source=record.system, at=at, import_id=record.id)


# The 证件类型 a person found only in an enrollment file is taken to hold, by the kind of their number.
_ID_TYPE_OF_SCHEME = {"resident": "01", "prc": "07", "assigned": "90"}
_ID_TYPE_OF_HMT_REGION = {"810000": "04", "820000": "05", "830000": "06"}


def _add_insured_here(
    session: Session, record: DataImport, rows: list[dict[str, Any]], *, at: datetime
) -> int:
    """第三条: 在本地参保的非本地户籍人员 are objects of the registration. A person with an active
    enrollment in the file but absent from the registry (the 公安 file holds only 本地户籍) becomes a
    person managed by the 参保地 of that enrollment, with the identity the business system holds and no
    户籍: counted in 应登记 as 常住非户籍. A later population file that holds them takes them over."""
    candidates: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["status"] == "1" and row.get("src_name"):
            candidates.setdefault(row["person_id"], row)
    if not candidates:
        return 0
    known: set[str] = set()
    ids = sorted(candidates)
    for start in range(0, len(ids), 1000):
        known.update(session.scalars(select(Person.id).where(Person.id.in_(ids[start : start + 1000]))))
    src = f"import:{record.id}"
    added = []
    for pid in ids:
        if pid in known:
            continue
        row = candidates[pid]
        key = ssnumber.parse(pid)
        born = row.get("src_birth_date") or key.born
        if born is None:
            continue
        if key.scheme == "hmt":
            id_type = _ID_TYPE_OF_HMT_REGION.get(pid[:6], "14")
        else:
            id_type = _ID_TYPE_OF_SCHEME[key.scheme]
        added.append(
            {
                "id": pid,
                "id_type": id_type,
                "document_number": pid,
                "name": row["src_name"],
                "sex": key.sex or "9",  # GB/T 2261.1 未说明的性别
                "birth_date": born,
                "status": "normal",
                "area": row["place"],
                "identity_source": src,
                "identity_confirmed_at": at,
                "created_at": at,
                "updated_at": at,
            }
        )
    if added:
        session.execute(insert(Person.__table__), added)
        _open_missing_versions(session, [p["id"] for p in added], at=at, source=src)
    return len(added)
