"""`canbao deploy` and `canbao worker`."""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from canbao.actors import Actor
from canbao.config import get_settings
from canbao.db import make_engine, make_sessionmaker, transaction
from canbao.wiring import wire

from . import definitions, worker

CLI_ACTOR = Actor(sub="cli", roles=("system",), area="", name="命令行")


def deploy(directory: Path = typer.Argument(None, help="BPMN 目录（默认为项目的 bpmn/）")) -> None:
    """部署目录中的全部流程；内容未变的不产生新版本。"""
    settings = get_settings()
    wire()
    with transaction(make_sessionmaker(make_engine(settings.database_url))) as s:
        results = definitions.deploy_directory(s, actor=CLI_ACTOR, directory=directory or settings.bpmn_dir)
    for definition, created in results:
        typer.echo(f"{definition.key} v{definition.version} {'已部署' if created else '未变化'}")


def run_worker(interval: float = typer.Option(2.0, help="轮询间隔（秒）")) -> None:
    """运行后台任务：到期的定时器、待重试的归档等操作。"""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    wire()
    worker.serve(make_sessionmaker(make_engine(get_settings().database_url)), interval=interval)
