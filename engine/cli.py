"""`canbao deploy`, `canbao definitions export/import` and `canbao worker`."""

from __future__ import annotations

from pathlib import Path

import typer

from canbao.actors import Actor
from canbao.config import get_settings
from canbao.db import make_engine, make_sessionmaker, transaction

from . import definitions, specs, xmltext
from .errors import InvalidDefinition

CLI_ACTOR = Actor(sub="cli", roles=("system",), area="", name="命令行")


def deploy(directory: Path = typer.Argument(None, help="BPMN 目录（默认为项目的 bpmn/）")) -> None:
    """部署目录中的全部流程；内容未变的不产生新版本。"""
    _deploy(directory or get_settings().bpmn_dir, comment=None, publish=True)


def _deploy(directory: Path, *, comment: str | None, publish: bool) -> None:
    try:
        with transaction(make_sessionmaker(make_engine(get_settings().database_url))) as s:
            results = definitions.deploy_directory(
                s, actor=CLI_ACTOR, directory=directory, comment=comment, publish=publish
            )
    except InvalidDefinition as err:
        typer.echo(err.detail, err=True)
        for p in err.problems:
            typer.echo(f"  [{p.code}] {p.element_id or '-'}: {p.message}", err=True)
        raise typer.Exit(1) from err
    for definition, created in results:
        typer.echo(f"{definition.key} v{definition.version} {'已部署' if created else '未变化'}")


definitions_app = typer.Typer(help="流程定义的导出与导入，便于纳入版本控制。", no_args_is_help=True)


@definitions_app.command("export")
def export(
    directory: Path = typer.Argument(..., help="导出目录"),
    key: list[str] = typer.Option(None, "--key", help="只导出这些流程（可重复）"),
) -> None:
    """把每个流程新案件所用的版本（无已发布版本时为最新版本）写成 <key>.bpmn，DMN 文件放在同名目录中。"""
    with transaction(make_sessionmaker(make_engine(get_settings().database_url))) as s:
        exported = definitions.export_directory(s, directory=directory, keys=key or None)
    for d in exported:
        typer.echo(f"{d.key} v{d.version} → {directory / (d.key + '.bpmn')}")


@definitions_app.command("import")
def import_(
    directory: Path = typer.Argument(..., help="含 *.bpmn（及同名目录中 *.dmn）的目录"),
    comment: str = typer.Option(None, help="版本说明（默认为“部署 <文件名>”）"),
    publish: bool = typer.Option(True, help="部署后立即发布，新案件从新版本开始"),
) -> None:
    """校验并部署目录中的全部流程：任何一个有问题则全部不部署；与已有版本内容相同的不产生新版本。"""
    _deploy(directory, comment=comment, publish=publish)


@definitions_app.command("validate")
def validate(files: list[Path] = typer.Argument(..., help="要校验的 BPMN 文件")) -> None:
    """校验 BPMN 文件而不部署：逐个列出问题及其所在元素（含规程规定的审核链与归档）；有问题时退出码为 1。"""
    failed = False
    for path in files:
        try:
            problems = specs.validate(xmltext.decode(path.read_bytes(), path.name))
        except InvalidDefinition as err:
            problems = err.problems
        typer.echo(f"{path.name}：{'通过' if not problems else f'{len(problems)} 处问题'}")
        for p in problems:
            typer.echo(f"  [{p.code}] {p.element_id or '（整个文档）'}: {p.message}")
        failed = failed or bool(problems)
    if failed:
        raise typer.Exit(1)
