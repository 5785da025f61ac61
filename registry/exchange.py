"""Exchange with the upper-level registry (第十条).

- `export_changes`: this registry's changes since its last export (persons whose record changed,
  enrollment facts recorded since), as one gzip'd JSON file the province/ministry imports with
  `import_changes`. Nothing changed → no file and no batch.
- `export_elsewhere` (run at the upper level): enrollments of the persons whose 户口所在地 lies in a
  lower registry's area but who are insured elsewhere; `import_elsewhere` (run below) records them
  as 异地参保 enrollments and marks the persons `insured_elsewhere`.

Each file names its origin registry and batch number; importing the same batch twice changes nothing
(the batch is recorded once), and applying equal facts changes nothing either.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import date
from typing import Any

from sqlalchemy import func, not_, select
from sqlalchemy.orm import Session

from canbao import audit
from canbao.actors import Actor
from canbao.db import area_within, utcnow
from canbao.errors import FieldError, Invalid

from .common import check_area, parse_date, place_covers
from .imports import apply_enrollment_rows
from .models import Enrollment, ExchangeBatch, FieldChange, Person, PersonVersion
from .persons import BY_POINTER, FIELDS, _record_change, open_version

FORMAT = "canbao-exchange/1"
PERSON_COLUMNS = (
    "id_type",
    "document_number",
    "name",
    "sex",
    "birth_date",
    "ethnicity",
    "hukou_division",
    "hukou_address",
    "hukou_nature",
    "residence_division",
    "residence_address",
    "phone",
    "employment_status",
    "employer",
    "uninsured_reason_code",
    "uninsured_reason_text",
    "insured_elsewhere",
    "status",
)


class ExchangeFileError(Invalid):
    code = "exchange.file"
    title = "交换文件无法读取"


def _enc(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _pack(doc: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8"), mtime=0)


def _unpack(content: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(gzip.decompress(content).decode("utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        raise ExchangeFileError(
            [FieldError("/file", "exchange.format", "不是有效的登记库交换文件")]
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ExchangeFileError([FieldError("/format", "exchange.format", f"交换文件格式应为 {FORMAT}")])
    return doc


def _last(session: Session, direction: str, kind: str, origin: str) -> ExchangeBatch | None:
    return session.scalar(
        select(ExchangeBatch)
        .where(
            ExchangeBatch.direction == direction, ExchangeBatch.kind == kind, ExchangeBatch.origin == origin
        )
        .order_by(ExchangeBatch.origin_batch.desc())
        .limit(1)
    )


def export_changes(session: Session, *, actor: Actor, area: str) -> tuple[bytes, ExchangeBatch] | None:
    """This registry's (area `area`) changes since its last export, or None when nothing changed."""
    check_area(area)
    last = _last(session, "export", "changes", area)
    cursor = dict(last.cursor) if last else {"person_version": 0, "field_change": 0, "enrollment": 0}
    high = {
        "person_version": session.scalar(select(func.coalesce(func.max(PersonVersion.id), 0))),
        "field_change": session.scalar(select(func.coalesce(func.max(FieldChange.id), 0))),
        "enrollment": session.scalar(select(func.coalesce(func.max(Enrollment.id), 0))),
    }
    changed_ids = (
        select(PersonVersion.person_id)
        .where(PersonVersion.id > cursor["person_version"], PersonVersion.id <= high["person_version"])
        .union(
            select(FieldChange.person_id).where(
                FieldChange.id > cursor["field_change"], FieldChange.id <= high["field_change"]
            )
        )
    )
    persons = session.scalars(
        select(Person).where(Person.id.in_(changed_ids), area_within(Person.area, area)).order_by(Person.id)
    ).all()
    enrollments = session.scalars(
        select(Enrollment)
        .join(Person, Person.id == Enrollment.person_id)
        .where(
            Enrollment.id > cursor["enrollment"],
            Enrollment.id <= high["enrollment"],
            Enrollment.superseded_at.is_(None),
            area_within(Person.area, area),
            not_(Enrollment.source.startswith("elsewhere:")),
        )
        .order_by(Enrollment.id)
    ).all()
    if not persons and not enrollments:
        return None
    number = (last.origin_batch if last else 0) + 1
    doc = {
        "format": FORMAT,
        "kind": "changes",
        "origin": area,
        "batch": number,
        "created_at": utcnow().isoformat(),
        "persons": [{"id": p.id, **{c: _enc(getattr(p, c)) for c in PERSON_COLUMNS}} for p in persons],
        "enrollments": [
            {
                "person_id": e.person_id,
                "scheme": e.scheme,
                "status": e.status,
                "pay_status": e.pay_status,
                "place": e.place,
                "start_date": _enc(e.start_date),
                "end_date": _enc(e.end_date),
                "source": e.source,
                "elsewhere": e.elsewhere,
                "src_name": e.src_name,
                "src_birth_date": _enc(e.src_birth_date),
            }
            for e in enrollments
        ],
    }
    content = _pack(doc)
    counts = {"persons": len(persons), "enrollments": len(enrollments)}
    batch = _record_export(
        session,
        actor=actor,
        kind="changes",
        origin=area,
        number=number,
        content=content,
        cursor=high,
        counts=counts,
        payload={"kind": "changes", "batch": number, **counts},
    )
    return content, batch


def _record_export(
    session: Session,
    *,
    actor: Actor,
    kind: str,
    origin: str,
    number: int,
    content: bytes,
    cursor: dict[str, Any],
    counts: dict[str, int],
    payload: dict[str, Any],
) -> ExchangeBatch:
    batch = ExchangeBatch(
        direction="export",
        kind=kind,
        origin=origin,
        origin_batch=number,
        sha256=hashlib.sha256(content).hexdigest(),
        cursor=cursor,
        counts=counts,
        actor_sub=actor.sub,
        at=utcnow(),
    )
    session.add(batch)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="exchange.export",
        object_type="exchange_batch",
        object_id=batch.id,
        payload=payload,
        area=origin,
    )
    return batch


def _seen(session: Session, doc: dict[str, Any], kind: str) -> ExchangeBatch | None:
    return session.scalar(
        select(ExchangeBatch).where(
            ExchangeBatch.direction == "import",
            ExchangeBatch.kind == kind,
            ExchangeBatch.origin == str(doc.get("origin")),
            ExchangeBatch.origin_batch == int(doc.get("batch") or 0),
        )
    )


def _record_import(
    session: Session, *, actor: Actor, doc: dict[str, Any], content: bytes, kind: str, counts: dict[str, int]
) -> ExchangeBatch:
    batch = ExchangeBatch(
        direction="import",
        kind=kind,
        origin=str(doc["origin"]),
        origin_batch=int(doc["batch"]),
        sha256=hashlib.sha256(content).hexdigest(),
        cursor={},
        counts=counts,
        actor_sub=actor.sub,
        at=utcnow(),
    )
    session.add(batch)
    session.flush()
    return batch


def import_changes(session: Session, *, actor: Actor, content: bytes) -> dict[str, Any]:
    """At the upper level: apply a lower registry's change file (idempotent per origin and batch)."""
    doc = _unpack(content)
    if doc.get("kind") != "changes":
        raise ExchangeFileError([FieldError("/kind", "exchange.kind", "不是变更交换文件")])
    previous = _seen(session, doc, "changes")
    if previous is not None:
        return {"batch_id": previous.id, "repeated": True, **previous.counts}
    batch = _record_import(session, actor=actor, doc=doc, content=content, kind="changes", counts={})
    at = utcnow()
    origin = f"exchange:{batch.id}"
    created = changed = 0
    pointer_of = {f.column: f.pointer for f in FIELDS}
    for row in doc.get("persons", []):
        values = {c: row.get(c) for c in PERSON_COLUMNS}
        for c in ("birth_date",):
            values[c] = parse_date(values[c])
        person = session.get(Person, row["id"], with_for_update=True)
        if person is None:
            person = Person(
                id=row["id"],
                area=values.get("hukou_division") or values.get("residence_division") or doc["origin"],
                created_at=at,
                updated_at=at,
                identity_source=origin,
                identity_confirmed_at=at,
                **values,
            )
            session.add(person)
            session.flush()
            created += 1
            for column, value in values.items():
                if value not in (None, "") and column in pointer_of:
                    _record_change(
                        session,
                        person_id=person.id,
                        pointer=pointer_of[column],
                        old=None,
                        new=value,
                        at=at,
                        source="exchange",
                        actor=actor,
                    )
        else:
            any_change = False
            for column, value in values.items():
                old = getattr(person, column)
                if column in pointer_of and old != value and value is not None:
                    _record_change(
                        session,
                        person_id=person.id,
                        pointer=pointer_of[column],
                        old=old,
                        new=value,
                        at=at,
                        source="exchange",
                        actor=actor,
                    )
                    setattr(person, column, value)
                    any_change = True
            if any_change:
                person.updated_at = at
                changed += 1
        open_version(session, person, at=at, source=origin)
    rows = [
        {
            **{k: e.get(k) for k in ("person_id", "scheme", "status", "pay_status", "place", "src_name")},
            "start_date": parse_date(e.get("start_date")),
            "end_date": parse_date(e.get("end_date")),
            "src_birth_date": parse_date(e.get("src_birth_date")),
            "elsewhere": bool(e.get("elsewhere")),
        }
        for e in doc.get("enrollments", [])
    ]
    inserted = updated = 0
    for source in sorted({e["source"] for e in doc.get("enrollments", [])}):
        part = [r for r, e in zip(rows, doc["enrollments"], strict=True) if e["source"] == source]
        i, u = apply_enrollment_rows(
            session, part, source=f"{doc['origin']}:{source}"[:32], at=at, exchange_id=batch.id
        )
        inserted, updated = inserted + i, updated + u
    batch.counts = {
        "persons_created": created,
        "persons_changed": changed,
        "enrollments_inserted": inserted,
        "enrollments_updated": updated,
    }
    audit.record(
        session,
        actor=actor,
        action="exchange.import",
        object_type="exchange_batch",
        object_id=batch.id,
        payload={"kind": "changes", "origin": doc["origin"], "batch": doc["batch"], **batch.counts},
    )
    return {"batch_id": batch.id, "repeated": False, **batch.counts}


def export_elsewhere(
    session: Session, *, actor: Actor, origin: str, for_area: str
) -> tuple[bytes, ExchangeBatch] | None:
    """At the upper level (`origin`): the enrollments of persons with 户口所在地 in `for_area` who are
    insured outside it (本地户籍出市、出省人员参保信息), as a file for that registry."""
    check_area(for_area)
    rows = (
        session.execute(
            select(Enrollment)
            .join(Person, Person.id == Enrollment.person_id)
            .where(
                area_within(Person.hukou_division, for_area),
                Enrollment.superseded_at.is_(None),
            )
            .order_by(Enrollment.person_id, Enrollment.scheme, Enrollment.place)
        )
        .scalars()
        .all()
    )
    rows = [e for e in rows if not place_covers(e.place, for_area)]
    if not rows:
        return None
    last = _last(session, "export", f"elsewhere:{for_area}"[:16], origin)
    number = (last.origin_batch if last else 0) + 1
    doc = {
        "format": FORMAT,
        "kind": "elsewhere",
        "origin": origin,
        "for_area": for_area,
        "batch": number,
        "created_at": utcnow().isoformat(),
        "enrollments": [
            {
                "person_id": e.person_id,
                "scheme": e.scheme,
                "status": e.status,
                "pay_status": e.pay_status,
                "place": e.place,
                "start_date": _enc(e.start_date),
                "end_date": _enc(e.end_date),
            }
            for e in rows
        ],
    }
    content = _pack(doc)
    batch = _record_export(
        session,
        actor=actor,
        kind=f"elsewhere:{for_area}"[:16],
        origin=origin,
        number=number,
        content=content,
        cursor={},
        counts={"enrollments": len(rows)},
        payload={"kind": "elsewhere", "for_area": for_area, "enrollments": len(rows)},
    )
    return content, batch


def import_elsewhere(session: Session, *, actor: Actor, content: bytes) -> dict[str, Any]:
    """Record the upper level's 异地参保 file: enrollments marked `elsewhere`, persons `insured_elsewhere`."""
    doc = _unpack(content)
    if doc.get("kind") != "elsewhere":
        raise ExchangeFileError([FieldError("/kind", "exchange.kind", "不是异地参保交换文件")])
    previous = _seen(session, doc, "elsewhere")
    if previous is not None:
        return {"batch_id": previous.id, "repeated": True, **previous.counts}
    batch = _record_import(session, actor=actor, doc=doc, content=content, kind="elsewhere", counts={})
    at = utcnow()
    known = set(
        session.scalars(
            select(Person.id).where(Person.id.in_({e["person_id"] for e in doc.get("enrollments", [])}))
        )
    )
    rows = [
        {
            "person_id": e["person_id"],
            "scheme": e["scheme"],
            "status": e["status"],
            "pay_status": e.get("pay_status"),
            "place": e["place"],
            "start_date": parse_date(e.get("start_date")),
            "end_date": parse_date(e.get("end_date")),
            "src_name": None,
            "src_birth_date": None,
            "elsewhere": True,
        }
        for e in doc.get("enrollments", [])
        if e["person_id"] in known
    ]
    inserted, updated = apply_enrollment_rows(
        session, rows, source=f"elsewhere:{doc['origin']}"[:32], at=at, exchange_id=batch.id
    )
    marked = 0
    field = BY_POINTER["/insured_elsewhere"]
    for pid in sorted({r["person_id"] for r in rows}):
        person = session.get(Person, pid, with_for_update=True)
        if person.insured_elsewhere is not True:
            _record_change(
                session,
                person_id=pid,
                pointer=field.pointer,
                old=person.insured_elsewhere,
                new=True,
                at=at,
                source="exchange",
                actor=actor,
            )
            person.insured_elsewhere = True
            person.employment_source = f"exchange:{batch.id}"
            person.employment_confirmed_at = at
            person.updated_at = at
            session.flush()
            open_version(session, person, at=at, source=f"exchange:{batch.id}")
            marked += 1
    batch.counts = {
        "enrollments_inserted": inserted,
        "enrollments_updated": updated,
        "persons_marked": marked,
        "unknown_persons": len({e["person_id"] for e in doc.get("enrollments", [])} - known),
    }
    audit.record(
        session,
        actor=actor,
        action="exchange.import",
        object_type="exchange_batch",
        object_id=batch.id,
        payload={"kind": "elsewhere", "origin": doc["origin"], "batch": doc["batch"], **batch.counts},
    )
    return {"batch_id": batch.id, "repeated": False, **batch.counts}
