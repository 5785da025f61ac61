"""`canbao users …` against the test database, and `canbao serve` as a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from api.auth import passwords
from api.auth.models import User
from canbao import migrate
from canbao.actors import ROLES
from canbao.audit.models import AuditEvent
from canbao.config import get_settings
from composition.cli import app

STRONG = "a-long-enough-password"


@pytest.fixture
def cli(db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _user(db, username: str) -> User | None:
    with db.sessions() as s:
        return s.scalar(select(User).where(User.username == username))


def _actions(db) -> list[tuple[str, str, str]]:
    with db.sessions() as s:
        return [
            (e.actor_sub, e.action, e.object_id)
            for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))
        ]


def test_users_add_disable_and_set_password(cli, db):
    added = cli.invoke(
        app,
        ["users", "add", "platform5", "--name", "赵六", "--role", "platform_reviewer", "--area", "370102001"],
        input=f"{STRONG}\n{STRONG}\n",
    )
    assert added.exit_code == 0, added.output
    user = _user(db, "platform5")
    assert user.name == "赵六" and user.roles == ["platform_reviewer"] and user.area == "370102001"
    assert passwords.verify(user.password_hash, STRONG) and STRONG not in user.password_hash

    assert cli.invoke(app, ["users", "disable", "platform5"]).exit_code == 0
    assert _user(db, "platform5").disabled is True
    assert cli.invoke(app, ["users", "disable", "platform5", "--enable"]).exit_code == 0
    assert _user(db, "platform5").disabled is False

    changed = cli.invoke(app, ["users", "set-password", "platform5", "--password", "another-long-password"])
    assert changed.exit_code == 0, changed.output
    hashed = _user(db, "platform5").password_hash
    assert passwords.verify(hashed, "another-long-password") and not passwords.verify(hashed, STRONG)
    assert _actions(db) == [
        ("cli", "user.create", "platform5"),
        ("cli", "user.disable", "platform5"),
        ("cli", "user.enable", "platform5"),
        ("cli", "user.set_password", "platform5"),
    ]


def test_users_add_refuses_bad_input_naming_each_field_and_writes_nothing(cli, db):
    r = cli.invoke(
        app,
        [
            "users",
            "add",
            "bad name!",
            "--name",
            "x",
            "--role",
            "wizard",
            "--area",
            "37a",
            "--password",
            "short",
        ],
    )
    assert r.exit_code == 1
    for pointer in ("/username", "/password", "/roles", "/area"):
        assert pointer in r.output
    assert "未通过校验" in r.output or "处错误" in r.output
    assert _user(db, "bad name!") is None and _actions(db) == []


def test_users_commands_refuse_unknown_users_and_duplicates(cli, db):
    args = ["users", "add", "county5", "--name", "钱七", "--role", "county_approver", "--area", "370102"]
    assert cli.invoke(app, [*args, "--password", STRONG]).exit_code == 0
    again = cli.invoke(app, [*args, "--password", STRONG])
    assert again.exit_code == 1 and "已存在" in again.output
    missing = cli.invoke(app, ["users", "disable", "nobody"])
    assert missing.exit_code == 1 and "不存在" in missing.output
    short = cli.invoke(app, ["users", "set-password", "county5", "--password", "short"])
    assert short.exit_code == 1 and "/password" in short.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_runs_the_app_on_a_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'canbao.db'}"
    migrate.upgrade(url)
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "CANBAO_DATA_DIR": str(tmp_path / "var")}
    env.pop("CANBAO_S3_ENDPOINT", None)
    canbao = Path(sys.executable).parent / "canbao"
    server = subprocess.Popen(
        [str(canbao), "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "canbao serve did not start"
                time.sleep(0.2)
        assert health.json() == {"status": "ok"}
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["database"] == "ok"
        assert httpx.get(f"{base}/api/docs", timeout=5).status_code == 200
        spec = httpx.get(f"{base}/api/v1/openapi.json", timeout=5).json()
        assert "/api/v1/tasks" in spec["paths"]
        assert httpx.get(f"{base}/api/v1/me", timeout=5).status_code == 401
        secret = tmp_path / "var" / "jwt-secret"
        assert secret.exists() and secret.stat().st_mode & 0o777 == 0o600
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_users_set_roles_records_old_and_new_and_ends_old_tokens(cli, db, api):
    token = api.token("platform1")
    moved = cli.invoke(
        app, ["users", "set-roles", "platform1", "--role", "county_approver", "--area", "370102"]
    )
    assert moved.exit_code == 0, moved.output
    user = _user(db, "platform1")
    assert (user.roles, user.area) == (["county_approver"], "370102")
    with db.sessions() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "user.set_roles")).one()
    assert event.payload_json == {
        "old": {"roles": ["platform_reviewer"], "area": "370102001"},
        "new": {"roles": ["county_approver"], "area": "370102"},
    }
    stale = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert stale.status_code == 401 and "重新登录" in stale.json()["detail"]
    refused = cli.invoke(app, ["users", "set-roles", "platform1", "--role", "janitor", "--area", "3701"])
    assert refused.exit_code == 1 and "/roles" in refused.output


def test_users_add_prompts_for_the_password_hidden_and_confirmed(cli, db):
    args = ["users", "add", "county6", "--name", "孙八", "--role", "county_approver", "--area", "370102"]
    mismatched = cli.invoke(app, args, input=f"{STRONG}\nsomething-else-entirely\n{STRONG}\n{STRONG}\n")
    assert mismatched.exit_code == 0, mismatched.output
    assert "密码" in mismatched.output and "再次输入密码" in mismatched.output
    assert STRONG not in mismatched.output  # never echoed
    assert passwords.verify(_user(db, "county6").password_hash, STRONG)


def test_users_add_help_lists_the_roles_and_an_unknown_role_is_refused_naming_them(cli, db):
    shown = cli.invoke(app, ["users", "add", "--help"], terminal_width=80)
    for code, title in ROLES.items():
        assert code in shown.output and title in shown.output
    refused = cli.invoke(
        app,
        ["users", "add", "x1", "--name", "某", "--role", "janitor", "--area", "3701", "--password", STRONG],
    )
    assert refused.exit_code == 1 and "janitor" in refused.output
    assert "可用的岗位" in refused.output and "county_approver（县级经办机构）" in refused.output
    assert _user(db, "x1") is None
