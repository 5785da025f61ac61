"""Other departments' files (规程第八、九、二十、二十四条): 民政 deaths and 低保/特困, 卫健 births and deaths,
教育 在校学生, 就业/人事 employment, and the 社会保障卡持卡人员基础信息库 (第二十条).

Each kind is a declared format in departments.toml (headings, types, the department's codes mapped to
ours, the row key, which person field takes which column), read from CSV (UTF-8 or GBK/GB18030, found
by decoding) or XLSX. Every row is checked, and every rejected row is kept with its reasons in the
import's rejection file: a value under a heading the format does not declare, cells beyond the
headings, a second row with the same key, a date after today (where the format does not expect one), a
number failing its check character, an unknown code, a person not in the registry or outside the
importer's area. The accepted rows are weighed field by field against the precedence table
(registry.precedence): a value applied is written with its source and the record's date
(`person_field`), into the person where it is a `person` column, and into the field history
(`field_change`, with the import whose `system` names the department). The import is recorded like the
others (registry.imports: `data_import`, content hash, counts, audit event) in the caller's transaction,
so a file is applied whole or not at all, and the same file again changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Boolean, String, Table, case, delete, exists, insert, literal, or_, select, update
from sqlalchemy import Column as SqlColumn
from sqlalchemy.orm import Session

from canbao import clock
from canbao.actors import Actor
from canbao.db import utcnow
from canbao.errors import FieldError, Invalid
from forms import ssnumber
from forms.idnumber import IdNumberError

from . import checks, precedence
from .common import division_prefix, parse_date, value_text
from .imports import (
    MAX_ROWS,
    ImportFileError,
    ImportResult,
    Rejection,
    _csv_rows,
    _open_missing_versions,
    _stage_table,
    _xlsx_rows,
    drop,
    imported_before,
    insert_rows,
    record_applied,
    stage,
)
from .models import DataImport, FieldChange, Person, PersonField, PersonVersion

# Person fields that are `person` columns: (column, the group whose source and confirmation it sets).
PERSON_COLUMNS = {
    "/status": ("status", "status"),
    "/name": ("name", "identity"),
    "/sex": ("sex", "identity"),
    "/birth_date": ("birth_date", "identity"),
    "/employment/status": ("employment_status", "employment"),
    "/employment/employer": ("employer", "employment"),
}
VERSIONED = {"status", "sex", "birth_date"}  # copied into person_version (registry.persons.VERSIONED)
CHUNK = 5_000
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CARD_NUMBER = re.compile(r"[A-Z0-9]{9}")
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
ALL_LEVELS = ("province", "city", "county", "township", "village")


@dataclass(frozen=True)
class FileColumn:
    key: str
    headings: tuple[str, ...]
    type: str
    required: bool = False
    codes: str | None = None
    future: bool = False
    after_birth: bool = False
    matches_id: str | None = None

    @property
    def heading(self) -> str:
        return self.headings[0]


@dataclass(frozen=True)
class Format:
    kind: str
    label: str
    source: str
    columns: dict[str, FileColumn]
    key: tuple[str, ...]
    record_date: str
    fields: dict[str, str]
    creates_area: str | None


TYPES = ("ss_number", "resident_id", "text", "date", "code", "division", "uscc", "card_number")


def problems(declared: dict[str, Any]) -> list[str]:
    """What is wrong with a declaration of formats and precedence (departments.toml), each located."""
    found: list[str] = []
    sources, table, codes = (
        declared.get("sources", {}),
        declared.get("precedence", {}),
        declared.get("codes", {}),
    )
    for field, order in table.items():
        found += [f"precedence.{field}: unknown source {s!r}" for s in order if s not in sources]
    for kind, spec in declared.get("kinds", {}).items():
        where, columns = f"kinds.{kind}", spec.get("columns", {})
        if spec.get("source") not in sources:
            found.append(f"{where}.source: unknown source {spec.get('source')!r}")
        for key, column in columns.items():
            if column.get("type") not in TYPES:
                found.append(
                    f"{where}.columns.{key}.type: {column.get('type')!r} is not one of {', '.join(TYPES)}"
                )
            if column.get("type") == "code" and column.get("codes") not in codes:
                found.append(f"{where}.columns.{key}.codes: no code list {column.get('codes')!r}")
        if next(iter(columns), None) != "id_number":  # the other columns are checked against it
            found.append(f"{where}.columns: the first column must be id_number")
        named = [
            *spec.get("key", []),
            spec.get("record_date"),
            spec.get("creates", {}).get("area", "id_number"),
        ]
        found += [f"{where}: no column {c!r}" for c in named if c not in columns]
        for field, value in spec.get("fields", {}).items():
            if spec.get("source") not in table.get(field, []):
                found.append(
                    f"{where}.fields.{field}: the precedence table does not let {spec.get('source')} write it"
                )
            if not value.startswith("=") and value not in columns:
                found.append(f"{where}.fields.{field}: no column {value!r}")
    return found


@cache
def formats() -> dict[str, Format]:
    wrong = problems(precedence.declared())
    if wrong:
        raise ValueError(f"{precedence.TABLE_FILE.name}: " + "; ".join(wrong))
    found = {}
    for kind, spec in precedence.declared()["kinds"].items():
        columns = {
            key: FileColumn(
                key=key,
                headings=tuple(c["headings"]),
                type=c["type"],
                required=c.get("required", False),
                codes=c.get("codes"),
                future=c.get("future", False),
                after_birth=c.get("after_birth", False),
                matches_id=c.get("matches_id"),
            )
            for key, c in spec["columns"].items()
        }
        found[kind] = Format(
            kind=kind,
            label=spec["label"],
            source=spec["source"],
            columns=columns,
            key=tuple(spec["key"]),
            record_date=spec["record_date"],
            fields=dict(spec["fields"]),
            creates_area=spec.get("creates", {}).get("area"),
        )
    return found


KINDS = {kind: fmt.label for kind, fmt in formats().items()}


def code_list(name: str) -> tuple[dict[str, str], dict[str, str]]:
    """(our codes → labels, the departments' words and codes → ours) of a declared code list."""
    spec = precedence.declared()["codes"][name]
    ours = dict(spec.get("ours") or {c: c for c in checks.code_values(name)})
    return ours, dict(spec.get("map", {}))


def describe() -> list[dict[str, Any]]:
    """The declared formats as the API shows them."""
    result = []
    for fmt in formats().values():
        columns = []
        for c in fmt.columns.values():
            entry: dict[str, Any] = {
                "key": c.key,
                "headings": list(c.headings),
                "type": c.type,
                "required": c.required,
            }
            if c.codes:
                ours, mapped = code_list(c.codes)
                entry["codes"] = ours
                entry["mapped"] = mapped
            columns.append(entry)
        result.append(
            {
                "kind": fmt.kind,
                "label": fmt.label,
                "source": fmt.source,
                "key": list(fmt.key),
                "fields": fmt.fields,
                "columns": columns,
            }
        )
    return result


# ---------------------------------------------------------------------------------------------------------
# Reading and checking rows


@dataclass
class Row:
    number: int
    raw: dict[str, str]  # by column key; values under undeclared headings by their heading
    values: dict[str, Any]
    errors: list[FieldError]


def read(content: bytes, filename: str, fmt: Format) -> Iterator[Row]:
    """The file's rows, each checked against `fmt` (not yet against the registry)."""
    is_xlsx = filename.lower().endswith((".xlsx", ".xlsm"))
    cells_of = _xlsx_rows(content) if is_xlsx else _csv_rows(content)
    try:
        header = next(cells_of)
    except StopIteration:
        raise ImportFileError([FieldError("/file", "file.empty", "文件为空")]) from None
    headings = [str(h or "").strip() for h in header]
    index: dict[str, int] = {}
    unknown: dict[int, str] = {}
    for i, heading in enumerate(headings):
        key = next((c.key for c in fmt.columns.values() if heading in c.headings), None)
        if key is not None and key not in index:
            index[key] = i
        elif heading:
            unknown[i] = heading
    missing = [c.heading for c in fmt.columns.values() if c.required and c.key not in index]
    if missing:
        raise ImportFileError(
            [FieldError("/file", "file.columns", f"{fmt.label}文件缺少列：{'、'.join(missing)}")]
        )
    for number, values in enumerate(cells_of, start=2):
        cells = ["" if v is None else str(v).strip() for v in values]
        if not any(cells):
            continue
        raw = {key: (cells[i] if i < len(cells) else "") for key, i in index.items()}
        errors: list[FieldError] = []
        for i, heading in unknown.items():
            if i < len(cells) and cells[i]:
                raw[heading] = cells[i]
                errors.append(
                    FieldError(
                        f"/columns/{heading}",
                        "row.unknown_column",
                        f"“{heading}”列不在{fmt.label}的格式中",
                    )
                )
        if any(cells[len(headings) :]):
            errors.append(FieldError("/columns", "row.extra_cells", "本行的单元格多于表头的列"))
        checked = check_row(fmt, raw)
        yield Row(number, raw, checked[0] if not (errors or checked[1]) else {}, errors + checked[1])


def check_row(fmt: Format, raw: dict[str, str]) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    values: dict[str, Any] = {}
    born: date | None = None
    sex: str | None = None
    today = clock.today()
    for c in fmt.columns.values():  # the number comes first in every format: the others check against it
        text = raw.get(c.key, "")
        pointer = f"/{c.key}"
        if not text:
            if c.required:
                errors.append(FieldError(pointer, f"{c.key}.required", f"缺少{c.heading}"))
            values[c.key] = None
            continue
        if c.type in ("ss_number", "resident_id"):
            try:
                key = ssnumber.resident_id(text) if c.type == "resident_id" else ssnumber.parse(text)
            except IdNumberError as exc:
                errors.append(FieldError(pointer, exc.code, exc.message))
                continue
            values[c.key], born, sex = key.number, key.born, key.sex
        elif c.type == "date":
            try:
                day = date.fromisoformat(text) if ISO_DAY.fullmatch(text) else parse_date(text)
            except ValueError:
                errors.append(FieldError(pointer, f"{c.key}.format", f"{c.heading}应为YYYY-MM-DD或YYYYMMDD"))
                continue
            if day is not None and day > today and not c.future:
                errors.append(FieldError(pointer, f"{c.key}.future", f"{c.heading}晚于今天"))
            elif day is not None and c.after_birth and born is not None and day < born:
                errors.append(FieldError(pointer, f"{c.key}.before_birth", f"{c.heading}早于出生日期"))
            elif c.matches_id == "birth_date" and born is not None and day != born:
                errors.append(FieldError(pointer, f"{c.key}.mismatch", f"{c.heading}与公民身份号码不符"))
            values[c.key] = day
        elif c.type == "code":
            assert c.codes is not None
            ours, mapped = code_list(c.codes)
            code = mapped.get(text, text if text in ours else None)
            if code is None:
                errors.append(FieldError(pointer, f"{c.key}.unknown", f"{c.heading}“{text}”不在代码表中"))
                continue
            if c.matches_id == "sex" and sex is not None and code != sex:
                errors.append(FieldError(pointer, f"{c.key}.mismatch", f"{c.heading}与公民身份号码不符"))
            values[c.key] = code
        elif c.type == "division":
            problem = checks.division_problem(division_prefix(text), levels=ALL_LEVELS)
            if problem:
                errors.append(FieldError(pointer, *problem))
            values[c.key] = text
        elif c.type == "uscc":
            problem = uscc_problem(text)
            if problem:
                errors.append(FieldError(pointer, *problem))
            values[c.key] = text
        elif c.type == "card_number":
            if not CARD_NUMBER.fullmatch(text):
                errors.append(FieldError(pointer, f"{c.key}.format", f"{c.heading}应为9位大写字母或数字"))
            values[c.key] = text
        else:  # text
            if len(text) > 200 or any(ord(ch) < 32 for ch in text):
                errors.append(FieldError(pointer, f"{c.key}.format", f"{c.heading}过长或含控制字符"))
            values[c.key] = text
    return values, errors


def uscc_problem(code: str) -> tuple[str, str] | None:
    """GB 32100: the 统一社会信用代码's form and check character."""
    if len(code) != 18 or any(ch not in USCC_CHARS for ch in code):
        return "uscc.format", "统一社会信用代码应为18位数字或大写字母（不含I、O、S、V、Z）"
    total = sum(USCC_CHARS.index(ch) * w for ch, w in zip(code[:17], USCC_WEIGHTS, strict=True))
    if USCC_CHARS[(31 - total % 31) % 31] != code[17]:
        return "uscc.checksum", "统一社会信用代码校验码错误"
    return None


# ---------------------------------------------------------------------------------------------------------
# The import


@dataclass
class DepartmentResult(ImportResult):
    outranked: int = 0  # values not applied: a stronger source, or a newer record, holds another

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "outranked": self.outranked}


def import_file(
    session: Session, *, actor: Actor, kind: str, content: bytes, filename: str
) -> DepartmentResult:
    """Check and apply one department file of `kind`, recorded as a `data_import`."""
    fmt = formats().get(kind)
    if fmt is None:
        raise Invalid([FieldError("/kind", "import.kind", f"导入类型应为：{'、'.join(KINDS)}")])
    precedence.take_turn(session)
    digest = hashlib.sha256(content).hexdigest()
    previous = imported_before(
        session, actor=actor, kind=kind, system=fmt.source, digest=digest, filename=filename
    )
    if previous is not None:
        return DepartmentResult(previous, repeated=True)

    rows: list[Row] = []
    for row in read(content, filename, fmt):
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise ImportFileError([FieldError("/file", "file.too_large", f"单个文件最多 {MAX_ROWS} 行")])
    _check_duplicates(fmt, rows)
    ids = _staged_ids(session, {r.values["id_number"] for r in rows if not r.errors})
    persons = _persons(session, ids)
    _check_persons(fmt, rows, persons, actor)
    accepted = [r for r in rows if not r.errors]
    rejections = [Rejection(r.number, r.raw, r.errors) for r in rows if r.errors]

    at = utcnow()
    record = DataImport(
        kind=kind,
        system=fmt.source,
        filename=filename[:200],
        sha256=digest,
        total=len(rows),
        accepted=len(accepted),
        rejected=len(rejections),
        actor_sub=actor.sub,
        area=actor.area,
        at=at,
    )
    session.add(record)
    session.flush()
    inserted, updated, outranked = _apply(session, record, fmt, accepted, persons, ids, actor=actor, at=at)
    drop(session, ids)
    extra = sorted({k for r in rejections for k in r.values if k not in fmt.columns})
    record_applied(
        session,
        record,
        actor=actor,
        header=[*fmt.columns, *extra],
        rejections=rejections,
        counts={"inserted": inserted, "updated": updated, "outranked": outranked},
        filename=filename,
    )
    return DepartmentResult(record, repeated=False, rejections=rejections, outranked=outranked)


def _check_duplicates(fmt: Format, rows: list[Row]) -> None:
    seen: dict[tuple, int] = {}
    for row in rows:
        if row.errors:
            continue
        key = tuple(row.values.get(k) for k in fmt.key)
        if key in seen:
            row.errors.append(
                FieldError(f"/{fmt.key[0]}", "row.duplicate_in_file", f"与第 {seen[key]} 行重复")
            )
        else:
            seen[key] = row.number


def _check_persons(fmt: Format, rows: list[Row], persons: dict[str, dict[str, Any]], actor: Actor) -> None:
    for row in rows:
        if row.errors:
            continue
        person = persons.get(row.values["id_number"])
        if person is None and fmt.creates_area is None:
            row.errors.append(
                FieldError("/id_number", "person.unknown", "登记库中没有此人（先导入公安人口信息）")
            )
        elif person is None:
            area = row.values[fmt.creates_area]
            if not actor.reaches(area):
                row.errors.append(
                    FieldError(f"/{fmt.creates_area}", "area.outside", f"{area}不在本人管辖区域内")
                )
        elif not actor.reaches(person["area"]):
            row.errors.append(FieldError("/id_number", "area.outside", "此人不在本人管辖区域内"))


def _staged_ids(session: Session, ids: set[str]) -> Table:
    """The persons a file names, staged (COPY on PostgreSQL) to be joined with rather than listed."""
    table = _stage_table("_stage_dept_ids", [SqlColumn("id", String(18), primary_key=True)])
    stage(session, table, [{"id": i} for i in sorted(ids)])
    return table


def _persons(session: Session, ids: Table) -> dict[str, dict[str, Any]]:
    p = Person.__table__
    wanted = [p.c.id, p.c.area] + [p.c[col] for col, _ in PERSON_COLUMNS.values()]
    rows = session.execute(select(*wanted).join(ids, ids.c.id == p.c.id)).mappings()
    return {row["id"]: dict(row) for row in rows}


def _held(session: Session, ids: Table, fields: list[str]) -> dict[tuple[str, str], Any]:
    pf = PersonField.__table__
    rows = session.execute(select(pf).join(ids, ids.c.id == pf.c.person_id).where(pf.c.field.in_(fields)))
    return {(h.person_id, h.field): h for h in rows}


def _apply(
    session: Session,
    record: DataImport,
    fmt: Format,
    rows: list[Row],
    persons: dict[str, dict[str, Any]],
    ids: Table,
    *,
    actor: Actor,
    at: datetime,
) -> tuple[int, int, int]:
    """Weigh each row's fields against their holders and write the ones it wins. Returns (persons
    created, rows that changed a value, field values outranked)."""
    src = f"import:{record.id}"
    held = _held(session, ids, list(fmt.fields))
    new_persons: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    holders: list[dict[str, Any]] = []
    person_updates: dict[str, dict[str, Any]] = {}  # by person: {column: new value}
    versioned: set[str] = set()
    updated = outranked = 0
    for row in rows:
        pid = row.values["id_number"]
        recorded_on = row.values.get(fmt.record_date) or at.date()
        person = persons.get(pid)
        is_new = person is None
        if person is None:
            person = {"id": pid, "area": row.values[fmt.creates_area]}
            new_persons.append(person)
        changed = False
        for field, spec in fmt.fields.items():
            new = value_text(spec[1:] if spec.startswith("=") else row.values.get(spec))
            column = PERSON_COLUMNS.get(field, (None, None))[0]
            h = held.get((pid, field))
            current = value_text(person.get(column)) if column else (h.value if h else None)
            if h is not None and (column is None or h.value == current):
                holder, held_on = h.source, h.recorded_on
            else:
                holder, held_on = (precedence.REGISTRY if current is not None else None), None
            # The registry changed the value after this source's record (a case corrected it): the same
            # record, or an older one, sent again is no news.
            seen = h is not None and h.source == fmt.source and h.recorded_on is not None
            corrected = holder == precedence.REGISTRY and seen and recorded_on <= h.recorded_on
            if corrected or not precedence.wins(
                field, fmt.source, recorded_on, holder=holder, held_on=held_on
            ):
                outranked += new is not None and new != current
                continue
            if new is None or (new == current and holder == fmt.source and held_on == recorded_on):
                continue
            holders.append(
                {
                    "person_id": pid,
                    "field": field,
                    "value": new,
                    "source": fmt.source,
                    "recorded_on": recorded_on,
                    "applied_at": at,
                    "import_id": record.id,
                }
            )
            if new == current:
                continue
            changed = True
            history.append(
                {
                    "person_id": pid,
                    "field": field,
                    "old": current,
                    "new": new,
                    "at": at,
                    "source": "import",
                    "import_id": record.id,
                    "actor_sub": actor.sub,
                }
            )
            if column:
                person[column] = new
                person_updates.setdefault(pid, {})[column] = _typed(column, new)
                if column in VERSIONED:
                    versioned.add(pid)
        updated += changed and not is_new
    created = {p["id"] for p in new_persons}
    if new_persons:
        _create_persons(session, new_persons, src=src, at=at)
    _update_persons(
        session,
        fmt,
        {pid: values for pid, values in person_updates.items() if pid not in created},
        src=src,
        at=at,
    )
    if holders:
        _write_holders(session, holders)
    if history:
        insert_rows(session, FieldChange.__table__, history)
    if versioned or created:
        _version(session, versioned | created, src=src, at=at)
    return len(created), updated, outranked


def _update_persons(
    session: Session, fmt: Format, changes: dict[str, dict[str, Any]], *, src: str, at: datetime
) -> None:
    """One UPDATE for all the `person` columns the file changed: each staged with whether it changes."""
    if not changes:
        return
    p = Person.__table__
    columns = [PERSON_COLUMNS[f] for f in fmt.fields if f in PERSON_COLUMNS]
    v = _stage_table(
        "_stage_dept_values",
        [
            SqlColumn("pid", String(18), primary_key=True),
            *(SqlColumn(f"v_{col}", p.c[col].type) for col, _ in columns),
            *(SqlColumn(f"c_{col}", Boolean) for col, _ in columns),
        ],
    )
    rows = [
        {
            "pid": pid,
            **{f"v_{col}": new.get(col) for col, _ in columns},
            **{f"c_{col}": col in new for col, _ in columns},
        }
        for pid, new in changes.items()
    ]
    stage(session, v, rows)
    values: dict[str, Any] = {
        col: case((v.c[f"c_{col}"], v.c[f"v_{col}"]), else_=p.c[col]) for col, _ in columns
    }
    for group in {g for _, g in columns}:
        touched = or_(*(v.c[f"c_{col}"] for col, g in columns if g == group))
        values[f"{group}_source"] = case((touched, src), else_=p.c[f"{group}_source"])
        values[f"{group}_confirmed_at"] = case(
            (touched, literal(at, p.c.updated_at.type)), else_=p.c[f"{group}_confirmed_at"]
        )
    session.execute(update(p).where(p.c.id == v.c.pid).values({**values, "updated_at": at}))
    drop(session, v)


def _write_holders(session: Session, holders: list[dict[str, Any]]) -> None:
    """Each (person, field) the file won, replacing its former holder."""
    pf = PersonField.__table__
    h = _stage_table(
        "_stage_dept_holders",
        [SqlColumn(c.name, c.type, primary_key=c.primary_key) for c in pf.columns],
    )
    stage(session, h, holders)
    session.execute(
        delete(pf).where(exists().where(h.c.person_id == pf.c.person_id, h.c.field == pf.c.field))
    )
    session.execute(insert(pf).from_select([c.name for c in h.columns], select(*h.columns)))
    drop(session, h)


def _typed(column: str, text: str) -> Any:
    return date.fromisoformat(text) if column == "birth_date" else text


def _create_persons(session: Session, persons: list[dict[str, Any]], *, src: str, at: datetime) -> None:
    session.execute(
        insert(Person.__table__),
        [
            {
                "id": p["id"],
                "id_type": "01",
                "document_number": p["id"],
                "name": p["name"],
                "sex": p["sex"],
                "birth_date": date.fromisoformat(p["birth_date"]),
                "status": "normal",
                "area": p["area"],
                "identity_source": src,
                "identity_confirmed_at": at,
                "created_at": at,
                "updated_at": at,
            }
            for p in persons
        ],
    )


def _version(session: Session, persons: set[str], *, src: str, at: datetime) -> None:
    """Close the current version of the persons whose statistical attributes changed, and open a new one
    for them and for the persons created."""
    pv = PersonVersion.__table__
    ids = _stage_table("_stage_dept_versioned", [SqlColumn("id", String(18), primary_key=True)])
    stage(session, ids, [{"id": i} for i in sorted(persons)])
    session.execute(
        update(pv).where(pv.c.valid_to.is_(None), pv.c.person_id.in_(select(ids.c.id))).values(valid_to=at)
    )
    _open_missing_versions(session, select(ids.c.id), at=at, source=src)
    drop(session, ids)
