"""The recorded choice: one `installation` row, written when the database is first migrated, names the
cryptography profile of the deployment; every process reads it from the database it works on.

The profile may change only while the audit log is empty (`canbao migrate` with another
CANBAO_CRYPTO): after the first event, the chains, anchors and exports are bound to its hash and
signature, and a switch is refused.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, SmallInteger, String, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from canbao.db import Base
from canbao.errors import Conflict

from . import STANDARD, Profile, by_name


class Installation(Base):
    __tablename__ = "installation"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)  # always 1
    crypto: Mapped[str] = mapped_column(String(16))
    installed_at: Mapped[datetime]


@dataclass(frozen=True)
class Setup:
    """The profile of one database, and whether PostgreSQL hashes the chains itself."""

    profile: Profile
    append_in_database: bool  # audit_append_events() exists (migrations 0010, 0015…)
    verify_in_database: bool  # the profile's hash is available in SQL

    @property
    def hash(self) -> str:
        return self.profile.hash


_SETUPS: weakref.WeakKeyDictionary[Engine, Setup] = weakref.WeakKeyDictionary()

_READ = text("SELECT crypto FROM installation WHERE id = 1")
_POSTGRES = text(
    "SELECT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'audit_append_events') AS append, "
    "EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgcrypto') AS pgcrypto"
)


def setup_of(bind: Session | Connection | Engine) -> Setup:
    """The setup of the database behind `bind`, read once per engine (through a session's own
    connection: on SQLite a second one would wait for the session's write lock)."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    engine = engine.engine if isinstance(engine, Connection) else engine
    found = _SETUPS.get(engine)
    if found is None:
        found = _SETUPS[engine] = read(bind.connection() if isinstance(bind, Session) else bind)
    return found


def read(bind: Connection | Engine) -> Setup:
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return read(conn)
    name = bind.execute(_READ).scalar()
    profile = by_name(name) if name else STANDARD
    if bind.dialect.name != "postgresql":
        return Setup(profile, False, False)
    row = bind.execute(_POSTGRES).one()
    return Setup(profile, row.append, profile is STANDARD or row.pgcrypto)


def forget(engine: Engine) -> None:
    """Drop the cached setup (after a restore replaced the database behind `engine`)."""
    _SETUPS.pop(engine, None)


class ProfileLocked(Conflict):
    code = "crypto.profile_locked"
    title = "密码配置已固定"


def check_switch(connection: Connection, recorded: Profile, wanted: Profile) -> None:
    """Refuse a change of profile once the audit log holds events."""
    if wanted is recorded:
        return
    if connection.execute(text("SELECT EXISTS (SELECT 1 FROM audit_event)")).scalar():
        raise ProfileLocked(
            f"本数据库安装时选定的密码配置为 {recorded.name}（{recorded.title}），审计日志中已有事件，"
            f"不能改为 {wanted.name}：审计链、锚点和导出文件都依赖安装时的算法"
        )
