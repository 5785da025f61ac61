"""Login and tokens: who gets in, who is refused, and what is recorded."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from jose import jwk, jwt

from api.auth import service as users
from canbao.config import PROJECT_ROOT, Settings
from composition.app import create_app
from registry import survey

from .conftest import PASSWORD, SECRET, SYSTEM

ME = "/api/v1/me"


def _login(client: TestClient, username: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def _claims(**overrides) -> dict:
    now = int(time.time())
    return {
        "sub": "platform1",
        "name": "platform1",
        "roles": ["platform_reviewer"],
        "area": "370102001",
        "iat": now,
        "exp": now + 600,
        "jti": "j-" + str(now),
        **overrides,
    }


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _assert_unauthenticated(r, code: str = "auth.invalid_token") -> dict:
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    body = r.json()
    assert body["code"] == code and body["status"] == 401 and body["title"] and body["detail"]
    return body


def test_login_issues_a_token_with_role_and_area(api):
    r = _login(api.client, "county1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 30 * 60
    claims = jwt.decode(body["access_token"], SECRET, algorithms=["HS256"])
    assert (
        claims["sub"] == "county1" and claims["roles"] == ["county_approver"] and claims["area"] == "370102"
    )
    assert claims["exp"] - claims["iat"] == 30 * 60 and len(claims["jti"]) == 32
    me = api.client.get(ME, headers=_bearer(body["access_token"])).json()
    assert me["role_names"] == ["县级经办机构"] and me["area"] == "370102"
    assert [e.actor_sub for e in api.events("auth.login")] == ["county1"]


def test_role_names_are_the_procedure_s_words(api):
    """第五条 names the province's and the ministry's bodies; 第二十三条 the self-service user, who may
    not be insured yet."""
    names = {
        role: api.client.get(ME, headers=api.mint(f"u-{role}", [role], area)).json()["role_names"]
        for role, area in (("province_admin", "37"), ("ministry", ""), ("citizen", ""))
    }
    assert names == {
        "province_admin": ["省级人力资源社会保障部门"],
        "ministry": ["人力资源社会保障部"],
        "citizen": ["单位或个人"],
    }


def test_surveyor_token_carries_their_active_teams(api):
    assert api.get("/me", "surveyor1").json()["teams"] == [1]
    with api.db.sessions() as s, s.begin():
        second = survey.create_team(
            s,
            actor=SYSTEM,
            name="解放路二组",
            area="370102001",
            members=[
                {"name": "李四", "card_no": "DC0101", "user_sub": "surveyor1"},
                {"name": "赵六", "card_no": "DC0102"},
            ],
        )
    assert api.get("/me", "surveyor1").json()["teams"] == [1, second["id"]]
    with api.db.sessions() as s, s.begin():
        survey.delete(s, actor=SYSTEM, team_id=1)
    assert api.get("/me", "surveyor1").json()["teams"] == [second["id"]]
    assert api.get("/me", "county1").json()["teams"] == []


def test_wrong_password_and_unknown_user_are_the_same_refusal(api):
    wrong = _login(api.client, "county1", "not-the-password")
    unknown = _login(api.client, "nobody", "not-the-password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "auth.login_failed"
    failed = api.events("auth.login_failed")
    assert [(e.object_id, e.payload_json["reason"]) for e in failed] == [
        ("county1", "bad_credentials"),
        ("nobody", "bad_credentials"),
    ]
    assert all(e.client_addr == "testclient" for e in failed)


def test_missing_and_malformed_tokens_are_refused(api):
    _assert_unauthenticated(api.client.get(ME))
    _assert_unauthenticated(api.client.get(ME, headers=_bearer("not-a-jwt")))
    _assert_unauthenticated(api.client.get(ME, headers={"Authorization": "Basic dXNlcjpwYXNz"}))


def test_expired_token_is_refused(api):
    token = jwt.encode(_claims(iat=int(time.time()) - 3600, exp=int(time.time()) - 60), SECRET, "HS256")
    _assert_unauthenticated(api.client.get(ME, headers=_bearer(token)), "auth.token_expired")


def test_tampered_signature_is_refused(api):
    header, payload, signature = api.token("surveyor1").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    promoted = _b64({**claims, "roles": ["county_approver"], "area": "37"})
    body = _assert_unauthenticated(api.client.get(ME, headers=_bearer(f"{header}.{promoted}.{signature}")))
    assert "签名" in body["detail"]
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    _assert_unauthenticated(api.client.get(ME, headers=_bearer(f"{header}.{payload}.{flipped}")))


def test_token_signed_with_another_secret_is_refused(api):
    token = jwt.encode(_claims(), "some-other-secret-0123456789abcdef0123", "HS256")
    _assert_unauthenticated(api.client.get(ME, headers=_bearer(token)))


def test_alg_none_is_refused(api):
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(roles=['city_admin'], area='37'))}."
    body = _assert_unauthenticated(api.client.get(ME, headers=_bearer(token)))
    assert "none" in body["detail"]


def test_token_without_role_or_area_is_refused(api):
    claims = _claims()
    del claims["area"]
    _assert_unauthenticated(api.client.get(ME, headers=_bearer(jwt.encode(claims, SECRET, "HS256"))))


def test_logout_revokes_the_token_at_once(api):
    token = _login(api.client, "platform1").json()["access_token"]
    assert api.client.get(ME, headers=_bearer(token)).status_code == 200
    assert api.client.post("/api/v1/auth/logout", headers=_bearer(token)).status_code == 204
    body = _assert_unauthenticated(api.client.get(ME, headers=_bearer(token)))
    assert "注销" in body["detail"]
    assert [e.actor_sub for e in api.events("auth.logout")] == ["platform1"]
    fresh = _login(api.client, "platform1").json()["access_token"]
    assert api.client.get(ME, headers=_bearer(fresh)).status_code == 200


def test_disabled_user_is_refused_with_a_live_token_and_at_login(api):
    token = api.token("platform2")
    with api.db.sessions() as s, s.begin():
        users.set_disabled(s, actor=SYSTEM, username="platform2", disabled=True)
    body = _assert_unauthenticated(api.client.get(ME, headers=_bearer(token)))
    assert "停用" in body["detail"]
    refused = _login(api.client, "platform2")  # the same answer as a wrong password (test_login_limits)
    assert refused.status_code == 401 and refused.json()["code"] == "auth.login_failed"
    assert [e.payload_json["reason"] for e in api.events("auth.login_failed")] == ["disabled"]


def test_login_form_with_missing_fields_names_each(api):
    r = api.client.post("/api/v1/auth/token", data={})
    assert r.status_code == 422
    assert {e["pointer"] for e in r.json()["errors"]} == {"/username", "/password"}


def test_local_secret_is_generated_once_with_mode_0600(db, tmp_path):
    settings = Settings(database_url=db.url, data_dir=tmp_path / "data", bpmn_dir=PROJECT_ROOT / "bpmn")
    first = create_app(settings, sessions=db.sessions).state.tokens
    path = tmp_path / "data" / "jwt-secret"
    assert path.stat().st_mode & 0o777 == 0o600
    token, _ = first.issue(sub="a", name="a", roles=["auditor"], area="3701", generation=0)
    second = create_app(settings, sessions=db.sessions).state.tokens
    assert second.verify(token).roles == ("auditor",)


def _rsa_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _idp_client(db, tmp_path, **settings) -> TestClient:
    config = Settings(
        database_url=db.url, data_dir=tmp_path, bpmn_dir=PROJECT_ROOT / "bpmn", jwt_secret=SECRET, **settings
    )
    return TestClient(create_app(config, sessions=db.sessions))


def test_rs256_token_verified_with_a_configured_public_key(api, db, tmp_path):
    private, public = _rsa_pair()
    (tmp_path / "idp.pem").write_text(public)
    client = _idp_client(db, tmp_path, jwt_public_key_file=tmp_path / "idp.pem")
    idp_token = jwt.encode(_claims(sub="idp-user", roles=["auditor"], area="3701"), private, "RS256")
    me = client.get(ME, headers=_bearer(idp_token))
    assert me.status_code == 200, me.text
    assert me.json()["sub"] == "idp-user" and me.json()["roles"] == ["auditor"]
    # Local HS256 tokens still work beside it.
    assert client.get(ME, headers=_bearer(api.token("county1"))).status_code == 200
    other_private, _ = _rsa_pair()
    forged = jwt.encode(_claims(roles=["auditor"], area="3701"), other_private, "RS256")
    _assert_unauthenticated(client.get(ME, headers=_bearer(forged)))
    # The public key is no HMAC secret: an HS256 token signed with it is refused (algorithm confusion).
    confused = jwt.encode(_claims(roles=["city_admin"], area="37"), SECRET, "HS256")
    confused_header, payload, _ = confused.split(".")
    signing_input = f"{confused_header}.{payload}".encode()
    mac = hmac.new(public.encode(), signing_input, hashlib.sha256).digest()
    sig = base64.urlsafe_b64encode(mac).decode().rstrip("=")
    _assert_unauthenticated(client.get(ME, headers=_bearer(f"{confused_header}.{payload}.{sig}")))


def test_rs256_token_verified_with_a_jwks_file(db, tmp_path):
    private, public = _rsa_pair()
    key = jwk.construct(public, "RS256").to_dict()
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**key, "kid": "idp-2026", "use": "sig"}]}))
    client = _idp_client(db, tmp_path, jwt_jwks_file=tmp_path / "jwks.json")
    token = jwt.encode(
        _claims(sub="idp-user", roles=["city_admin"], area="3701"),
        private,
        "RS256",
        headers={"kid": "idp-2026"},
    )
    me = client.get(ME, headers=_bearer(token))
    assert me.status_code == 200, me.text
    assert me.json()["roles"] == ["city_admin"]
    unknown_kid = jwt.encode(_claims(), private, "RS256", headers={"kid": "retired-key"})
    body = _assert_unauthenticated(client.get(ME, headers=_bearer(unknown_kid)))
    assert "密钥" in body["detail"]
    # Without any RSA key configured, RS256 is not accepted at all.
    _assert_unauthenticated(_idp_client(db, tmp_path).get(ME, headers=_bearer(token)))


def _reissued(token: str, **changes) -> str:
    """The same claims signed again with the app's key, with `changes` applied (None drops a claim)."""
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return jwt.encode(claims, SECRET, "HS256")


def test_a_token_without_jti_is_refused(api, db, tmp_path):
    token = api.token("platform1")
    assert api.client.get(ME, headers=_bearer(_reissued(token))).status_code == 200
    body = _assert_unauthenticated(api.client.get(ME, headers=_bearer(_reissued(token, jti=None))))
    assert "编号" in body["detail"]
    _assert_unauthenticated(api.client.get(ME, headers=_bearer(_reissued(token, jti=""))))
    # nor from the identity provider
    private, public = _rsa_pair()
    (tmp_path / "idp.pem").write_text(public)
    client = _idp_client(db, tmp_path, jwt_public_key_file=tmp_path / "idp.pem")
    claims = _claims(sub="idp-user", roles=["auditor"], area="3701")
    del claims["jti"]
    _assert_unauthenticated(client.get(ME, headers=_bearer(jwt.encode(claims, private, "RS256"))))


def test_tokens_issued_before_a_role_change_stay_dead_when_it_is_undone(api):
    token = api.token("platform1")
    with api.db.sessions() as s, s.begin():
        users.set_roles(s, actor=SYSTEM, username="platform1", roles=["county_approver"], area="370102")
    with api.db.sessions() as s, s.begin():
        users.set_roles(s, actor=SYSTEM, username="platform1", roles=["platform_reviewer"], area="370102001")
    body = _assert_unauthenticated(api.client.get(ME, headers=_bearer(token)))
    assert "重新登录" in body["detail"]
    fresh = _login(api.client, "platform1").json()["access_token"]
    assert api.client.get(ME, headers=_bearer(fresh)).status_code == 200


def test_tokens_issued_before_a_disable_stay_dead_after_enabling(api):
    token = api.token("platform2")
    for disabled in (True, False):
        with api.db.sessions() as s, s.begin():
            users.set_disabled(s, actor=SYSTEM, username="platform2", disabled=disabled)
    _assert_unauthenticated(api.client.get(ME, headers=_bearer(token)))
    assert _login(api.client, "platform2").status_code == 200


def test_tokens_issued_before_a_password_change_are_refused(api):
    token = api.token("county1")
    with api.db.sessions() as s, s.begin():
        users.set_password(s, actor=SYSTEM, username="county1", password="another-long-password")
    _assert_unauthenticated(api.client.get(ME, headers=_bearer(token)))


def test_a_forged_generation_is_refused(api):
    token = api.token("platform1")
    with api.db.sessions() as s, s.begin():
        users.set_disabled(s, actor=SYSTEM, username="platform1", disabled=False)
    # Only the app's key can say which generation a token belongs to; with it, the current one works.
    _assert_unauthenticated(api.client.get(ME, headers=_bearer(_reissued(token, gen=None))))
    assert api.client.get(ME, headers=_bearer(_reissued(token, gen=1))).status_code == 200


def test_an_rs256_token_with_an_unknown_kid_is_refused_beside_a_pem_key(db, tmp_path):
    private, public = _rsa_pair()
    (tmp_path / "idp.pem").write_text(public)
    client = _idp_client(db, tmp_path, jwt_public_key_file=tmp_path / "idp.pem")
    claims = _claims(sub="idp-user", roles=["auditor"], area="3701")
    assert client.get(ME, headers=_bearer(jwt.encode(claims, private, "RS256"))).status_code == 200
    unknown = jwt.encode(claims, private, "RS256", headers={"kid": "retired-key"})
    body = _assert_unauthenticated(client.get(ME, headers=_bearer(unknown)))
    assert "密钥" in body["detail"]
