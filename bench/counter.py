"""The counter window's round trips (第十三条: a queue waits on them), through the application.

    python -m bench.counter [--persons 20000] [--visits 40]

On a scratch PostgreSQL database with the demo population of 历下区 compared (flags raised), for
`--visits` adults flagged 需调查登记 as uninsured, times what the counter page asks of the API at each
keystroke that moves the flow on, as FastAPI's TestClient in this process sends it:

- lookup (Enter after the number): GET /persons/{id}/missing, GET /persons/{id}, GET /cases?person_id=…
- collect (提交采集): POST /cases, GET /cases/{id}, GET /tasks/{id}, POST /tasks/{id}/complete
- check (校核通过, by a second clerk): GET /tasks?process=…, GET /tasks/{id}, POST /tasks/{id}/complete

The baseline, timed in the same run between the steps, is one GET /persons/{id}: the smallest audited
read of a person through the same stack. Every collection is checked to have cleared the person's flag.
The last line is one JSON object with the medians and 90th percentiles in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.auth.models import User
from api.auth.passwords import hash_password
from canbao.actors import Actor
from canbao.config import PROJECT_ROOT, Settings
from canbao.db import make_engine, make_sessionmaker
from composition.app import create_app
from forms import divisions
from registry import comparison, demo
from registry.models import Flag, Person

from .scratch import deploy_processes, scratch_database

COUNTY = "370102"
PASSWORD = "bench-counter-password"
SECRET = "bench-secret-0123456789abcdef0123456789"
ACTOR = Actor(sub="bench", roles=("system",), area="")
INSURANCE_KEYS = ("scheme", "status", "payment_status", "place", "first_date")


def collected(record: dict[str, Any]) -> dict[str, Any]:
    """What the clerk's form sends: the record's 登记表 fields with the missing ones filled in."""
    keep = ("id_type", "id_number", "name", "sex", "birth_date", "ethnicity", "hukou", "residence", "phone")
    form = {k: record[k] for k in keep if record.get(k) not in (None, "")}
    form["hukou"] = {k: v for k, v in (record.get("hukou") or {}).items() if v} | {"nature": "10"}
    village = form["hukou"]["division"]
    form |= {
        "ethnicity": record.get("ethnicity") or "01",
        "residence": {"division": village, "address": "济南市历下区解放路1号"},
        "phone": "13905310000",
        "employment": {"status": "21"},
        "insurance": [
            {k: e[k] for k in INSURANCE_KEYS if e.get(k) is not None} for e in record.get("insurance") or []
        ],
        "uninsured_reason": {"code": "02"},
        "survey": {"channel": "counter", "date": date.today().isoformat()},
    }
    return form


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--visits", type=int, default=40)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"baseline": [], "lookup": [], "collect": [], "check": []}
    with scratch_database("canbao_bench_counter") as url:
        deploy_processes(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        work = Path(tempfile.mkdtemp(prefix="canbao-bench-counter-"))
        with sessions() as s, s.begin():
            divisions.import_dir(s, divisions.DATA_DIR, actor=ACTOR)
            for username in ("counter1", "counter2"):
                s.add(
                    User(
                        username=username,
                        name=username,
                        password_hash=hash_password(PASSWORD),
                        roles=["counter_clerk"],
                        area=COUNTY,
                    )
                )
        with sessions() as s, s.begin():
            demo.load(s, actor=ACTOR, generated=demo.generate(work, persons=args.persons, area=COUNTY))
        with sessions() as s, s.begin():
            comparison.run(s, actor=ACTOR, area=COUNTY)
        with sessions() as s:
            visitors = list(
                s.scalars(
                    select(Person.id)
                    .join(Flag, Flag.person_id == Person.id)
                    .where(
                        Flag.status == "open",
                        Flag.kind == "needs_survey",
                        Flag.reasons == "uninsured",
                        Person.birth_date < date(2000, 1, 1),
                        Person.id_type == "01",
                    )
                    .order_by(Person.id)
                    .limit(args.visits + 3)
                )
            )
        settings = Settings(
            database_url=url, data_dir=work / "data", bpmn_dir=PROJECT_ROOT / "bpmn", jwt_secret=SECRET
        )
        client = TestClient(create_app(settings, sessions=sessions))
        tokens = {}
        for username in ("counter1", "counter2"):
            r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
            tokens[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}

        def call(method: str, path: str, user: str, **kw: Any) -> Any:
            r = client.request(
                method, f"/api/v1{path}", headers={**tokens[user], **kw.pop("headers", {})}, **kw
            )
            assert r.status_code < 300, (path, r.status_code, r.text)
            return r.json()

        for n, person in enumerate(visitors):
            keep = n >= 3  # the first visits warm up
            start = time.perf_counter()
            call("GET", f"/persons/{person}", "counter1")
            baseline = time.perf_counter() - start

            start = time.perf_counter()
            missing = call("GET", f"/persons/{person}/missing", "counter1")
            record = call("GET", f"/persons/{person}", "counter1")
            call("GET", "/cases", "counter1", params={"process": "counter_collection", "person_id": person})
            lookup = time.perf_counter() - start
            assert missing["items"], person

            start = time.perf_counter()
            case = call(
                "POST", "/cases", "counter1", json={"process": "counter_collection", "person_id": person}
            )
            task_id = call("GET", f"/cases/{case['id']}", "counter1")["tasks"][0]["id"]
            version = call("GET", f"/tasks/{task_id}", "counter1")["case_version"]
            call(
                "POST",
                f"/tasks/{task_id}/complete",
                "counter1",
                json=collected(record),
                headers={"If-Match": str(version)},
            )
            collect = time.perf_counter() - start

            start = time.perf_counter()
            listed = call("GET", "/tasks", "counter2", params={"process": "counter_collection"})["items"]
            check_id = next(t["id"] for t in listed if t["case_id"] == case["id"])
            version = call("GET", f"/tasks/{check_id}", "counter2")["case_version"]
            call(
                "POST",
                f"/tasks/{check_id}/complete",
                "counter2",
                json={"decision": "approve"},
                headers={"If-Match": str(version)},
            )
            check = time.perf_counter() - start
            with sessions() as s:
                still = s.scalar(select(Flag.id).where(Flag.person_id == person, Flag.status == "open"))
                assert still is None, f"flag of {person} not cleared"
            if keep:
                for key, value in (
                    ("baseline", baseline),
                    ("lookup", lookup),
                    ("collect", collect),
                    ("check", check),
                ):
                    times[key].append(value)
        client.close()
        engine.dispose()
        shutil.rmtree(work)
    base = statistics.median(times["baseline"])
    result: dict[str, Any] = {"persons": args.persons, "visits": len(times["lookup"])}
    print(f"{'step':<10}{'median ms':>10}{'p90 ms':>10}{'× baseline':>12}")
    for key, samples in times.items():
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1]
        print(f"{key:<10}{median * 1000:>10.1f}{p90 * 1000:>10.1f}{median / base:>12.1f}")
        result[f"{key}_median_ms"] = round(median * 1000, 1)
        result[f"{key}_p90_ms"] = round(p90 * 1000, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
