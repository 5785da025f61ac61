"""The database half of a backup: a consistent copy taken while the office runs, what that copy refers
to in the archive, and putting it back.

PostgreSQL: a read-only REPEATABLE READ transaction exports its snapshot (`pg_export_snapshot()`),
`pg_dump --format=custom --snapshot=…` dumps exactly that snapshot, its output streamed straight
into the cipher, and the same transaction reads the archive references and the table counts — so
the objects copied, the rows and the counts all belong to one moment. A restore runs `pg_restore
--single-transaction`: all or nothing.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies the live database into a private
temporary file, from which references and counts are read before it is encrypted.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from archive.models import ArchivePackage, Document
from canbao.audit import anchors
from canbao.audit.models import AuditEvent

from .errors import BackupRefused
from .files import CHUNK, Writer, file_chunks

NAME = "database.enc"
# Tables a freshly migrated database already fills: they do not make a deployment "not empty".
SEEDED = {"alembic_version", "installation", "audit_chain_head"}
APP_ROLE = "canbao_app"  # migration 0005; roles belong to the cluster, not to the dump


@dataclass(frozen=True)
class Reference:
    """An archive object version the database points at."""

    key: str
    version: str | None
    media_type: str
    retain_until: datetime | None  # as recorded in the database (None: not sealed)


@dataclass
class Snapshot:
    dialect: str
    revision: str | None
    counts: dict[str, int]
    references: list[Reference]


def dialect_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError(f"SQLite URL without a file: {url}")
    return Path(database)


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL for the PostgreSQL client tools, and their environment (the password stays out of argv)."""
    parsed = make_url(url)
    env = {**os.environ}
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"`{name}` not found: install the PostgreSQL client tools (postgresql-client)")
    return found


# --- reading a snapshot ---------------------------------------------------------------------------------


def read_snapshot(conn: Connection) -> Snapshot:
    tables = sorted(inspect(conn).get_table_names())
    counts = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables}
    revision = (
        conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if "alembic_version" in tables
        else None
    )
    return Snapshot(conn.dialect.name, revision, counts, references(conn))


def references(conn: Connection) -> list[Reference]:
    """Every object version the snapshot's rows point at: documents, sealed manifests, and the anchors
    whose `audit.anchor` event committed (an anchor stored after the snapshot attests events that the
    snapshot lacks, and is left out)."""
    found = [
        Reference(r.object_key, r.object_version, r.media_type, r.retain_until)
        for r in conn.execute(
            select(
                Document.object_key, Document.object_version, Document.media_type, Document.retain_until
            ).order_by(Document.id)
        )
    ]
    found += [
        Reference(r.manifest_key, r.manifest_version, "application/json", r.retain_until)
        for r in conn.execute(
            select(
                ArchivePackage.manifest_key, ArchivePackage.manifest_version, ArchivePackage.retain_until
            ).order_by(ArchivePackage.id)
        )
    ]
    for r in conn.execute(
        select(AuditEvent.object_id, AuditEvent.payload, AuditEvent.at)
        .where(AuditEvent.action == anchors.ACTION)
        .order_by(AuditEvent.id)
    ):
        version = json.loads(r.payload).get("version")
        found.append(Reference(r.object_id, version, "application/json", r.at + anchors.RETENTION))
    return found


def dump(url: str, writer: Writer) -> Snapshot:
    """Dump the database at `url` into the backup (NAME) and return what its snapshot holds."""
    if dialect_of(url) == "sqlite":
        with _sqlite_copy(url) as copy:
            engine = create_engine(f"sqlite:///{copy}", poolclass=NullPool)
            try:
                with engine.connect() as conn:
                    snapshot = read_snapshot(conn)
            finally:
                engine.dispose()
            writer.encrypted(NAME, file_chunks(copy))
        return snapshot
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                exported = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
                _pg_dump(url, exported, writer)
                return read_snapshot(conn)
    finally:
        engine.dispose()


def _pg_dump(url: str, snapshot: str, writer: Writer) -> None:
    target, env = libpq(url)
    args = [_tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", f"--dbname={target}"]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, env=env)
        try:
            writer.encrypted(NAME, iter(lambda: process.stdout.read(CHUNK), b""))
        finally:
            process.stdout.close()
            code = process.wait()
        if code != 0:
            errors.seek(0)
            raise RuntimeError(f"pg_dump failed ({code}): {errors.read().decode(errors='replace')}")


@contextmanager
def _sqlite_copy(url: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="canbao-backup-") as private:  # mode 0700
        copy = Path(private) / "canbao.db"
        source = sqlite3.connect(sqlite_path(url))
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        yield copy


# --- the target of a restore ----------------------------------------------------------------------------


def holdings(url: str) -> dict[str, int]:
    """Rows the database at `url` already holds beyond what migrating it writes (empty: may restore)."""
    if dialect_of(url) == "sqlite" and not sqlite_path(url).exists():
        return {}
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            tables = inspect(conn).get_table_names()
            held = {
                t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar()
                for t in tables
                if t not in SEEDED
            }
            if "audit_chain_head" in tables:
                held["audit_chain_head"] = conn.execute(
                    text("SELECT count(*) FROM audit_chain_head WHERE seq > 0")
                ).scalar()
    finally:
        engine.dispose()
    return {t: n for t, n in held.items() if n}


def restore(path: Path, url: str) -> None:
    """Put the decrypted dump at `path` into the (empty) database at `url`."""
    if dialect_of(url) == "sqlite":
        target_path = sqlite_path(url)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        source, target = sqlite3.connect(path), sqlite3.connect(target_path)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            migrated = bool(inspect(conn).get_table_names())
            conn.execute(
                text(
                    f"DO $$ BEGIN CREATE ROLE {APP_ROLE} NOLOGIN; "
                    "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
                )
            )
    finally:
        engine.dispose()
    target, env = libpq(url)
    args = [
        _tool("pg_restore"),
        "--single-transaction",
        "--exit-on-error",
        "--no-owner",
        f"--dbname={target}",
    ]
    if migrated:  # an empty schema made by `canbao migrate`: replaced by the backup's
        args += ["--clean", "--if-exists"]
    done = subprocess.run([*args, str(path)], env=env, capture_output=True)
    if done.returncode != 0:
        raise RuntimeError(f"pg_restore failed ({done.returncode}): {done.stderr.decode(errors='replace')}")


def counts(url: str) -> dict[str, Any]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return read_snapshot(conn).counts
    finally:
        engine.dispose()


def refuse_unless_empty(url: str) -> None:
    held = holdings(url)
    if held:
        listed = "、".join(f"{t} {n} 行" for t, n in sorted(held.items()))
        raise BackupRefused([f"目标数据库不是空的（{listed}）：只能恢复到空的部署"])
