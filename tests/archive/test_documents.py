"""Uploading, listing and reading documents through the API, stored in SeaweedFS."""

from __future__ import annotations

import asyncio
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from api.auth.models import User
from api.auth.passwords import hash_password
from archive.models import Document
from canbao.audit.models import AuditEvent
from engine.models import Case

from ..api.conftest import PASSWORD, TOWNSHIP
from .conftest import EXE, JPEG, PDF

BOUNDARY = "canbao-test-boundary"


def _count(db, model, *where) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_round_trip_stores_by_case_and_hash_and_reads_back_with_an_audited_read(archive_api):
    case_id, person = archive_api.start_survey()
    r = archive_api.upload(case_id, "surveyor1", PDF, name="../../etc/passwd.pdf")
    assert r.status_code == 201, r.text
    doc = r.json()
    sha = hashlib.sha256(PDF).hexdigest()
    assert (doc["kind"], doc["kind_title"], doc["media_type"]) == (
        "registration_form",
        "登记表",
        "application/pdf",
    )
    assert (doc["size"], doc["sha256"], doc["uploaded_by"], doc["sealed_at"]) == (
        len(PDF),
        sha,
        "surveyor1",
        None,
    )
    assert doc["task_id"] == archive_api.ready("surveyor1", case_id)["id"]  # the survey task it belongs to

    [stored] = archive_api.objects()
    assert stored.object_name == f"cases/{case_id}/{sha}"  # never the client's file name
    with archive_api.db.sessions() as s:
        row = s.get(Document, doc["id"])
        assert row.object_version == stored.version_id and row.retention_class == "personal_registration"

    got = archive_api.get(f"/documents/{doc['id']}", "platform1")
    assert got.status_code == 200 and got.content == PDF
    assert (
        got.headers["content-type"] == "application/pdf"
        and got.headers["x-content-type-options"] == "nosniff"
    )

    listed = archive_api.get(f"/cases/{case_id}/documents", "county1").json()["items"]
    assert [d["id"] for d in listed] == [doc["id"]]
    with archive_api.db.sessions() as s:
        events = s.execute(
            select(AuditEvent.action, AuditEvent.actor_sub, AuditEvent.person_id)
            .where(AuditEvent.object_type == "document")
            .order_by(AuditEvent.id)
        ).all()
    assert [tuple(e) for e in events] == [
        ("document.add", "surveyor1", person),
        ("document.read", "platform1", person),
    ]


@pytest.mark.parametrize(
    ("content", "media_type"),
    [
        (JPEG, "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n" + os.urandom(100), "image/png"),
        (b"II*\x00" + os.urandom(100), "image/tiff"),
        (b"MM\x00*" + os.urandom(100), "image/tiff"),
    ],
    ids=["jpeg", "png", "tiff-le", "tiff-be"],
)
def test_type_is_taken_from_the_content(archive_api, content, media_type):
    case_id, _ = archive_api.start_survey()
    r = archive_api.upload(
        case_id,
        "surveyor1",
        content,
        kind="id_card_front",
        name="x.bin",
        media_type="application/octet-stream",
    )
    assert r.status_code == 201, r.text
    assert r.json()["media_type"] == media_type


def test_an_exe_named_pdf_is_refused_and_nothing_is_stored(archive_api):
    case_id, _ = archive_api.start_survey()
    r = archive_api.upload(case_id, "surveyor1", EXE, name="登记表.pdf", media_type="application/pdf")
    assert r.status_code == 415
    problem = r.json()
    assert problem["code"] == "document.unsupported_type" and problem["errors"][0]["pointer"] == "/file"
    assert archive_api.objects() == [] and _count(archive_api.db, Document) == 0


def _multipart_stream(total: int, counter: dict):
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nregistration_form\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.7\n"
    ).encode()
    chunk = b"0" * 65536

    async def body():
        yield head
        while counter["sent"] < total:
            counter["sent"] += len(chunk)
            yield chunk
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    return body()


def _post_streamed(api, case_id: int, total: int, counter: dict, headers: dict) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://canbao") as client:
            return await client.post(
                f"/api/v1/cases/{case_id}/documents",
                content=_multipart_stream(total, counter),
                headers={
                    **api.as_("surveyor1"),
                    "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                    **headers,
                },
            )

    # In a thread of its own: a browser test earlier in this process leaves Playwright's loop running here.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def test_oversize_is_refused_without_reading_it_all(archive_api):
    case_id, _ = archive_api.start_survey()
    limit = archive_api.settings.max_upload_bytes
    assert limit == 20 * 1024 * 1024

    counter = {"sent": 0}
    r = _post_streamed(archive_api, case_id, 200 * 1024 * 1024, counter, {})  # chunked: no length given
    assert r.status_code == 413 and r.json()["code"] == "document.too_large"
    assert limit <= counter["sent"] <= limit + 2 * 65536  # stopped reading right at the cap

    counter = {"sent": 0}
    declared = {"Content-Length": str(200 * 1024 * 1024)}
    r = _post_streamed(archive_api, case_id, 200 * 1024 * 1024, counter, declared)
    assert r.status_code == 413 and counter["sent"] == 0  # refused on the declared length alone

    assert archive_api.objects() == [] and _count(archive_api.db, Document) == 0


def test_another_areas_documents_do_not_exist_for_them(archive_api):
    case_id, _ = archive_api.start_survey()
    doc_id = archive_api.upload(case_id, "surveyor1", PDF).json()["id"]
    assert archive_api.get(f"/documents/{doc_id}", "platform9").status_code == 404
    assert archive_api.get(f"/cases/{case_id}/documents", "platform9").status_code == 404
    r = archive_api.upload(case_id, "platform9", JPEG, kind="id_card_back")
    assert r.status_code == 404 and r.json()["code"] == "case.not_found"
    with archive_api.db.sessions() as s:
        reads = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "document.read")
        )
    assert reads == 0 and _count(archive_api.db, Document) == 1


def test_only_who_works_the_case_or_its_platform_may_attach(archive_api):
    case_id, _ = archive_api.start_survey()
    r = archive_api.upload(case_id, "county1", PDF)  # the county has no task on it yet
    assert r.status_code == 403 and r.json()["code"] == "document.not_working_case"
    r = archive_api.upload(case_id, "platform2", JPEG, kind="hukou_book")  # the township's platform may
    assert r.status_code == 201 and r.json()["task_id"] is None
    assert archive_api.get(f"/documents/{r.json()['id']}", "auditor1").status_code == 200
    assert archive_api.upload(case_id, "auditor1", PDF).status_code == 403  # readers do not write
    with archive_api.db.sessions() as s, s.begin():  # a surveyor of the township, not of the case's team
        s.add(
            User(
                username="surveyor9",
                name="周九",
                password_hash=hash_password(PASSWORD),
                roles=["surveyor"],
                area=TOWNSHIP,
            )
        )
    r = archive_api.upload(case_id, "surveyor9", PDF)
    assert r.status_code == 403 and r.json()["code"] == "document.not_working_case"
    assert archive_api.upload(case_id, "surveyor1", PDF).json()["task_id"] is not None


def test_bad_fields_are_named_and_duplicates_refused(archive_api):
    case_id, _ = archive_api.start_survey()
    r = archive_api.upload(case_id, "surveyor1", PDF, kind="passport")
    assert r.status_code == 422 and [e["pointer"] for e in r.json()["errors"]] == ["/kind"]
    r = archive_api.upload(case_id, "surveyor1", PDF, kind=None)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "kind.required"
    r = archive_api.upload(case_id, "surveyor1", b"", kind="other")
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/file"

    first = archive_api.upload(case_id, "surveyor1", PDF)
    again = archive_api.upload(case_id, "surveyor1", PDF, kind="other")
    assert first.status_code == 201 and again.status_code == 409
    assert again.json()["document_id"] == first.json()["id"]
    assert len(archive_api.objects()) == 1  # the second copy's version was removed again


def test_upload_leaves_the_case_as_it_was(archive_api):
    case_id, _ = archive_api.start_survey()
    with archive_api.db.sessions() as s:
        before = s.get(Case, case_id).version
    assert archive_api.upload(case_id, "surveyor1", PDF).status_code == 201
    with archive_api.db.sessions() as s:
        assert s.get(Case, case_id).version == before
