"""`archive.seal`: 归档 of a finished case (规程第三十二条), whatever its outcome: a refused case's
paperwork is archived as an approved one's, and nothing here needs a registry write to have happened.

Runs in the worker as a deferred operation, inside the step's transaction. It classifies the case
(`classification`: 年度—业务类别—业务环节 and outcome, hence the retention), re-reads every document
and checks its hash, puts each under COMPLIANCE retention until the retention period ends (where the
store supports object lock), writes the manifest with the 档号 under the same retention, then records
the package. A store failure raises `StoreUnavailable`: the step rolls back (the 档号 with it) and the
worker retries with backoff while the case shows what it waits for. A retry after a failure between
the manifest and the commit leaves that attempt's manifest without a row, which `archive verify`
reports.
Under the national profile (`canbao.crypto`) the manifest lists each document's SM3 beside the
SHA-256 that names its object.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from sqlalchemy import Row, bindparam, func, insert, or_, select

from canbao import audit
from canbao.audit.models import AuditEvent
from canbao.crypto import GM
from canbao.crypto.installation import setup_of
from canbao.db import utcnow
from canbao.errors import Conflict
from engine.models import Case, ProcessDefinition
from engine.operations import OperationContext

from . import classification, documents, store
from .models import ArchivePackage, Document

FORMAT = "canbao.archive-manifest/2"  # /2: with the classification and 档号
DECISIONS = ("case.start", "task.complete", "task.return")


class DocumentAltered(Conflict):
    code = "archive.document_altered"
    title = "材料内容与登记的校验值不符"


def digest(reader: store.Reader) -> tuple[str, int]:
    """SHA-256 and size of an object, read in chunks."""
    found, size = digests(reader, SHA256_ONLY)
    return found["sha256"], size


SHA256_ONLY = ("sha256",)
WITH_SM3 = ("sha256", "sm3")


def digests(reader: store.Reader, names: tuple[str, ...]) -> tuple[dict[str, str], int]:
    """The named digests (hashlib names) and the size of an object, read once in chunks."""
    hashers, size = {name: hashlib.new(name) for name in names}, 0
    for chunk in reader:
        for h in hashers.values():
            h.update(chunk)
        size += len(chunk)
    return {name: h.hexdigest() for name, h in hashers.items()}, size


def manifest_key(case_id: int, sha256: str) -> str:
    return f"cases/{case_id}/manifest-{sha256}.json"


def canonical(document: dict[str, Any]) -> bytes:
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return text.encode()


# The case's decision events and its last event, built once (sealing runs for every case).
_LAST_EVENT = (
    select(func.max(AuditEvent.id)).where(AuditEvent.case_id == bindparam("case_id")).scalar_subquery()
)
_DECISION_EVENTS = (
    select(
        AuditEvent.id,
        AuditEvent.chain,
        AuditEvent.seq,
        AuditEvent.hash,
        AuditEvent.at,
        AuditEvent.actor_sub,
        AuditEvent.actor_role,
        AuditEvent.action,
        AuditEvent.payload,
    )
    .where(
        AuditEvent.case_id == bindparam("case_id"),
        or_(AuditEvent.action.in_(DECISIONS), AuditEvent.id == _LAST_EVENT),
    )
    .order_by(AuditEvent.id)
)
_ADD_PACKAGE = insert(ArchivePackage.__table__)
_PROCESS_VERSION = select(ProcessDefinition.version).where(ProcessDefinition.id == bindparam("id"))


def _decisions(session, case_id: int) -> tuple[list[dict[str, Any]], Row | None]:
    """The case's decisions, from its audit events, and its last event (the manifest's anchor)."""
    events = session.connection().execute(_DECISION_EVENTS, {"case_id": case_id})
    decisions, last = [], None
    for event in events:
        last = event
        if event.action not in DECISIONS:
            continue
        payload = json.loads(event.payload)
        data = payload.get("data") or {}
        decisions.append(
            {
                "event": event.id,
                "at": event.at.isoformat(),
                "actor": event.actor_sub,
                "role": event.actor_role,
                "action": event.action,
                "task": payload.get("task"),
                "name": payload.get("name"),
                "decision": data.get("decision"),
                "reason": data.get("reason"),
            }
        )
    return decisions, last


def document_entry(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "kind": document.kind,
        "kind_title": documents.KINDS[document.kind],
        "media_type": document.media_type,
        "size": document.size,
        "sha256": document.sha256,
        "key": document.object_key,
        "version": document.object_version,
        "task": document.task_guid,
        "uploaded_by": document.uploaded_by,
        "uploaded_at": document.uploaded_at.isoformat(),
    }


def seal(ctx: OperationContext, **_: Any) -> dict[str, Any]:
    session, archive = ctx.session, store.current()
    case = session.get(Case, ctx.case_id)
    process_version = session.connection().execute(_PROCESS_VERSION, {"id": case.definition_id}).scalar()
    docs = documents.get_all(session, case_id=case.id)
    now = utcnow()
    decisions, last = _decisions(session, case.id)
    classified = classification.classify(
        process_key=case.process_key, area=case.area, at=now, decisions=[d["decision"] for d in decisions]
    )
    retention = classified.category.retention
    until = retention.until(now)

    national = setup_of(session).profile is GM  # the manifest lists each document's SM3 as well
    sm3: dict[int, str] = {}
    for document in docs:
        found, size = digests(
            archive.open(document.object_key, document.object_version), WITH_SM3 if national else SHA256_ONLY
        )
        sha = found["sha256"]
        if national:
            sm3[document.id] = found["sm3"]
        if (sha, size) != (document.sha256, document.size):
            raise DocumentAltered(
                f"材料 {document.id}（{documents.KINDS[document.kind]}）的存档内容与上传时的校验值不符，"
                "请档案管理员核查后处理"
            )
    for document in docs:
        archive.retain(document.object_key, document.object_version, until)

    archive_no = classification.archive_no(session, classified)
    manifest = {
        "format": FORMAT,
        "case": {
            "id": case.id,
            "process": case.process_key,
            "process_version": process_version,
            "area": case.area,
            "person_id": case.person_id,
            "person_name": case.person_name,
            "created_by": case.created_by,
            "created_at": case.created_at.isoformat(),
        },
        "sealed_at": now.isoformat(),
        "classification": classified.manifest(archive_no),
        "retention": {
            "class": retention.code,
            "title": retention.title,
            "years": retention.years,
            "mark": retention.mark,
            "until": until.isoformat(),
            "protection": archive.protection,
        },
        "data": {k: v for k, v in ctx.data.items() if k != "timeouts"},
        "documents": [document_entry(d) | ({"sm3": sm3[d.id]} if national else {}) for d in docs],
        "decisions": decisions,
        "audit": (
            {"event": last.id, "chain": last.chain, "seq": last.seq, "hash": last.hash} if last else None
        ),
    }
    body = canonical(manifest)
    sha = hashlib.sha256(body).hexdigest()
    key = manifest_key(case.id, sha)
    version = archive.put(key, io.BytesIO(body), len(body), media_type="application/json", retain_until=until)

    for document in docs:
        document.sealed_at, document.retain_until, document.retention_class = now, until, retention.code
    session.connection().execute(
        _ADD_PACKAGE,
        {
            "case_id": case.id,
            "manifest_key": key,
            "manifest_version": version,
            "sha256": sha,
            "size": len(body),
            "documents": len(docs),
            "protection": archive.protection,
            "retention_class": retention.code,
            "retain_until": until,
            "archive_no": archive_no,
            "archive_year": classified.year,
            "category": classified.category.code,
            "step": classified.step.code,
            "outcome": classified.outcome,
            "audit_event_id": last.id if last else None,
            "audit_event_hash": last.hash if last else None,
            "sealed_at": now,
        },
    )
    result = {
        "archive_no": archive_no,
        "manifest": key,
        "version": version,
        "sha256": sha,
        "documents": len(docs),
        "protection": archive.protection,
        "retain_until": until.isoformat(),
    }
    audit.record(
        session,
        actor=ctx.actor,
        action="archive.seal",
        object_type="case",
        object_id=case.id,
        payload=result,
        area=case.area,
        case_id=case.id,
        person_id=case.person_id,
    )
    return result
