"""`canbao archive verify`: re-read the archive and check it against the database and the manifests.

Rows and stored objects are walked together in key order (a merge, so memory stays flat however
large the archive): every document and manifest is re-read and its SHA-256 and size compared with
its row; every manifest's document list is compared with the document rows; every stored object
version that no row points at is reported as an orphan (an upload or seal that crashed between the
store and the database; such objects are never served, since objects are only reached via rows).
After `canbao backup restore` the rows name the versions the restore wrote, and a manifest's versions
are matched through `RestoredVersion`. Under the national profile each document's SM3 is checked
against the one its manifest lists.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from canbao.crypto import GM
from canbao.crypto.installation import setup_of

from .models import ArchivePackage, Document, RestoredVersion
from .sealing import WITH_SM3, digest, digests
from .store import ObjectMissing, ObjectStore, StoreUnavailable


@dataclass(frozen=True)
class Finding:
    problem: str  # missing | altered | unreadable | manifest_mismatch | orphan
    key: str
    version: str | None
    detail: str
    case_id: int | None = None
    document_id: int | None = None


@dataclass
class Report:
    documents: int = 0
    manifests: int = 0
    objects: int = 0
    findings: list[Finding] = field(default_factory=list)
    # Whether a restore wrote new object versions (their sealed versions are in RestoredVersion).
    restored: bool = field(default=False, repr=False)
    # Under the national profile: each document's SM3 as read, for its case's manifest (read after its
    # documents, since "manifest-…" sorts after hex digests); cleared case by case.
    national: bool = field(default=False, repr=False)
    sm3: dict[tuple[str, str | None], str] = field(default_factory=dict, repr=False)
    sm3_case: int | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> dict:
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[finding.problem] = counts.get(finding.problem, 0) + 1
        return {
            "documents": self.documents,
            "manifests": self.manifests,
            "objects": self.objects,
            "problems": counts,
        }


@dataclass(frozen=True)
class _Row:
    key: str
    version: str | None
    sha256: str
    size: int
    case_id: int
    document_id: int | None  # None for a manifest


def _rows(session: Session, case_id: int | None) -> Iterator[_Row]:
    docs = select(Document).order_by(Document.object_key, Document.id)
    packages = select(ArchivePackage).order_by(ArchivePackage.manifest_key)
    if case_id is not None:
        docs = docs.where(Document.case_id == case_id)
        packages = packages.where(ArchivePackage.case_id == case_id)
    doc_rows = (
        _Row(d.object_key, d.object_version, d.sha256, d.size, d.case_id, d.id)
        for d in session.scalars(docs.execution_options(yield_per=1000))
    )
    package_rows = (
        _Row(p.manifest_key, p.manifest_version, p.sha256, p.size, p.case_id, None)
        for p in session.scalars(packages.execution_options(yield_per=1000))
    )
    return heapq.merge(doc_rows, package_rows, key=lambda r: r.key.encode())


def verify(session: Session, store: ObjectStore, *, case_id: int | None = None) -> Report:
    report = Report(
        restored=session.scalar(select(exists().where(RestoredVersion.id.is_not(None)))),
        national=setup_of(session).profile is GM,
    )
    prefix = f"cases/{case_id}/" if case_id is not None else "cases/"
    rows = groupby(_rows(session, case_id), key=lambda r: r.key)
    stored = groupby(store.list(prefix), key=lambda o: o.key)
    row_group, stored_group = next(rows, None), next(stored, None)
    while row_group is not None or stored_group is not None:
        row_key = row_group[0].encode() if row_group else None
        stored_key = stored_group[0].encode() if stored_group else None
        if stored_key is None or (row_key is not None and row_key < stored_key):
            _check_key(session, store, report, list(row_group[1]), [])
            row_group = next(rows, None)
        elif row_key is None or stored_key < row_key:
            _check_key(session, store, report, [], list(stored_group[1]))
            stored_group = next(stored, None)
        else:
            _check_key(session, store, report, list(row_group[1]), list(stored_group[1]))
            row_group, stored_group = next(rows, None), next(stored, None)
    return report


def _check_key(session: Session, store: ObjectStore, report: Report, rows: list[_Row], stored: list) -> None:
    report.objects += len(stored)
    for row in rows:
        if row.document_id is None:
            report.manifests += 1
        else:
            report.documents += 1
        # Read every row's version even when the listing lacks it (a write beneath the S3 layer can
        # hide a version from listings yet leave it readable): the read tells missing from altered.
        _check_content(session, store, report, row)
    referenced = {row.version for row in rows}
    for obj in stored:
        if obj.version not in referenced:
            report.findings.append(
                Finding("orphan", obj.key, obj.version, f"存储中有对象（{obj.size} 字节）但没有对应记录")
            )


def _check_content(session: Session, store: ObjectStore, report: Report, row: _Row) -> None:
    try:
        reader = store.open(row.key, row.version)
        if row.document_id is None:
            body = b"".join(reader)
            sha, size = hashlib.sha256(body).hexdigest(), len(body)
        elif report.national:
            found, size = digests(reader, WITH_SM3)
            sha = found["sha256"]
            if row.case_id != report.sm3_case:  # the manifests of earlier cases are checked already
                report.sm3.clear()
                report.sm3_case = row.case_id
            report.sm3[(row.key, row.version)] = found["sm3"]
        else:
            sha, size = digest(reader)
    except ObjectMissing:
        report.findings.append(
            Finding("missing", row.key, row.version, "对象在存储中不存在", row.case_id, row.document_id)
        )
        return
    except StoreUnavailable:
        raise
    except Exception as err:  # a store that breaks off mid-read: report the object, keep going
        report.findings.append(
            Finding("unreadable", row.key, row.version, f"读取失败：{err}", row.case_id, row.document_id)
        )
        return
    if (sha, size) != (row.sha256, row.size):
        report.findings.append(
            Finding(
                "altered",
                row.key,
                row.version,
                f"内容已被改动：SHA-256 {sha}（{size} 字节），登记值 {row.sha256}（{row.size} 字节）",
                row.case_id,
                row.document_id,
            )
        )
        return
    if row.document_id is None:
        _check_manifest(session, report, row, body)


def _check_manifest(session: Session, report: Report, row: _Row, body: bytes) -> None:
    listed = {d["id"]: d for d in json.loads(body)["documents"]}
    sealed = {d.id: d for d in session.scalars(select(Document).where(Document.case_id == row.case_id))}
    original = _sealed_versions(session, sealed.values()) if report.restored else {}
    for document_id in sorted(listed.keys() | sealed.keys()):
        entry, document = listed.get(document_id), sealed.get(document_id)
        if entry is None:
            detail = "材料在数据库中属于本案件，但不在归档清单中"
        elif document is None:
            detail = "归档清单列出的材料在数据库中不存在"
        elif (entry["sha256"], entry["key"]) != (document.sha256, document.object_key) or entry[
            "version"
        ] not in _versions(document, original):
            detail = "归档清单与数据库记录的校验值或版本不一致"
        elif (
            "sm3" in entry and report.sm3.get((document.object_key, document.object_version)) != entry["sm3"]
        ):
            detail = "材料的 SM3 杂凑值与归档清单不符"
        else:
            continue
        report.findings.append(
            Finding("manifest_mismatch", row.key, row.version, detail, row.case_id, document_id)
        )


def _versions(document: Document, original: dict) -> tuple[str | None, ...]:
    """The versions a manifest may name for a document: the one its row names, or the one that stood
    for it before a restore."""
    key = (document.object_key, document.object_version)
    return (document.object_version, original[key]) if key in original else (document.object_version,)


def _sealed_versions(session: Session, documents) -> dict[tuple[str, str | None], str | None]:
    """For documents a restore rewrote: (key, version now) → the version a manifest sealed before the
    restore (one sealed after it names the version now)."""
    keys = [d.object_key for d in documents]
    rows = session.execute(
        select(RestoredVersion.object_key, RestoredVersion.version, RestoredVersion.original_version).where(
            RestoredVersion.object_key.in_(keys)
        )
    )
    return {(r.object_key, r.version): r.original_version for r in rows}
