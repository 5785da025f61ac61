"""`canbao backup drill`: create → restore into a scratch deployment → verify → compare counts, and one
line for the 经办机构's drill record (容灾演练记录).

The scratch deployment lives beside the real one and is removed afterwards: a database created on the
same PostgreSQL server (the role needs CREATEDB) or a SQLite file, a bucket on the same S3 server —
created without object lock, since a drill's copies must not stay under 100-year retention — or a
directory, and a data directory. The drill is recorded in the office's audit log (`backup.drill`).
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from minio.deleteobjects import DeleteObject
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from archive.store import LocalStore, S3Store
from canbao import audit
from canbao.actors import Actor
from canbao.audit import signing
from canbao.clock import CHINA
from canbao.db import make_engine, make_sessionmaker, transaction, utcnow

from .create import Created, create
from .database import dialect_of
from .deployment import Deployment
from .restore import Restored, restore

# The counts a drill record names (every table is compared).
NAMED = (("person", "人员"), ("cases", "案件"), ("case_task", "待办"), ("audit_event", "审计事件"))


@dataclass
class Drill:
    created: Created
    restored: Restored

    @property
    def ok(self) -> bool:
        return self.restored.ok

    def line(self) -> str:
        c, r = self.created, self.restored
        expected, got = c.manifest["counts"], r.counts
        counts = "，".join(f"{title} {expected.get(t, 0)}→{got.get(t, 0)}" for t, title in NAMED)
        differ = r.count_differences
        tables = f"全部 {len(expected)} 张表行数一致" if not differ else f"{len(differ)} 张表行数不一致"
        audit_ok = "完整" if r.audit.ok else "发现问题"
        archive_ok = "一致" if r.archive.ok else f"发现 {len(r.archive.findings)} 处问题"
        crypto = c.manifest["crypto"]
        at = utcnow().astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
        return (
            f"容灾备份演练 {at}（北京时间）：{'通过' if self.ok else '未通过'}；"
            f"备份 {c.bytes / 1e6:.1f} MB、用时 {c.seconds:.1f} 秒，"
            f"恢复到临时环境并核验用时 {r.seconds:.1f} 秒；"
            f"{counts}，{tables}；档案对象 {r.objects} 个；审计链{audit_ok}（{r.audit.events} 个事件，"
            f"{r.audit.anchors} 个锚点），档案{archive_ok}；"
            f"{crypto['hash'].upper()}/{crypto['signature']}/{crypto['cipher']}，签名密钥 "
            f"{c.manifest['signature']['key_id']}"
        )


def drill(source: Deployment, *, master: bytes, actor: Actor, keep: Path | None = None) -> Drill:
    with tempfile.TemporaryDirectory(prefix="canbao-drill-") as work:
        directory = keep or Path(work) / "backup"
        created = create(source, directory, master=master, actor=actor)
        with scratch(source, Path(work)) as target:
            trusted = signing.trusted_keys(source.data_dir)
            restored = restore(directory, target, master=master, trusted=trusted, actor=actor)
    result = Drill(created, restored)
    engine = make_engine(source.url, poolclass=NullPool)
    try:
        with transaction(make_sessionmaker(engine)) as s:
            audit.record(
                s,
                actor=actor,
                action="backup.drill",
                object_type="backup",
                object_id=created.manifest["created_at"],
                payload={"ok": result.ok, "record": result.line()},
                area="",
            )
    finally:
        engine.dispose()
    return result


@contextmanager
def scratch(source: Deployment, work: Path) -> Iterator[Deployment]:
    suffix = uuid.uuid4().hex[:8]
    with _scratch_database(source.url, work, suffix) as url, _scratch_store(source, work, suffix) as store:
        yield Deployment(url, store, work / "data")


@contextmanager
def _scratch_database(url: str, work: Path, suffix: str) -> Iterator[str]:
    if dialect_of(url) == "sqlite":
        yield f"sqlite:///{work / 'drill.db'}"
        return
    parsed = make_url(url)
    name = f"{parsed.database}_drill_{suffix}"[-63:]
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield parsed.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def _scratch_store(source: Deployment, work: Path, suffix: str):
    if not isinstance(source.store, S3Store):
        yield LocalStore(work / "archive")
        return
    store = source.store.sibling(f"{source.store.bucket[:40]}-drill-{suffix}", object_lock=False)
    try:
        yield store
    finally:
        client = store.client
        if client.bucket_exists(store.bucket):
            listed = client.list_objects(store.bucket, recursive=True, include_version=True)
            doomed = [DeleteObject(o.object_name, o.version_id) for o in listed]
            for error in client.remove_objects(store.bucket, doomed):
                raise RuntimeError(f"drill bucket {store.bucket}: {error}")
            client.remove_bucket(store.bucket)
