"""A deployment as backups see it: its database, its archive store, its data directory (where the
audit signing keys live)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from archive import store as archive_store
from canbao.config import Settings


@dataclass(frozen=True)
class Deployment:
    url: str
    store: archive_store.ObjectStore
    data_dir: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> Deployment:
        return cls(settings.database_url, archive_store.from_settings(settings), settings.data_dir)

    @property
    def store_kind(self) -> str:
        return "s3" if isinstance(self.store, archive_store.S3Store) else "local"
