"""Seconds from `scripts/start` to a serving office: a first start (fresh database and archive, setup
forced to install as on a fresh clone with the packages cached) against a second start on the same
database. Runs in this checkout on a free port with its own SQLite file and data directory.

    python -m bench.start
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_seconds(env: dict[str, str], *, timeout: float = 600) -> float:
    """Run scripts/start until /readyz answers 200, stop it, and return the seconds it took."""
    port = _free_port()
    began = time.monotonic()
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "start"), "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    return time.monotonic() - began
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"scripts/start exited with {proc.returncode}")
            if time.monotonic() - began > timeout:
                raise TimeoutError("scripts/start did not serve")
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="canbao-start-") as tmp:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{Path(tmp) / 'canbao.db'}",
            "CANBAO_DATA_DIR": str(Path(tmp) / "var"),
        }
        env.pop("CANBAO_S3_ENDPOINT", None)
        first = start_seconds({**env, "CANBAO_SETUP_FORCE": "1"})
        second = start_seconds(env)
    print(f"first start (setup forced, demo loaded): {first:.1f} s")
    print(f"second start (nothing changed):          {second:.1f} s")
    print(json.dumps({"first_s": round(first, 1), "second_s": round(second, 1)}))


if __name__ == "__main__":
    main()
