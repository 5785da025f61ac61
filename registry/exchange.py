"""Exchange with the upper-level registry (第十条).

- `export_changes`: this registry's changes since its last export (persons whose record changed,
  enrollment facts recorded since), as one gzip'd JSON file the province/ministry imports with
  `import_changes`. Nothing changed → no file and no batch.
- `export_elsewhere` (run at the upper level): enrollments of the persons whose 户口所在地 lies in a
  lower registry's area but who are insured elsewhere; `import_elsewhere` (run below) records them
  as 异地参保 enrollments and marks the persons `insured_elsewhere`.

Each file names its origin registry and batch number and is signed with the office's key under the
installation's cryptography profile (Ed25519 or SM2, `canbao.audit.signing`, as the audit anchors are);
an import checks the signature against the trusted public keys (`<data_dir>/audit-keys` and the lower
and upper registries' keys in `<data_dir>/exchange-keys`). Importing the same content twice, or the same
batch twice, changes nothing (the batch is recorded once, found by its hash); another file under a batch
number already imported is refused. An export keeps its file (`ready`) for the level above to fetch, in
ranges if a transfer breaks (`fetch`), until it has been fetched whole (`fetched`); `list_batches` shows
them. `export_if_due` is the worker's scheduled export.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, not_, or_, select
from sqlalchemy.orm import Session

from canbao import audit
from canbao.actors import Actor
from canbao.audit import signing
from canbao.crypto.installation import setup_of
from canbao.db import area_within, utcnow
from canbao.errors import CanbaoError, Conflict, FieldError, Forbidden, Invalid, NotFound

from .common import check_area, parse_date, place_covers, require_reach
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


# Who exchanges what (第十条): the 市级 and 省级 人力资源社会保障部门 send their changes up; the level
# above (省级, 部) sends each lower registry the enrollments of its persons insured outside it (取回), which
# the city or province imports. "system" is the command line and the worker.
EXPORTERS = {
    "changes": {"city_hrss", "province_admin", "system"},
    "elsewhere": {"province_admin", "ministry"},
}
IMPORTERS = {
    "changes": {"province_admin", "ministry", "system"},
    "elsewhere": {"city_hrss", "province_admin"},
}
EXPORTERS["elsewhere"].add("system")
IMPORTERS["elsewhere"].add("system")
KINDS = {"changes": "变更信息", "elsewhere": "异地参保信息（取回）"}
STATUSES = {"ready": "待上级取走", "fetched": "已取走", "applied": "已导入"}
KEYS_DIR = "exchange-keys"


class ExchangeFileError(Invalid):
    code = "exchange.file"
    title = "交换文件无法读取"


class BadSignature(Invalid):
    code = "exchange.signature"
    title = "交换文件的签名无效"


class BatchConflict(Conflict):
    code = "exchange.batch_conflict"
    title = "该批次已以不同内容导入"


class BatchNotFound(NotFound):
    code = "exchange.batch_not_found"
    title = "交换批次不存在或不在本人管辖区域内"


class NotExchanger(Forbidden):
    code = "exchange.role"
    title = "您的岗位不能进行这种交换"


def require_role(actor: Actor, direction: str, kind: str) -> None:
    """Whether the actor's role sends (`export`) or receives (`import`) files of `kind` (第十条)."""
    allowed = (EXPORTERS if direction == "export" else IMPORTERS).get(kind, set())
    if not allowed.intersection(actor.roles):
        what = "导出" if direction == "export" else "导入"
        raise NotExchanger(f"您的岗位不能{what}{KINDS.get(kind, kind)}", reason="role")


def _enc(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _pack(doc: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8"), mtime=0)


def _signed(session: Session, doc: dict[str, Any], data_dir: Path) -> bytes:
    """The file: the document signed with the office's key of the installation's profile."""
    return _pack(signing.signer(data_dir, setup_of(session).profile.signature).sign(doc))


def trusted_keys(data_dir: Path) -> dict[str, Any]:
    keys = signing.trusted_keys(data_dir)
    folder = data_dir / KEYS_DIR
    return keys | (signing.load_public_keys(folder) if folder.is_dir() else {})


def _verified(content: bytes, data_dir: Path) -> dict[str, Any]:
    doc = _unpack(content)
    why = signing.check(doc, trusted_keys(data_dir))
    if why is not None:
        raise BadSignature([FieldError("/signature", "exchange.signature", why)])
    return doc


def peek_kind(content: bytes) -> str | None:
    """The kind a file says it is (`changes`, `elsewhere`), or None when it is not an exchange file."""
    try:
        return _unpack(content).get("kind")
    except ExchangeFileError:
        return None


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


def export_changes(
    session: Session, *, actor: Actor, area: str, data_dir: Path
) -> tuple[bytes, ExchangeBatch] | None:
    """This registry's (area `area`) changes since its last export, or None when nothing changed."""
    check_area(area)
    require_reach(actor, area)
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
    content = _signed(session, doc, data_dir)
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
    for_area: str | None = None,
) -> ExchangeBatch:
    batch = ExchangeBatch(
        direction="export",
        kind=kind,
        origin=origin,
        origin_batch=number,
        for_area=for_area,
        sha256=hashlib.sha256(content).hexdigest(),
        cursor=cursor,
        counts=counts,
        actor_sub=actor.sub,
        at=utcnow(),
        status="ready",
        content=content,
    )
    session.add(batch)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="exchange.export",
        object_type="exchange_batch",
        object_id=batch.id,
        payload={**payload, "sha256": batch.sha256},
        area=origin,
    )
    return batch


def _seen(session: Session, doc: dict[str, Any], kind: str, content: bytes) -> ExchangeBatch | None:
    """The import this file already was: the same content, or the same batch of the same origin (whose
    content must then be the same)."""
    digest = hashlib.sha256(content).hexdigest()
    same = session.scalar(
        select(ExchangeBatch).where(ExchangeBatch.direction == "import", ExchangeBatch.sha256 == digest)
    )
    if same is not None:
        return same
    numbered = session.scalar(
        select(ExchangeBatch).where(
            ExchangeBatch.direction == "import",
            ExchangeBatch.kind == kind,
            ExchangeBatch.origin == str(doc.get("origin")),
            ExchangeBatch.origin_batch == int(doc.get("batch") or 0),
        )
    )
    if numbered is not None:
        raise BatchConflict(
            f"{doc.get('origin')} 的第 {doc.get('batch')} 批已于 {numbered.at:%Y-%m-%d %H:%M} 导入，"
            "内容与本文件不同；请向下级核实"
        )
    return None


def _record_import(
    session: Session, *, actor: Actor, doc: dict[str, Any], content: bytes, kind: str, counts: dict[str, int]
) -> ExchangeBatch:
    batch = ExchangeBatch(
        direction="import",
        kind=kind,
        origin=str(doc["origin"]),
        origin_batch=int(doc["batch"]),
        for_area=doc.get("for_area"),
        status="applied",
        sha256=hashlib.sha256(content).hexdigest(),
        cursor={},
        counts=counts,
        actor_sub=actor.sub,
        at=utcnow(),
    )
    session.add(batch)
    session.flush()
    return batch


def import_changes(session: Session, *, actor: Actor, content: bytes, data_dir: Path) -> dict[str, Any]:
    """At the upper level: apply a lower registry's change file (idempotent per content and batch)."""
    doc = _verified(content, data_dir)
    if doc.get("kind") != "changes":
        raise ExchangeFileError([FieldError("/kind", "exchange.kind", "不是变更交换文件")])
    require_reach(actor, str(doc.get("origin")))
    previous = _seen(session, doc, "changes", content)
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
    session: Session, *, actor: Actor, origin: str, for_area: str, data_dir: Path
) -> tuple[bytes, ExchangeBatch] | None:
    """At the upper level (`origin`): the enrollments of persons with 户口所在地 in `for_area` who are
    insured outside it (本地户籍出市、出省人员参保信息), as a file for that registry."""
    check_area(for_area, "/for_area")
    check_area(origin, "/origin")
    if not for_area.startswith(origin) or for_area == origin:
        raise Invalid([FieldError("/for_area", "exchange.for_area", f"取回文件只发给 {origin} 的下级地区")])
    require_reach(actor, origin)
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
    content = _signed(session, doc, data_dir)
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
        for_area=for_area,
    )
    return content, batch


def import_elsewhere(session: Session, *, actor: Actor, content: bytes, data_dir: Path) -> dict[str, Any]:
    """Record the upper level's 异地参保 file: enrollments marked `elsewhere`, persons `insured_elsewhere`."""
    doc = _verified(content, data_dir)
    if doc.get("kind") != "elsewhere":
        raise ExchangeFileError([FieldError("/kind", "exchange.kind", "不是异地参保交换文件")])
    require_reach(actor, str(doc.get("for_area")))
    previous = _seen(session, doc, "elsewhere", content)
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


def import_file(session: Session, *, actor: Actor, content: bytes, data_dir: Path) -> dict[str, Any]:
    """Import a file of either kind (as it says it is), after checking the actor may receive it."""
    kind = peek_kind(content)
    if kind not in KINDS:
        raise ExchangeFileError(
            [FieldError("/kind", "exchange.kind", "交换文件类型应为 changes 或 elsewhere")]
        )
    require_role(actor, "import", kind)
    if kind == "changes":
        return import_changes(session, actor=actor, content=content, data_dir=data_dir)
    return import_elsewhere(session, actor=actor, content=content, data_dir=data_dir)


def _visible(actor: Actor):
    """Batches the actor's area covers: those its registry or a lower one wrote, and the 取回 files for it
    or a lower one."""
    if actor.area == "":
        return True
    return or_(area_within(ExchangeBatch.origin, actor.area), area_within(ExchangeBatch.for_area, actor.area))


def view(batch: ExchangeBatch) -> dict[str, Any]:
    kind = "elsewhere" if batch.kind.startswith("elsewhere") else batch.kind
    return {
        "id": batch.id,
        "direction": batch.direction,
        "kind": kind,
        "kind_title": KINDS.get(kind, kind),
        "origin": batch.origin,
        "origin_batch": batch.origin_batch,
        "for_area": batch.for_area,
        "sha256": batch.sha256,
        "size": len(batch.content) if batch.content is not None else None,
        "counts": dict(batch.counts),
        "status": batch.status,
        "status_title": STATUSES.get(batch.status, batch.status),
        "at": batch.at.isoformat(),
        "fetched_at": batch.fetched_at.isoformat() if batch.fetched_at else None,
        "actor": batch.actor_sub,
    }


def list_batches(
    session: Session,
    *,
    actor: Actor,
    direction: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    after: int | None = None,
    limit: int = 100,
) -> list[ExchangeBatch]:
    """Newest first, `after` an id for the next page."""
    query = select(ExchangeBatch).where(_visible(actor)).order_by(ExchangeBatch.id.desc()).limit(limit)
    if direction:
        query = query.where(ExchangeBatch.direction == direction)
    if kind:
        query = query.where(ExchangeBatch.kind.startswith(kind))
    if status:
        query = query.where(ExchangeBatch.status == status)
    if after is not None:
        query = query.where(ExchangeBatch.id < after)
    return list(session.scalars(query))


def get_or_raise(session: Session, *, actor: Actor, batch_id: int) -> ExchangeBatch:
    batch = session.get(ExchangeBatch, batch_id)
    if batch is None or not (actor.reaches(batch.origin) or actor.reaches(batch.for_area)):
        raise BatchNotFound(f"交换批次 {batch_id} 不存在或不在本人管辖区域内")
    return batch


@dataclass(frozen=True)
class Part:
    """Bytes `start`–`end` (inclusive) of a batch's file of `total` bytes."""

    batch: ExchangeBatch
    content: bytes
    start: int
    end: int
    total: int


def fetch(session: Session, *, actor: Actor, batch_id: int, start: int = 0, end: int | None = None) -> Part:
    """An export's file, whole or a byte range of it (a broken transfer resumes where it stopped); the
    batch is `fetched` once a range reaching its last byte has been handed out. Recorded, as it carries
    personal data."""
    batch = get_or_raise(session, actor=actor, batch_id=batch_id)
    if batch.direction != "export" or batch.content is None:
        raise BatchNotFound(f"交换批次 {batch_id} 没有可取的文件（只有导出的批次有）")
    total = len(batch.content)
    last = total - 1 if end is None else min(end, total - 1)
    if start < 0 or start > last:
        raise RangeNotSatisfiable(f"文件共 {total} 字节，请求的范围无效")
    if last == total - 1 and batch.status == "ready":
        batch.status, batch.fetched_at = "fetched", utcnow()
    audit.record(
        session,
        actor=actor,
        action="exchange.fetch",
        object_type="exchange_batch",
        object_id=batch.id,
        payload={"start": start, "end": last, "total": total, "sha256": batch.sha256},
        area=batch.for_area or batch.origin,
    )
    return Part(batch, batch.content[start : last + 1], start, last, total)


class RangeNotSatisfiable(CanbaoError):
    status = 416
    code = "exchange.range"
    title = "请求的字节范围无效"


def export(
    session: Session, *, actor: Actor, kind: str, area: str, for_area: str | None, data_dir: Path
) -> tuple[bytes, ExchangeBatch] | None:
    """An export of `kind` by an actor whose role sends it: `changes` of `area`, or the 取回 file of
    `area` for its lower registry `for_area`. None when there is nothing to send."""
    require_role(actor, "export", kind)
    if kind == "changes":
        return export_changes(session, actor=actor, area=area, data_dir=data_dir)
    if not for_area:
        raise Invalid([FieldError("/for_area", "exchange.for_area", "取回文件须指明下级地区")])
    return export_elsewhere(session, actor=actor, origin=area, for_area=for_area, data_dir=data_dir)


def export_if_due(
    session: Session,
    *,
    actor: Actor,
    area: str,
    data_dir: Path,
    every: timedelta,
    now: datetime | None = None,
) -> ExchangeBatch | None:
    """The worker's scheduled export: this registry's changes, when the last export of `area` is older
    than `every` (or there is none) and something changed since."""
    last = _last(session, "export", "changes", area)
    if last is not None and (now or utcnow()) - last.at < every:
        return None
    result = export_changes(session, actor=actor, area=area, data_dir=data_dir)
    return result[1] if result is not None else None
