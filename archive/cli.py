"""`canbao archive …`: checks of the stored paperwork."""

from __future__ import annotations

import json

import typer

from canbao import audit
from canbao.actors import Actor
from canbao.config import get_settings
from canbao.db import make_engine, make_sessionmaker, transaction

from . import store
from .verify import verify

app = typer.Typer(help="档案：归档材料与归档清单的校验", no_args_is_help=True)
CLI_ACTOR = Actor(sub="cli", roles=("system",), area="", name="命令行")


@app.command("verify")
def verify_command(case: int = typer.Option(None, "--case", help="只校验该案件的材料")) -> None:
    """重新读取存档对象，核对数据库与归档清单中的校验值；报告缺失、被改动和无记录（孤立）的对象。"""
    settings = get_settings()
    sessions = make_sessionmaker(make_engine(settings.database_url))
    archive = store.from_settings(settings)
    try:
        with transaction(sessions) as session:
            report = verify(session, archive, case_id=case)
            audit.record(
                session,
                actor=CLI_ACTOR,
                action="archive.verify",
                object_type="archive",
                object_id=case if case is not None else "all",
                payload=report.summary(),
                case_id=case,
            )
    except store.StoreUnavailable as err:
        typer.echo(f"无法校验：{err.detail}", err=True)
        raise typer.Exit(2) from err
    for finding in report.findings:
        where = f"案件 {finding.case_id} " if finding.case_id is not None else ""
        which = f"材料 {finding.document_id} " if finding.document_id is not None else ""
        typer.echo(
            f"{finding.problem}\t{finding.key}\t版本 {finding.version}\t{where}{which}{finding.detail}"
        )
    summary = report.summary()
    checked = (
        f"已校验 {summary['documents']} 份材料、{summary['manifests']} 份归档清单、"
        f"{summary['objects']} 个存储对象"
    )
    typer.echo(f"{checked}：" + ("全部一致" if report.ok else f"发现 {len(report.findings)} 处问题"))
    typer.echo(json.dumps(summary, ensure_ascii=False))
    raise typer.Exit(0 if report.ok else 1)
