"""Backup and restore of a demo-sized office with its paperwork on an S3 server.

    python -m bench.backup [--persons 5000] [--documents 500] [--size 204800] [--rounds 2] [--crypto gm]

The office: `canbao demo` (divisions, processes, users, persons, a comparison, survey cases) plus
`--documents` scanned files of `--size` bytes attached to its survey cases (objects put on a SeaweedFS
`weed mini`, rows written as an upload writes them), on PostgreSQL installed with `--crypto`.

Timed in alternating rounds:
- create: `backup.create.create` — snapshot, pg_dump, every object read, all encrypted and hashed,
  the manifest signed.
- restore: `backup.restore.restore` into a new database and a new bucket with object lock — every
  digest checked, the dump restored, every object put back under retention, the rows pointed at the
  new versions, the audit chains (with anchors) and the archive verified.
- baseline: a plain copy of the same data: `pg_dump --format=custom` and every object to files; back
  with `pg_restore` into a new database and every object put into a new bucket. No snapshot coupling,
  encryption, digests, signature, retention or verification.

The last line is one JSON object with the medians.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from minio import Minio

from archive.models import Document
from archive.retention import PERSONAL_REGISTRATION
from archive.seaweed import WeedServer
from archive.store import S3Store
from backup.create import create
from backup.database import libpq
from backup.deployment import Deployment
from backup.restore import restore
from canbao import migrate
from canbao.actors import Actor
from canbao.audit import signing
from canbao.config import PROJECT_ROOT, Settings
from canbao.db import make_engine, make_sessionmaker, utcnow
from engine.models import Case

from .scratch import scratch_database

KEY = os.urandom(32)
OPERATOR = Actor(sub="bench", roles=("system",), area="", name="bench")


def _office(url: str, store: S3Store, data_dir: Path, persons: int, documents: int, size: int) -> None:
    from composition import demo
    from composition.wiring import wire

    wire()  # the service-task operations the processes name
    settings = Settings(database_url=url, data_dir=data_dir, bpmn_dir=PROJECT_ROOT / "bpmn")
    migrate.upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    demo.run(sessions, settings, persons=persons, cases=60)
    with sessions() as s, s.begin():
        cases = s.query(Case.id).order_by(Case.id).all()
        if not cases:
            raise SystemExit("the demo opened no survey cases: give more --persons")
        for i in range(documents):
            body = os.urandom(size)
            sha = hashlib.sha256(body).hexdigest()
            case_id = cases[i % len(cases)].id
            key = f"cases/{case_id}/{sha}"
            version = store.put(key, io.BytesIO(body), size, media_type="application/pdf")
            s.add(
                Document(
                    case_id=case_id,
                    kind="registration_form",
                    media_type="application/pdf",
                    size=size,
                    sha256=sha,
                    object_key=key,
                    object_version=version,
                    retention_class=PERSONAL_REGISTRATION.code,
                    uploaded_by="bench",
                    uploaded_at=utcnow(),
                )
            )
    engine.dispose()


def _canbao(source: Deployment, store: S3Store, work: Path) -> tuple[float, float, int]:
    directory = work / f"backup-{uuid.uuid4().hex[:8]}"
    created = create(source, directory, master=KEY, actor=OPERATOR)
    target_store = store.sibling(f"bench-restore-{uuid.uuid4().hex[:8]}", object_lock=True)
    with scratch_database("canbao_bench_restore") as url:
        target = Deployment(url, target_store, work / f"data-{uuid.uuid4().hex[:8]}")
        trusted = signing.trusted_keys(source.data_dir)
        restored = restore(directory, target, master=KEY, trusted=trusted, actor=OPERATOR)
    assert restored.ok, (restored.count_differences, restored.audit.breaks, restored.archive.findings)
    return created.seconds, restored.seconds, created.bytes


def _baseline(source: Deployment, store: S3Store, work: Path) -> tuple[float, float]:
    """A plain copy: pg_dump to a file and every object to a file; back with pg_restore and puts."""
    started = time.perf_counter()
    folder = work / f"plain-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    target, env = libpq(source.url)
    dump = folder / "database.dump"
    subprocess.run(
        ["pg_dump", "--format=custom", f"--file={dump}", f"--dbname={target}"], env=env, check=True
    )
    client: Minio = store.client
    names = []
    for obj in client.list_objects(store.bucket, prefix="cases/", recursive=True):
        response = client.get_object(store.bucket, obj.object_name)
        (folder / f"{len(names)}").write_bytes(response.read())
        response.close()
        response.release_conn()
        names.append(obj.object_name)
    dumped = time.perf_counter() - started
    started = time.perf_counter()
    copy = f"bench-plain-{uuid.uuid4().hex[:8]}"
    client.make_bucket(copy)
    for i, name in enumerate(names):
        body = (folder / f"{i}").read_bytes()
        client.put_object(copy, name, io.BytesIO(body), len(body))
    with scratch_database("canbao_bench_plain") as url:
        target, env = libpq(url)
        subprocess.run(
            ["pg_restore", "--single-transaction", "--no-owner", f"--dbname={target}", str(dump)],
            env=env,
            check=True,
        )
    return dumped, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=5000)
    parser.add_argument("--documents", type=int, default=500)
    parser.add_argument("--size", type=int, default=200 * 1024, help="bytes per document")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--crypto", choices=("standard", "gm"), default="standard")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="canbao-bench-backup-"))
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    weed = WeedServer.from_environ(work / "weed").start()
    try:
        store = S3Store(
            weed.endpoint, access_key=weed.access_key, secret_key=weed.secret_key, bucket="canbao-office"
        )
        with scratch_database("canbao_bench_backup") as url:
            os.environ["CANBAO_CRYPTO"] = args.crypto
            try:
                _office(url, store, work / "office", args.persons, args.documents, args.size)
            finally:
                os.environ.pop("CANBAO_CRYPTO", None)
            source = Deployment(url, store, work / "office")
            figures: dict[str, list[float]] = {
                k: [] for k in ("create", "restore", "plain_dump", "plain_restore")
            }
            size = 0
            for r in range(args.rounds):
                sides = ("canbao", "plain") if r % 2 == 0 else ("plain", "canbao")
                for side in sides:
                    if side == "canbao":
                        created, restored, size = _canbao(source, store, work)
                        figures["create"].append(created)
                        figures["restore"].append(restored)
                        print(f"round {r + 1}: create {created:.2f} s ({size / 1e6:.1f} MB), ", end="")
                        print(f"restore {restored:.2f} s")
                    else:
                        dumped, loaded = _baseline(source, store, work)
                        figures["plain_dump"].append(dumped)
                        figures["plain_restore"].append(loaded)
                        print(f"round {r + 1}: plain copy {dumped:.2f} s, plain restore {loaded:.2f} s")
    finally:
        weed.stop()
    medians = {k: round(statistics.median(v), 2) for k, v in figures.items()}
    ratio_create = medians["create"] / medians["plain_dump"]
    ratio_restore = medians["restore"] / medians["plain_restore"]
    print(
        f"{args.crypto}: create {medians['create']} s against a plain copy {medians['plain_dump']} s "
        f"(×{ratio_create:.2f}); restore with verification {medians['restore']} s against a plain "
        f"restore {medians['plain_restore']} s (×{ratio_restore:.2f}); backup {size / 1e6:.1f} MB"
    )
    print(
        json.dumps(
            {
                **{f"{k}_s": v for k, v in medians.items()},
                "create_ratio": round(ratio_create, 2),
                "restore_ratio": round(ratio_restore, 2),
                "backup_mb": round(size / 1e6, 1),
                "crypto": args.crypto,
                "documents": args.documents,
                "persons": args.persons,
            }
        )
    )


if __name__ == "__main__":
    main()
