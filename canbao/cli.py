"""The `canbao` command. Each package contributes its own sub-commands; this module assembles them."""

from __future__ import annotations

import typer

from api import cli as api_cli
from canbao import migrate
from canbao.config import get_settings
from engine import cli as engine_cli
from forms.cli import divisions_app, forms_app
from registry.cli import register as register_registry

app = typer.Typer(help="canbao 全民参保登记", no_args_is_help=True, add_completion=False)


app.command("serve")(api_cli.serve)
app.command("deploy")(engine_cli.deploy)
app.command("worker")(engine_cli.run_worker)
app.add_typer(api_cli.users_app, name="users")
app.add_typer(divisions_app, name="divisions")
app.add_typer(forms_app, name="forms")
register_registry(app)


@app.callback()
def root() -> None:
    """canbao 全民参保登记 — BPMN 案件、登记库、统计与归档。"""


@app.command("migrate")
def migrate_command() -> None:
    """Upgrade the database to the newest schema."""
    migrate.upgrade(get_settings().database_url)
    typer.echo("数据库已升级到最新版本")


def main() -> None:
    app()
