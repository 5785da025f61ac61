"""`canbao users …`: the local users."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.orm import Session

from canbao.actors import ROLES, Actor
from canbao.config import get_settings
from canbao.db import make_engine, make_sessionmaker, transaction
from canbao.errors import CanbaoError

from .auth import service as users

users_app = typer.Typer(help="本地用户管理", no_args_is_help=True)
ROLE_HELP = "岗位，可重复。可用： " + " ".join(f"{code}（{title}）" for code, title in ROLES.items())
AREA_HELP = "区域代码（行政区划，2–12 位；部级、流程管理员与市民可为空字符串）"
PASSWORD_HELP = "密码；省略时提示输入（不回显，输入两次），以免留在命令历史里"
CLI_ACTOR = Actor(sub="cli", roles=("system",), area="", name="命令行")


@contextmanager
def _action() -> Iterator[Session]:
    """One transaction against the configured database; refusals are printed in Chinese, exit status 1."""
    engine = make_engine(get_settings().database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            yield session
    except CanbaoError as err:
        typer.echo(f"错误：{err.detail}", err=True)
        for field in getattr(err, "errors", []):
            typer.echo(f"  {field.pointer}：{field.message}（{field.code}）", err=True)
        raise typer.Exit(1) from err
    finally:
        engine.dispose()


@users_app.command("add")
def add(
    username: str,
    name: str = typer.Option(..., help="姓名"),
    role: list[str] = typer.Option(..., "--role", help=ROLE_HELP),
    area: str = typer.Option(..., help=AREA_HELP),
    password: str = typer.Option(
        ..., prompt="密码", hide_input=True, confirmation_prompt="再次输入密码", help=PASSWORD_HELP
    ),
) -> None:
    """新增用户。"""
    with _action() as s:
        users.create(
            s, actor=CLI_ACTOR, username=username, name=name, password=password, roles=role, area=area
        )
    typer.echo(json.dumps({"username": username, "roles": role, "area": area}, ensure_ascii=False))


@users_app.command("disable")
def disable(username: str, enable: bool = typer.Option(False, "--enable", help="重新启用")) -> None:
    """停用（或 --enable 重新启用）用户。"""
    with _action() as s:
        users.set_disabled(s, actor=CLI_ACTOR, username=username, disabled=not enable)
    typer.echo(f"{username} 已{'启用' if enable else '停用'}")


@users_app.command("set-password")
def set_password(
    username: str,
    password: str = typer.Option(
        ..., prompt="新密码", hide_input=True, confirmation_prompt="再次输入新密码", help=PASSWORD_HELP
    ),
) -> None:
    """重设密码。"""
    with _action() as s:
        users.set_password(s, actor=CLI_ACTOR, username=username, password=password)
    typer.echo(f"{username} 的密码已重设")


@users_app.command("set-roles")
def set_roles(
    username: str,
    role: list[str] = typer.Option(..., "--role", help=ROLE_HELP),
    area: str = typer.Option(..., help=AREA_HELP),
) -> None:
    """变更用户的岗位与区域（已签发的令牌随即失效）。"""
    with _action() as s:
        users.set_roles(s, actor=CLI_ACTOR, username=username, roles=role, area=area)
    typer.echo(json.dumps({"username": username, "roles": role, "area": area}, ensure_ascii=False))
