"""Who the client is: X-Forwarded-For and X-Forwarded-Proto count only when the connection comes from a
proxy named in CANBAO_TRUSTED_PROXIES (none by default), in `canbao serve` and in the app itself."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.auth.models import LoginThrottle
from canbao.config import PROJECT_ROOT, Settings, from_environ
from composition.app import create_app

from .conftest import PASSWORD, SECRET
from .test_cli import _free_port

SPOOFED = {"X-Forwarded-For": "9.9.9.9", "X-Forwarded-Proto": "https"}


def _login(client, **kw):
    return client.post("/api/v1/auth/token", data={"username": "county1", "password": PASSWORD}, **kw)


def _last_login_addr(api) -> str:
    return api.events("auth.login")[-1].client_addr


@contextmanager
def _serve(db, tmp_path: Path, **env: str) -> Iterator[str]:
    port = _free_port()
    environ = {**os.environ, "DATABASE_URL": db.url, "CANBAO_DATA_DIR": str(tmp_path), **env}
    environ["CANBAO_JWT_SECRET"] = SECRET
    for name in ("CANBAO_S3_ENDPOINT", "FORWARDED_ALLOW_IPS", *(() if env else ("CANBAO_TRUSTED_PROXIES",))):
        environ.pop(name, None)
    canbao = Path(sys.executable).parent / "canbao"
    server = subprocess.Popen(
        [str(canbao), "serve", "--port", str(port)],
        env=environ,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "canbao serve did not start"
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_serve_ignores_forwarded_headers_from_a_loopback_peer_by_default(api, db, tmp_path):
    with _serve(db, tmp_path) as base, httpx.Client(base_url=base, timeout=10) as client:
        assert _login(client, headers=SPOOFED).status_code == 200
        assert _last_login_addr(api) == "127.0.0.1"
        page = client.get("/login", headers=SPOOFED)
        assert "secure" not in page.headers["set-cookie"].lower()


def test_serve_believes_a_configured_proxy(api, db, tmp_path):
    with (
        _serve(db, tmp_path, CANBAO_TRUSTED_PROXIES="127.0.0.1") as base,
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        assert _login(client, headers=SPOOFED).status_code == 200
        assert _last_login_addr(api) == "9.9.9.9"
        page = client.get("/login", headers=SPOOFED)
        assert "; secure" in page.headers["set-cookie"].lower()


def _app_behind(db, tmp_path, proxies: tuple[str, ...]):
    settings = Settings(
        database_url=db.url,
        data_dir=tmp_path,
        bpmn_dir=PROJECT_ROOT / "bpmn",
        jwt_secret=SECRET,
        trusted_proxies=proxies,
    )
    return create_app(settings, sessions=db.sessions)


def test_the_client_is_the_nearest_address_no_trusted_proxy_vouches_for(api, db, tmp_path):
    app = _app_behind(db, tmp_path, ("10.0.0.0/8",))
    proxy = TestClient(app, client=("10.0.0.5", 40000))
    # The client wrote 1.2.3.4 itself; the proxy appended the address it saw.
    assert _login(proxy, headers={"X-Forwarded-For": "1.2.3.4, 9.9.9.9"}).status_code == 200
    assert _last_login_addr(api) == "9.9.9.9"
    # Two proxies of ours in a row: the first address neither of them is.
    assert _login(proxy, headers={"X-Forwarded-For": "9.9.9.8, 10.0.0.7"}).status_code == 200
    assert _last_login_addr(api) == "9.9.9.8"
    # A peer that is not a configured proxy is the client, whatever it writes.
    stranger = TestClient(app, client=("127.0.0.1", 40000))
    assert _login(stranger, headers={"X-Forwarded-For": "9.9.9.9"}).status_code == 200
    assert _last_login_addr(api) == "127.0.0.1"


def test_a_spoofed_address_does_not_escape_the_address_limit(api, db, tmp_path):
    client = TestClient(_app_behind(db, tmp_path, ()), client=("127.0.0.1", 40000))
    for i in range(3):
        form = {"username": f"guess{i}", "password": "wrong-password-x"}
        r = client.post("/api/v1/auth/token", data=form, headers={"X-Forwarded-For": f"9.9.9.{i}"})
        assert r.status_code == 401
    with db.sessions() as s:
        counted = {(r.address, r.failures) for r in s.scalars(select(LoginThrottle)) if r.scope == "address"}
    assert counted == {("127.0.0.1", 3)}
    assert {e.client_addr for e in api.events("auth.login_failed")} == {"127.0.0.1"}


def test_trusted_proxies_are_read_from_the_environment_and_checked(monkeypatch):
    monkeypatch.delenv("CANBAO_TRUSTED_PROXIES", raising=False)
    assert from_environ().trusted_proxies == ()
    monkeypatch.setenv("CANBAO_TRUSTED_PROXIES", " 10.0.0.0/8, 192.168.1.10 ,::1")
    assert from_environ().trusted_proxies == ("10.0.0.0/8", "192.168.1.10/32", "::1/128")
    monkeypatch.setenv("CANBAO_TRUSTED_PROXIES", "10.0.0.0/8,proxy.local")
    with pytest.raises(ValueError, match=r"CANBAO_TRUSTED_PROXIES.*proxy\.local"):
        from_environ()
