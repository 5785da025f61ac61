"""Alembic, driven from code: `canbao migrate` and the test fixtures upgrade any database to head."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from canbao import crypto
from canbao.crypto import installation

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
    if revision == "head":
        settle(url)


def settle(url: str) -> None:
    """Apply CANBAO_CRYPTO to an installed database: nothing when it names the recorded profile,
    a switch while the audit log is empty, `ProfileLocked` once it holds events."""
    wanted = crypto.requested()
    if wanted is None:
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            recorded = installation.read(conn).profile
            installation.check_switch(conn, recorded, wanted)
            if wanted is not recorded:
                import_module("canbao.migrations.versions.0015_installation_restored_versions").apply(
                    conn, wanted
                )
    finally:
        engine.dispose()
