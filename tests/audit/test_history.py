"""A case's history as one timeline, checked against the registry's own field history, and exported as
a signed file that `canbao audit verify-export` checks offline."""

import io
import json
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from typer.testing import CliRunner

from canbao.audit import signing
from canbao.config import get_settings
from canbao.db import utcnow
from composition.cli import app
from engine import worker

from ..engine.office import APPROVE, RETURN, id_number, registration
from .helpers import tamper

PDF = b"%PDF-1.7\n" + os.urandom(2048) + b"\n%%EOF\n"


@pytest.fixture
def case(api) -> tuple[int, str]:
    """A survey case run to the end over HTTP: returned once with a reason, a scan added and read,
    approved twice, stored and sealed."""
    person = id_number(seq="777")
    case_id = api.start_survey(person)
    uploaded = api.client.post(
        f"/api/v1/cases/{case_id}/documents",
        headers=api.as_("surveyor1"),
        data={"kind": "registration_form"},
        files={"file": ("scan.pdf", io.BytesIO(PDF), "application/pdf")},
    )
    assert uploaded.status_code == 201, uploaded.text
    api.complete("surveyor1", case_id, registration(person, phone="13905310001"))
    task = api.task_of(case_id)
    version = api.get(f"/tasks/{task.task_guid}", "platform1").json()["case_version"]
    returned = api.post(
        f"/tasks/{task.task_guid}/return",
        "platform1",
        json={"reason": RETURN["reason"], "return_items": ["/phone"]},
        headers={"If-Match": str(version)},
    )
    assert returned.status_code == 200, returned.text
    assert api.get(f"/documents/{uploaded.json()['id']}", "platform1").status_code == 200
    api.complete("surveyor1", case_id, registration(person))  # the return went back to its submitter
    api.complete("platform1", case_id, APPROVE)
    api.complete("county1", case_id, APPROVE)
    assert worker.run_due(api.db.sessions) == 1  # 归档
    return case_id, person


def test_one_timeline_of_steps_decisions_field_changes_documents_and_reads(api, case):
    case_id, person = case
    timeline = api.get(f"/cases/{case_id}/history", "platform1").json()
    actions = [e["action"] for e in timeline]
    assert actions[0] == "case.start" and actions[-1] == "case.complete"
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)
    for expected in ("task.ready", "task.complete", "gateway.taken", "registry.store", "archive.seal"):
        assert expected in actions
    [archived] = [e for e in timeline if e["action"] == "archive.seal"]
    assert archived["title"] == "归档"  # 第三十二条; 封存 would be sealing records away from access

    [returned] = [e for e in timeline if e["action"] == "task.return"]
    assert returned["kind"] == "decision" and returned["actor"] == "platform1"
    assert returned["decision"] == {
        "task": "initial_review",
        "name": returned["decision"]["name"],
        "decision": "return",
        "reason": RETURN["reason"],
        "return_items": ["/phone"],
    }
    approvals = [e["decision"]["decision"] for e in timeline if e["kind"] == "decision"]
    assert approvals == ["return", "approve", "approve"]

    changes = {e["payload"]["field"]: e for e in timeline if e["kind"] == "field_change"}
    assert changes["/phone"]["payload"] == {"field": "/phone", "old": None, "new": "13805310000"}
    assert changes["/name"]["payload"]["new"] == "张三"
    assert all(e["audited"] and e["in_registry"] and "warning" not in e for e in changes.values())
    assert changes["/phone"]["actor"] == "county1"

    documents = [(e["action"], e["actor"]) for e in timeline if e["kind"] == "document"]
    assert ("document.add", "surveyor1") in documents and ("document.read", "platform1") in documents

    masked = api.get(f"/cases/{case_id}/history", "auditor1").json()
    phone = next(e for e in masked if e["kind"] == "field_change" and e["payload"]["field"] == "/phone")
    assert phone["payload"]["new"] == "138****0000"
    submitted = next(e for e in masked if e["action"] == "task.complete")
    assert submitted["payload"]["data"]["id_number"] == person[:6] + "********" + person[-4:]
    reads = [(e.actor_sub, json.loads(e.payload)["purpose"]) for e in api.events("person.read")]
    assert ("auditor1", "case_history") in reads


def test_field_history_edited_outside_canbao_is_flagged(api, case):
    case_id, person = case
    with api.db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO field_change (person_id, field, old, new, at, source, case_id, actor_sub) "
                "VALUES (:p, '/employment/employer', NULL, '伪造单位', :at, 'case', :c, 'county1')"
            ),
            {"p": person, "at": utcnow(), "c": case_id},
        )
        conn.execute(text("DELETE FROM field_change WHERE case_id = :c AND field = '/phone'"), {"c": case_id})
    timeline = api.get(f"/cases/{case_id}/history", "auditor1").json()
    changes = {e["payload"]["field"]: e for e in timeline if e["kind"] == "field_change"}
    forged, removed = changes["/employment/employer"], changes["/phone"]
    assert (forged["audited"], forged["seq"]) == (False, None) and "直接修改了数据库" in forged["warning"]
    assert (removed["audited"], removed["in_registry"]) == (True, False) and "被删改" in removed["warning"]


@pytest.fixture
def cli(api, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", api.db.url)
    monkeypatch.setenv("CANBAO_DATA_DIR", str(api.app.state.settings.data_dir))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_signed_export_verifies_offline_and_any_edit_is_caught(api, case, cli, tmp_path):
    case_id, person = case
    r = api.get(f"/audit/cases/{case_id}/export", "auditor1")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    exported = r.json()
    assert exported["case"]["id"] == case_id and exported["signature"]["alg"] == "Ed25519"
    assert len(exported["events"]) > 10 and exported["timeline"]
    assert api.get(f"/audit/cases/{case_id}/export", "county1").status_code == 403
    [recorded] = api.events("audit.export")
    assert (recorded.actor_sub, recorded.person_id, recorded.case_id) == ("auditor1", person, case_id)
    log = api.get(f"/persons/{person}/access-log", "auditor1").json()["items"]
    assert any(e["action"] == "audit.export" and e["actor"] == "auditor1" for e in log)

    keys = signing.key_dir(api.app.state.settings.data_dir)
    path = tmp_path / "export.json"
    path.write_bytes(r.content)
    good = cli.invoke(app, ["audit", "verify-export", str(path), "--public-key", str(keys)])
    assert good.exit_code == 0, good.output
    assert f"核验通过：案件 {case_id}" in good.output
    assert cli.invoke(app, ["audit", "verify-export", str(path)]).exit_code == 0  # the office's own keys

    changed = json.loads(r.content)
    returned = next(e for e in changed["events"] if e["action"] == "task.return")
    returned["payload"] = returned["payload"].replace("联系电话", "家庭住址")
    path.write_text(json.dumps(changed, ensure_ascii=False))
    bad = cli.invoke(app, ["audit", "verify-export", str(path), "--public-key", str(keys)])
    assert bad.exit_code == 1
    assert (
        "签名无效" in bad.output
        and f"链 {returned['chain']} 第 {returned['seq']} 号）的内容与其哈希不符" in bad.output
    )

    other = Ed25519PrivateKey.generate()
    resigned = signing.Signer(other).sign({k: v for k, v in exported.items() if k != "signature"})
    path.write_text(json.dumps(resigned, ensure_ascii=False))
    foreign = cli.invoke(app, ["audit", "verify-export", str(path), "--public-key", str(keys)])
    assert foreign.exit_code == 1 and "不在受信任的公钥之列" in foreign.output
    pem = tmp_path / "other.pub.pem"
    pem.write_bytes(
        other.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    assert cli.invoke(app, ["audit", "verify-export", str(path), "--public-key", str(pem)]).exit_code == 0


def test_cli_verify_and_anchor(api, case, cli):
    anchored = cli.invoke(app, ["audit", "anchor"])
    assert anchored.exit_code == 0, anchored.output
    assert "已写入锚点 audit/anchors/" in anchored.output
    ok = cli.invoke(app, ["audit", "verify", "--json"])
    assert ok.exit_code == 0, ok.output
    report = json.loads(ok.output)
    assert report["ok"] and report["anchors"] == 1 and report["method"] == "postgresql"

    last = api.events()[-3]
    tamper(api.db, ("UPDATE audit_event SET client_addr = '6.6.6.6' WHERE id = :id", {"id": last.id}))
    broken = cli.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert f"第 {last.seq} 号（事件 {last.id}）事件内容被篡改" in broken.output
    assert [e.actor_sub for e in api.events("audit.verify")] == ["cli", "cli"]
