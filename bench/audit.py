"""The audit log on PostgreSQL: appending, verifying, and what auditing costs an engine transition.

    python -m bench.audit [--events 1000000] [--writers 4] [--per-tx 100] [--cases 10] [--rounds 20]
    python -m bench.audit --crypto gm [--events 1000000] [--rounds 2]

- append: `--writers` processes record `--events` events through `canbao.audit.record`, `--per-tx`
  per transaction, each commit chaining them (head lock, hashes, insert). Baseline in the same run:
  the same rows inserted by the same writers in the same transactions, unchained, into a copy of the
  table with the same indexes.
- verify: `canbao.audit.verify` over all of them, reading included (hashes and links computed by
  PostgreSQL). Baselines: the same verification hashing in Python over a server-side cursor, and a
  bare scan of the table (what reading alone costs).
- transitions: full survey lifecycles (bench.lifecycle: five persisted transitions each), in
  alternating rounds with auditing on and off (`canbao.audit.record` replaced by a no-op in this
  process only); the overhead is the median extra time per transition.

The last line is one JSON object: {"append_events_per_s", "verify_events_per_s",
"transition_overhead_pct", …}. Bars: verify_events_per_s ≥ 250,000, transition_overhead_pct ≤ 15.

With `--crypto gm`: appending and verifying under the national profile (SM3, in PostgreSQL through
pgcrypto) beside the standard one (SHA-256), each on a database installed with its profile, in
`--rounds` alternating rounds; the last line is {"sha256": {…}, "sm3": {…}, "ratio": {…}} with the
medians.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

import canbao.audit
from canbao import audit
from canbao.actors import Actor
from canbao.audit import verify
from canbao.audit.chain import GENESIS, canonical_json
from canbao.db import make_engine, make_sessionmaker, utcnow

from .lifecycle import run_cases
from .scratch import deploy_processes, scratch_database

CLERK = Actor(sub="platform1", roles=("platform_reviewer",), area="370102001", client_addr="10.0.0.7")
PERSON = "370102199001011237"
PAYLOAD = {
    "task": "initial_review",
    "name": "初审",
    "form": "review",
    "data": {"decision": "return", "reason": "联系电话与户籍信息不符，请核实", "return_items": ["/phone"]},
}
VERIFY_BAR, OVERHEAD_BAR = 250_000, 15.0


def _append(url: str, writer: int, transactions: int, per_tx: int, chained: bool, out: mp.Queue) -> None:
    engine = make_engine(url, pool_size=1)
    sessions = make_sessionmaker(engine)
    payload = canonical_json(PAYLOAD)
    started = time.perf_counter()
    for t in range(transactions):
        case_id = writer * 1_000_000 + t
        if chained:
            with sessions() as s, s.begin():
                for i in range(per_tx):
                    audit.record(
                        s,
                        actor=CLERK,
                        action="task.return",
                        object_type="task",
                        object_id=f"{case_id}-{i}",
                        payload=PAYLOAD,
                        case_id=case_id,
                        person_id=PERSON,
                    )
        else:
            rows = [
                {
                    "chain": writer,
                    "seq": t * per_tx + i + 1,
                    "at": utcnow(),
                    "object_id": f"{case_id}-{i}",
                    "case_id": case_id,
                    "payload": payload,
                }
                for i in range(per_tx)
            ]
            with engine.begin() as conn:
                conn.execute(_PLAIN_INSERT, rows)
    out.put(time.perf_counter() - started)


_PLAIN_INSERT = text(
    "INSERT INTO audit_plain (chain, seq, at, actor_sub, actor_role, area, client_addr, action, object_type, "
    "object_id, case_id, person_id, payload, prev_hash, hash) VALUES (:chain, :seq, :at, 'platform1', "
    f"'platform_reviewer', '370102001', '10.0.0.7', 'task.return', 'task', :object_id, :case_id, '{PERSON}', "
    ":payload, '', '')"
)


def append(url: str, events: int, writers: int, per_tx: int, *, chained: bool) -> float:
    """Events per second with `writers` concurrent processes."""
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()
    transactions = events // writers // per_tx
    procs = [
        ctx.Process(target=_append, args=(url, w, transactions, per_tx, chained, out)) for w in range(writers)
    ]
    started = time.perf_counter()
    for p in procs:
        p.start()
    for _ in procs:
        out.get()
    for p in procs:
        p.join()
    return transactions * per_tx * writers / (time.perf_counter() - started)


def verify_rate(url: str, *, in_database: bool) -> tuple[float, verify.Report]:
    sessions = make_sessionmaker(make_engine(url))
    with sessions() as s:
        report = verify.run(s, in_database=in_database)
    assert report.ok, report.as_dict()["breaks"]
    return report.events / report.seconds, report


def verify_cpu_seconds(url: str) -> float | None:
    """CPU seconds the database spends on verify's scan in one backend (no parallel workers), read from
    /proc: what the figure would be on an idle core, whatever else the machine is running. None when
    the server is not on this machine."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            pid = conn.scalar(text("SELECT pg_backend_pid()"))
            stat = Path(f"/proc/{pid}/stat")
            if not stat.exists():
                return None
            conn.execute(text("SET max_parallel_workers_per_gather = 0"))
            conn.execute(text("SET work_mem = '256MB'"))

            def cpu() -> float:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

            before = cpu()
            conn.execute(text(verify._SCAN), {"genesis": GENESIS}).all()
            return cpu() - before
    finally:
        engine.dispose()


def scan_rate(url: str, events: int) -> float:
    engine = make_engine(url)
    with engine.connect() as conn:
        started = time.perf_counter()
        conn.execute(text("SELECT count(*), sum(length(payload) + length(hash)) FROM audit_event")).one()
        seconds = time.perf_counter() - started
    engine.dispose()
    return events / seconds


def transition_overhead(url: str, cases: int, rounds: int) -> tuple[float, float, float]:
    """Median seconds per transition with auditing on and off, and the overhead in percent."""
    record = canbao.audit.record
    per: dict[bool, list[float]] = {True: [], False: []}
    run_cases(url, 500_000, 10)  # warm-up: spec cache, connections
    first = 0
    for r in range(rounds * 2):
        on = r % 2 == 0
        canbao.audit.record = record if on else (lambda *args, **kwargs: None)
        try:
            seconds, _ = run_cases(url, first, cases)
        finally:
            canbao.audit.record = record
        first += cases
        per[on].append(seconds / (cases * 5))
    on, off = statistics.median(per[True]), statistics.median(per[False])
    return on, off, (on - off) / off * 100


def _prepare(url: str) -> None:
    """Schema, the processes deployed, and the unchained baseline's table (same columns and indexes)."""
    deploy_processes(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE audit_plain (LIKE audit_event INCLUDING ALL)"))
    engine.dispose()  # the writers are forked: they must not share this engine's connections


def _profile_round(profile: str, events: int, writers: int, per_tx: int) -> dict[str, float]:
    """Append `events` and verify them (in the database, then in Python) on a database installed with
    `profile`."""
    os.environ["CANBAO_CRYPTO"] = profile
    try:
        with scratch_database(f"canbao_bench_audit_{profile}") as url:
            _prepare(url)
            appended = append(url, events, writers, per_tx, chained=True)
            engine = make_engine(url)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE audit_event"))
                conn.execute(text("CHECKPOINT"))
            engine.dispose()
            in_db, _ = verify_rate(url, in_database=True)
            in_py, _ = verify_rate(url, in_database=False)
    finally:
        os.environ.pop("CANBAO_CRYPTO", None)
    return {
        "append_events_per_s": appended,
        "verify_events_per_s": in_db,
        "verify_python_events_per_s": in_py,
    }


def compare_profiles(args: argparse.Namespace) -> None:
    """SM3 beside SHA-256, alternating which goes first in each round."""
    rounds: dict[str, list[dict[str, float]]] = {"standard": [], "gm": []}
    for r in range(args.rounds):
        for profile in ("standard", "gm") if r % 2 == 0 else ("gm", "standard"):
            figures = _profile_round(profile, args.events, args.writers, args.per_tx)
            rounds[profile].append(figures)
            print(
                f"round {r + 1}, {'SM3' if profile == 'gm' else 'SHA-256'}: append "
                f"{figures['append_events_per_s']:,.0f} events/s, verify in PostgreSQL "
                f"{figures['verify_events_per_s']:,.0f}/s, "
                f"in Python {figures['verify_python_events_per_s']:,.0f}/s",
                flush=True,
            )
    medians = {
        name: {k: round(statistics.median(f[k] for f in figures)) for k in figures[0]}
        for name, figures in (("sha256", rounds["standard"]), ("sm3", rounds["gm"]))
    }
    ratio = {k: round(medians["sm3"][k] / medians["sha256"][k], 3) for k in medians["sha256"]}
    for k in medians["sha256"]:
        print(
            f"{k}: SHA-256 {medians['sha256'][k]:,}, SM3 {medians['sm3'][k]:,} (SM3/SHA-256 {ratio[k]:.2f})"
        )
    print(json.dumps({**medians, "ratio": ratio, "events": args.events, "rounds": args.rounds}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--per-tx", type=int, default=100, help="events per transaction")
    parser.add_argument(
        "--baseline-events", type=int, default=200_000, help="events in the unchained baseline"
    )
    # Many short alternating rounds, so that a busy machine's swings fall on both sides alike.
    parser.add_argument("--cases", type=int, default=10, help="lifecycles per round of the transition test")
    parser.add_argument("--rounds", type=int, default=None, help="rounds with auditing on (and as many off)")
    parser.add_argument(
        "--crypto", choices=("standard", "gm"), default="standard", help="gm: SM3 beside SHA-256"
    )
    args = parser.parse_args()
    if args.crypto == "gm":
        args.rounds = args.rounds or 2
        print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        compare_profiles(args)
        return
    args.rounds = args.rounds or 20
    # The archive's embedded store (the lifecycles seal into it) lives in the data directory.
    os.environ.setdefault("CANBAO_DATA_DIR", tempfile.mkdtemp(prefix="canbao-bench-audit-"))
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    with scratch_database("canbao_bench_audit") as url:
        _prepare(url)
        plain = append(url, args.baseline_events, args.writers, args.per_tx, chained=False)
        print(f"append, unchained baseline: {plain:,.0f} events/s ({args.writers} writers, {args.per_tx}/tx)")
        chained = append(url, args.events, args.writers, args.per_tx, chained=True)
        print(f"append through audit.record: {chained:,.0f} events/s ({chained / plain:.0%} of the baseline)")
        engine = make_engine(url)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("DROP TABLE audit_plain"))
            # What autovacuum does to an append-only table soon after the inserts, and the checkpoint
            # that follows a gigabyte of WAL: done here, not in the middle of the measurements.
            conn.execute(text("VACUUM ANALYZE audit_event"))
            conn.execute(text("CHECKPOINT"))
        engine.dispose()

        scanned = scan_rate(url, args.events)
        print(f"bare scan of the table: {scanned:,.0f} rows/s")
        in_db, report = verify_rate(url, in_database=True)
        print(f"verify in PostgreSQL: {report.events:,} events, {report.seconds:.2f} s = {in_db:,.0f}/s")
        cpu = verify_cpu_seconds(url)
        if cpu:
            print(f"  database CPU, one core, no parallel workers: {cpu:.2f} s = {args.events / cpu:,.0f}/s")
        in_py, report_py = verify_rate(url, in_database=False)
        print(f"verify in Python (baseline): {report_py.seconds:.2f} s = {in_py:,.0f} events/s")

        on, off, overhead = transition_overhead(url, args.cases, args.rounds)
        print(
            f"engine transition: {on * 1000:.2f} ms with auditing, {off * 1000:.2f} ms without "
            f"(+{overhead:.1f} %)"
        )
    ok = in_db >= VERIFY_BAR and overhead <= OVERHEAD_BAR
    print(f"load average at end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    verdict = "met" if ok else "NOT met"
    print(f"bars: verify ≥ {VERIFY_BAR:,}/s, transition overhead ≤ {OVERHEAD_BAR} % — {verdict}")
    print(
        json.dumps(
            {
                "append_events_per_s": round(chained),
                "append_baseline_events_per_s": round(plain),
                "verify_events_per_s": round(in_db),
                "verify_python_events_per_s": round(in_py),
                "verify_events_per_cpu_s_one_core": round(args.events / cpu) if cpu else None,
                "scan_rows_per_s": round(scanned),
                "transition_ms_audited": round(on * 1000, 2),
                "transition_ms_unaudited": round(off * 1000, 2),
                "transition_overhead_pct": round(overhead, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
