"""Documents of a case: upload (multipart, streamed into the archive), list, read back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from archive import classification, documents, intake
from archive.models import ArchivePackage, Document
from canbao.actors import Actor
from canbao.db import transaction
from engine import cases

from ..bodies import Body
from ..deps import Db, RowId, bearer_scheme, current_actor, permit
from ..masking import MaskingRoute
from ..problems import answers, raises

router = APIRouter(tags=["documents 材料"], route_class=MaskingRoute)
Reader = Annotated[Actor, Depends(permit("documents.read"))]

UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["kind", "file"],
                "properties": {
                    "kind": {"type": "string", "enum": list(documents.KINDS), "description": "材料类别"},
                    "file": {"type": "string", "format": "binary", "description": "PDF、JPEG、PNG 或 TIFF"},
                },
            }
        }
    },
}


class DocumentView(Body):
    id: int
    case_id: int
    task_id: str | None
    kind: str
    kind_title: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: str
    retention_class: str
    sealed_at: str | None
    retain_until: str | None
    href: str


class PackageView(Body):
    archive_no: str
    title: str
    retention: str
    retain_until: str
    archived_at: str


class CaseDocuments(Body):
    items: list[DocumentView]
    package: PackageView | None


def document_view(document: Document) -> dict[str, Any]:
    return {
        "id": document.id,
        "case_id": document.case_id,
        "task_id": document.task_guid,
        "kind": document.kind,
        "kind_title": documents.KINDS[document.kind],
        "media_type": document.media_type,
        "size": document.size,
        "sha256": document.sha256,
        "uploaded_by": document.uploaded_by,
        "uploaded_at": document.uploaded_at.isoformat(),
        "retention_class": document.retention_class,
        "sealed_at": document.sealed_at.isoformat() if document.sealed_at else None,
        "retain_until": document.retain_until.isoformat() if document.retain_until else None,
        "href": f"/api/v1/documents/{document.id}",
    }


@raises(401, 403, 404, 409)
def admitted(
    request: Request, case_id: RowId, bearer: Annotated[str | None, Depends(bearer_scheme)]
) -> tuple[Actor, documents.Admission]:
    """Who uploads, and to which case: checked in one short transaction before the body is read,
    so no database connection waits on a slow upload."""
    with transaction(request.app.state.sessions) as session:
        actor = permit("documents.write")(current_actor(request, session, bearer))
        return actor, documents.admit(session, actor=actor, case_id=case_id)


@router.post(
    "/cases/{case_id}/documents",
    status_code=201,
    summary="上传材料（扫描件，按内容识别类型，限定大小）",
    openapi_extra={"requestBody": UPLOAD_BODY},
    response_model=DocumentView,
    responses=answers(400, 409, 413, 415, 503),
)
async def upload(
    case_id: RowId, request: Request, who: Annotated[tuple[Actor, documents.Admission], Depends(admitted)]
) -> dict[str, Any]:
    actor, admission = who
    received = await intake.receive(
        request.stream(),
        content_type=request.headers.get("content-type"),
        content_length=request.headers.get("content-length"),
        limit=request.app.state.settings.max_upload_bytes,
    )
    try:
        document = await run_in_threadpool(
            documents.attach,
            request.app.state.sessions,
            request.app.state.archive,
            actor=actor,
            admission=admission,
            upload=received,
        )
    finally:
        received.close()
    return document_view(document)


def package_view(package: ArchivePackage | None) -> dict[str, Any] | None:
    if package is None:
        return None
    classified = classification.of_package(package)
    return {
        "archive_no": package.archive_no,
        "title": classified.title,
        "retention": classified.category.retention.title,
        "retain_until": package.retain_until.isoformat(),
        "archived_at": package.sealed_at.isoformat(),
    }


@router.get("/cases/{case_id}/documents", summary="案件的材料，及归档后的档号", response_model=CaseDocuments)
def list_documents(case_id: RowId, actor: Reader, db: Db) -> dict[str, Any]:
    case = cases.get(db, actor=actor, case_id=case_id)
    return {
        "items": [document_view(d) for d in documents.get_all(db, case_id=case.id)],
        "package": package_view(documents.package(db, case_id=case.id)),
    }


@router.get(
    "/documents/{document_id}",
    summary="下载材料（记录查阅）",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {m: {"schema": {"type": "string", "format": "binary"}} for m in documents.EXTENSIONS}
        },
        **answers(503),
    },
)
def read_document(document_id: RowId, actor: Reader, db: Db, request: Request) -> StreamingResponse:
    document, reader = documents.read(db, request.app.state.archive, actor=actor, document_id=document_id)
    name = f"document-{document.id}.{documents.EXTENSIONS[document.media_type]}"
    return StreamingResponse(
        reader,
        media_type=document.media_type,
        headers={
            "Content-Length": str(document.size),
            "Content-Disposition": f'inline; filename="{name}"',
            "ETag": f'"{document.sha256}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )
