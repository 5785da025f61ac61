"""The `canbao` command. Each package contributes its own sub-commands; this module assembles them."""

from __future__ import annotations

import logging
from datetime import timedelta

import typer
import uvicorn

from api import cli as api_cli
from archive import cli as archive_cli
from archive import store as archive_store
from backup import cli as backup_cli
from canbao import migrate
from canbao.actors import SYSTEM
from canbao.audit import anchors
from canbao.audit import cli as audit_cli
from canbao.config import get_settings
from canbao.db import make_engine, make_sessionmaker, transaction
from composition import casework
from composition.wiring import wire
from engine import cli as engine_cli
from engine import worker
from forms.cli import divisions_app, forms_app
from registry.cli import register as register_registry
from registry.stats.cli import app as stats_app

app = typer.Typer(help="canbao 全民参保登记", no_args_is_help=True, add_completion=False)


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


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="监听地址"),
    port: int = typer.Option(8000, help="端口"),
    workers: int = typer.Option(1, help="进程数"),
) -> None:
    """启动 HTTP 服务（API 与网页）。反向代理的 X-Forwarded-For 仅在 CANBAO_TRUSTED_PROXIES 列出时采信。"""
    # uvicorn's own proxy_headers would believe any loopback peer; the app does it for configured proxies.
    uvicorn.run(
        "composition.app:create_app", factory=True, host=host, port=port, workers=workers, proxy_headers=False
    )


@app.command("worker")
def worker_command(
    interval: float = typer.Option(2.0, help="轮询间隔（秒）"),
    anchor_every: int = typer.Option(
        int(anchors.EVERY.total_seconds()), help="有新审计事件时，每隔多少秒把链头写入档案存储（0：不写）"
    ),
) -> None:
    """运行后台任务：到期的定时器、待重试的归档、流程迁移，以及定期的审计锚点。"""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    sessions = make_sessionmaker(make_engine(settings.database_url))
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
    worker.serve(sessions, interval=interval, chores=chores)


@app.command("demo")
def demo_command(
    persons: int = typer.Option(5000, help="合成人口数"),
    cases: int = typer.Option(60, help="为解放路街道调查名单生成的入户调查案件数"),
) -> None:
    """载入济南演示数据：区划、流程、各岗位用户、合成人口、信息比对、调查小组与调查案件。"""
    from composition import demo

    settings = get_settings()
    migrate.upgrade(settings.database_url)
    report = demo.run(
        make_sessionmaker(make_engine(settings.database_url)), settings, persons=persons, cases=cases
    )
    typer.echo(
        f"演示数据已载入：{report.persons} 人，比对 {report.comparison['counts']}，"
        f"新建调查案件 {report.survey_cases} 件"
    )
    typer.echo(f"用户（密码为 CANBAO_DEMO_PASSWORD，默认 canbao-demo）：{', '.join(demo.USERS)}")


@app.command("migrate")
def migrate_command() -> None:
    """把数据库升级到最新结构。"""
    migrate.upgrade(get_settings().database_url)
    typer.echo("数据库已升级到最新版本")


def main() -> None:
    app()


if __name__ == "__main__":  # `spark-submit composition/cli.py compare --engine spark …` (README)
    main()
