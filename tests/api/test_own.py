"""A citizen's own record over HTTP (第十四、二十三条): the record and its sources, the reminders of
missing or doubtful items, correction requests with the agency's reasons, and the printed 参保证明;
whose record is the token's number only, every read is audited, and staff cannot use these routes."""

from __future__ import annotations

import json
import re
import zlib

from jose import jwk, jwt

from registry import persons

from ..engine.office import VILLAGE, id_number, registration
from .conftest import SYSTEM, population
from .test_auth import _bearer, _claims, _idp_client, _rsa_pair


def pdf_text(content: bytes) -> str:
    """The text a PDF of `registry.pdf` shows (UTF-16 hex strings inside its compressed streams)."""
    shown = []
    for stream in re.findall(rb"stream\n(.*?)\nendstream", content, re.S):
        ops = zlib.decompress(stream).decode("latin-1")
        shown += [bytes.fromhex(h).decode("utf-16-be") for h in re.findall(r"<([0-9A-F]+)> Tj", ops)]
    return "\n".join(shown)


def test_citizen_reads_own_record_sources_and_missing_items(api):
    me = id_number(seq="611")
    other = id_number(seq="613")
    population(api.db, me, other)
    citizen = api.mint(me, ["citizen"], "")
    r = api.client.get("/api/v1/me/registration", headers=citizen)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["person_id"] == me and body["record"]["id_number"] == me  # unmasked: their own
    identity = next(s for s in body["sources"] if s["group"] == "identity")
    assert identity["text"].startswith("公安人口信息（第 1 批导入")
    assert next(s for s in body["sources"] if s["group"] == "contact")["text"] == "尚未登记"
    pointers = {i["pointer"] for i in body["items"]}
    assert {"/phone", "/employment/status", "/uninsured_reason/code"} <= pointers
    assert body["corrections"] == []
    reads = [e for e in api.events("person.read") if e.person_id == me]
    assert [e.payload_json.get("purpose") for e in reads] == ["own_record"]
    assert not [e for e in api.events("person.read") if e.person_id == other]


def test_only_citizens_with_a_record_use_their_own_routes(api):
    stranger = api.mint(id_number(seq="615"), ["citizen"], "")
    r = api.client.get("/api/v1/me/registration", headers=stranger)
    assert r.status_code == 404 and "还没有您的登记信息" in r.json()["detail"]
    assert r.headers["content-type"].startswith("application/problem+json")
    for path in ("/me/registration", "/me/certificate.pdf"):
        refused = api.get(path, "counter1")
        assert refused.status_code == 403 and refused.json()["code"] == "auth.role_not_allowed"


def test_certificate_reminds_of_what_is_missing(api):
    me = id_number(seq="617")
    population(api.db, me)
    r = api.client.get("/api/v1/me/certificate.pdf", headers=api.mint(me, ["citizen"], ""))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = pdf_text(r.content)
    assert "全民参保登记信息及参保证明（个人权益单）" in text and me in text
    assert "提醒：您的登记信息有以下缺失或不准的内容" in text and "【缺失】缺少联系电话" in text
    printed = [e for e in api.events("person.read") if e.person_id == me]
    assert [e.payload_json.get("purpose") for e in printed] == ["certificate_print"]


def test_correction_with_evidence_returned_then_confirmed(api):
    me = id_number(seq="619")
    population(api.db, me)
    citizen = api.mint(me, ["citizen"], "")
    started = api.client.post(
        "/api/v1/cases", headers=citizen, json={"process": "self_service_update", "person_id": id_number()}
    )
    # the case is the token's person, whatever number the body names
    assert started.status_code == 201 and started.json()["person_id"] == me
    case_id = started.json()["id"]
    own = api.client.get("/api/v1/me/registration", headers=citizen).json()
    [draft] = own["corrections"]
    assert (draft["case_id"], draft["state"], draft["state_text"]) == (case_id, "draft", "待提交")
    uploaded = api.client.post(
        f"/api/v1/cases/{case_id}/documents",
        headers=citizen,
        data={"kind": "change_evidence"},
        files={"file": ("证明.pdf", b"%PDF-1.7\nphone bill\n%%EOF\n", "application/pdf")},
    )
    assert uploaded.status_code == 201, uploaded.text
    request = {
        "id_number": me,
        "changes": [{"field": "/phone", "old": None, "new": "13905310001"}],
        "reason": "补充联系电话",
        "evidence": [str(uploaded.json()["id"])],
    }

    def submit() -> None:
        version = api.client.get(f"/api/v1/cases/{case_id}", headers=citizen).json()["version"]
        r = api.client.post(
            f"/api/v1/tasks/{draft['task_id']}/complete",
            headers={**citizen, "If-Match": str(version)},
            json=request,
        )
        assert r.status_code == 200, r.text

    submit()
    reviewing = api.client.get("/api/v1/me/registration", headers=citizen).json()["corrections"][0]
    assert (reviewing["state"], reviewing["task_id"], reviewing["agency_reason"]) == ("reviewing", None, None)
    assert reviewing["evidence"] == request["evidence"] and reviewing["changes"] == request["changes"]
    api.complete("county1", case_id, {"decision": "return", "reason": "证明材料不清晰，请重新上传"})
    returned = api.client.get("/api/v1/me/registration", headers=citizen).json()["corrections"][0]
    assert returned["state"] == "returned" and returned["agency_reason"] == "证明材料不清晰，请重新上传"
    assert returned["task_id"] is not None
    draft = returned
    submit()
    api.complete("county1", case_id, {"decision": "approve", "reason": "材料齐全，予以更正"})
    done = api.client.get("/api/v1/me/registration", headers=citizen).json()
    assert done["record"]["phone"] == "13905310001"
    assert "/phone" not in {i["pointer"] for i in done["items"]}
    assert (done["corrections"][0]["state"], done["corrections"][0]["agency_reason"]) == (
        "applied",
        "材料齐全，予以更正",
    )


def test_a_citizen_signed_in_by_an_external_identity_provider_reads_their_own_record(api, db, tmp_path):
    """Production citizens come from an identity provider (RS256, keys from a JWKS file): the token's
    subject is their 公民身份号码 and the same routes answer for them."""
    me = id_number(seq="621")
    population(api.db, me)
    private, public = _rsa_pair()
    key = jwk.construct(public, "RS256").to_dict()
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**key, "kid": "gov-idp", "use": "sig"}]}))
    client = _idp_client(db, tmp_path, jwt_jwks_file=tmp_path / "jwks.json")
    claims = _claims(sub=me, name="赵某", roles=["citizen"], area="")
    token = jwt.encode(claims, private, "RS256", headers={"kid": "gov-idp"})
    r = client.get("/api/v1/me/registration", headers=_bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["person_id"] == me


def test_self_reported_insurance_awaiting_verification_is_named_in_words(api):
    """A 险种 the person reported on a 登记表 is 自报待核实 (#18) until a business system confirms it: the
    reminder names the scheme, never the flag's reason code."""
    me = id_number(seq="623")
    with api.db.sessions() as s, s.begin():
        persons.store(
            s, actor=SYSTEM, case_id=0, case_area=VILLAGE, person_id=me, registration=registration(me)
        )
    items = api.client.get("/api/v1/me/registration", headers=api.mint(me, ["citizen"], "")).json()["items"]
    [item] = [i for i in items if i["code"] == "self_reported.110"]
    assert item["message"] == "登记表上自报参加企业职工基本养老保险，尚待社会保险业务系统核实"
    assert item["pointer"] == "/insurance"
