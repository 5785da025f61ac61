"""The archive against SeaweedFS: the API on PostgreSQL with its documents in a fresh bucket of the
run's S3 server, or of a private server that a test may stop and restart."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from minio import Minio

from api.auth.passwords import hash_password
from archive.seaweed import WeedServer
from archive.store import S3Store
from canbao.config import PROJECT_ROOT, Settings
from composition.app import create_app
from engine.specs import SPECS

from ..api.conftest import PASSWORD, SECRET, Api, population, seed_office
from ..engine.office import APPROVE, VILLAGE, id_number, registration

PDF = b"%PDF-1.7\n" + os.urandom(4096) + b"\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(2048)
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + os.urandom(2048)


def bucket_name() -> str:
    return f"canbao-test-{uuid.uuid4().hex[:12]}"


class ArchiveApi(Api):
    """The API helper plus what archive tests do: drive a survey case, upload, inspect the bucket."""

    def __init__(self, client: TestClient, db, settings: Settings, minio: Minio | None) -> None:
        super().__init__(client, db)
        self.settings, self.minio = settings, minio

    @property
    def app(self):
        return self.client.app

    def upload(
        self,
        case_id: int,
        user: str,
        content: bytes,
        *,
        kind="registration_form",
        name="scan.pdf",
        media_type="application/pdf",
    ):
        return self.client.post(
            f"/api/v1/cases/{case_id}/documents",
            headers=self.as_(user),
            data={"kind": kind} if kind is not None else {},
            files={"file": (name, io.BytesIO(content), media_type)},
        )

    def start_survey(self, person: str | None = None) -> tuple[int, str]:
        person = person or id_number()
        population(self.db, person)
        r = self.post(
            "/cases",
            "platform1",
            json={"process": "survey_registration", "person_id": person, "area": VILLAGE, "team_id": 1},
        )
        assert r.status_code == 201, r.text
        return r.json()["id"], person

    def ready(self, user: str, case_id: int) -> dict:
        detail = self.get(f"/cases/{case_id}", user).json()
        [task] = [t for t in detail["tasks"] if t["state"] == "ready"]
        return {**task, "case_version": detail["version"]}

    def complete(self, user: str, case_id: int, data: dict) -> dict:
        task = self.ready(user, case_id)
        r = self.post(
            f"/tasks/{task['id']}/complete", user, json=data, headers={"If-Match": str(task["case_version"])}
        )
        assert r.status_code == 200, r.text
        return r.json()

    def approve_to_sealing(self, case_id: int, person: str) -> dict:
        """Survey → 初审 → 审定: the case then waits for 归档."""
        self.complete("surveyor1", case_id, registration(person))
        self.complete("platform1", case_id, APPROVE)
        return self.complete("county1", case_id, APPROVE)

    def objects(self) -> list:
        return list(self.minio.list_objects(self.settings.s3_bucket, recursive=True, include_version=True))


def make_api(db, tmp_path, s3) -> ArchiveApi:
    """The API on `db` with its archive in a new bucket of the S3 server `s3`, or in a local
    directory under `tmp_path` when `s3` is None."""
    SPECS.clear()
    settings = Settings(
        database_url=db.url, data_dir=tmp_path, bpmn_dir=PROJECT_ROOT / "bpmn", jwt_secret=SECRET
    )
    if s3 is not None:
        settings = replace(
            settings,
            s3_endpoint=s3.endpoint,
            s3_access_key=s3.access_key,
            s3_secret_key=s3.secret_key,
            s3_bucket=bucket_name(),
        )
    app = create_app(settings, sessions=db.sessions)
    app.state.archive.ping()  # creates the bucket
    with db.sessions() as s, s.begin():
        seed_office(s, password_hash=hash_password(PASSWORD))
    minio = (
        Minio(s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key, secure=False) if s3 else None
    )
    return ArchiveApi(TestClient(app), db, settings, minio)


@pytest.fixture
def archive_api(db, tmp_path, s3_server) -> ArchiveApi:
    """The API with its archive in a fresh bucket of the run's SeaweedFS."""
    return make_api(db, tmp_path, s3_server)


@pytest.fixture(scope="module")
def own_weed(tmp_path_factory) -> Iterator[WeedServer]:
    """A SeaweedFS of this module's own, which tests stop, restart and write beneath S3."""
    server = WeedServer.from_environ(tmp_path_factory.mktemp("own-weed")).start()
    yield server
    server.stop()


@pytest.fixture
def own_api(db, tmp_path, own_weed) -> ArchiveApi:
    if own_weed.pid is None:
        own_weed.start()
    return make_api(db, tmp_path, own_weed)


@pytest.fixture
def s3_store(s3_server) -> S3Store:
    return S3Store(
        s3_server.endpoint,
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
        bucket=bucket_name(),
    )
