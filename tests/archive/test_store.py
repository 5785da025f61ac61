"""The two stores behind one interface: a bucket on SeaweedFS and the embedded local directory."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from minio import Minio

from archive import store
from archive.store import DeletionRefused, LocalStore, ObjectMissing, S3Store
from engine import worker

from .conftest import PDF, bucket_name, make_api

UNTIL = datetime(2127, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["s3", "local"])
def any_store(request, s3_store, tmp_path) -> store.ObjectStore:
    return s3_store if request.param == "s3" else LocalStore(tmp_path / "archive")


def test_put_read_list_retain_and_delete(any_store):
    first = any_store.put("cases/7/aaa", io.BytesIO(PDF), len(PDF), media_type="application/pdf")
    any_store.put("cases/70/bbb", io.BytesIO(b"%PDF-x"), 6, media_type="application/pdf")
    scratch = any_store.put("cases/7/ccc", io.BytesIO(b"%PDF-y"), 6, media_type="application/pdf")
    assert b"".join(any_store.open("cases/7/aaa", first)) == PDF

    listed = [(o.key, o.size) for o in any_store.list("cases/7/")]
    assert listed == [("cases/7/aaa", len(PDF)), ("cases/7/ccc", 6)]  # not cases/70/
    assert [o.key for o in any_store.list("cases/")] == ["cases/7/aaa", "cases/7/ccc", "cases/70/bbb"]

    any_store.retain("cases/7/aaa", first, UNTIL)
    with pytest.raises(DeletionRefused, match="已归档"):
        any_store.delete("cases/7/aaa", first)
    assert b"".join(any_store.open("cases/7/aaa", first)) == PDF

    any_store.delete("cases/7/ccc", scratch)  # not retained: may go
    with pytest.raises(ObjectMissing):
        any_store.open("cases/7/ccc", scratch)


def test_a_bucket_without_object_lock_falls_back_to_versioning(s3_server):
    name = bucket_name()
    Minio(
        s3_server.endpoint, access_key=s3_server.access_key, secret_key=s3_server.secret_key, secure=False
    ).make_bucket(name)
    bucket = S3Store(
        s3_server.endpoint, access_key=s3_server.access_key, secret_key=s3_server.secret_key, bucket=name
    )
    assert bucket.protection == "versioning"
    old = bucket.put("cases/1/x", io.BytesIO(b"%PDF-1"), 6, media_type="application/pdf")
    new = bucket.put("cases/1/x", io.BytesIO(b"%PDF-2"), 6, media_type="application/pdf")
    assert old != new and b"".join(bucket.open("cases/1/x", old)) == b"%PDF-1"  # replaced, not lost
    bucket.retain("cases/1/x", old, UNTIL)  # nothing to set without object lock


def test_the_embedded_local_store_archives_a_case_read_only(any_db, tmp_path):
    """The embedded default on either database (SQLite is the one that runs without setup)."""
    api = make_api(any_db, tmp_path, None)
    assert isinstance(api.app.state.archive, LocalStore)
    case_id, person = api.start_survey()
    doc = api.upload(case_id, "surveyor1", PDF).json()
    again = api.upload(case_id, "surveyor1", PDF)
    assert again.status_code == 409 and again.json()["document_id"] == doc["id"]
    api.approve_to_sealing(case_id, person)
    assert worker.run_due(api.db.sessions) == 1
    assert api.get(f"/cases/{case_id}", "county1").json()["outcome"] == "已入库"
    files = sorted(p.relative_to(tmp_path / "archive").as_posix() for p in (tmp_path / "archive").rglob("*"))
    assert files[:3] == ["cases", f"cases/{case_id}", f"cases/{case_id}/{doc['sha256']}"]
    assert files[3].startswith(f"cases/{case_id}/manifest-") and len(files) == 4
    for name in files[2:]:
        assert (tmp_path / "archive" / name).stat().st_mode & 0o222 == 0  # sealed: read-only
    assert api.get(f"/documents/{doc['id']}", "platform1").content == PDF
    assert api.client.get("/readyz").json()["checks"]["object_store"] == "ok"
