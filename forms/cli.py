"""`canbao divisions …` and `canbao forms …`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from canbao.actors import SYSTEM
from canbao.config import get_settings
from canbao.db import make_engine, make_sessionmaker, transaction
from canbao.errors import CanbaoError, Invalid

divisions_app = typer.Typer(help="行政区划代码表", no_args_is_help=True, add_completion=False)
forms_app = typer.Typer(help="表单与代码表", no_args_is_help=True, add_completion=False)


def _fail(exc: CanbaoError) -> typer.Exit:
    typer.echo(f"错误：{exc.detail}", err=True)
    for error in getattr(exc, "errors", [])[:50]:
        typer.echo(f"  {error.pointer}  {error.code}  {error.message}", err=True)
    return typer.Exit(1)


@divisions_app.command("import")
def import_command(
    directory: Annotated[
        Path,
        typer.Argument(help="含 provinces.csv、cities.csv、areas.csv、streets.csv、villages*.csv 的目录"),
    ],
    valid_from: Annotated[
        str | None,
        typer.Option(help="新代码的启用日期与撤销代码的停用日期（YYYY-MM-DD；默认取 meta.json 或今天）"),
    ] = None,
) -> None:
    """Load (or update) the division table from the NBS CSV layout."""
    from forms import divisions

    try:
        day = date.fromisoformat(valid_from) if valid_from else None
    except ValueError:
        typer.echo("错误：--valid-from 应为 YYYY-MM-DD", err=True)
        raise typer.Exit(2) from None
    engine = make_engine(get_settings().database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            result = divisions.import_dir(session, directory, actor=SYSTEM, valid_from=day)
    except CanbaoError as exc:
        raise _fail(exc) from None
    finally:
        engine.dispose()
    typer.echo(
        f"区划代码已导入（启用日期 {result.valid_from}）：新增 {result.inserted}，更新 {result.updated}，"
        f"恢复 {result.reopened}，撤销 {result.closed}，未变 {result.unchanged}"
    )


@divisions_app.command("show")
def show_command(code: Annotated[str, typer.Argument(help="区划代码（2–12位）")]) -> None:
    """Show a division of the database table and its direct children."""
    from forms import divisions

    engine = make_engine(get_settings().database_url)
    try:
        with make_sessionmaker(engine)() as session:
            found = divisions.get(session, code)
            if found is None:
                typer.echo(f"区划代码“{code}”不存在", err=True)
                raise typer.Exit(1)
            state = "现行" if found.valid_to is None else f"已于 {found.valid_to} 撤销"
            typer.echo(f"{found.code}  {found.name}  {found.level}  {state}")
            for child in divisions.children(session, code):
                typer.echo(f"  {child.code}  {child.name}")
    finally:
        engine.dispose()


@forms_app.command("list")
def list_command() -> None:
    """List the forms and the code lists."""
    import forms

    for key in forms.keys():  # noqa: SIM118 - a function, not dict.keys()
        typer.echo(f"{key}  {forms.get(key)['title']}")
    for key in forms.codes.keys():  # noqa: SIM118 - a function, not dict.keys()
        lst = forms.codes.get(key)
        kind = (
            "标准" if lst.standard else "本地" if lst.system.startswith("canbao-local:") else "未经标准核对"
        )
        typer.echo(f"codes/{key}  {lst.title}  {lst.system} {lst.version}  {kind}")


@forms_app.command("schema")
def schema_command(key: str) -> None:
    """Print the JSON Schema of a form."""
    import forms

    try:
        typer.echo(json.dumps(forms.get(key), ensure_ascii=False, indent=2))
    except CanbaoError as exc:
        raise _fail(exc) from None


@forms_app.command("validate")
def validate_command(key: str, file: Path) -> None:
    """Validate a JSON document against a form; exit 1 listing every error."""
    import forms

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        typer.echo(f"错误：无法读取 JSON（{exc}）", err=True)
        raise typer.Exit(2) from None
    try:
        forms.validate_or_raise(key, data)
    except (Invalid, CanbaoError) as exc:
        raise _fail(exc) from None
    typer.echo("通过校验")
