"""`canbao stats …`: bring the statistics aggregate up to date (after a bulk import, or on a timer)
instead of leaving the work to the first reader."""

from __future__ import annotations

import typer

from canbao.config import get_settings
from canbao.db import make_engine, make_sessionmaker, transaction

from . import build, rules

app = typer.Typer(help="统计：刷新统计汇总", no_args_is_help=True)


@app.command("refresh")
def refresh_command(
    full: bool = typer.Option(False, "--full", help="全部重建（否则只处理有变动的人员）"),
) -> None:
    """按登记库的变动更新统计汇总（每日跨度、各区划增量、月初检查点）。"""
    with transaction(make_sessionmaker(make_engine(get_settings().database_url))) as s:
        result = build.refresh(s, full=full)
    mode = {"none": "无变动", "incremental": "增量", "full": "全部重建"}[result.mode]
    typer.echo(
        f"统计已更新（{mode}）：{result.persons} 人，{result.seconds:.1f} 秒，口径 {rules.RULE_VERSION}"
    )
