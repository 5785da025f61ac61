"""Masking by meaning, everywhere (design §6): every GET route of the application, walked as each role
that sees personal data masked, over a populated office, must not answer any full 公民身份号码 (one
whose check digit is right) or full mobile number — in JSON, CSV, XLSX or PDF.

The routes come from the app's OpenAPI document, so a new route is walked without anyone adding it.
The check below recognises numbers on its own (it does not reuse the code under test).
"""

from __future__ import annotations

import contextlib
import io
import re
import zlib

import pytest
from fastapi.routing import APIRoute
from openpyxl import load_workbook

from api.masking import EVIDENCE, MaskingRoute
from canbao.actors import Actor
from registry import comparison, exchange, persons
from registry.stats import build
from tests.stats.helpers import phase1

from ..archive.conftest import PDF
from ..engine.office import APPROVE, VILLAGE, id_number, registration
from .conftest import SYSTEM

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID18 = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])")
MASKED_ROLES = {
    "city1": None,
    "auditor1": None,
    "province": ("province_admin", "37"),
    "ministry": ("ministry", ""),
    "manager1": None,
}


def _valid_id(text: str) -> bool:
    total = sum(w * int(c) for w, c in zip(WEIGHTS, text[:17], strict=True))
    return "10X98765432"[total % 11] == text[17].upper()


def leaks(text: str) -> list[str]:
    return [m for m in ID18.findall(text) if _valid_id(m)] + MOBILE.findall(text)


def _pdf_text(content: bytes) -> str:
    """The text a PDF shows: its streams inflated, the hex strings of its text operators decoded."""
    parts = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", content, re.S):
        with contextlib.suppress(zlib.error):
            stream = zlib.decompress(stream)
        for hexed in re.findall(rb"<([0-9A-Fa-f]+)>\s*Tj", stream):
            parts.append(bytes.fromhex(hexed.decode()).decode("utf-16-be", "replace"))
        parts.append(stream.decode("latin-1"))
    return "\n".join(parts)


def body_text(response) -> str:
    media = response.headers.get("content-type", "").split(";")[0]
    if media == "application/pdf":
        return _pdf_text(response.content)
    if media.endswith("spreadsheetml.sheet"):
        book = load_workbook(io.BytesIO(response.content))
        return "\n".join(
            str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row if cell
        )
    return response.content.decode("utf-8", "replace")


@pytest.fixture
def office(api) -> dict:
    """Statistics over a small county, a person through a whole survey case (with a document and a
    changed phone), a second case at 初审, an import with a rejected row, and a comparison."""
    with api.db.sessions() as s, s.begin():
        phase1(s)
    number = id_number(seq="881")
    with api.db.sessions() as s, s.begin():
        persons.store(
            s, actor=SYSTEM, case_id=0, case_area=VILLAGE, person_id=number, registration=registration(number)
        )
    case_id = api.start_survey(number)
    upload = api.client.post(
        f"/api/v1/cases/{case_id}/documents",
        headers=api.as_("surveyor1"),
        data={"kind": "registration_form"},
        files={"file": ("form.pdf", PDF, "application/pdf")},
    )
    assert upload.status_code == 201, upload.text
    api.complete("surveyor1", case_id, registration(number, phone="13905310001"))
    api.complete("platform1", case_id, APPROVE)
    api.complete("county1", case_id, APPROVE)
    other = id_number(seq="883")
    open_case = api.start_survey(other)
    api.complete("surveyor1", open_case, registration(other, phone="13905310003"))
    county = Actor(sub="county1", roles=("county_approver",), area="370102")
    rejected = api.client.post(
        "/api/v1/imports",
        headers=api.as_("county1"),
        data={"kind": "population"},
        files={
            "file": (
                "p.csv",
                "公民身份号码,姓名,性别,出生日期,户口所在地区划,户口所在地地址,人员状态\n"
                f"{id_number(seq='885')},孙一,1,1990-01-01,{VILLAGE},历下区某街1号,正常\n"
                "370102199001011230,错号,1,1990-01-01,370102001002,历下区某街2号,正常\n".encode(),
                "text/csv",
            )
        },
    )
    assert rejected.status_code == 201, rejected.text
    with api.db.sessions() as s, s.begin():
        run_id = comparison.run(s, actor=county, area="370102").run.id
        build.refresh(s)
    with api.db.sessions() as s:
        stored = persons.get(s, id_number=number)
        assert stored.phone == "13905310001"
    with api.db.sessions() as s, s.begin():
        _, batch = exchange.export_changes(
            s, actor=SYSTEM, area="3701", data_dir=api.app.state.settings.data_dir
        )
        batch_id = batch.id
    return {
        "case_id": case_id,
        "task_id": api.task_of(open_case).task_guid,
        "document_id": upload.json()["id"],
        "id_number": number,
        "id_type": "01",  # GET /persons finds the person by their document
        "area": "370102",
        "village": VILLAGE,
        "team_id": 1,
        "import_id": rejected.json()["id"],
        "run_id": run_id,
        "key": "survey_registration",
        "version": 1,
        "a": 1,
        "b": 1,
        "name": "coverage",
        "indicator": "target",
        "job_id": 1,  # no migration job: walked, answered 404 (migrations hold no personal data)
        "batch_id": batch_id,
    }


def _get_routes(api) -> list[tuple[str, list[str]]]:
    found = []
    for path, operations in api.app.openapi()["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        required = [
            p["name"] for p in operation.get("parameters", []) if p.get("required") and p["in"] == "query"
        ]
        found.append((path.removeprefix("/api/v1"), required))
    return found


def _headers(api, who: str) -> dict[str, str]:
    minted = MASKED_ROLES[who]
    return api.as_(who) if minted is None else api.mint(who, [minted[0]], minted[1])


def test_no_route_shows_a_full_number_to_a_role_that_sees_them_masked(api, office):
    routes = _get_routes(api)
    assert len(routes) >= 40
    found, answered, evidence = [], 0, []
    for path, required in routes:
        url = re.sub(r"\{(\w+)\}", lambda m: str(office[m.group(1)]), path)
        if not path.startswith("/health") and not path.startswith("/readyz"):
            url = f"/api/v1{url}"
        params = {name: office[name] for name in required}
        variants = [params, {**params, "details": "true"}] if path.endswith(".xlsx") else [params]
        for who in MASKED_ROLES:
            for query in variants:
                r = api.client.get(url, headers=_headers(api, who), params=query)
                if r.status_code != 200:
                    continue
                answered += 1
                if r.headers["content-type"].startswith((EVIDENCE, "application/gzip")):
                    evidence.append(path)
                    continue
                shown = leaks(body_text(r))
                if shown:
                    found.append(f"GET {path} as {who}: {shown[:3]}")
    assert found == []
    assert answered >= 60  # the walk really read the office, not a row of refusals
    # Signed documents that carry the data as it is: the case history for the auditor, and the exchange
    # file for the registry of the level above (第十条), which keeps full numbers.
    assert set(evidence) <= {"/audit/cases/{case_id}/export", "/exchange/batches/{batch_id}/file"}


def test_the_same_walk_shows_staff_the_numbers_they_work_with(api, office):
    """The control: the populated office does hold full numbers, and roles that work cases see them."""
    shown = api.get(f"/cases/{office['case_id']}", "platform1").text
    assert office["id_number"] in shown and "13905310001" in shown
    history = api.get(f"/persons/{office['id_number']}/history", "county1").text
    assert "13905310001" in history


def _api_routes(routes):
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def test_every_api_route_goes_through_the_masking_step(api):
    """A router created without the masking route class would answer unmasked: none may."""
    routes = [r for r in _api_routes(api.app.routes) if r.endpoint.__module__.startswith("api.")]
    assert len(routes) >= 60
    assert [r.path for r in routes if not isinstance(r, MaskingRoute)] == []


def test_an_empty_answer_to_a_masked_role_stays_empty(api):
    """Logging out answers 204 with no body; for a role that sees numbers masked it was a 500."""
    province = api.mint("province1", ["province_admin"], "37")
    r = api.client.post("/api/v1/auth/logout", headers=province)
    assert r.status_code == 204 and r.content == b""
