"""Verifying the audit chains: recompute every event's hash and every link, and name the first event
that breaks each chain — changed, removed or reordered — then check the chains against their heads
and against the anchors written to the archive.

On PostgreSQL the recomputation runs in the database: one parallel scan hashes each row's canonical
text with sha256() (`chain.sql_canonical_text`, the text `chain.canonical_text` builds) and a hash
join of the table with itself checks each `prev_hash` against the hash of the event before it,
aggregated per chain, so only a handful of rows ever travel to Python. Elsewhere (SQLite) the rows
are streamed in chain order and hashed in Python. Both read one snapshot that holds nobody up
(`canbao.db.read_snapshot`: no write lock on SQLite), so concurrent writers never look like damage and
never wait.

Events written since the newest anchor are attested by nothing outside the database: someone able to
disable the triggers could delete them and rewind the chain head unseen. The report counts them
(`unanchored`), and the worker anchors every minute while events come in, which bounds that window.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, text, tuple_
from sqlalchemy.orm import Session

from canbao.crypto import PROFILES, STANDARD, Profile
from canbao.crypto.installation import setup_of
from canbao.db import read_snapshot

from .chain import GENESIS, SEP, format_time, sql_hash
from .models import AuditChainHead, AuditEvent

if TYPE_CHECKING:
    from .anchors import Anchors

CHANGED = "changed"
REMOVED = "removed"
REORDERED = "reordered"
REWRITTEN = "rewritten"

KINDS = {
    CHANGED: "事件内容被篡改",
    REMOVED: "事件被删除",
    REORDERED: "事件顺序被调换",
    REWRITTEN: "链被整体改写（与归档锚点不符）",
}


@dataclass(frozen=True)
class Break:
    """The first event at which a chain stops being what was written."""

    chain: int
    seq: int
    event_id: int | None
    kind: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "title": KINDS[self.kind]}


@dataclass(frozen=True)
class AnchorPoint:
    """One chain's head as an anchor in the archive recorded it."""

    chain: int
    seq: int
    hash: str
    anchor: str  # the anchor's key, named in a break


@dataclass
class ChainResult:
    chain: int
    events: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    head_seq: int | None = None
    head_hash: str | None = None
    first_break: Break | None = None
    anchored_seq: int = 0  # the last event an anchor attests (and still matches)

    def consider(self, candidate: Break | None) -> None:
        if candidate is not None and (self.first_break is None or candidate.seq < self.first_break.seq):
            self.first_break = candidate


@dataclass
class Report:
    method: str
    seconds: float = 0.0
    chains: list[ChainResult] = field(default_factory=list)
    anchors: int = 0
    anchor_problems: list[str] = field(default_factory=list)
    anchors_read: bool = False
    newest_anchor: str | None = None

    @property
    def events(self) -> int:
        return sum(c.events for c in self.chains)

    @property
    def unanchored(self) -> int | None:
        """Events after the last one an anchor attests, in all chains (None when no anchors were read)."""
        return sum(c.last_seq - c.anchored_seq for c in self.chains) if self.anchors_read else None

    @property
    def breaks(self) -> list[Break]:
        return [c.first_break for c in self.chains if c.first_break is not None]

    @property
    def ok(self) -> bool:
        return not self.breaks and not self.anchor_problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "method": self.method,
            "seconds": round(self.seconds, 3),
            "events_per_s": round(self.events / self.seconds) if self.seconds > 0 else None,
            "anchors": self.anchors,
            "anchor_problems": self.anchor_problems,
            "newest_anchor": self.newest_anchor,
            "unanchored_events": self.unanchored,
            "breaks": [b.as_dict() for b in self.breaks],
            "chains": [
                {
                    "chain": c.chain,
                    "events": c.events,
                    "last_seq": c.last_seq,
                    "last_hash": c.last_hash,
                    "ok": c.first_break is None,
                    "unanchored": c.last_seq - c.anchored_seq if self.anchors_read else None,
                }
                for c in self.chains
            ],
        }


Progress = Callable[[int], None]


def run(
    session: Session,
    *,
    anchors: Anchors | None = None,
    in_database: bool = True,
    progress: Progress | None = None,
) -> Report:
    """Verify every chain in one snapshot. `session` must not have begun: verify opens a read-only
    snapshot of its own. Read the anchors from the archive before calling, so that every event they
    attest is visible in the snapshot. `progress` is told how many events have been checked as the scan
    goes (in Python every 20,000; in PostgreSQL once, when its one pass ends). `in_database=False`
    hashes in Python on PostgreSQL too (the benchmark's baseline)."""
    points = anchors.points if anchors is not None else []
    started = time.perf_counter()
    read_snapshot(session)
    postgres = session.bind.dialect.name == "postgresql"
    setup = setup_of(session)
    in_sql = (
        postgres
        and in_database
        and setup.verify_in_database
        and session.execute(text("SHOW server_encoding")).scalar() == "UTF8"
    )
    heads = {h.chain: h for h in session.scalars(select(AuditChainHead))}
    scan = _scan_sql if in_sql else _scan_python
    results = scan(session, setup.profile, progress)
    for chain in heads.keys() - results.keys():
        results[chain] = ChainResult(chain)
    anchored = _hashes_at(session, {(p.chain, p.seq) for p in points if p.seq > 0})
    for chain, result in results.items():
        _check_head(session, result, heads.get(chain))
        _check_anchors(session, result, [p for p in points if p.chain == chain], anchored)
    session.rollback()
    report = Report(method="postgresql" if in_sql else "python", chains=sorted(results.values(), key=_chain))
    if anchors is not None:
        report.anchors, report.anchor_problems = anchors.count, list(anchors.problems)
        report.anchors_read = True
        # Anchor keys are their times, so the greatest is the newest.
        report.newest_anchor = max((p.anchor for p in points), default=None)
    report.seconds = time.perf_counter() - started
    return report


def _chain(result: ChainResult) -> int:
    return result.chain


# --- PostgreSQL: hashes and links computed in the database ------------------------------------------


# Per chain: how many events, the first and last sequence number, and the first event after a gap,
# whose content does not match its hash, or whose prev_hash is not the hash of the event before it.
def _scan_text(profile: Profile) -> str:
    return f"""
SELECT r.chain,
       count(*) AS events,
       max(r.seq) AS last_seq,
       min(r.seq) FILTER (WHERE r.seq > 1 AND p.seq IS NULL) AS gap_at,
       min(r.seq) FILTER (WHERE {sql_hash(lambda field: f"r.{field}", profile)} <> r.hash) AS changed_at,
       min(r.seq) FILTER (WHERE r.prev_hash <> coalesce(p.hash, CASE WHEN r.seq = 1 THEN :genesis END))
           AS link_at
FROM audit_event r
LEFT JOIN audit_event p ON p.chain = r.chain AND p.seq = r.seq - 1
GROUP BY r.chain
"""


_SCANS = {profile: _scan_text(profile) for profile in PROFILES.values()}
_SCAN = _SCANS[STANDARD]


def _scan_sql(
    session: Session, profile: Profile = STANDARD, progress: Progress | None = None
) -> dict[int, ChainResult]:
    # Room for the join's hash table in memory, for this transaction only.
    session.execute(text("SET LOCAL work_mem = '256MB'"))
    results: dict[int, ChainResult] = {}
    rows = session.execute(text(_SCANS[profile]), {"genesis": GENESIS}).all()
    if progress is not None:
        progress(sum(row.events for row in rows))
    last = _hashes_at(session, {(row.chain, row.last_seq) for row in rows})
    for row in rows:
        result = ChainResult(row.chain, events=row.events, last_seq=row.last_seq)
        result.last_hash = last[(row.chain, row.last_seq)]
        if row.gap_at is not None:
            result.consider(_gap(session, row.chain, row.gap_at))
        if row.changed_at is not None:
            result.consider(_changed(session, row.chain, row.changed_at))
        if row.link_at is not None and (row.changed_at is None or row.link_at < row.changed_at):
            result.consider(_unlinked(session, row.chain, row.link_at))
        results[row.chain] = result
    return results


# --- Python: streamed in chain order -----------------------------------------------------------------


_COLUMNS = (
    AuditEvent.id,
    AuditEvent.chain,
    AuditEvent.seq,
    AuditEvent.at,
    AuditEvent.actor_sub,
    AuditEvent.actor_role,
    AuditEvent.area,
    AuditEvent.client_addr,
    AuditEvent.action,
    AuditEvent.object_type,
    AuditEvent.object_id,
    AuditEvent.case_id,
    AuditEvent.person_id,
    AuditEvent.payload,
    AuditEvent.prev_hash,
    AuditEvent.hash,
)


def _scan_python(
    session: Session, profile: Profile = STANDARD, progress: Progress | None = None
) -> dict[int, ChainResult]:
    rows = session.connection().execute(
        select(*_COLUMNS)
        .order_by(AuditEvent.chain, AuditEvent.seq)
        .execution_options(stream_results=True, yield_per=20_000)
    )
    return check_rows(session, rows if progress is None else _counted(rows, progress), profile)


def _counted(
    rows: Iterable[Sequence[Any]], progress: Progress, every: int = 20_000
) -> Iterator[Sequence[Any]]:
    """The rows, telling `progress` every `every` rows (and at the end) how many were handed out."""
    done = 0
    for done, row in enumerate(rows, 1):
        yield row
        if not done % every:
            progress(done)
    progress(done)


def check_rows(
    session: Session | None, rows: Iterable[Sequence[Any]], profile: Profile = STANDARD
) -> dict[int, ChainResult]:
    """Check rows given in (chain, seq) order, as tuples in the order of `_COLUMNS`. The session, when
    given, is used to tell a moved event from a changed one at a break."""
    sha256, join = profile.hasher(), SEP.join
    results: dict[int, ChainResult] = {}
    result: ChainResult | None = None
    current, seq_before, hash_before = None, 0, GENESIS
    for row in rows:
        (
            id_,
            chain,
            seq,
            at,
            sub,
            role,
            area,
            addr,
            action,
            otype,
            oid,
            case_id,
            person,
            payload,
            prev,
            h,
        ) = row
        if chain != current:
            current, seq_before, hash_before = chain, 0, GENESIS
            result = results[chain] = ChainResult(chain)
        result.events += 1
        result.last_seq, result.last_hash = seq, h
        if result.first_break is not None:
            continue
        canonical = join(
            (
                str(chain),
                str(seq),
                format_time(at),
                sub,
                role,
                area,
                addr or "",
                action,
                otype,
                oid,
                "" if case_id is None else str(case_id),
                person or "",
                payload,
                prev,
            )
        )
        intact = sha256(canonical.encode()).hexdigest() == h
        if seq != seq_before + 1:
            result.first_break = _gap_break(chain, seq, id_, seq_before + 1)
        elif not intact:
            result.first_break = _changed_break(session, chain, seq, id_, prev)
        elif prev != hash_before:
            result.first_break = (
                _unlinked(session, chain, seq)
                if session is not None
                else Break(chain, seq - 1, None, CHANGED, _REHASHED.format(seq=seq - 1))
            )
        seq_before, hash_before = seq, h
    return results


# --- Naming the break ---------------------------------------------------------------------------------

_REHASHED = "第 {seq} 号事件的内容被改写并重新计算了哈希，与其后事件记录的前序哈希不符"


def _gap_break(chain: int, seq: int, event_id: int | None, missing_from: int) -> Break:
    missing = f"第 {missing_from} 号" if missing_from == seq - 1 else f"第 {missing_from}–{seq - 1} 号"
    return Break(chain, seq, event_id, REMOVED, f"链 {chain} 的{missing}事件缺失（在第 {seq} 号事件之前）")


def _gap(session: Session, chain: int, seq: int) -> Break:
    before = session.scalar(
        select(AuditEvent.seq)
        .where(AuditEvent.chain == chain, AuditEvent.seq < seq)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    missing_from = (before or 0) + 1
    return _gap_break(chain, seq, _event_id(session, chain, seq), missing_from)


def _event_id(session: Session, chain: int, seq: int) -> int | None:
    return session.scalar(select(AuditEvent.id).where(AuditEvent.chain == chain, AuditEvent.seq == seq))


def _seq_of_hash(session: Session, chain: int, digest: str) -> int | None:
    return session.scalar(
        select(AuditEvent.seq).where(AuditEvent.chain == chain, AuditEvent.hash == digest).limit(1)
    )


def _changed(session: Session, chain: int, seq: int) -> Break:
    row = session.execute(
        select(AuditEvent.id, AuditEvent.prev_hash).where(AuditEvent.chain == chain, AuditEvent.seq == seq)
    ).one()
    return _changed_break(session, chain, seq, row.id, row.prev_hash)


def _changed_break(session: Session | None, chain: int, seq: int, event_id: int, prev: str) -> Break:
    """An event whose content does not match its hash: moved here from elsewhere, or altered in place."""
    origin = _seq_of_hash(session, chain, prev) if session is not None else None
    if origin is not None and origin != seq - 1:
        return Break(
            chain,
            seq,
            event_id,
            REORDERED,
            f"链 {chain} 第 {seq} 号位置上不是原来的事件：它原本接在现位于第 {origin} 号的事件之后",
        )
    return Break(chain, seq, event_id, CHANGED, f"链 {chain} 第 {seq} 号事件的内容与其哈希不符")


def _unlinked(session: Session, chain: int, seq: int) -> Break:
    """Both events are self-consistent but not linked: this one was moved, or the one before it was
    rewritten together with its hash."""
    row = session.execute(
        select(AuditEvent.id, AuditEvent.prev_hash).where(AuditEvent.chain == chain, AuditEvent.seq == seq)
    ).one()
    origin = _seq_of_hash(session, chain, row.prev_hash)
    if origin is not None and origin != seq - 1:
        return Break(
            chain,
            seq,
            row.id,
            REORDERED,
            f"链 {chain} 第 {seq} 号位置上的事件原本接在现位于第 {origin} 号的事件之后",
        )
    return Break(chain, seq - 1, _event_id(session, chain, seq - 1), CHANGED, _REHASHED.format(seq=seq - 1))


# --- Heads and anchors ----------------------------------------------------------------------------------


def _check_head(session: Session, result: ChainResult, head: AuditChainHead | None) -> None:
    chain = result.chain
    if head is None:
        result.consider(
            Break(
                chain,
                1,
                _event_id(session, chain, 1),
                CHANGED,
                f"链 {chain} 没有链头，事件并非经正常途径写入",
            )
        )
        return
    result.head_seq, result.head_hash = head.seq, head.hash
    if head.seq > result.last_seq:
        detail = (
            f"链 {chain} 末尾的第 {result.last_seq + 1}–{head.seq} 号事件缺失（链头记录到第 {head.seq} 号）"
        )
        result.consider(Break(chain, result.last_seq + 1, None, REMOVED, detail))
    elif head.seq < result.last_seq:
        result.consider(
            Break(
                chain,
                head.seq + 1,
                _event_id(session, chain, head.seq + 1),
                CHANGED,
                f"链 {chain} 第 {head.seq + 1} 号及以后的事件未经正常写入（链头记录到第 {head.seq} 号）",
            )
        )
    elif head.hash != result.last_hash:
        result.consider(
            Break(
                chain,
                head.seq,
                _event_id(session, chain, head.seq),
                CHANGED,
                f"链 {chain} 最后一个事件（第 {head.seq} 号）与链头记录的哈希不符",
            )
        )


def _hashes_at(session: Session, positions: set[tuple[int, int]]) -> dict[tuple[int, int], str]:
    """The stored hash at each (chain, seq) that exists, a thousand positions per query."""
    wanted, found = sorted(positions), {}
    for i in range(0, len(wanted), 1000):
        rows = session.execute(
            select(AuditEvent.chain, AuditEvent.seq, AuditEvent.hash).where(
                tuple_(AuditEvent.chain, AuditEvent.seq).in_(wanted[i : i + 1000])
            )
        )
        found.update({(r.chain, r.seq): r.hash for r in rows})
    return found


def _check_anchors(
    session: Session, result: ChainResult, points: list[AnchorPoint], stored: dict[tuple[int, int], str]
) -> None:
    chain = result.chain
    matched = 0
    for point in sorted(points, key=lambda p: p.seq):
        if point.seq == 0:
            continue
        found = stored.get((chain, point.seq))
        if found == point.hash:
            matched = result.anchored_seq = max(matched, point.seq)
            continue
        if found is None:
            detail = f"锚点 {point.anchor} 记录链 {chain} 已写到第 {point.seq} 号事件，该事件已不存在"
            result.consider(Break(chain, point.seq, None, REMOVED, detail))
        else:
            since = f"第 {matched} 号之后、" if matched else ""
            detail = (
                f"链 {chain} 第 {point.seq} 号事件的哈希与锚点 {point.anchor} 不符："
                f"该链在{since}第 {point.seq} 号及之前被整体改写"
            )
            result.consider(Break(chain, point.seq, _event_id(session, chain, point.seq), REWRITTEN, detail))
        return
