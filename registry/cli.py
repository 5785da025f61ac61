"""`canbao import …`, `canbao compare`, `canbao exchange …`, `canbao survey …` (registry commands).

Commands act as the system actor (`canbao.actors.SYSTEM`) unless `--as` names an operator, and each
runs in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from canbao.actors import SYSTEM, Actor
from canbao.config import get_settings
from canbao.db import make_engine, make_sessionmaker, transaction
from canbao.errors import CanbaoError

from .survey import Surveyed

import_app = typer.Typer(
    help="导入公安人口信息、各险种参保信息与其他部门的数据", no_args_is_help=True, add_completion=False
)
exchange_app = typer.Typer(help="与上级全民参保登记库交换数据", no_args_is_help=True, add_completion=False)
survey_app = typer.Typer(help="入户调查名单、汇总表与登记表打印", no_args_is_help=True, add_completion=False)
rules_app = typer.Typer(
    help="规则集（比对规则、入库完整性规则、统计口径）：校验、查看、比较",
    no_args_is_help=True,
    add_completion=False,
)

Operator = Annotated[str | None, typer.Option("--as", help="操作人（记入审计日志），默认 system")]


def _actor(operator: str | None) -> Actor:
    return SYSTEM if not operator else Actor(sub=operator, roles=("system",), area="", name=operator)


def _unmasked(row: Any) -> Any:
    """The command line works with the office's own authority: personal data as stored."""
    return row


def _sessions():
    return make_sessionmaker(make_engine(get_settings().database_url))


def _fail(exc: CanbaoError) -> typer.Exit:
    typer.echo(f"错误：{exc.detail}", err=True)
    for error in getattr(exc, "errors", [])[:50]:
        typer.echo(f"  {error.pointer}  {error.code}  {error.message}", err=True)
    return typer.Exit(1)


def _echo(data: object) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=1, default=str))


def _import(kind: str, file: Path, system: str | None, operator: str | None) -> None:
    from . import departments, imports

    try:
        with transaction(_sessions()) as s:
            if kind in departments.KINDS:
                result = departments.import_file(
                    s, actor=_actor(operator), kind=kind, content=file.read_bytes(), filename=file.name
                )
            else:
                result = imports.import_path(s, actor=_actor(operator), kind=kind, path=file, system=system)
            data = result.as_dict()
    except CanbaoError as exc:
        raise _fail(exc) from None
    _echo(data)
    if data["repeated"]:
        typer.echo("此文件已导入过，未作任何更改", err=True)


@import_app.command("population")
def import_population(file: Path, operator: Operator = None) -> None:
    """公安人口信息（CSV 或 XLSX）：公民身份号码、姓名、性别、出生日期、户籍地区划、户籍地址、管理状态。"""
    _import("population", file, None, operator)


@import_app.command("enrollments")
def import_enrollments(
    file: Path,
    system: Annotated[str, typer.Option("--system", help="业务系统名称，如 社保、医保")],
    operator: Operator = None,
) -> None:
    """一个业务系统的参保信息（CSV 或 XLSX）：公民身份号码、险种、参保及缴费状态、参保地、参保及终止日期。"""
    _import("enrollments", file, system, operator)


@import_app.command("department")
def import_department(
    kind: Annotated[
        str, typer.Argument(help="deaths_civil deaths_health births assistance students employment cards")
    ],
    file: Path,
    operator: Operator = None,
) -> None:
    """其他部门的数据（CSV 或 XLSX，UTF-8 或 GBK）：民政死亡、低保特困，卫健出生、死亡，教育在校学生，
    就业和人事，社会保障卡持卡人员；各自的格式与字段优先级见 registry/departments.toml。"""
    _import(kind, file, None, operator)


@import_app.command("precedence")
def import_precedence() -> None:
    """各来源对各字段的优先级（由强到弱）。"""
    from . import precedence

    _echo(precedence.describe())


def compare_command(
    area: Annotated[str, typer.Option(help="比对范围（区划代码前缀）")] = "",
    as_of: Annotated[str | None, typer.Option("--as-of", help="比对日期 YYYY-MM-DD，默认今天")] = None,
    population: Annotated[Path | None, typer.Option(help="改为直接比对文件：公安人口信息 CSV")] = None,
    enrollments: Annotated[
        list[str] | None, typer.Option(help="与 --population 同用：系统名=参保信息CSV，可多次")
    ] = None,
    engine: Annotated[
        str, typer.Option(help="比对引擎：database（登记库）、duckdb（文件，默认）或 spark（文件，全国比对）")
    ] = "",
    master: Annotated[
        str, typer.Option(help="--engine spark：Spark master，如 local[4]、spark://主机:7077")
    ] = ("local[*]"),
    input_dir: Annotated[
        str | None,
        typer.Option(
            "--input",
            help="--engine spark：抽取文件目录（本地、s3a://桶/前缀，或档案 S3 存储的 s3://桶/前缀），"
            "含 population 与 enrollments_*",
        ),
    ] = None,
    out: Annotated[str | None, typer.Option(help="--engine spark：分类结果（Parquet）输出目录")] = None,
    operator: Operator = None,
) -> None:
    """信息比对：分类已参保、重复参保、未参保、未参全、信息不准和排除人员，并打标识。"""
    from . import comparison

    day = date.fromisoformat(as_of) if as_of else None
    engine = engine or ("spark" if input_dir else "duckdb" if population is not None else "database")
    if engine not in ("database", "duckdb", "spark"):
        typer.echo("错误：--engine 应为 database、duckdb 或 spark", err=True)
        raise typer.Exit(2)
    if engine == "spark" and not input_dir:
        typer.echo("错误：--engine spark 需要 --input 目录", err=True)
        raise typer.Exit(2)
    if engine == "duckdb" and population is None:
        typer.echo("错误：--engine duckdb 需要 --population 与 --enrollments", err=True)
        raise typer.Exit(2)
    try:
        with transaction(_sessions()) as s:
            if engine == "spark":
                from . import spark

                result = spark.run(
                    s,
                    actor=_actor(operator),
                    area=area or "",
                    input_dir=str(input_dir),
                    out_dir=out,
                    as_of=day,
                    master=master,
                )
            elif engine == "duckdb":
                files = dict(item.split("=", 1) for item in enrollments or [])
                result = comparison.run_files(
                    s,
                    actor=_actor(operator),
                    area=area or "",
                    population=population,  # type: ignore[arg-type]
                    enrollments=files,
                    as_of=day,
                )
            else:
                result = comparison.run(s, actor=_actor(operator), area=area or "", as_of=day)
            data = result.as_dict()
    except CanbaoError as exc:
        raise _fail(exc) from None
    _echo({**data, "seconds": round(result.seconds, 3)})


def _rule_set(file: Path):
    from . import rules

    try:
        return rules.load(file)
    except CanbaoError as exc:
        raise _fail(exc) from None


@rules_app.command("validate")
def rules_validate(files: Annotated[list[Path], typer.Argument(help="规则集文件（YAML）")]) -> None:
    """校验规则集：未知字段、类型错误、循环引用等，逐条标明 文件:行 与 JSON Pointer。"""
    from . import rules

    failed = False
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            typer.echo(f"{file}: 无法读取：{err}", err=True)
            failed = True
            continue
        rule_set, problems = rules.parse(text, source=str(file))
        for problem in problems:
            typer.echo(problem.located(str(file)), err=True)
        if rule_set is None:
            failed = True
            typer.echo(f"{file}: 无效，{len(problems)} 处错误", err=True)
        else:
            typer.echo(f"{file}: 有效（{rule_set.label}，sha256 {rule_set.sha256[:16]}…）")
    if failed:
        raise typer.Exit(1)


@rules_app.command("show")
def rules_show(
    files: Annotated[list[Path] | None, typer.Argument(help="规则集文件；不给则为当前生效的规则集")] = None,
    sql: Annotated[bool, typer.Option("--sql", help="同时给出编译出的比对 SQL")] = False,
) -> None:
    """显示规则集（名称、版本、摘要、比对规则、入库完整性规则）；--sql 给出各引擎共同执行的 SQL。"""
    from datetime import date as day

    from . import comparison, rules

    try:
        chosen = [_rule_set(f) for f in files] if files else [rules.active()]
    except CanbaoError as exc:
        raise _fail(exc) from None
    for rule_set in chosen:
        data = rule_set.describe()
        if sql:
            p_sql, e_sql = comparison.registry_inputs("")
            data["sql"] = comparison.rules_sql(p_sql, e_sql, as_of=day.today(), rule_set=rule_set)
        _echo(data)


@rules_app.command("diff")
def rules_diff(
    old: Annotated[Path, typer.Argument(help="原规则集")],
    new: Annotated[Path, typer.Argument(help="新规则集")],
) -> None:
    """比较两个规则集：逐项列出新增、删除、修改（JSON Pointer）。"""
    from . import rules

    a, b = _rule_set(old), _rule_set(new)
    changes = rules.diff(a, b)
    _echo({"old": a.label, "new": b.label, "changes": changes})


@exchange_app.command("export")
def exchange_export(
    out: Annotated[Path, typer.Argument(help="输出文件（.json.gz）")],
    area: Annotated[str, typer.Option(help="本登记库的区划代码")],
    elsewhere_for: Annotated[
        str | None, typer.Option("--elsewhere-for", help="（上级库）导出该下级地区户籍人员的异地参保信息")
    ] = None,
    operator: Operator = None,
) -> None:
    """导出自上次导出以来的变更（或 --elsewhere-for 的异地参保信息），以本机构密钥签名。"""
    from . import exchange

    data_dir = get_settings().data_dir
    try:
        with transaction(_sessions()) as s:
            if elsewhere_for:
                result = exchange.export_elsewhere(
                    s, actor=_actor(operator), origin=area, for_area=elsewhere_for, data_dir=data_dir
                )
            else:
                result = exchange.export_changes(s, actor=_actor(operator), area=area, data_dir=data_dir)
            if result is None:
                typer.echo("自上次导出以来没有变更，未生成文件")
                return
            content, batch = result
            out.write_bytes(content)
            _echo({"batch": batch.origin_batch, "sha256": batch.sha256, **batch.counts, "file": str(out)})
    except CanbaoError as exc:
        raise _fail(exc) from None


@exchange_app.command("import")
def exchange_import(file: Path, operator: Operator = None) -> None:
    """导入下级库的变更文件，或上级库下发的异地参保文件（按文件类型自动识别；签名须出自受信任的密钥，
    即 $CANBAO_DATA_DIR/audit-keys 或 exchange-keys 中的 *.pub.pem）。"""
    from . import exchange

    content = file.read_bytes()
    try:
        with transaction(_sessions()) as s:
            result = exchange.import_file(
                s, actor=_actor(operator), content=content, data_dir=get_settings().data_dir
            )
    except CanbaoError as exc:
        raise _fail(exc) from None
    _echo(result)


@survey_app.command("list")
def survey_list(area: Annotated[str, typer.Argument(help="区划代码")], operator: Operator = None) -> None:
    """各村（社区）需调查登记人数。"""
    from . import survey

    with transaction(_sessions()) as s:
        _echo(survey.list_counts(s, actor=_actor(operator), area=area))


@survey_app.command("forms")
def survey_forms(
    village: Annotated[str, typer.Argument(help="村（社区）12位区划代码")],
    out: Path,
    operator: Operator = None,
) -> None:
    """预填的全民参保登记表（PDF，每人一页）。"""
    from . import documents

    with transaction(_sessions()) as s:
        out.write_bytes(documents.village_pdf(s, actor=_actor(operator), village=village, mask=_unmasked))
    typer.echo(str(out))


def register(app: typer.Typer, *, survey_ledger: Callable[..., Sequence[Surveyed]]) -> None:
    """Add the registry commands to the `canbao` app. `survey_ledger(session, village=, since=, until=)`
    is the composition's reading of a village's survey cases, which the 汇总表 lists (第十九条)."""

    @survey_app.command("summary")
    def survey_summary(
        village: Annotated[str, typer.Argument(help="村（社区）12位区划代码")],
        out: Path,
        since: Annotated[date | None, typer.Option("--from", help="调查日期起（含）")] = None,
        until: Annotated[date | None, typer.Option("--to", help="调查日期止（含）")] = None,
        operator: Operator = None,
    ) -> None:
        """全民参保登记个人信息汇总表（XLSX）：村（社区）的统一登记台账。"""
        from . import documents

        with transaction(_sessions()) as s:
            surveyed = survey_ledger(s, village=village, since=since, until=until)
            content = documents.summary_xlsx(
                s,
                actor=_actor(operator),
                village=village,
                mask=_unmasked,
                surveyed=surveyed,
                since=since,
                until=until,
            )
        out.write_bytes(content)
        typer.echo(str(out))

    app.add_typer(import_app, name="import")
    app.add_typer(exchange_app, name="exchange")
    app.add_typer(survey_app, name="survey")
    app.add_typer(rules_app, name="rules")
    app.command("compare")(compare_command)
