"""Document uploads through canbao's HTTP route against raw `minio` puts to the same S3 server.

    python -m bench.archive [--files 2000] [--size 204800] [--concurrency 4] [--via http|service]

canbao (`--via http`, the default): `POST /api/v1/cases/{id}/documents` on the ASGI app in this
process (httpx's ASGI transport, no network between client and app): token check, case and task
checks, multipart parsing, type sniffing, SHA-256 while streaming, the object put, then the row and
its audit event in PostgreSQL. `--via service` calls what the route calls (`archive.documents.admit`,
`archive.intake.receive`, `archive.documents.attach`) without HTTP routing and token checks.
Baseline: `Minio.put_object` of the same bytes into the same server, same number of concurrent
clients, in the same run. The S3 server is a SeaweedFS `weed mini` started here (or the one named by
CANBAO_BENCH_S3_ENDPOINT with CANBAO_BENCH_S3_ACCESS_KEY / _SECRET_KEY); PostgreSQL from CANBAO_BENCH_PG.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from minio import Minio
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from api.app import create_app
from api.auth.models import User
from api.auth.passwords import hash_password
from archive import documents, intake
from archive.models import Document
from archive.seaweed import WeedServer
from canbao.actors import Actor
from canbao.config import PROJECT_ROOT, Settings
from canbao.db import make_engine, make_sessionmaker, transaction
from engine import cases
from registry import survey

from .scratch import deploy_processes, scratch_database

VILLAGE = "370102001002"
SYSTEM = Actor(sub="bench", roles=("system",), area="")
PLATFORM = Actor(sub="platform1", roles=("platform_reviewer",), area=VILLAGE[:9])
SURVEYOR = Actor(sub="surveyor1", roles=("surveyor",), area=VILLAGE[:9], teams=(1,))
PASSWORD = "bench-password-0123"
BOUNDARY = "canbao-bench-boundary"
FILES_PER_CASE = 20


def content(i: int, size: int, base: bytes) -> bytes:
    """A distinct PDF-signed file per index (distinct hashes, so distinct objects)."""
    head = b"%PDF-1.7\n%" + i.to_bytes(8, "big") + b"\n"
    return head + base[: size - len(head)]


def multipart(data: bytes) -> bytes:
    return b"".join(
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nother\r\n'.encode(),
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="scan.pdf"\r\n'.encode(),
            b"Content-Type: application/pdf\r\n\r\n",
            data,
            f"\r\n--{BOUNDARY}--\r\n".encode(),
        )
    )


def _prepare(url: str, cases_needed: int) -> list[int]:
    deploy_processes(url)
    sessions = make_sessionmaker(make_engine(url))
    with sessions() as s, s.begin():
        s.add(
            User(
                username="surveyor1",
                name="李四",
                password_hash=hash_password(PASSWORD),
                roles=["surveyor"],
                area=VILLAGE[:9],
            )
        )
        survey.create_team(
            s,
            actor=SYSTEM,
            name="解放路一组",
            area=VILLAGE[:9],
            members=[
                {"name": "李四", "card_no": "DC0001", "user_sub": "surveyor1"},
                {"name": "王五", "card_no": "DC0002"},
            ],
        )
    ids = []
    with sessions() as s, s.begin():
        for _ in range(cases_needed):
            case = cases.start(s, actor=PLATFORM, process_key="survey_registration", area=VILLAGE, team_id=1)
            ids.append(case.id)
    return ids


async def _canbao(
    app, indices: range, case_ids: list[int], size: int, base: bytes, concurrency: int
) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://canbao", timeout=60) as client:
        r = await client.post("/api/v1/auth/token", data={"username": "surveyor1", "password": PASSWORD})
        headers = {
            "Authorization": f"Bearer {r.json()['access_token']}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        }
        todo = iter(indices)

        async def client_loop() -> None:
            for i in todo:
                case_id = case_ids[i % len(case_ids)]  # concurrent clients work on different cases
                r = await client.post(
                    f"/api/v1/cases/{case_id}/documents",
                    content=multipart(content(i, size, base)),
                    headers=headers,
                )
                if r.status_code != 201:
                    raise RuntimeError(f"upload {i}: {r.status_code} {r.text}")

        started = time.perf_counter()
        await asyncio.gather(*(client_loop() for _ in range(concurrency)))
        return time.perf_counter() - started


async def _service(
    app, indices: range, case_ids: list[int], size: int, base: bytes, concurrency: int
) -> float:
    sessions, archive = app.state.sessions, app.state.archive
    limit = app.state.settings.max_upload_bytes
    todo = iter(indices)

    def admit(case_id: int) -> documents.Admission:
        with transaction(sessions) as session:
            return documents.admit(session, actor=SURVEYOR, case_id=case_id)

    async def chunks(body: bytes):
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    async def client_loop() -> None:
        for i in todo:
            admission = await run_in_threadpool(admit, case_ids[i % len(case_ids)])
            body = multipart(content(i, size, base))
            upload = await intake.receive(
                chunks(body),
                content_type=f"multipart/form-data; boundary={BOUNDARY}",
                content_length=str(len(body)),
                limit=limit,
            )
            try:
                await run_in_threadpool(
                    documents.attach, sessions, archive, actor=SURVEYOR, admission=admission, upload=upload
                )
            finally:
                upload.close()

    started = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(concurrency)))
    return time.perf_counter() - started


def _raw(minio: Minio, bucket: str, indices: range, size: int, base: bytes, concurrency: int) -> float:
    def put(i: int) -> None:
        data = content(i, size, base)
        minio.put_object(bucket, f"raw/{i}", io.BytesIO(data), len(data), content_type="application/pdf")

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(put, indices))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", type=int, default=200 * 1024, help="bytes per file")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients on each side")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of the two sides")
    parser.add_argument("--via", choices=("http", "service"), default="http", help="canbao's side")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="canbao-bench-archive-"))
    weed = None
    if os.environ.get("CANBAO_BENCH_S3_ENDPOINT"):
        endpoint = os.environ["CANBAO_BENCH_S3_ENDPOINT"]
        access, secret = os.environ["CANBAO_BENCH_S3_ACCESS_KEY"], os.environ["CANBAO_BENCH_S3_SECRET_KEY"]
    else:
        weed = WeedServer.from_environ(workdir / "weed").start()
        endpoint, access, secret = weed.endpoint, weed.access_key, weed.secret_key
    try:
        with scratch_database() as url:
            case_ids = _prepare(url, -(-args.files // FILES_PER_CASE))
            bucket = f"canbao-bench-{uuid.uuid4().hex[:8]}"
            settings = Settings(
                database_url=url,
                data_dir=workdir,
                bpmn_dir=PROJECT_ROOT / "bpmn",
                jwt_secret="bench-secret-0123456789abcdef0123456789",
                s3_endpoint=endpoint,
                s3_access_key=access,
                s3_secret_key=secret,
                s3_bucket=bucket,
            )
            engine = make_engine(url, pool_size=args.concurrency + 2)
            app = create_app(settings, sessions=make_sessionmaker(engine))
            app.state.archive.ping()  # creates the bucket (object lock) before timing
            minio = Minio(endpoint, access_key=access, secret_key=secret, secure=False)
            base = os.urandom(args.size)
            megabytes = args.files * args.size / 1e6

            upload = _canbao if args.via == "http" else _service
            # Warm-up on both sides (connections, code paths) with other content.
            warm = range(args.files, args.files + 4 * args.concurrency)
            asyncio.run(upload(app, warm, case_ids, args.size, base[::-1], args.concurrency))
            _raw(minio, bucket, warm, args.size, base[::-1], args.concurrency)

            # The two sides alternate, so that a change in the machine's load falls on both.
            canbao_s = raw_s = canbao_cpu = raw_cpu = 0.0
            step = -(-args.files // args.rounds)
            for start in range(0, args.files, step):
                part = range(start, min(start + step, args.files))
                cpu = time.process_time()
                canbao_s += asyncio.run(upload(app, part, case_ids, args.size, base, args.concurrency))
                canbao_cpu += time.process_time() - cpu
                cpu = time.process_time()
                raw_s += _raw(minio, bucket, part, args.size, base, args.concurrency)
                raw_cpu += time.process_time() - cpu
            with make_sessionmaker(engine)() as s:
                stored = s.scalar(select(func.count()).select_from(Document)) - len(warm)
            engine.dispose()
            print(
                f"{args.files} files of {args.size // 1024} KB, "
                f"{args.concurrency} concurrent clients each side, {args.rounds} alternating rounds"
            )
            side = "upload route" if args.via == "http" else "archive service"
            print(
                f"canbao ({side}): {canbao_s:.2f} s, {megabytes / canbao_s:.1f} MB/s, {stored} rows written; "
                f"{canbao_cpu / args.files * 1000:.1f} ms CPU per file in this process (client and app)"
            )
            print(
                f"raw minio put_object: {raw_s:.2f} s, {megabytes / raw_s:.1f} MB/s; "
                f"{raw_cpu / args.files * 1000:.1f} ms CPU per file in this process (client)"
            )
            report = {
                "canbao_mb_s": round(megabytes / canbao_s, 1),
                "raw_mb_s": round(megabytes / raw_s, 1),
                "ratio": round(raw_s / canbao_s, 2),
            }
    finally:
        if weed is not None:
            weed.stop()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
