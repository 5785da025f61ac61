"""Exchange with the level above over HTTP (第十条): the city's 人社部门 exports its changes, the province
fetches the signed file (resuming with Range) and imports it, and sends the city a 取回 file of its
persons insured elsewhere; roles, areas, idempotence, audit and problems. On PostgreSQL."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import func, select

from canbao.config import Settings
from composition.cli import exchange_chore
from registry import exchange, imports
from registry.models import ExchangeBatch, Person

from ..engine.office import id_number
from ..registry.helpers import ENR_HEADER, csv_bytes, enr_row
from .conftest import SYSTEM

PROVINCE = ("province1", ["province_admin"], "37")


def _province(api):
    return api.mint(*PROVINCE)


def _export_changes(api, person: str) -> dict:
    api.population(person)
    r = api.post("/exchange/exports", "hrss1", json={"kind": "changes"})
    assert r.status_code == 201, r.text
    return r.json()["batch"]


def test_the_city_exports_and_the_province_fetches_in_ranges_and_imports(api):
    person = id_number(seq="801")
    batch = _export_changes(api, person)
    assert (batch["kind"], batch["origin"], batch["status"]) == ("changes", "3701", "ready")
    assert batch["counts"] == {"persons": 1, "enrollments": 0} and batch["size"] > 0
    again = api.post("/exchange/exports", "hrss1", json={"kind": "changes"})
    assert again.status_code == 200 and again.json() == {"created": False, "batch": None}

    province = _province(api)
    listed = api.client.get("/api/v1/exchange/batches", params={"status": "ready"}, headers=province).json()
    assert [b["id"] for b in listed["items"]] == [batch["id"]] and listed["next"] is None
    url = f"/api/v1/exchange/batches/{batch['id']}/file"
    head = api.client.get(url, headers={**province, "Range": "bytes=0-99"})
    assert head.status_code == 206 and head.headers["content-range"] == f"bytes 0-99/{batch['size']}"
    assert head.headers["etag"] == f'"{batch["sha256"]}"'
    assert (
        api.client.get(f"/api/v1/exchange/batches/{batch['id']}", headers=province).json()["status"]
        == "ready"
    )
    rest = api.client.get(url, headers={**province, "Range": "bytes=100-", "If-Range": head.headers["etag"]})
    assert rest.status_code == 206
    content = head.content + rest.content
    assert hashlib.sha256(content).hexdigest() == batch["sha256"]
    fetched = api.client.get(f"/api/v1/exchange/batches/{batch['id']}", headers=province).json()
    assert fetched["status"] == "fetched" and fetched["fetched_at"]
    doc = json.loads(gzip.decompress(content))
    assert doc["signature"]["alg"] in ("Ed25519", "SM2") and doc["persons"][0]["id"] == person

    gz = {"Content-Type": "application/gzip"}
    first = api.client.post("/api/v1/exchange/imports", content=content, headers={**province, **gz})
    assert first.status_code == 201, first.text
    assert first.json()["repeated"] is False and first.json()["batch"]["status"] == "applied"
    second = api.client.post("/api/v1/exchange/imports", content=content, headers={**province, **gz})
    assert second.status_code == 200 and second.json()["repeated"] is True
    assert second.json()["batch"]["id"] == first.json()["batch"]["id"]

    actions = [(e.action, e.actor_sub) for e in api.events() if e.action.startswith("exchange.")]
    assert actions == [
        ("exchange.export", "hrss1"),
        ("exchange.fetch", "province1"),
        ("exchange.fetch", "province1"),
        ("exchange.import", "province1"),
    ]


def test_roles_and_areas_are_checked(api):
    batch = _export_changes(api, id_number(seq="803"))
    for user in ("county1", "city1", "surveyor1"):
        r = api.post("/exchange/exports", user, json={"kind": "changes"})
        assert r.status_code == 403 and r.json()["code"] == "auth.role_not_allowed", user
    ministry = api.mint("ministry1", ["ministry"], "")
    r = api.client.post("/api/v1/exchange/exports", json={"kind": "changes"}, headers=ministry)
    assert r.status_code == 403 and r.json()["code"] == "exchange.role"  # no level above the ministry
    seen = api.client.get("/api/v1/exchange/batches", headers=ministry).json()["items"]
    assert [b["id"] for b in seen] == [batch["id"]]  # the whole country
    r = api.post("/exchange/exports", "hrss1", json={"kind": "changes", "area": "3702"})  # 青岛
    assert r.status_code == 404 and r.json()["code"] == "registry.out_of_area"

    guangdong = api.mint("province44", ["province_admin"], "44")
    assert api.client.get("/api/v1/exchange/batches", headers=guangdong).json()["items"] == []
    r = api.client.get(f"/api/v1/exchange/batches/{batch['id']}/file", headers=guangdong)
    assert r.status_code == 404 and r.json()["code"] == "exchange.batch_not_found"

    content = api.client.get(f"/api/v1/exchange/batches/{batch['id']}/file", headers=_province(api)).content
    r = api.client.post(
        "/api/v1/exchange/imports",
        content=content,
        headers={**api.as_("hrss1"), "Content-Type": "application/gzip"},
    )
    assert r.status_code == 403 and r.json()["code"] == "exchange.role"  # a city receives no changes


def test_bad_files_and_ranges_are_problems(api):
    province = _province(api)
    r = api.client.post("/api/v1/exchange/imports", content=b"not a file", headers=province)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert [(e["pointer"], e["code"]) for e in r.json()["errors"]] == [("/kind", "exchange.kind")]
    batch = _export_changes(api, id_number(seq="805"))
    doc = json.loads(
        gzip.decompress(
            api.client.get(f"/api/v1/exchange/batches/{batch['id']}/file", headers=province).content
        )
    )
    doc["persons"][0]["name"] = "改过的名字"
    forged = gzip.compress(json.dumps(doc, ensure_ascii=False).encode())
    r = api.client.post("/api/v1/exchange/imports", content=forged, headers=province)
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/signature"
    for bad in ("bytes=abc", "bytes=999999-", "items=0-1"):
        r = api.client.get(f"/api/v1/exchange/batches/{batch['id']}/file", headers={**province, "Range": bad})
        assert r.status_code == 416 and r.json()["code"] == "exchange.range", bad
    r = api.client.post("/api/v1/exchange/exports", json={"kind": "elsewhere"}, headers=province)
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/for_area"
    with api.db.sessions() as s:  # nothing half-written
        assert s.scalar(select(func.count()).select_from(ExchangeBatch)) == 1


def test_the_province_sends_the_city_its_persons_insured_elsewhere(api):
    person = id_number(seq="807")
    api.population(person)
    with api.db.sessions() as s, s.begin():
        imports.import_file(
            s,
            actor=SYSTEM,
            kind="enrollments",
            system="外省",
            filename="x.csv",
            content=csv_bytes(ENR_HEADER, [enr_row(person, "310", place="110101")]),
        )
    province = _province(api)
    r = api.client.post(
        "/api/v1/exchange/exports", json={"kind": "elsewhere", "for_area": "3701"}, headers=province
    )
    assert r.status_code == 201, r.text
    batch = r.json()["batch"]
    assert (batch["kind"], batch["origin"], batch["for_area"]) == ("elsewhere", "37", "3701")

    city_list = api.get("/exchange/batches", "hrss1", params={"kind": "elsewhere"}).json()["items"]
    assert [b["id"] for b in city_list] == [batch["id"]]
    content = api.get(f"/exchange/batches/{batch['id']}/file", "hrss1").content
    r = api.client.post(
        "/api/v1/exchange/imports",
        content=content,
        headers={**api.as_("hrss1"), "Content-Type": "application/gzip"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["counts"]["persons_marked"] == 1
    with api.db.sessions() as s:
        assert s.get(Person, person).insured_elsewhere is True


def test_the_worker_exports_on_its_schedule(api, tmp_path):
    settings = Settings(
        database_url=api.db.url,
        data_dir=tmp_path,
        bpmn_dir=tmp_path,
        exchange_area="3701",
        exchange_every_seconds=3600,
    )
    assert (
        exchange_chore(api.db.sessions, Settings(database_url="", data_dir=tmp_path, bpmn_dir=tmp_path))
        is None
    )
    api.population(id_number(seq="809"))
    chore = exchange_chore(api.db.sessions, settings)
    chore()
    chore()  # not due again within the hour
    api.population(id_number(seq="811"))
    with api.db.sessions() as s:
        batches = list(s.scalars(select(ExchangeBatch)))
        assert [(b.origin, b.status, b.actor_sub) for b in batches] == [("3701", "ready", "system")]
    with api.db.sessions() as s, s.begin():
        assert (
            exchange.export_if_due(s, actor=SYSTEM, area="3701", data_dir=tmp_path, every=timedelta(hours=1))
            is None
        )
        later = batches[0].at + timedelta(hours=2)
        due = exchange.export_if_due(
            s, actor=SYSTEM, area="3701", data_dir=tmp_path, every=timedelta(hours=1), now=later
        )
        assert due.origin_batch == 2 and due.counts["persons"] == 1


@pytest.fixture
def exchange_schema(api):
    """The exchange routes of the app's own OpenAPI document, with one batch to find."""
    _export_changes(api, id_number(seq="813"))
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", api.app).include(
        path_regex="^/api/v1/exchange/"
    )


schema = schemathesis.pytest.from_fixture("exchange_schema")


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_exchange_routes_never_answer_with_a_server_error(case, api):
    case.call_and_validate(headers=_province(api), checks=[not_a_server_error])
