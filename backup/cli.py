"""`canbao backup create | restore | drill | key`."""

from __future__ import annotations

from pathlib import Path

import typer

from canbao.actors import Actor
from canbao.audit import signing
from canbao.config import get_settings
from canbao.errors import CanbaoError

from . import keys
from .create import create
from .deployment import Deployment
from .drill import drill
from .restore import Restored, restore

app = typer.Typer(help="容灾备份：备份、恢复与演练（第二十六条）", no_args_is_help=True)
CLI_ACTOR = Actor(sub="cli", roles=("system",), area="", name="命令行")

KEY_FILE = typer.Option(None, "--key-file", help=f"备份密钥文件（默认读环境变量 {keys.ENV}）")


def _fail(err: CanbaoError) -> typer.Exit:
    problems = getattr(err, "problems", None) or [err.detail]
    typer.echo(f"{err.title}：\n" + "\n".join(f"- {p}" for p in problems), err=True)
    return typer.Exit(2)


@app.command("key")
def key_command(file: Path = typer.Argument(..., help="新密钥写入的文件（不得已存在）")) -> None:
    """生成一个新的备份密钥（32 字节，base64），只有文件所有者可读。密钥与备份分开保管。"""
    try:
        keys.generate(file)
    except FileExistsError:
        typer.echo(f"{file} 已存在：不会覆盖已有密钥", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"已生成备份密钥 {file}")


@app.command("create")
def create_command(
    directory: Path = typer.Argument(..., help="备份写入的新目录"), key_file: Path = KEY_FILE
) -> None:
    """不停机备份：数据库一致快照、快照所引用的全部档案对象（含保留期）与验签公钥，加密并签名。"""
    settings = get_settings()
    try:
        created = create(
            Deployment.from_settings(settings), directory, master=keys.load(key_file), actor=CLI_ACTOR
        )
    except CanbaoError as err:
        raise _fail(err) from err
    m = created.manifest
    typer.echo(
        f"备份完成：{directory}，{len(m['files'])} 个文件 {created.bytes / 1e6:.1f} MB，"
        f"档案对象 {m['archive']['objects']} 个，审计事件 {m['counts'].get('audit_event', 0)} 个，"
        f"用时 {created.seconds:.1f} 秒；{m['crypto']['cipher']} 加密，{m['crypto']['signature']} 签名"
        f"（密钥 {m['signature']['key_id']}）"
    )


@app.command("restore")
def restore_command(
    directory: Path = typer.Argument(..., exists=True, file_okay=False, help="备份目录"),
    key_file: Path = KEY_FILE,
    public_key: list[Path] = typer.Option(
        None,
        "--public-key",
        help="受信任的签名公钥（PEM 文件或存放 *.pub.pem 的目录，可重复；默认为本部署的密钥目录）",
    ),
) -> None:
    """核验签名与每个文件后恢复到空的部署，随后运行审计链与档案校验并报告结果。"""
    settings = get_settings()
    trusted = signing.load_public_keys(*public_key) if public_key else signing.trusted_keys(settings.data_dir)
    try:
        restored = restore(
            directory,
            Deployment.from_settings(settings),
            master=keys.load(key_file),
            trusted=trusted,
            actor=CLI_ACTOR,
        )
    except CanbaoError as err:
        raise _fail(err) from err
    typer.echo(summary(restored))
    raise typer.Exit(0 if restored.ok else 1)


@app.command("drill")
def drill_command(
    key_file: Path = KEY_FILE,
    keep: Path = typer.Option(None, "--keep", help="保留演练生成的备份到此新目录"),
) -> None:
    """演练：备份 → 恢复到临时部署 → 校验 → 核对行数，输出一行可归档的演练记录。"""
    try:
        result = drill(
            Deployment.from_settings(get_settings()), master=keys.load(key_file), actor=CLI_ACTOR, keep=keep
        )
    except CanbaoError as err:
        raise _fail(err) from err
    typer.echo(result.line())
    raise typer.Exit(0 if result.ok else 1)


def summary(restored: Restored) -> str:
    counts = restored.counts
    lines = [
        f"已恢复：{len(counts)} 张表，人员 {counts.get('person', 0)}、案件 {counts.get('cases', 0)}、"
        f"待办 {counts.get('case_task', 0)}、审计事件 {counts.get('audit_event', 0)}；"
        f"档案对象 {restored.objects} 个（{restored.versions_changed} 个取得了新的版本号），"
        f"用时 {restored.seconds:.1f} 秒",
    ]
    for table, (expected, got) in sorted(restored.count_differences.items()):
        lines.append(f"- 表 {table} 行数不符：备份 {expected}，恢复后 {got}")
    audit_report = restored.audit
    lines.append(
        f"审计链校验：{'完整' if audit_report.ok else '发现问题'}（{audit_report.events} 个事件，"
        f"{audit_report.anchors} 个锚点，{audit_report.method}）"
    )
    lines.extend(f"- 链 {b.chain} 第 {b.seq} 号：{b.detail}" for b in audit_report.breaks)
    lines.extend(f"- {p}" for p in audit_report.anchor_problems)
    summary = restored.archive.summary()
    lines.append(
        f"档案校验：{'全部一致' if restored.archive.ok else '发现问题'}（{summary['documents']} 份材料、"
        f"{summary['manifests']} 份归档清单、{summary['objects']} 个存储对象）"
    )
    lines.extend(f"- {f.problem} {f.key}：{f.detail}" for f in restored.archive.findings)
    return "\n".join(lines)
