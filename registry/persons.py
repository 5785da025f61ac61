"""Persons in the registry: reads, field history, effective-dated versions, and the two writes a
case may make (`store` a 全民参保登记表, `apply_change` of an approved change request).

Writes happen only here (through cases) and in `registry.imports` / `registry.exchange` (recorded
files). Every write records field history (old → new) and audit events in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from canbao import audit, clock
from canbao.actors import Actor
from canbao.db import utcnow
from canbao.errors import FieldError, Invalid
from forms import ssnumber
from forms.idnumber import IdNumberError

from . import checks, rules, self_reported
from .common import (
    AreaForbidden,
    PersonNotFound,
    StaleValue,
    is_division,
    parse_date,
    place_covers,
    value_text,
)
from .models import PERSON_STATUSES, DataImport, Enrollment, FieldChange, Flag, Person, PersonVersion


@dataclass(frozen=True)
class Field:
    pointer: str  # JSON pointer into the 登记表 / change request
    column: str
    group: str  # source/confirmed group: identity hukou residence contact employment status
    kind: str = "text"  # text / date / bool / json
    label: str = ""


FIELDS: tuple[Field, ...] = (
    Field("/id_type", "id_type", "identity", label="证件类型"),
    Field("/id_number", "document_number", "identity", label="证件号码"),
    Field("/name", "name", "identity", label="姓名"),
    Field("/sex", "sex", "identity", label="性别"),
    Field("/birth_date", "birth_date", "identity", "date", "出生日期"),
    Field("/ethnicity", "ethnicity", "identity", label="民族"),
    Field("/hukou/division", "hukou_division", "hukou", label="户口所在地区划"),
    Field("/hukou/address", "hukou_address", "hukou", label="户口所在地地址"),
    Field("/hukou/nature", "hukou_nature", "hukou", label="户口性质"),
    Field("/residence/division", "residence_division", "residence", label="常住所在地区划"),
    Field("/residence/address", "residence_address", "residence", label="常住所在地地址"),
    Field("/phone", "phone", "contact", label="联系电话"),
    Field("/guardian", "guardian", "contact", "json", "监护人"),
    Field("/employment/status", "employment_status", "employment", label="就业状态"),
    Field("/employment/employer", "employer", "employment", label="就业单位"),
    Field("/uninsured_reason/code", "uninsured_reason_code", "employment", label="未参保原因"),
    Field("/uninsured_reason/text", "uninsured_reason_text", "employment", label="未参保原因说明"),
    Field("/insured_elsewhere", "insured_elsewhere", "employment", "bool", "异地参保"),
    Field("/status", "status", "status", label="生存/户籍管理状态"),
)
BY_POINTER = {f.pointer: f for f in FIELDS}
# Attributes copied into person_version (what statistics group and filter by).
VERSIONED = (
    "area",
    "hukou_division",
    "residence_division",
    "status",
    "sex",
    "birth_date",
    "insured_elsewhere",
)
SURVEY_KINDS = ("needs_survey", "inaccurate")
# What a store writes goes in as Core statements built once (one statement each kind); ORM objects
# would only be flushed, never read again in the transaction.
_ADD_FIELD_CHANGES = insert(FieldChange.__table__)
_ADD_ENROLLMENTS = insert(Enrollment.__table__)
_ADD_VERSION = insert(PersonVersion.__table__)
_FLAGS = Flag.__table__
_CLEAR_FLAGS = (
    update(_FLAGS)
    .where(
        _FLAGS.c.person_id == bindparam("b_person"),
        _FLAGS.c.kind.in_(bindparam("b_kinds", expanding=True)),
        _FLAGS.c.status == "open",
    )
    .values(status="cleared", cleared_at=bindparam("b_at"), cleared_by_case_id=bindparam("b_case"))
    .returning(_FLAGS.c.id)
)


# ---------------------------------------------------------------------------------------------------------
# Reads


def get(session: Session, *, id_number: str) -> Person | None:
    """The person whose 社会保障号码 is `id_number` (any spelling), or None."""
    try:
        key = ssnumber.normalize(id_number)
    except IdNumberError:
        return None
    return session.get(Person, key)


def get_or_raise(session: Session, *, id_number: str) -> Person:
    person = get(session, id_number=id_number)
    if person is None:
        raise PersonNotFound(f"登记库中没有社会保障号码为 {id_number[:6]}… 的人员")
    return person


def find(session: Session, *, id_type: str, document_number: str) -> list[Person]:
    """The persons registered with this document (证件类型 and 证件号码, any spelling), by 社会保障号码."""
    return list(
        session.scalars(
            select(Person)
            .where(
                Person.document_number == ssnumber.document(id_type, document_number),
                Person.id_type == id_type,
            )
            .order_by(Person.id)
        )
    )


def read(session: Session, *, actor: Actor, id_number: str, purpose: str = "view") -> dict[str, Any]:
    """The registration record of one person as the 登记表 shape, for a user who reaches them (audited)."""
    return as_registration(session, _read_person(session, actor=actor, id_number=id_number, purpose=purpose))


def _read_person(session: Session, *, actor: Actor, id_number: str, purpose: str) -> Person:
    """The person, for a user who reaches them, with the read recorded in the audit log."""
    person = get_or_raise(session, id_number=id_number)
    if not actor.may_see(area=person.area, person_id=person.id):
        raise AreaForbidden("所查询的人员不在您的管辖范围内")
    audit.record_reads(session, actor=actor, shown=[(person.id, person.area, None)], purpose=purpose)
    return person


def as_registration(session: Session, person: Person) -> dict[str, Any]:
    enrollments = session.scalars(
        select(Enrollment)
        .where(Enrollment.person_id == person.id, Enrollment.superseded_at.is_(None))
        .order_by(Enrollment.scheme, Enrollment.place)
    ).all()
    document = person.document_number or person.id
    return {
        "id_type": person.id_type,
        "id_number": document,
        # The 社会保障号码, where the document number is not it (forms.ssnumber).
        **({"ss_number": person.id} if document != person.id else {}),
        "name": person.name,
        "sex": person.sex,
        "birth_date": person.birth_date.isoformat(),
        "ethnicity": person.ethnicity,
        "hukou": {
            "division": person.hukou_division,
            "address": person.hukou_address,
            "nature": person.hukou_nature,
        },
        "residence": {"division": person.residence_division, "address": person.residence_address},
        "phone": person.phone,
        "employment": {"status": person.employment_status, "employer": person.employer},
        "insurance": [
            {
                "scheme": e.scheme,
                "status": e.status,
                "payment_status": e.pay_status,
                "place": e.place,
                "first_date": e.start_date.isoformat() if e.start_date else None,
                "end_date": e.end_date.isoformat() if e.end_date else None,
                "source": e.source,
                "elsewhere": e.elsewhere,
            }
            for e in enrollments
        ],
        "uninsured_reason": {"code": person.uninsured_reason_code, "text": person.uninsured_reason_text},
        "insured_elsewhere": person.insured_elsewhere,
        "guardian": person.guardian,
        "status": person.status,
        "area": person.area,
        "registered_at": person.registered_at.isoformat() if person.registered_at else None,
    }


def history(session: Session, *, actor: Actor, id_number: str) -> list[dict[str, Any]]:
    """Field history of one person, oldest first (audited as a read). An imported value names the
    department or system whose file it came from (`system`)."""
    person = _read_person(session, actor=actor, id_number=id_number, purpose="history")
    rows = session.execute(
        select(FieldChange, DataImport.system)
        .outerjoin(DataImport, DataImport.id == FieldChange.import_id)
        .where(FieldChange.person_id == person.id)
        .order_by(FieldChange.id)
    )
    return [
        {
            "field": r.field,
            "old": r.old,
            "new": r.new,
            "at": r.at.isoformat(),
            "source": r.source,
            "case_id": r.case_id,
            "import_id": r.import_id,
            "system": system,
            "actor": r.actor_sub,
        }
        for r, system in rows
    ]


def open_flags(session: Session, person_id: str) -> list[Flag]:
    return list(
        session.scalars(
            select(Flag).where(Flag.person_id == person_id, Flag.status == "open").order_by(Flag.kind)
        )
    )


REASON_ITEMS: dict[str, tuple[str, str]] = {
    "uninsured": ("/insurance", "未参加任何基本社会保险：请核实参保情况或填写未参保原因"),
    "missing.medical": ("/insurance", "未参加基本医疗保险（职工医保或城乡居民医保）"),
    "missing.pension": ("/insurance", "未参加基本养老保险（职工养老或城乡居民养老）"),
    "missing.unemployment": ("/insurance", "就业部门登记为单位就业，但未参加失业保险"),
    "missing.injury": ("/insurance", "就业部门登记为单位就业，但未参加工伤保险"),
    "mismatch.name": ("/name", "姓名与公安人口信息不一致，请核对身份证件"),
    "mismatch.birth_date": ("/birth_date", "出生日期与公安人口信息不一致，请核对身份证件"),
    "status.dead_active": ("/status", "公安登记为死亡，但仍有正常参保记录"),
    "status.cancelled_active": ("/status", "户籍已注销，但仍有正常参保记录"),
    "dup.medical": ("/insurance", "同时参加职工医保和城乡居民医保（重复参保）"),
    "dup.pension": ("/insurance", "同时参加职工养老和城乡居民养老（重复参保）"),
    "field.new": ("/", "入户调查中新发现的人员，需填写全民参保登记表"),
}


def missing(session: Session, *, actor: Actor, id_number: str, purpose: str = "missing") -> dict[str, Any]:
    """What the counter must still collect or correct for a person (第十三条: 缺失、不准信息).

    Items are missing fields of the 登记表 and the wrong or doubtful items behind the person's open
    flags, each with a JSON pointer and a Chinese message. Audited as a read of personal data.
    """
    person = _read_person(session, actor=actor, id_number=id_number, purpose=purpose)
    items: list[dict[str, str]] = []

    def need(pointer: str, code: str, message: str, kind: str = "missing") -> None:
        items.append({"pointer": pointer, "code": code, "message": message, "kind": kind})

    for pointer, label in (
        ("/phone", "联系电话"),
        ("/residence/division", "常住所在地"),
        ("/residence/address", "常住地址"),
        ("/employment/status", "就业状态"),
        ("/hukou/nature", "户口性质"),
        ("/ethnicity", "民族"),
    ):
        if getattr(person, BY_POINTER[pointer].column) in (None, ""):
            need(pointer, f"{pointer.strip('/').replace('/', '.')}.missing", f"缺少{label}")
    today = clock.today()
    active = session.scalar(
        select(func.count())
        .select_from(Enrollment)
        .where(
            Enrollment.person_id == person.id,
            Enrollment.superseded_at.is_(None),
            Enrollment.status == "1",
            (Enrollment.end_date.is_(None)) | (Enrollment.end_date > today),
        )
    )
    if not active and not person.uninsured_reason_code:
        need("/uninsured_reason/code", "uninsured_reason.missing", "未参保且未填写未参保原因")
    age = (
        today.year
        - person.birth_date.year
        - ((today.month, today.day) < (person.birth_date.month, person.birth_date.day))
    )
    if age < 16 and not person.guardian:
        need("/guardian", "guardian.missing", "未满16周岁，缺少监护人信息")
    flags = open_flags(session, person.id)
    for flag in flags:
        for reason in flag.reasons.split():
            pointer, message = REASON_ITEMS.get(reason, ("/insurance", f"需核实：{reason}"))
            if reason.startswith("dup.place"):
                message = f"同一险种（{reason.rsplit('.', 1)[-1]}）在两个统筹地区同时参保（重复参保）"
            elif reason.startswith("self_reported."):
                scheme = checks.code_label("insurance_scheme", reason.rsplit(".", 1)[-1])
                message = f"登记表上自报参加{scheme}，尚待社会保险业务系统核实"
            need(pointer, reason, message, "wrong" if flag.kind != "needs_survey" else "missing")
    return {
        "person_id": person.id,
        "flags": [
            {"id": f.id, "kind": f.kind, "reasons": f.reasons.split(), "raised_at": f.raised_at.isoformat()}
            for f in flags
        ],
        "items": items,
    }


# ---------------------------------------------------------------------------------------------------------
# Whose record a case may write (design §2)

PERSON_MISMATCH = "登记表或变更申请中的证件号码不是本案件所办理的人员"
PERSON_UNAVAILABLE = "该证件号码的人员不能在本案件中办理（由其他地区管理），请核实证件号码"


def in_case_county(area: str | None, case_area: str) -> bool:
    """Whether a managing area lies within the county whose 县级经办机构 审定s the case (第十九、二十一条)."""
    return bool(area) and area.startswith(case_area[:6])


def guard_case_person(session: Session, *, case_area: str, identity: Any) -> None:
    """The engine's check of a person a case names (registered by the composition): a person the registry
    holds must be managed within the case's county and carry the same 证件类型."""
    person = session.get(Person, identity.id_number)
    if person is None:
        return
    if not in_case_county(person.area, case_area):
        raise Invalid([FieldError("/id_number", "case.person_unavailable", PERSON_UNAVAILABLE)])
    if identity.id_type and person.id_type and identity.id_type != person.id_type:
        raise Invalid(
            [FieldError("/id_type", "case.person_mismatch", "证件类型与登记库中该人员的证件类型不一致")]
        )


def case_person(number: Any, *, person_id: str | None) -> str:
    """The registry key (社会保障号码) of the number a case submitted, refused unless it is the case's own
    person (checked again here, under the row lock, whatever the engine checked at the task)."""
    try:
        key = ssnumber.normalize(str(number or ""))
    except IdNumberError as exc:
        raise Invalid([FieldError("/id_number", exc.code, exc.message)]) from None
    if key != person_id:
        raise Invalid([FieldError("/id_number", "case.person_mismatch", PERSON_MISMATCH)])
    return key


def require_case_county(area: str | None, case_area: str) -> None:
    if not in_case_county(area, case_area):
        raise Invalid([FieldError("/id_number", "case.person_outside_area", PERSON_UNAVAILABLE)])


# ---------------------------------------------------------------------------------------------------------
# Writes (through cases)


def _coerce(field: Field, value: Any) -> Any:
    if value is None or value == "":
        return None
    if field.kind == "date":
        return parse_date(value)
    if field.kind == "bool":
        return bool(value)
    if field.kind == "json":
        return value
    return str(value).strip()


def _registration_values(reg: dict[str, Any]) -> dict[str, Any]:
    """Pointer → value for every field the 登记表 provides (absent or blank fields are not touched)."""

    def dig(pointer: str) -> Any:
        node: Any = reg
        for part in pointer.strip("/").split("/"):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    values: dict[str, Any] = {}
    for field in FIELDS:
        if field.pointer == "/status":
            continue
        raw = dig(field.pointer)
        coerced = _coerce(field, raw)
        if coerced is not None:
            values[field.pointer] = coerced
    return values


def managing_area(hukou: str | None, residence: str | None, case_area: str | None) -> str:
    """The division that manages a person: the 户口所在地 when it lies in the case's area (local
    hukou), else the 常住所在地 when that does (常住非户籍), else whichever is known."""
    scope = (case_area or "")[:6]
    if hukou and scope and hukou.startswith(scope):
        return hukou
    if residence and scope and residence.startswith(scope):
        return residence
    return hukou or residence or case_area or ""


def _version_values(person: Person) -> dict[str, Any]:
    values = {name: getattr(person, name) for name in VERSIONED}
    values["registered"] = person.registered_at is not None
    return values


def open_version(
    session: Session, person: Person, *, at: datetime, source: str, created: bool = False
) -> None:
    """Close the person's current version (if its attributes differ) and open one with the current
    state. A person `created` in this transaction has no version to close."""
    current = (
        None
        if created
        else session.scalar(
            select(PersonVersion).where(
                PersonVersion.person_id == person.id, PersonVersion.valid_to.is_(None)
            )
        )
    )
    state = _version_values(person)
    if current is not None:
        old = {name: getattr(current, name) for name in (*VERSIONED, "registered")}
        if old == state:
            return
        current.valid_to = at
        session.flush()
    session.connection().execute(
        _ADD_VERSION, {"person_id": person.id, "valid_from": at, "valid_to": None, "source": source, **state}
    )


def change_row(
    *,
    person_id: str,
    pointer: str,
    old: Any,
    new: Any,
    at: datetime,
    source: str,
    actor: Actor,
    case_id: int | None = None,
    import_id: int | None = None,
) -> dict[str, Any]:
    """A row of the field history: one field's old and new value, as text."""
    return {
        "person_id": person_id,
        "field": pointer,
        "old": value_text(old),
        "new": value_text(new),
        "at": at,
        "source": source,
        "case_id": case_id,
        "import_id": import_id,
        "actor_sub": actor.sub,
    }


def _change_of(row: dict[str, Any]) -> dict[str, Any]:
    return {"field": row["field"], "old": row["old"], "new": row["new"]}


def _record_change(session: Session, **fields: Any) -> dict:
    row = change_row(**fields)
    session.add(FieldChange(**row))
    return _change_of(row)


def _apply_values(
    session: Session,
    person: Person,
    values: dict[str, Any],
    *,
    at: datetime,
    origin: str,
    actor: Actor,
    case_id: int | None,
) -> list[dict[str, Any]]:
    changes = []
    groups: set[str] = set()
    for pointer, new in values.items():
        field = BY_POINTER[pointer]
        groups.add(field.group)
        old = getattr(person, field.column)
        if value_text(old) != value_text(new):
            changes.append(
                _record_change(
                    session,
                    person_id=person.id,
                    pointer=pointer,
                    old=old,
                    new=new,
                    at=at,
                    source="case",
                    actor=actor,
                    case_id=case_id,
                )
            )
            setattr(person, field.column, new)
    for group in groups:  # confirmed by this case even where unchanged
        setattr(person, f"{group}_source", origin)
        setattr(person, f"{group}_confirmed_at", at)
    if changes:
        person.updated_at = at
    return changes


def _store_enrollments(
    session: Session,
    person: Person,
    insurance: list[dict[str, Any]],
    *,
    at: datetime,
    case_id: int,
    created: bool,
) -> list[dict[str, Any]]:
    written, rows = [], []
    for item in insurance or []:
        scheme, place = str(item.get("scheme") or ""), str(item.get("place") or "")
        if not scheme or not place:
            continue
        hukou = person.hukou_division or ""
        elsewhere = bool(item.get("elsewhere")) or (bool(hukou) and not place_covers(place, hukou[:6]))
        values = {
            "status": str(item.get("status") or "1"),
            "pay_status": item.get("payment_status") or item.get("pay_status") or None,
            "start_date": parse_date(item.get("first_date")),
            "end_date": parse_date(item.get("end_date")),
            "elsewhere": elsewhere,
        }
        current = (
            None
            if created  # a registration enrollment is only ever written here, for a stored person
            else session.scalar(
                select(Enrollment).where(
                    Enrollment.person_id == person.id,
                    Enrollment.scheme == scheme,
                    Enrollment.source == "registration",
                    Enrollment.place == place,
                    Enrollment.superseded_at.is_(None),
                )
            )
        )
        if current is not None:
            if all(getattr(current, k) == v for k, v in values.items()):
                continue
            current.superseded_at = at
            session.flush()
        rows.append(
            {
                "person_id": person.id,
                "scheme": scheme,
                "place": place,
                "source": "registration",
                "recorded_at": at,
                "case_id": case_id,
                "src_name": person.name,
                "src_birth_date": person.birth_date,
                **values,
            }
        )
        written.append({"scheme": scheme, "place": place, **{k: value_text(v) for k, v in values.items()}})
    if rows:
        session.connection().execute(_ADD_ENROLLMENTS, rows)
    return written


def clear_flags(
    session: Session, *, person_id: str, kinds: tuple[str, ...], case_id: int, at: datetime
) -> list[int]:
    """Clear the person's open flags of `kinds` (no Flag object of the session is refreshed)."""
    cleared = session.connection().execute(
        _CLEAR_FLAGS, {"b_person": person_id, "b_kinds": list(kinds), "b_at": at, "b_case": case_id}
    )
    return sorted(cleared.scalars())


def _record_field_changes(
    session: Session, *, actor: Actor, person: Person, case_id: int, changes: list[dict[str, Any]]
) -> None:
    """One `registry.field_change` event per changed field (old → new), beside the field history rows."""
    for change in changes:
        audit.record(
            session,
            actor=actor,
            action="registry.field_change",
            object_type="person",
            object_id=person.id,
            payload=change,
            area=person.area,
            case_id=case_id,
            person_id=person.id,
        )


def store(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    case_area: str,
    person_id: str | None,
    registration: dict[str, Any],
) -> dict[str, Any]:
    """入库: write an approved 全民参保登记表 into the registry (person, enrollments, history, audit) and
    clear the person's 需调查登记 / 信息不准 flags, in the caller's transaction. Only the case's own
    person (`person_id`), managed within the case's county, is written."""
    errors = checks.validate_registration(registration)
    errors += rules.missing_fields(rules.active(), registration) if not errors else []
    if errors:
        raise Invalid(errors)
    id_type = registration.get("id_type")
    key = ssnumber.key_of(id_type, registration.get("id_number"), registration.get("ss_number"))
    person_id = case_person(key, person_id=person_id)
    values = _registration_values(registration)
    values["/id_number"] = ssnumber.document(id_type, registration["id_number"])
    at = utcnow()
    origin = f"case:{case_id}"
    person = session.get(Person, person_id, with_for_update=True)
    created = person is None
    if created:
        hukou, residence = values.get("/hukou/division"), values.get("/residence/division")
        require_case_county(managing_area(hukou, residence, case_area), case_area)
        person = Person(
            id=person_id,
            id_type=values.get("/id_type", "01"),
            name=values["/name"],
            sex=values["/sex"],
            birth_date=values["/birth_date"],
            status="normal",
            area=managing_area(hukou, residence, case_area),
            created_at=at,
            updated_at=at,
        )
        session.add(person)
        history = [
            change_row(
                person_id=person_id,
                pointer=p,
                old=None,
                new=v,
                at=at,
                source="case",
                actor=actor,
                case_id=case_id,
            )
            for p, v in values.items()
        ]
        changes = [_change_of(row) for row in history]
        for pointer, value in values.items():
            setattr(person, BY_POINTER[pointer].column, value)
        for group in {BY_POINTER[p].group for p in values}:
            setattr(person, f"{group}_source", origin)
            setattr(person, f"{group}_confirmed_at", at)
    else:
        require_case_county(person.area, case_area)
        changes = _apply_values(session, person, values, at=at, origin=origin, actor=actor, case_id=case_id)
        person.area = (
            managing_area(person.hukou_division, person.residence_division, case_area) or person.area
        )
    person.registered_at = at
    person.registered_case_id = case_id
    session.flush()
    if created:
        session.connection().execute(_ADD_FIELD_CHANGES, history)
    enrollments = _store_enrollments(
        session, person, registration.get("insurance") or [], at=at, case_id=case_id, created=created
    )
    open_version(session, person, at=at, source=origin, created=created)
    cleared = clear_flags(session, person_id=person_id, kinds=SURVEY_KINDS, case_id=case_id, at=at)
    to_verify = self_reported.recheck(session, [person_id], at=at, case_id=case_id)
    survey = registration.get("survey") or {}
    audit.record(
        session,
        actor=actor,
        action="registry.store",
        object_type="person",
        object_id=person_id,
        payload={
            "created": created,
            "changes": changes,
            "enrollments": enrollments,
            "flags_cleared": cleared,
            "self_reported": to_verify,
            "channel": survey.get("channel"),
        },
        area=person.area,
        case_id=case_id,
        person_id=person_id,
    )
    _record_field_changes(session, actor=actor, person=person, case_id=case_id, changes=changes)
    return {
        "person_id": person_id,
        "created": created,
        "changed": [c["field"] for c in changes],
        "enrollments": len(enrollments),
        "flags_cleared": cleared,
    }


def _check_new_value(field: Field, new: Any, index: int) -> FieldError | None:
    pointer = f"/changes/{index}/new"
    if field.pointer in ("/name",) and not new:
        return FieldError(pointer, "name.required", "姓名不能为空")
    if field.kind == "date":
        try:
            if new is not None and parse_date(new) is None:
                return FieldError(pointer, "date.format", "日期格式应为YYYY-MM-DD")
        except ValueError:
            return FieldError(pointer, "date.format", "日期格式应为YYYY-MM-DD")
    if field.column.endswith("division") and new is not None and not is_division(str(new)):
        return FieldError(pointer, "division.format", "区划代码应为2至12位数字")
    if field.column.endswith("division") and new is not None:
        problem = checks.division_problem(str(new))
        if problem:
            return FieldError(pointer, *problem)
    if field.pointer == "/status" and new not in PERSON_STATUSES:
        return FieldError(pointer, "status.unknown", "生存/户籍管理状态应为 normal/dead/cancelled/moved_out")
    if field.pointer == "/sex" and new not in ("1", "2"):
        return FieldError(pointer, "sex.unknown", "性别代码应为1（男）或2（女）")
    if field.pointer == "/phone" and new is not None and not str(new).replace("-", "").isdigit():
        return FieldError(pointer, "phone.format", "联系电话只能包含数字和“-”")
    return None


def apply_change(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    case_area: str,
    person_id: str | None,
    change_request: dict[str, Any],
) -> dict[str, Any]:
    """Apply an approved change request (`{"id_number", "changes": [{"field", "old", "new"}], "reason",
    "evidence"}`) to the case's own person, managed within the case's county. Refused whole with
    StaleValue when any `old` no longer matches the registry."""
    errors: list[FieldError] = []
    person_id = case_person(change_request.get("id_number"), person_id=person_id)
    changes = change_request.get("changes") or []
    if not changes:
        errors.append(FieldError("/changes", "changes.empty", "变更申请没有变更项"))
    parsed: list[tuple[Field, Any, Any]] = []
    for i, change in enumerate(changes):
        field = BY_POINTER.get(str(change.get("field")))
        if field is None:
            errors.append(
                FieldError(f"/changes/{i}/field", "field.unknown", f"不能变更的项目：{change.get('field')}")
            )
            continue
        try:
            old, new = _coerce(field, change.get("old")), _coerce(field, change.get("new"))
        except ValueError:
            errors.append(FieldError(f"/changes/{i}/new", "date.format", "日期格式应为YYYY-MM-DD"))
            continue
        problem = _check_new_value(field, new, i)
        if problem:
            errors.append(problem)
        parsed.append((field, old, new))
    if len({f.pointer for f, _, _ in parsed}) != len(parsed):
        errors.append(FieldError("/changes", "changes.duplicate_field", "同一项目在一次变更中出现多次"))
    if errors:
        raise Invalid(errors)
    person = session.get(Person, person_id, with_for_update=True)
    if person is None:
        raise PersonNotFound(f"登记库中没有社会保障号码为 {person_id[:6]}… 的人员")
    require_case_county(person.area, case_area)
    stale = [
        f"{field.label or field.pointer}（登记库现为“{value_text(getattr(person, field.column)) or '空'}”）"
        for field, old, _ in parsed
        if value_text(getattr(person, field.column)) != value_text(old)
    ]
    if stale:
        raise StaleValue(
            "以下项目在申请后已被修改，请重新提交变更：" + "；".join(stale),
            fields=[
                f.pointer for f, o, _ in parsed if value_text(getattr(person, f.column)) != value_text(o)
            ],
        )
    at = utcnow()
    values = {field.pointer: new for field, _, new in parsed}
    done = _apply_values(
        session, person, values, at=at, origin=f"case:{case_id}", actor=actor, case_id=case_id
    )
    if any(p in values for p in ("/hukou/division", "/residence/division")):
        person.area = (
            managing_area(person.hukou_division, person.residence_division, case_area) or person.area
        )
    person.updated_at = at
    session.flush()
    open_version(session, person, at=at, source=f"case:{case_id}")
    audit.record(
        session,
        actor=actor,
        action="registry.change",
        object_type="person",
        object_id=person_id,
        payload={
            "changes": done,
            "reason": change_request.get("reason"),
            "evidence": change_request.get("evidence"),
        },
        area=person.area,
        case_id=case_id,
        person_id=person_id,
    )
    _record_field_changes(session, actor=actor, person=person, case_id=case_id, changes=done)
    return {"person_id": person_id, "changed": [c["field"] for c in done]}
