"""Settings from the environment, with defaults that run on one machine without setup."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _flag(name: str, default: bool) -> bool:
    value = _env(name)
    return default if value is None else value.lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    bpmn_dir: Path
    # Object store: S3 when an endpoint is given, otherwise a local directory.
    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_bucket: str = "canbao-archive"
    s3_secure: bool = False
    s3_region: str | None = None
    max_upload_bytes: int = 20 * 1024 * 1024
    # Tokens: HS256 with a secret (generated into data_dir when none is given), or RS256 with a public key.
    jwt_secret: str | None = None
    jwt_algorithm: str = "HS256"
    jwt_public_key_file: Path | None = None
    jwt_jwks_file: Path | None = None
    jwt_ttl_minutes: int = 30
    demo_password: str = "canbao-demo"
    # Networks of the reverse proxies whose X-Forwarded-For / -Proto are believed (none: the peer is the
    # client).
    trusted_proxies: tuple[str, ...] = ()
    # How long one BPMN script or condition may run before its step fails (engine/limits.py).
    script_time_limit_ms: int = 300
    # The worker's scheduled export of this registry's changes for the level above (第十条): the area of
    # this registry, and how often (seconds; 0: never).
    exchange_area: str | None = None
    exchange_every_seconds: int = 0
    # Load (README "容量与负载"): each API process keeps `db_pool` database connections and lets as many
    # requests work at once (its threads are sized to match); up to `max_inflight` more wait their turn,
    # at most `queue_timeout_s`, and beyond either the answer is 503 with Retry-After at once.
    db_pool: int = 8
    max_inflight: int = 256
    queue_timeout_s: float = 5.0
    # PgBouncer (or another pooler) in transaction mode between the processes and PostgreSQL: a server
    # connection is not ours from one transaction to the next, so no prepared statements.
    db_transaction_pooler: bool = False

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _networks(name: str) -> tuple[str, ...]:
    networks = []
    for item in (_env(name) or "").split(","):
        if item.strip():
            try:
                networks.append(str(ipaddress.ip_network(item.strip(), strict=False)))
            except ValueError as err:
                raise ValueError(f"{name}: {item.strip()!r} is not an IP address or network") from err
    return tuple(networks)


def from_environ() -> Settings:
    data_dir = Path(_env("CANBAO_DATA_DIR", "var")).resolve()
    public_key = _env("CANBAO_JWT_PUBLIC_KEY_FILE")
    jwks = _env("CANBAO_JWT_JWKS_FILE")
    return Settings(
        database_url=_env("DATABASE_URL", f"sqlite:///{Path('canbao.db').resolve()}"),
        data_dir=data_dir,
        bpmn_dir=Path(_env("CANBAO_BPMN_DIR", str(PROJECT_ROOT / "bpmn"))),
        s3_endpoint=_env("CANBAO_S3_ENDPOINT"),
        s3_access_key=_env("CANBAO_S3_ACCESS_KEY"),
        s3_secret_key=_env("CANBAO_S3_SECRET_KEY"),
        s3_bucket=_env("CANBAO_S3_BUCKET", "canbao-archive"),
        s3_secure=_flag("CANBAO_S3_SECURE", False),
        s3_region=_env("CANBAO_S3_REGION"),
        max_upload_bytes=int(_env("CANBAO_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024))),
        jwt_secret=_env("CANBAO_JWT_SECRET"),
        jwt_algorithm=_env("CANBAO_JWT_ALGORITHM", "RS256" if (public_key or jwks) else "HS256"),
        jwt_public_key_file=Path(public_key) if public_key else None,
        jwt_jwks_file=Path(jwks) if jwks else None,
        jwt_ttl_minutes=int(_env("CANBAO_JWT_TTL_MINUTES", "30")),
        demo_password=_env("CANBAO_DEMO_PASSWORD", "canbao-demo"),
        trusted_proxies=_networks("CANBAO_TRUSTED_PROXIES"),
        script_time_limit_ms=int(_env("CANBAO_SCRIPT_TIME_LIMIT_MS", "300")),
        exchange_area=_env("CANBAO_EXCHANGE_AREA"),
        exchange_every_seconds=int(_env("CANBAO_EXCHANGE_EVERY", "0")),
        db_pool=_positive("CANBAO_DB_POOL", 8),
        max_inflight=_positive("CANBAO_MAX_INFLIGHT", 256),
        queue_timeout_s=float(_env("CANBAO_QUEUE_TIMEOUT_S", "5")),
        db_transaction_pooler=_flag("CANBAO_DB_TRANSACTION_POOLER", False),
    )


def _positive(name: str, default: int) -> int:
    value = int(_env(name, str(default)))
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return from_environ()
