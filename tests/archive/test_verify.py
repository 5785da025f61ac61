"""`archive verify` against what is really in the store, including changes made beneath S3."""

from __future__ import annotations

import hashlib
import io
import urllib.request

from sqlalchemy import select, update
from typer.testing import CliRunner

from archive.models import Document
from archive.verify import verify
from canbao.audit.models import AuditEvent
from canbao.config import get_settings
from composition import cli
from engine import worker

from .conftest import JPEG, PDF

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 512


def _rows(api) -> dict[int, Document]:
    with api.db.sessions() as s:
        return {d.id: d for d in s.scalars(select(Document))}


def _verify(api, case_id: int | None = None):
    with api.db.sessions() as s:
        return verify(s, api.app.state.archive, case_id=case_id)


def test_verify_finds_altered_missing_and_orphan_objects(own_api, own_weed, monkeypatch):
    api = own_api
    case_id, _ = api.start_survey()
    altered = api.upload(case_id, "surveyor1", PDF).json()["id"]
    kept = api.upload(case_id, "surveyor1", JPEG, kind="id_card_front").json()["id"]
    lost = api.upload(case_id, "surveyor1", PNG, kind="id_card_back").json()["id"]
    report = _verify(api)
    assert report.ok and (report.documents, report.objects) == (3, 3)

    rows, bucket = _rows(api), api.settings.s3_bucket
    # One byte changed through the filer's own HTTP API, beneath S3 and its versioning; SeaweedFS keeps
    # each version of a key as the file `<key>.versions/v_<version id>` in the bucket's directory.
    row = rows[altered]
    path = f"{own_weed.filer_url}/buckets/{bucket}/{row.object_key}.versions/v_{row.object_version}"
    raw = bytearray(urllib.request.urlopen(path).read())
    raw[100] ^= 0x01
    urllib.request.urlopen(urllib.request.Request(path, data=bytes(raw), method="PUT")).read()
    assert api.get(f"/documents/{altered}", "platform1").content != PDF  # the store serves the change
    api.minio.remove_object(bucket, rows[lost].object_key, version_id=rows[lost].object_version)
    stray = b"%PDF-1.4 a crash between the store and the database"
    api.minio.put_object(
        bucket, f"cases/{case_id}/{hashlib.sha256(stray).hexdigest()}", io.BytesIO(stray), len(stray)
    )

    report = _verify(api, case_id)
    found = sorted((f.problem, f.document_id) for f in report.findings)
    assert found == [("altered", altered), ("missing", lost), ("orphan", None)]
    assert kept not in {f.document_id for f in report.findings}
    assert [d["id"] for d in api.get(f"/cases/{case_id}/documents", "platform1").json()["items"]] == [
        altered,
        kept,
        lost,
    ]  # the orphan is not listed, and nothing reaches objects except through rows

    monkeypatch.setenv("DATABASE_URL", api.db.url)
    monkeypatch.setenv("CANBAO_S3_ENDPOINT", own_weed.endpoint)
    monkeypatch.setenv("CANBAO_S3_ACCESS_KEY", own_weed.access_key)
    monkeypatch.setenv("CANBAO_S3_SECRET_KEY", own_weed.secret_key)
    monkeypatch.setenv("CANBAO_S3_BUCKET", bucket)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["archive", "verify", "--case", str(case_id)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert f"altered\t{row.object_key}" in result.output and "发现 3 处问题" in result.output
    with api.db.sessions() as s:
        assert s.scalar(select(AuditEvent.payload).where(AuditEvent.action == "archive.verify")) is not None


def test_verify_checks_sealed_manifests_against_the_rows(archive_api):
    api = archive_api
    case_id, person = api.start_survey()
    doc = api.upload(case_id, "surveyor1", PDF).json()["id"]
    api.approve_to_sealing(case_id, person)
    assert worker.run_due(api.db.sessions) == 1
    report = _verify(api, case_id)
    assert report.ok and (report.documents, report.manifests) == (1, 1)

    with api.db.sessions() as s, s.begin():  # a row rewritten in the database alone
        s.execute(update(Document).where(Document.id == doc).values(sha256="0" * 64))
    findings = _verify(api, case_id).findings
    found = sorted((f.problem, f.document_id) for f in findings)
    assert found == [("altered", doc), ("manifest_mismatch", doc)]
    [mismatch] = [f for f in findings if f.problem == "manifest_mismatch"]
    assert mismatch.detail == "归档清单与数据库记录的校验值或版本不一致"
