"""Document uploads through canbao's HTTP route against raw `minio` puts to the same S3 server.

    python -m bench.archive [--files 2000] [--size 204800] [--concurrency 4] [--workers 2]

canbao: the application as deployed, `canbao serve` (uvicorn with its defaults: httptools, uvloop,
access log, here written to a file), started by this benchmark as `--workers` processes of its own on
free 127.0.0.1 ports with the settings from the environment. Each of `--concurrency` client threads in
this process sends `POST /api/v1/cases/{id}/documents` (multipart, bearer token) as real HTTP/1.1 over
loopback through a keep-alive `urllib3` connection to one of the processes (client k to process
k mod workers, so the load is split evenly whatever the kernel's accept order). Each upload pays
everything a deployed one does: HTTP parsing, routing, the token check and the user's standing in
PostgreSQL, the case and task checks, multipart parsing, type sniffing, size cap, SHA-256 while
streaming, the object put from the server (minio, signed), then the row and its audit event in one
PostgreSQL transaction, and the JSON answer.

Baseline: `Minio.put_object` of the same bytes into the same bucket of the same server from as many
threads of this process, in the same run, with minio's default client (keep-alive connections, SigV4
with the payload's SHA-256 over plain HTTP).

The two sides alternate in rounds after a warm-up of each, so that a change in the machine's load
falls on both. CPU per file is printed for each process: this one (the clients), canbao's servers,
the S3 server, and the PostgreSQL backends of the scratch database (from /proc, so Linux only).
The S3 server is a SeaweedFS `weed mini` started here (or the one named by CANBAO_BENCH_S3_ENDPOINT
with CANBAO_BENCH_S3_ACCESS_KEY / _SECRET_KEY); PostgreSQL from CANBAO_BENCH_PG.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import urllib3
from minio import Minio
from sqlalchemy import func, select

from api.auth.models import User
from api.auth.passwords import hash_password
from archive.models import Document
from archive.seaweed import WeedServer
from canbao.actors import Actor
from canbao.db import make_engine, make_sessionmaker
from engine import cases
from registry import survey

from .scratch import deploy_processes, scratch_database

VILLAGE = "370102001002"
SYSTEM = Actor(sub="bench", roles=("system",), area="")
PLATFORM = Actor(sub="platform1", roles=("platform_reviewer",), area=VILLAGE[:9])
PASSWORD = "bench-password-0123"
BOUNDARY = "canbao-bench-boundary"
FILES_PER_CASE = 20
TICK = os.sysconf("SC_CLK_TCK")


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
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
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
    engine.dispose()
    return ids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(env: dict[str, str], workdir: Path, workers: int) -> list[tuple[subprocess.Popen, int]]:
    """`canbao serve` once per worker, each on its own port; returns when every one answers."""
    canbao = str(Path(sys.executable).with_name("canbao"))
    servers = []
    for n in range(workers):
        port = _free_port()
        log = open(workdir / f"serve-{n}.log", "wb")  # noqa: SIM115 (the child holds it)
        process = subprocess.Popen(
            [canbao, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=os.environ | env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        servers.append((process, port))
    for n, (process, port) in enumerate(servers):
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log = (workdir / f"serve-{n}.log").read_text(errors="replace")
                raise RuntimeError(f"canbao serve exited with {process.returncode}:\n{log[-2000:]}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    return servers


def _cpu(pids: Iterable[int]) -> float:
    """User and system CPU seconds of these processes so far (their threads included)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def _backends(database: str) -> list[int]:
    """The PostgreSQL backends connected to `database` (their title names it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
                pids.append(int(entry.name))
    return pids


def _run(task: Callable[[int, int], None], indices: range, concurrency: int) -> float:
    """`task(client, index)` for every index, from `concurrency` threads taking the next index."""
    todo, lock, failed = iter(indices), threading.Lock(), []

    def client(k: int) -> None:
        try:
            while True:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                task(k, i)
        except BaseException as err:  # reported after the others finish
            failed.append(err)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise failed[0]
    return time.perf_counter() - started


def _canbao(
    ports: list[int], token: str, case_ids: list[int], size: int, base: bytes, concurrency: int
) -> Callable[[range], float]:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    pools = [
        urllib3.HTTPConnectionPool("127.0.0.1", ports[k % len(ports)], maxsize=1, timeout=60, retries=False)
        for k in range(concurrency)
    ]

    def upload(k: int, i: int) -> None:
        case_id = case_ids[i % len(case_ids)]  # concurrent clients work on different cases
        body = multipart(content(i, size, base))
        r = pools[k].request("POST", f"/api/v1/cases/{case_id}/documents", body=body, headers=headers)
        if r.status != 201:
            raise RuntimeError(f"upload {i}: {r.status} {r.data.decode()}")

    return lambda indices: _run(upload, indices, concurrency)


def _raw(minio: Minio, bucket: str, size: int, base: bytes, concurrency: int) -> Callable[[range], float]:
    def put(k: int, i: int) -> None:
        data = content(i, size, base)
        minio.put_object(bucket, f"raw/{i}", io.BytesIO(data), len(data), content_type="application/pdf")

    return lambda indices: _run(put, indices, concurrency)


def _token(port: int) -> str:
    r = urllib3.PoolManager().request(
        "POST",
        f"http://127.0.0.1:{port}/api/v1/auth/token",
        fields={"username": "surveyor1", "password": PASSWORD},
        encode_multipart=False,
    )
    if r.status != 200:
        raise RuntimeError(f"login: {r.status} {r.data.decode()}")
    return r.json()["access_token"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", type=int, default=200 * 1024, help="bytes per file")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients on each side")
    parser.add_argument("--workers", type=int, default=2, help="canbao server processes")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of the two sides")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="canbao-bench-archive-"))
    weed = None
    if os.environ.get("CANBAO_BENCH_S3_ENDPOINT"):
        endpoint = os.environ["CANBAO_BENCH_S3_ENDPOINT"]
        access, secret = os.environ["CANBAO_BENCH_S3_ACCESS_KEY"], os.environ["CANBAO_BENCH_S3_SECRET_KEY"]
    else:
        weed = WeedServer.from_environ(workdir / "weed").start()
        endpoint, access, secret = weed.endpoint, weed.access_key, weed.secret_key
    servers: list[tuple[subprocess.Popen, int]] = []
    try:
        with scratch_database() as url:
            case_ids = _prepare(url, -(-args.files // FILES_PER_CASE))
            bucket = f"canbao-bench-{uuid.uuid4().hex[:8]}"
            servers = _serve(
                {
                    "DATABASE_URL": url,
                    "CANBAO_DATA_DIR": str(workdir),
                    "CANBAO_JWT_SECRET": uuid.uuid4().hex * 2,
                    "CANBAO_S3_ENDPOINT": endpoint,
                    "CANBAO_S3_ACCESS_KEY": access,
                    "CANBAO_S3_SECRET_KEY": secret,
                    "CANBAO_S3_BUCKET": bucket,
                },
                workdir,
                args.workers,
            )
            ports = [port for _, port in servers]
            minio = Minio(endpoint, access_key=access, secret_key=secret, secure=False)
            base = os.urandom(args.size)
            megabytes = args.files * args.size / 1e6
            token = _token(ports[0])

            # Warm-up on both sides (connections, code paths) with other content; the first upload
            # creates the bucket (with object lock).
            warm = range(args.files, args.files + 8 * args.concurrency)
            _canbao(ports, token, case_ids, args.size, base[::-1], 1)(warm[:1])
            _canbao(ports, token, case_ids, args.size, base[::-1], args.concurrency)(warm[1:])
            _raw(minio, bucket, args.size, base[::-1], args.concurrency)(warm)

            canbao = _canbao(ports, token, case_ids, args.size, base, args.concurrency)
            raw = _raw(minio, bucket, args.size, base, args.concurrency)
            groups = {
                "this process (clients)": lambda: [os.getpid()],
                "canbao servers": lambda: [p.pid for p, _ in servers],
                "S3 server": lambda: [weed.pid] if weed is not None else [],
                "PostgreSQL backends": lambda: _backends(url.rsplit("/", 1)[1]),
            }
            seconds = {"canbao": 0.0, "raw": 0.0}
            cpu = {side: dict.fromkeys(groups, 0.0) for side in seconds}
            step = -(-args.files // args.rounds)
            for start in range(0, args.files, step):
                part = range(start, min(start + step, args.files))
                for side, run in (("canbao", canbao), ("raw", raw)):
                    before = {name: _cpu(pids()) for name, pids in groups.items()}
                    seconds[side] += run(part)
                    for name, pids in groups.items():
                        cpu[side][name] += _cpu(pids()) - before[name]
            engine = make_engine(url)
            with make_sessionmaker(engine)() as s:
                stored = s.scalar(select(func.count()).select_from(Document)) - len(warm)
            engine.dispose()
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(30)
        if weed is not None:
            weed.stop()
        shutil.rmtree(workdir, ignore_errors=True)  # the S3 server's data: 800 MB a run

    print(
        f"{args.files} files of {args.size // 1024} KB, {args.concurrency} concurrent clients each side, "
        f"{args.workers} canbao server processes, {args.rounds} alternating rounds"
    )
    for side, label in (("canbao", "canbao upload route over HTTP"), ("raw", "raw minio put_object")):
        rows = f", {stored} rows written" if side == "canbao" else ""
        print(f"{label}: {seconds[side]:.2f} s, {megabytes / seconds[side]:.1f} MB/s{rows}")
        print(
            "  CPU per file: "
            + ", ".join(f"{name} {cpu[side][name] / args.files * 1000:.2f} ms" for name in groups)
        )
    print(
        json.dumps(
            {
                "canbao_mb_s": round(megabytes / seconds["canbao"], 1),
                "raw_mb_s": round(megabytes / seconds["raw"], 1),
                "ratio": round(seconds["raw"] / seconds["canbao"], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
