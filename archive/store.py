"""Object stores for the archive: any S3 server through the `minio` client, or a local directory.

Both offer the same small interface. Objects are addressed by key and version: an S3 bucket is
created with object lock where the server supports it (sealed objects then carry COMPLIANCE
retention that nobody, not even the bucket owner, can shorten or delete), with versioning otherwise
(a replaced or deleted object keeps its old versions); the local directory has neither, and canbao
alone keeps it append-only.

The process has one current store (`install`, `current`): the API installs the one from its
settings, and the worker builds it from the environment on first use.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.error import MinioException, S3Error
from minio.retention import Retention
from minio.versioningconfig import ENABLED, VersioningConfig

from canbao.config import Settings, get_settings
from canbao.errors import CanbaoError, Unavailable

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
# minio reads one part into memory before sending it: the smallest part S3 allows bounds that.
PART_SIZE = 5 * 1024 * 1024

# How sealed objects are protected, weakest last.
COMPLIANCE_LOCK = "compliance"
VERSIONING = "versioning"
NONE = "none"


class StoreUnavailable(Unavailable):
    code = "archive.unavailable"
    title = "档案存储暂不可用"


class ObjectMissing(CanbaoError):
    status = 500
    code = "archive.object_missing"
    title = "档案文件缺失"


class DeletionRefused(CanbaoError):
    """The store itself refused to delete a version (object lock)."""

    status = 409
    code = "archive.deletion_refused"
    title = "档案已归档，不能删除"


@dataclass(frozen=True)
class StoredObject:
    key: str
    version: str | None
    size: int


class Reader:
    """The bytes of one object version, in chunks; close it (or exhaust it) to free the connection."""

    def __init__(self, chunks: Iterator[bytes], close) -> None:
        self._chunks, self._close = chunks, close

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._chunks
        finally:
            self.close()

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None


class ObjectStore(Protocol):
    @property
    def protection(self) -> str:
        """COMPLIANCE_LOCK, VERSIONING or NONE, as set up on the server."""

    def ping(self) -> None: ...

    def put(
        self, key: str, data: BinaryIO, size: int, *, media_type: str, retain_until: datetime | None = None
    ) -> str | None:
        """Store `size` bytes read from `data`; returns the new version (None when unversioned)."""

    def open(self, key: str, version: str | None) -> Reader:
        """Raises ObjectMissing when the version is not there."""

    def retain(self, key: str, version: str | None, until: datetime) -> None:
        """Put a stored version under compliance retention until `until`, where the store can."""

    def retention(self, key: str, version: str | None) -> datetime | None:
        """Until when the store itself keeps a version under retention (None: it keeps no date)."""

    def delete(self, key: str, version: str | None) -> None:
        """Raises DeletionRefused when the store refuses (retention)."""

    def list(self, prefix: str) -> Iterator[StoredObject]:
        """Every stored version under `prefix`, ordered by key (bytewise)."""


def _unavailable(err: Exception) -> StoreUnavailable:
    log.warning("object store error: %s: %s", type(err).__name__, err)
    reason = err.code if isinstance(err, S3Error) else type(err).__name__
    return StoreUnavailable(f"档案存储服务暂时无法访问（{reason}），请稍后重试")


_MISSING = {"NoSuchKey", "NoSuchVersion", "NoSuchObject"}
_NO_RETENTION = {"NoSuchObjectLockConfiguration", "ObjectLockConfigurationNotFoundError"}
_NO_LOCK = {"ObjectLockConfigurationNotFoundError", "NotImplemented", "InvalidRequest", "MethodNotAllowed"}


class S3Store:
    """A bucket on an S3 server (MinIO in deployments, SeaweedFS in tests)."""

    def __init__(
        self,
        endpoint: str,
        *,
        access_key: str | None,
        secret_key: str | None,
        bucket: str,
        secure: bool = False,
        region: str | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 30.0,
        object_lock: bool = True,
    ) -> None:
        # minio's own client waits 5 minutes and retries 5 times; an upload waiting on a dead store
        # should fail within seconds with a clear message instead.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            maxsize=32,
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        )
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )
        self.bucket = bucket
        self.object_lock = object_lock  # False only for scratch buckets (a backup drill's)
        self._protection: str | None = None
        self._lock = threading.Lock()

    @property
    def protection(self) -> str:
        return self._ready()

    def sibling(self, bucket: str, *, object_lock: bool) -> S3Store:
        """Another bucket on the same server through the same client (a backup drill's scratch bucket)."""
        other = copy.copy(self)
        other.bucket, other.object_lock = bucket, object_lock
        other._protection, other._lock = None, threading.Lock()
        return other

    def _ready(self) -> str:
        """Create the bucket (with object lock where supported) once per process."""
        if self._protection is not None:
            return self._protection
        with self._lock:
            if self._protection is None:
                try:
                    self._protection = self._ensure_bucket()
                except (MinioException, urllib3.exceptions.HTTPError, OSError) as err:
                    raise _unavailable(err) from err
        return self._protection

    def _ensure_bucket(self) -> str:
        client, bucket = self.client, self.bucket
        if not client.bucket_exists(bucket):
            try:
                client.make_bucket(bucket, object_lock=self.object_lock)
            except S3Error as err:
                if err.code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    pass
                elif err.code in _NO_LOCK:
                    client.make_bucket(bucket)
                else:
                    raise
        try:
            client.get_object_lock_config(bucket)
            return COMPLIANCE_LOCK
        except S3Error as err:
            if err.code not in _NO_LOCK:
                raise
        if client.get_bucket_versioning(bucket).status != ENABLED:
            client.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
        log.warning("bucket %s has no object lock: sealed objects are protected by versioning only", bucket)
        return VERSIONING

    def ping(self) -> None:
        self._ready()
        try:
            self.client.bucket_exists(self.bucket)
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as err:
            raise _unavailable(err) from err

    def put(
        self, key: str, data: BinaryIO, size: int, *, media_type: str, retain_until: datetime | None = None
    ) -> str | None:
        protection = self._ready()
        retention = (
            Retention(COMPLIANCE, retain_until)
            if retain_until is not None and protection == COMPLIANCE_LOCK
            else None
        )
        try:
            result = self.client.put_object(
                self.bucket,
                key,
                data,
                size,
                content_type=media_type,
                part_size=PART_SIZE,
                num_parallel_uploads=1,
                retention=retention,
            )
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as err:
            raise _unavailable(err) from err
        return _version(result.version_id)

    def open(self, key: str, version: str | None) -> Reader:
        self._ready()
        try:
            response = self.client.get_object(self.bucket, key, version_id=version)
        except S3Error as err:
            if err.code in _MISSING:
                raise ObjectMissing(f"档案存储中找不到对象 {key}（版本 {version}）") from err
            raise _unavailable(err) from err
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as err:
            raise _unavailable(err) from err

        def close() -> None:
            response.close()
            response.release_conn()

        return Reader(response.stream(CHUNK), close)

    def retain(self, key: str, version: str | None, until: datetime) -> None:
        if self._ready() != COMPLIANCE_LOCK:
            return
        try:
            self.client.set_object_retention(
                self.bucket, key, Retention(COMPLIANCE, until), version_id=version
            )
        except S3Error as err:
            if err.code in _MISSING:
                raise ObjectMissing(f"档案存储中找不到对象 {key}（版本 {version}）") from err
            raise _unavailable(err) from err
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as err:
            raise _unavailable(err) from err

    def retention(self, key: str, version: str | None) -> datetime | None:
        if self._ready() != COMPLIANCE_LOCK:
            return None
        try:
            found = self.client.get_object_retention(self.bucket, key, version_id=version)
        except S3Error as err:
            if err.code in _MISSING:
                raise ObjectMissing(f"档案存储中找不到对象 {key}（版本 {version}）") from err
            if err.code in _NO_RETENTION:
                return None
            raise _unavailable(err) from err
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as err:
            raise _unavailable(err) from err
        return found.retain_until_date if found is not None else None

    def delete(self, key: str, version: str | None) -> None:
        self._ready()
        try:
            self.client.remove_object(self.bucket, key, version_id=version)
        except S3Error as err:
            if err.code == "AccessDenied":
                raise DeletionRefused(f"档案存储拒绝删除 {key}：已归档，处于保管期内") from err
            raise _unavailable(err) from err
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as err:
            raise _unavailable(err) from err

    def list(self, prefix: str) -> Iterator[StoredObject]:
        self._ready()
        try:
            for obj in self.client.list_objects(
                self.bucket, prefix=prefix, recursive=True, include_version=True
            ):
                if not obj.is_delete_marker:
                    yield StoredObject(obj.object_name, _version(obj.version_id), obj.size or 0)
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as err:
            raise _unavailable(err) from err


def _version(version: str | None) -> str | None:
    """S3 reports objects written while versioning was off as version "null"."""
    return None if version in (None, "null") else version


class LocalStore:
    """The embedded default: files under a directory, written atomically, read-only once sealed."""

    protection = NONE

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"key outside the archive: {key}")
        return path

    def ping(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK):
                raise PermissionError(f"{self.root} is not writable")
        except OSError as err:
            raise _unavailable(err) from err

    def put(
        self, key: str, data: BinaryIO, size: int, *, media_type: str, retain_until: datetime | None = None
    ) -> str | None:
        path = self._path(key)
        part = path.with_name(f".part-{uuid.uuid4().hex}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(part, "wb") as out:
                copied = _copy(data, out, size)
                out.flush()
                os.fsync(out.fileno())
            if copied != size:
                raise OSError(f"expected {size} bytes, read {copied}")
            os.replace(part, path)
            if retain_until is not None:
                path.chmod(0o444)
        except OSError as err:
            part.unlink(missing_ok=True)
            raise _unavailable(err) from err
        return None

    def open(self, key: str, version: str | None) -> Reader:
        try:
            handle = open(self._path(key), "rb")  # noqa: SIM115 (closed by the Reader)
        except FileNotFoundError as err:
            raise ObjectMissing(f"档案目录中找不到文件 {key}") from err
        except OSError as err:
            raise _unavailable(err) from err
        return Reader(iter(lambda: handle.read(CHUNK), b""), handle.close)

    def retain(self, key: str, version: str | None, until: datetime) -> None:
        try:
            self._path(key).chmod(0o444)
        except FileNotFoundError as err:
            raise ObjectMissing(f"档案目录中找不到文件 {key}") from err

    def retention(self, key: str, version: str | None) -> datetime | None:
        return None  # read-only files carry no date

    def delete(self, key: str, version: str | None) -> None:
        path = self._path(key)
        if path.exists() and not path.stat().st_mode & 0o222:
            raise DeletionRefused(f"{key} 已归档（保管期内只读），不能删除")
        path.unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[StoredObject]:
        base = self._path(prefix.rstrip("/")) if prefix else self.root
        found = []
        for directory, _, files in os.walk(base):
            for name in files:
                if name.startswith(".part-"):
                    continue
                path = Path(directory, name)
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append(StoredObject(key, None, path.stat().st_size))
        yield from sorted(found, key=lambda o: o.key.encode())


def _copy(data: BinaryIO, out: BinaryIO, size: int) -> int:
    copied = 0
    while copied < size:
        chunk = data.read(min(CHUNK, size - copied))
        if not chunk:
            break
        out.write(chunk)
        copied += len(chunk)
    return copied


def from_settings(settings: Settings) -> ObjectStore:
    if settings.s3_endpoint:
        return S3Store(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            bucket=settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
        )
    return LocalStore(settings.archive_dir)


_current: ObjectStore | None = None


def install(store: ObjectStore) -> ObjectStore:
    """Make `store` the process's archive (the API does this from its settings at start-up)."""
    global _current
    _current = store
    return store


def current() -> ObjectStore:
    if _current is None:
        install(from_settings(get_settings()))
    return _current
