"""The load generator of bench.office, in a process of its own: asyncio and one HTTP/1.1 connection per
simulated user, so that it takes as little of the CPU from the server as a client can.

    python -m bench.office_load PLAN.json

The plan (written by bench.office) names the server, the users and their password, the real cases
and their survey tasks, the concurrency steps and how long each lasts. For each step, that many users
work at once, each sending its next request as soon as the last one is answered, with the action mix
of an office day (`MIX`). One JSON line per step goes to stdout: per action the count, the statuses
and the latencies' p50/p95/p99; for the step the throughput, the 5xx answers, the answers that took
over 10 s and the requests with no answer at all.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

# action: weight. Reading dominates an office day: the inbox and its counts, opening a task, the case
# and its history; completing a survey task with a valid 登记表 and uploading a scan are the writes.
MIX = {
    "inbox": 30,
    "counts": 10,
    "open_task": 15,
    "complete": 6,
    "review": 4,
    "upload": 4,
    "case": 12,
    "history": 8,
    "stats": 5,
}
INBOX_FILTERS = (
    {},
    {"status": "open"},
    {"status": "mine"},
    {"status": "others"},
    {"overdue": "true"},
    {"process": "survey_registration"},
    {"sort": "age"},
    {"q": "王"},
)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16  # a 4 KB "scan"
SLOW_S = 10.0


@dataclass
class Step:
    concurrency: int
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    over_10s: int = 0
    no_answer: int = 0

    def note(self, action: str, status: int | str, seconds: float) -> None:
        self.statuses[action][str(status)] += 1
        if isinstance(status, int):
            self.latencies[action].append(seconds)
            if seconds > SLOW_S:
                self.over_10s += 1
        else:
            self.no_answer += 1


def _pct(values: list[float], p: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return round(values[0] * 1000, 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[p - 1] * 1000, 1)


class Office:
    def __init__(self, plan: dict[str, Any], client: httpx.AsyncClient, rng: random.Random) -> None:
        self.plan, self.client, self.rng = plan, client, rng
        self.tokens: dict[str, str] = {}
        self.survey_tasks: list[dict[str, Any]] = list(plan["survey_tasks"])
        rng.shuffle(self.survey_tasks)
        self.surveyed: list[str] = []  # persons whose survey task was completed: 初审 waits for them
        self.cases: list[int] = plan["cases"]

    async def sign_in(self) -> None:
        for user in self.plan["users"].values():
            r = await self.client.post(
                "/api/v1/auth/token", data={"username": user, "password": self.plan["password"]}
            )
            r.raise_for_status()
            self.tokens[user] = r.json()["access_token"]

    def _as(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[self.plan['users'][who]]}"}

    async def act(self, client: httpx.AsyncClient, action: str, step: Step) -> None:
        """One action by the user of `client`; the timed request is the one the action is named after."""
        rng = self.rng
        if action in ("complete", "review") and not (
            self.survey_tasks if action == "complete" else self.surveyed
        ):
            action = "open_task"
        surveyed = None
        method, path, kw = "GET", "", {}
        if action in ("inbox", "counts"):
            who = rng.choice(("county1", "county2", "platform1", "platform2"))
            params = dict(rng.choice(INBOX_FILTERS)) | ({"limit": "50"} if action == "inbox" else {})
            path = "/api/v1/tasks" if action == "inbox" else "/api/v1/tasks/counts"
            kw = {"params": params, "headers": self._as(who)}
        elif action == "open_task":
            task = rng.choice(self.plan["survey_tasks"])
            path, kw = f"/api/v1/tasks/{task['id']}", {"headers": self._as("surveyor1")}
        elif action == "complete":
            task = self.survey_tasks.pop()
            detail = await client.get(f"/api/v1/tasks/{task['id']}", headers=self._as("surveyor1"))
            if detail.status_code != 200:
                step.note("complete_prepare", detail.status_code, 0.0)
                return
            method, path = "POST", f"/api/v1/tasks/{task['id']}/complete"
            kw = {
                "json": self.plan["forms"][task["person_id"]],
                "headers": self._as("surveyor1") | {"If-Match": str(detail.json()["case_version"])},
            }
            surveyed = task["person_id"]
        elif action == "review":
            person = self.surveyed.pop(0)
            found = await client.get("/api/v1/tasks", params={"q": person}, headers=self._as("platform1"))
            items = found.json().get("items", []) if found.status_code == 200 else []
            if not items:  # not ready yet (the survey completion is still on its way): later
                self.surveyed.append(person)
                step.note("review_prepare", found.status_code, 0.0)
                return
            detail = await client.get(f"/api/v1/tasks/{items[0]['id']}", headers=self._as("platform1"))
            if detail.status_code != 200:
                step.note("review_prepare", detail.status_code, 0.0)
                return
            method, path = "POST", f"/api/v1/tasks/{items[0]['id']}/complete"
            kw = {
                "json": {"decision": "approve"},
                "headers": self._as("platform1") | {"If-Match": str(detail.json()["case_version"])},
            }
        elif action == "upload":
            method, path = "POST", f"/api/v1/cases/{rng.choice(self.cases)}/documents"
            kw = {
                "data": {"kind": "registration_form"},
                "files": {"file": ("scan.png", PNG, "image/png")},
                "headers": self._as("surveyor1"),
            }
        elif action == "case":
            path, kw = f"/api/v1/cases/{rng.choice(self.cases)}", {"headers": self._as("county1")}
        elif action == "history":
            path, kw = f"/api/v1/cases/{rng.choice(self.cases)}/history", {"headers": self._as("county1")}
        elif action == "stats":
            path, kw = "/api/v1/stats/coverage", {"headers": self._as("county1")}
        tick = time.perf_counter()
        try:
            r = await client.request(method, path, **kw)
            status: int | str = r.status_code
        except httpx.HTTPError as err:
            status = type(err).__name__
        step.note(action, status, time.perf_counter() - tick)
        if surveyed and status == 200:
            self.surveyed.append(surveyed)


async def run_step(
    office: Office, clients: list[httpx.AsyncClient], concurrency: int, seconds: float, seed: int
) -> Step:
    step = Step(concurrency)
    deadline = time.monotonic() + seconds
    actions, weights = list(MIX), list(MIX.values())

    async def user(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        while time.monotonic() < deadline:
            await office.act(clients[k], rng.choices(actions, weights)[0], step)

    began = time.monotonic()
    await asyncio.gather(*(user(k) for k in range(concurrency)))
    step.elapsed = time.monotonic() - began  # type: ignore[attr-defined]
    return step


def summary(step: Step) -> dict[str, Any]:
    elapsed = step.elapsed  # type: ignore[attr-defined]
    timed = [a for a in step.latencies if not a.endswith("_prepare")]
    requests = sum(len(step.latencies[a]) for a in timed)
    errors = sum(n for by in step.statuses.values() for s, n in by.items() if s.isdigit() and int(s) >= 500)
    return {
        "concurrency": step.concurrency,
        "seconds": round(elapsed, 1),
        "requests": requests,
        "rps": round(requests / elapsed, 1),
        "errors_5xx": errors,
        "over_10s": step.over_10s,
        "no_answer": step.no_answer,
        "actions": {
            a: {
                "n": len(step.latencies[a]),
                "p50_ms": _pct(step.latencies[a], 50),
                "p95_ms": _pct(step.latencies[a], 95),
                "p99_ms": _pct(step.latencies[a], 99),
                "statuses": dict(step.statuses[a]),
            }
            for a in sorted(step.statuses)
        },
    }


async def main_async(plan: dict[str, Any]) -> None:
    # A client of its own per user, with one connection. With one pool shared by every user (httpx
    # matches each waiting request against every connection on each hand-out) the generator was the
    # bottleneck: 78 req/s at 16 users fell to 26 at 64 and 29 at 256, where one pool per user gives
    # 116, 127 and 142 on the same office.
    timeout = httpx.Timeout(plan.get("timeout_s", 60.0))
    clients = [
        httpx.AsyncClient(base_url=plan["base"], limits=httpx.Limits(max_connections=1), timeout=timeout)
        for _ in range(max(plan["steps"]))
    ]
    try:
        office = Office(plan, clients[0], random.Random(plan["seed"]))
        await office.sign_in()
        for i, concurrency in enumerate(plan["steps"]):
            step = await run_step(office, clients, concurrency, plan["seconds"], plan["seed"] + i)
            print(json.dumps(summary(step)), flush=True)
            await asyncio.sleep(plan.get("pause_s", 2.0))
    finally:
        for client in clients:
            await client.aclose()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0], encoding="utf-8") as f:
        plan = json.load(f)
    asyncio.run(main_async(plan))
    return 0


if __name__ == "__main__":
    sys.exit(main())
