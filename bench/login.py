"""How long a refused sign-in takes, by why it was refused: nothing in the answer's timing may tell a
disabled account whose password was right from a wrong password.

    python -m bench.login [--rounds 100]

Through the application (FastAPI's TestClient, in this process) on a scratch PostgreSQL database,
`POST /api/v1/auth/token` for: a disabled account with its right password, the same with a wrong one,
an unknown user, and (the baseline) a wrong password for an enabled account. The kinds alternate
within each round, in an order rotated every round, so that a change in the machine's load falls on all
of them; every request comes from an address of its own and the limit's counts are cleared between
rounds (outside the timed calls), so that no attempt is refused by the limit instead. Each answer is
checked to be the baseline's (status and body). Printed: median and 90th percentile per kind, the ratio
of each median to the baseline's, and the ratio that must stay near 1: a disabled account with its right
password over the same with a wrong one. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import delete

from api.auth.models import LoginThrottle, User
from api.auth.passwords import hash_password
from canbao.config import PROJECT_ROOT, Settings
from canbao.db import make_engine, make_sessionmaker
from composition.app import create_app

from .scratch import deploy_processes, scratch_database

PASSWORD = "the-right-password"
SECRET = "bench-secret-0123456789abcdef0123456789"
KINDS = {
    "wrong_password": ("active", "a-wrong-password"),  # the baseline
    "disabled_right_password": ("retired", PASSWORD),
    "disabled_wrong_password": ("retired", "a-wrong-password"),
    "unknown_user": ("nobody", "a-wrong-password"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    with scratch_database("canbao_bench_login") as url:
        deploy_processes(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        with sessions() as s, s.begin():
            for username, disabled in (("active", False), ("retired", True)):
                s.add(
                    User(
                        username=username,
                        name=username,
                        password_hash=hash_password(PASSWORD),
                        roles=["county_approver"],
                        area="370102",
                        disabled=disabled,
                    )
                )
        data_dir = Path(tempfile.mkdtemp(prefix="canbao-bench-login-"))
        settings = Settings(
            database_url=url, data_dir=data_dir, bpmn_dir=PROJECT_ROOT / "bpmn", jwt_secret=SECRET
        )
        app = create_app(settings, sessions=sessions)
        times: dict[str, list[float]] = {kind: [] for kind in KINDS}
        order = list(KINDS)
        address = 0
        for round_no in range(args.rounds + 5):  # the first 5 rounds warm up and are not kept
            shift = round_no % len(order)
            answers = {}
            for kind in order[shift:] + order[:shift]:
                username, password = KINDS[kind]
                address += 1
                peer = f"10.{address >> 16 & 255}.{address >> 8 & 255}.{address & 255}"
                client = TestClient(app, client=(peer, 40000))
                start = time.perf_counter()
                r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
                elapsed = time.perf_counter() - start
                answers[kind] = (r.status_code, r.json())
                if round_no >= 5:
                    times[kind].append(elapsed)
            baseline = answers["wrong_password"]
            assert baseline[0] == 401, baseline
            assert all(answer == baseline for answer in answers.values()), answers
            with sessions() as s, s.begin():
                s.execute(delete(LoginThrottle))
        engine.dispose()
        shutil.rmtree(data_dir)
    base = statistics.median(times["wrong_password"])
    result = {"rounds": args.rounds}
    print(f"{'kind':<26}{'median ms':>10}{'p90 ms':>10}{'ratio':>8}")
    for kind, samples in times.items():
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1]
        print(f"{kind:<26}{median * 1000:>10.1f}{p90 * 1000:>10.1f}{median / base:>8.2f}")
        result[f"{kind}_median_ms"] = round(median * 1000, 1)
        result[f"{kind}_ratio"] = round(median / base, 3)
    # The pair that must not differ: a disabled account's answer with and without its password.
    leak = statistics.median(times["disabled_right_password"]) / statistics.median(
        times["disabled_wrong_password"]
    )
    print(f"disabled account, right / wrong password: {leak:.2f}")
    result["disabled_right_over_wrong"] = round(leak, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
