"""`canbao audit verify | anchor | verify-export`.

The archive is handed in by the composition root (`composition/cli.py`), since `canbao.audit` sits below
the archive package.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import typer

from canbao.actors import Actor
from canbao.config import get_settings
from canbao.db import make_engine, make_sessionmaker, transaction

from . import anchors, export, signing, verifications, verify

CLI_ACTOR = Actor(sub="cli", roles=("system",), area="", name="命令行")
log = logging.getLogger(__name__)


def make_app(store: Callable[[], anchors.AnchorStore]) -> typer.Typer:
    app = typer.Typer(help="审计日志：完整性校验、归档锚点、导出文件核验", no_args_is_help=True)

    @app.command("verify")
    def verify_command(
        as_json: bool = typer.Option(False, "--json", help="输出 JSON"),
        no_anchors: bool = typer.Option(False, "--no-anchors", help="不读取归档中的锚点"),
    ) -> None:
        """重算全部哈希链，指出每条链第一个被篡改、删除或调换的事件，并与归档锚点核对。"""
        settings = get_settings()
        sessions = make_sessionmaker(make_engine(settings.database_url))
        found = None if no_anchors else anchors.read_all(store(), data_dir=settings.data_dir)
        with sessions() as s:
            report = verify.run(s, anchors=found)
        with transaction(sessions) as s:
            verifications.record(s, CLI_ACTOR, report)
        if as_json:
            typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))
        else:
            typer.echo(summary(report))
        raise typer.Exit(0 if report.ok else 1)

    @app.command("anchor")
    def anchor_command(
        every: int = typer.Option(0, help="每隔多少秒检查一次并在有新事件时写入锚点（0：只写一次）"),
    ) -> None:
        """把每条链的链头哈希签名后写入档案存储，使整链改写也能被发现。"""
        settings = get_settings()
        sessions = make_sessionmaker(make_engine(settings.database_url))
        if every <= 0:
            with transaction(sessions) as s:
                written = anchors.write(s, store(), actor=CLI_ACTOR, data_dir=settings.data_dir)
            typer.echo(f"已写入锚点 {written.key}（{written.events} 个事件）")
            return
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        while True:
            try:
                with transaction(sessions) as s:
                    written = anchors.write_if_due(
                        s,
                        store(),
                        actor=CLI_ACTOR,
                        data_dir=settings.data_dir,
                        every=timedelta(seconds=every),
                    )
                if written is not None:
                    log.info("anchor %s written (%s events)", written.key, written.events)
            except Exception:
                log.exception("writing the audit anchor failed; retrying in %s s", every)
            time.sleep(min(every, 60))

    @app.command("verify-export")
    def verify_export_command(
        file: Path = typer.Argument(..., exists=True, dir_okay=False, help="导出的案件经办记录 JSON"),
        public_key: list[Path] = typer.Option(
            None,
            "--public-key",
            help="受信任的公钥（PEM 文件或存放 *.pub.pem 的目录，可重复；默认为本机密钥目录）",
        ),
    ) -> None:
        """离线核验导出文件：签名、每个事件的哈希及事件之间的链接。"""
        keys = (
            signing.load_public_keys(*public_key)
            if public_key
            else signing.trusted_keys(get_settings().data_dir)
        )
        result = export.check(file.read_bytes(), keys=keys)
        if result.ok:
            typer.echo(f"核验通过：案件 {result.case_id}，{result.events} 个事件，签名密钥 {result.key_id}")
        else:
            typer.echo("核验未通过：\n" + "\n".join(f"- {p}" for p in result.problems), err=True)
        raise typer.Exit(0 if result.ok else 1)

    return app


def summary(report: verify.Report) -> str:
    lines = [
        f"{'完整' if report.ok else '发现篡改'}：{report.events} 个事件，{len(report.chains)} 条链，"
        f"{report.anchors} 个锚点，用时 {report.seconds:.2f} 秒（{report.method}）"
    ]
    if report.unanchored is not None:
        newest = f"（最新的锚点 {report.newest_anchor}）" if report.newest_anchor else "（尚无锚点）"
        lines.append(f"尚未被归档锚点覆盖的事件：{report.unanchored} 个{newest}")
    for b in report.breaks:
        lines.append(
            f"- 链 {b.chain} 第 {b.seq} 号（事件 {b.event_id or '—'}）{verify.KINDS[b.kind]}：{b.detail}"
        )
    lines.extend(f"- {p}" for p in report.anchor_problems)
    return "\n".join(lines)
