"""The paperwork of a case (signed 登记表, ID card and 户口簿 copies, change evidence): who may attach
it, storing it, listing it and reading it back.

Reach follows the case (`engine.cases.get`: outside the actor's area a document does not exist).
Attaching is open only while the case runs, to someone who may work one of its ready tasks or to the
grassroots platform of its area; the document is linked to that task. The object is stored first
and its row written after, in a transaction that re-checks the case under a share lock on its row,
so a document can never slip in after the case moved on to sealing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Row, and_, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from canbao import audit
from canbao.actors import Actor
from canbao.db import transaction, utcnow
from canbao.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from engine import cases
from engine.errors import CaseNotFound
from engine.models import Case, CaseTask

from .intake import Upload
from .models import ArchivePackage, Document
from .retention import PERSONAL_REGISTRATION
from .store import ObjectStore, Reader, StoreUnavailable

log = logging.getLogger(__name__)
DOCUMENT = Document.__table__

KINDS = {
    "registration_form": "登记表",
    "id_card_front": "身份证正面",
    "id_card_back": "身份证反面",
    "hukou_book": "户口簿",
    "change_evidence": "变更证明",
    "other": "其他",
}
EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", "image/tiff": "tif"}


class DocumentNotFound(NotFound):
    code = "document.not_found"
    title = "材料不存在"


class CaseClosed(Conflict):
    code = "document.case_not_running"
    title = "案件已不在办理中，不能再添加材料"


class NotWorkingCase(Forbidden):
    code = "document.not_working_case"
    title = "无权为此案件上传材料"


class DuplicateDocument(Conflict):
    code = "document.duplicate"
    title = "该文件已上传到本案件"


@dataclass(frozen=True)
class Admission:
    """A case an actor may attach documents to, and the task the documents belong to."""

    case_id: int
    task_guid: str | None


def object_key(case_id: int, sha256: str) -> str:
    """Derived from the case and the content only: the client names nothing in the store."""
    return f"cases/{case_id}/{sha256}"


def _closed_detail(case: Row | Case) -> str:
    if case.status == "waiting":
        return f"案件正在{case.status_detail or '等待后台处理'}，材料已定稿"
    return "案件已办结，材料已归档；如需更正，请在变更案件中上传新的材料"


# Built once: a statement built per call would have its cache key recomputed on every upload.
_CASE_COLUMNS = (Case.id, Case.status, Case.status_detail, Case.area, Case.person_id)
_ADMISSION = (
    select(
        *_CASE_COLUMNS,
        CaseTask.task_guid,
        CaseTask.role,
        CaseTask.assignee,
        CaseTask.team_id,
    )
    .outerjoin(CaseTask, and_(CaseTask.case_id == Case.id, CaseTask.state == "ready"))
    .where(Case.id == bindparam("case_id"))
    .order_by(CaseTask.id)
)
# A share lock: uploads to one case run side by side, but the case cannot move on (a task
# completion takes the row exclusively) until the document's row is in.
_CASE_FOR_DOCUMENT = (
    select(
        *_CASE_COLUMNS,
        select(Document.id)
        .where(Document.case_id == Case.id, Document.sha256 == bindparam("sha256"))
        .scalar_subquery()
        .label("existing"),
    )
    .where(Case.id == bindparam("case_id"))
    .with_for_update(read=True, of=Case)
)
_INSERT_DOCUMENT = insert(DOCUMENT).returning(DOCUMENT.c.id)


def admit(session: Session, *, actor: Actor, case_id: int) -> Admission:
    """Refuse before any byte is read: unknown or unreachable case (404), case not running (409),
    actor neither working the case nor its platform (403). One statement: the case with its ready
    tasks (a handful; the actor's roles are matched here rather than bound into the query)."""
    rows = session.connection().execute(_ADMISSION, {"case_id": case_id}).all()
    case = rows[0] if rows else None
    if case is None or not actor.may_see(area=case.area, person_id=case.person_id):
        raise CaseNotFound()
    if case.status != "running":
        raise CaseClosed(_closed_detail(case))
    task_guid = next((row.task_guid for row in rows if _may_work(actor, case, row)), None)
    if task_guid is None and not (actor.has_role("platform_reviewer") and actor.reaches(case.area)):
        raise NotWorkingCase("只有正在办理本案件的人员或本区域的基层平台可以上传材料")
    return Admission(case_id=case.id, task_guid=task_guid)


def _may_work(actor: Actor, case: Row, task: Row) -> bool:
    if task.task_guid is None or task.role not in actor.roles or task.assignee not in (None, actor.sub):
        return False
    if task.role == "surveyor" and task.team_id is not None and task.team_id not in actor.teams:
        return False
    return task.role != "citizen" or case.person_id == actor.sub


def kind_of(fields: dict[str, str]) -> str:
    kind = fields.get("kind", "").strip()
    if kind not in KINDS:
        allowed = "、".join(f"{code}（{label}）" for code, label in KINDS.items())
        code = "kind.required" if not kind else "kind.unknown"
        raise Invalid([FieldError("/kind", code, f"请选择材料类别：{allowed}")])
    return kind


def attach(
    sessions: sessionmaker[Session], store: ObjectStore, *, actor: Actor, admission: Admission, upload: Upload
) -> Document:
    """Store the uploaded file, then write its row; owns its transaction because the object must be
    stored between the checks and the row. A store failure leaves no row and the case unchanged."""
    kind = kind_of(upload.fields)
    key = object_key(admission.case_id, upload.sha256)
    try:
        version = store.put(key, upload.file, upload.size, media_type=upload.media_type)
    except StoreUnavailable as err:
        raise StoreUnavailable("档案存储服务暂时无法访问，文件未保存，案件未作任何改动，请稍后重试") from err
    try:
        with transaction(sessions) as session:
            return create(
                session,
                actor=actor,
                admission=admission,
                upload=upload,
                kind=kind,
                key=key,
                version=version,
            )
    except BaseException:
        _discard(sessions, store, key, version)
        raise


def _discard(sessions: sessionmaker[Session], store: ObjectStore, key: str, version: str | None) -> None:
    """Remove an object whose row was not written, unless a row (an identical earlier upload in an
    unversioned store) points at it; what cannot be removed now is reported by `archive verify`."""
    same = Document.object_version.is_(None) if version is None else Document.object_version == version
    try:
        with sessions() as session:
            if session.scalar(select(Document.id).where(and_(Document.object_key == key, same))) is not None:
                return
        store.delete(key, version)
    except Exception:  # the error that got us here is the one to report
        log.warning("could not remove %s (version %s) after a failed upload", key, version, exc_info=True)


def create(
    session: Session,
    *,
    actor: Actor,
    admission: Admission,
    upload: Upload,
    kind: str,
    key: str,
    version: str | None,
) -> Document:
    """The row and its audit event, as Core statements on the session's connection: the row is
    returned to the caller, never loaded or tracked by the session."""
    connection = session.connection()
    case = connection.execute(
        _CASE_FOR_DOCUMENT, {"case_id": admission.case_id, "sha256": upload.sha256}
    ).one()
    if case.status != "running":
        raise CaseClosed(_closed_detail(case))
    if case.existing is not None:
        raise DuplicateDocument(f"相同内容的文件已作为材料 {case.existing} 上传", document_id=case.existing)
    row = {
        "case_id": case.id,
        "task_guid": admission.task_guid,
        "kind": kind,
        "media_type": upload.media_type,
        "size": upload.size,
        "sha256": upload.sha256,
        "object_key": key,
        "object_version": version,
        "retention_class": PERSONAL_REGISTRATION.code,
        "uploaded_by": actor.sub,
        "uploaded_at": utcnow(),
    }
    try:
        document_id = connection.execute(_INSERT_DOCUMENT, row).scalar_one()
    except IntegrityError as err:  # the same file, uploaded at the same moment by someone else
        raise DuplicateDocument("相同内容的文件刚刚已上传到本案件") from err
    audit.record(
        session,
        actor=actor,
        action="document.add",
        object_type="document",
        object_id=document_id,
        payload={
            "kind": kind,
            "media_type": upload.media_type,
            "size": upload.size,
            "sha256": upload.sha256,
            "task": admission.task_guid,
            "version": version,
        },
        area=case.area,
        case_id=case.id,
        person_id=case.person_id,
    )
    return Document(id=document_id, **row)


def get_all(session: Session, *, case_id: int) -> list[Document]:
    return list(session.scalars(select(Document).where(Document.case_id == case_id).order_by(Document.id)))


def package(session: Session, *, case_id: int) -> ArchivePackage | None:
    """The case's archive package, once it is archived (归档)."""
    return session.scalars(select(ArchivePackage).where(ArchivePackage.case_id == case_id)).first()


def get_or_raise(session: Session, *, actor: Actor, document_id: int) -> tuple[Document, Case]:
    """A document whose case the actor reaches; otherwise not found."""
    document = session.get(Document, document_id)
    if document is None:
        raise DocumentNotFound()
    try:
        case = cases.get(session, actor=actor, case_id=document.case_id)
    except NotFound as err:
        raise DocumentNotFound() from err
    return document, case


def read(session: Session, store: ObjectStore, *, actor: Actor, document_id: int) -> tuple[Document, Reader]:
    """Open a document for reading and record the read; the caller streams and closes the reader."""
    document, case = get_or_raise(session, actor=actor, document_id=document_id)
    reader = store.open(document.object_key, document.object_version)
    audit.record(
        session,
        actor=actor,
        action="document.read",
        object_type="document",
        object_id=document.id,
        payload={"kind": document.kind, "sha256": document.sha256},
        area=case.area,
        case_id=case.id,
        person_id=case.person_id,
    )
    return document, reader
