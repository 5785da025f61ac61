"""The `canbao` command. Each package contributes its own sub-commands; this module assembles them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import typer
import uvicorn
from rich.text import Text
from sqlalchemy.orm import Session, sessionmaker
from typer import rich_utils

from api import cli as api_cli
from archive import cli as archive_cli
from archive import store as archive_store
from backup import cli as backup_cli
from canbao import logs, migrate
from canbao.actors import SYSTEM
from canbao.audit import anchors
from canbao.audit import cli as audit_cli
from canbao.config import Settings, get_settings
from canbao.db import engine_for, make_engine, make_sessionmaker, transaction
from composition import casework
from composition.wiring import wire
from engine import cli as engine_cli
from engine import worker
from forms.cli import divisions_app, forms_app
from registry import exchange
from registry.cli import register as register_registry
from registry.stats.cli import app as stats_app

log = logging.getLogger("canbao.worker")
app = typer.Typer(help="canbao 全民参保登记", no_args_is_help=True, add_completion=False)


def _fold_long_help() -> None:
    """Rich ends a help line that has no space to break at with "…", and every Chinese sentence is one
    such word: in an 80-column terminal the help lost its ends. Typer builds each help text in
    `_make_rich_text`; its texts fold onto the next line instead (`tests/test_cli_help.py`)."""
    make = rich_utils._make_rich_text

    def folding(**kwargs: Any) -> Any:
        text = make(**kwargs)
        if isinstance(text, Text):
            text.overflow = "fold"
        return text

    rich_utils._make_rich_text = folding


_fold_long_help()


app.command("deploy")(engine_cli.deploy)
app.add_typer(engine_cli.definitions_app, name="definitions")
app.add_typer(api_cli.users_app, name="users")
app.add_typer(divisions_app, name="divisions")
app.add_typer(forms_app, name="forms")
app.add_typer(archive_cli.app, name="archive")
app.add_typer(audit_cli.make_app(archive_store.current), name="audit")
app.add_typer(backup_cli.app, name="backup")
app.add_typer(stats_app, name="stats")
register_registry(app, survey_ledger=casework.survey_ledger)


@app.callback()
def root() -> None:
    """canbao 全民参保登记 — BPMN 案件、登记库、统计与归档。"""
    wire()  # every command sees the service-task operations the packages provide


WORKER_HEALTHCHECK_S = 60


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="监听地址"),
    port: int = typer.Option(8000, help="端口"),
    workers: int = typer.Option(1, help="进程数"),
) -> None:
    """启动 HTTP 服务（API 与网页）。反向代理的 X-Forwarded-For 仅在 CANBAO_TRUSTED_PROXIES 列出时采信。"""
    # uvicorn's own proxy_headers would believe any loopback peer; the app does it for configured proxies.
    uvicorn.run(
        "composition.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        log_config=logs.dict_config(uvicorn.config.LOGGING_CONFIG),
        # uvicorn's supervisor kills a worker that does not answer its ping within 5 s: on a loaded
        # machine a worker busy starting up or serving is then killed, and its requests with it.
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )


@app.command("worker")
def worker_command(
    interval: float = typer.Option(2.0, help="轮询间隔（秒）"),
    anchor_every: int = typer.Option(
        int(anchors.EVERY.total_seconds()), help="有新审计事件时，每隔多少秒把链头写入档案存储（0：不写）"
    ),
) -> None:
    """运行后台任务：到期的定时器、待重试的归档、流程迁移，以及定期的审计锚点。"""
    logs.configure()
    settings = get_settings()
    sessions = make_sessionmaker(engine_for(settings))
    chores = []
    if anchor_every > 0:

        def write_anchor() -> None:
            with transaction(sessions) as s:
                anchors.write_if_due(
                    s,
                    archive_store.current(),
                    actor=SYSTEM,
                    data_dir=settings.data_dir,
                    every=timedelta(seconds=anchor_every),
                )

        chores.append(write_anchor)
    scheduled = exchange_chore(sessions, settings)
    if scheduled is not None:
        chores.append(scheduled)
    worker.serve(sessions, interval=interval, chores=chores)


def exchange_chore(sessions: sessionmaker[Session], settings: Settings) -> Callable[[], None] | None:
    """The scheduled export of this registry's changes for the level above (CANBAO_EXCHANGE_AREA, every
    CANBAO_EXCHANGE_EVERY seconds), or None when it is not configured. Between tries it asks nothing of
    the database; the last export's time in the database decides across workers and restarts."""
    if not settings.exchange_area or settings.exchange_every_seconds <= 0:
        return None
    area, every = settings.exchange_area, timedelta(seconds=settings.exchange_every_seconds)
    next_try = [0.0]

    def export_changes() -> None:
        if time.monotonic() < next_try[0]:
            return
        next_try[0] = time.monotonic() + min(every.total_seconds(), 60)
        with transaction(sessions) as s:
            batch = exchange.export_if_due(
                s, actor=SYSTEM, area=area, data_dir=settings.data_dir, every=every
            )
        if batch is not None:
            log.info(
                "exchange: batch %s of %s ready for the level above (%s)",
                batch.origin_batch,
                area,
                batch.counts,
            )

    return export_changes


@app.command("demo")
def demo_command(
    persons: int = typer.Option(5000, help="合成人口数，历下区与市中区各一半（某区已有人口则不再生成）"),
    cases: int = typer.Option(
        10, help="每个演示街道（姚家街道、十六里河街道）开到多少件入户调查案件（调查名单不足时少于此数）"
    ),
) -> None:
    """载入济南演示办公室：两个区及其基层平台、各岗位用户、合成人口、信息比对、两位市民、调查小组与调查案件。
    重复运行不重复载入，只补上缺少的部分，并说明哪些已有、哪些本次新增。"""
    from composition import demo

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    report = demo.run(
        make_sessionmaker(make_engine(settings.database_url)), settings, persons=persons, cases=cases
    )
    hint = "CANBAO_DEMO_PASSWORD 所设" if settings.demo_password != "canbao-demo" else "canbao-demo"
    for line in report.lines(hint):
        typer.echo(line)


@app.command("migrate")
def migrate_command() -> None:
    """把数据库升级到最新结构。"""
    migrate.upgrade(get_settings().database_url)
    typer.echo("数据库已升级到最新版本")


def main() -> None:
    app()


if __name__ == "__main__":  # `spark-submit composition/cli.py compare --engine spark …` (README)
    main()
