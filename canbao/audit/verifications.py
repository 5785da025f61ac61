"""Verifying the audit log as a job (`POST /api/v1/audit/verifications`): the caller gets the job at once
and polls it for progress and, at the end, the report. The verification runs on a thread of the serving
process, in a read snapshot that holds nobody up, and is recorded as an `audit.verify` event like every
other verification.

The job's row moves on with its progress and, while one long PostgreSQL pass gives no progress, with a
heartbeat; a job still running whose row has not moved for STALE was cut short (its process stopped)
and is shown as failed. One job runs at a time: asking again while one runs returns that one.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from canbao.actors import Actor
from canbao.db import transaction, utcnow
from canbao.errors import NotFound

from . import anchors, verify
from .models import AuditChainHead, AuditVerification
from .service import record as record_event

if TYPE_CHECKING:
    from .anchors import AnchorStore

log = logging.getLogger(__name__)
HEARTBEAT = timedelta(seconds=5)
STALE = timedelta(minutes=1)
PROGRESS_EVERY_S = 1.0


class VerificationNotFound(NotFound):
    code = "audit.verification_not_found"
    title = "校验任务不存在"


def record(session: Session, actor: Actor, report: verify.Report) -> None:
    """The `audit.verify` event of a finished verification."""
    record_event(
        session,
        actor=actor,
        action="audit.verify",
        object_type="audit_log",
        object_id="chains",
        payload={
            "ok": report.ok,
            "events": report.events,
            "anchors": report.anchors,
            "unanchored_events": report.unanchored,
            "breaks": [b.as_dict() for b in report.breaks],
            "anchor_problems": report.anchor_problems,
        },
        area=actor.area,
    )


def start(
    sessions: sessionmaker[Session], *, actor: Actor, store: AnchorStore, data_dir: Path
) -> AuditVerification:
    """A new job, running from now on (or the one already running)."""
    now = utcnow()
    with transaction(sessions) as session:
        running = session.scalars(
            select(AuditVerification)
            .where(AuditVerification.status == "running", AuditVerification.updated_at > now - STALE)
            .order_by(AuditVerification.id.desc())
            .limit(1)
        ).first()
        if running is not None:
            return running
        job = AuditVerification(
            requested_by=actor.sub,
            requested_at=now,
            status="running",
            total=session.scalar(select(func.coalesce(func.sum(AuditChainHead.seq), 0))),
            done=0,
            updated_at=now,
        )
        session.add(job)
    # A daemon: stopping the server does not wait for a long verification (the job then shows as cut short).
    threading.Thread(
        target=run,
        args=(sessions, job.id),
        kwargs={"actor": actor, "store": store, "data_dir": data_dir},
        name=f"audit-verification-{job.id}",
        daemon=True,
    ).start()
    return job


def run(
    sessions: sessionmaker[Session], job_id: int, *, actor: Actor, store: AnchorStore, data_dir: Path
) -> None:
    """Verify, keeping the job's row up to date; the end of a job thread."""
    stop = threading.Event()
    threading.Thread(target=_heartbeat, args=(sessions, job_id, stop), daemon=True).start()
    reported = time.monotonic()

    def progress(done: int) -> None:
        nonlocal reported
        if time.monotonic() - reported >= PROGRESS_EVERY_S:
            _update(sessions, job_id, done=done)
            reported = time.monotonic()

    try:
        found = anchors.read_all(store, data_dir=data_dir)
        with sessions() as snapshot:
            report = verify.run(snapshot, anchors=found, progress=progress)
        with transaction(sessions) as session:
            _update_in(
                session,
                job_id,
                status="done",
                done=report.events,
                total=report.events,  # events written since the job was asked for are in its snapshot
                report=report.as_dict(),
                finished_at=utcnow(),
            )
            record(session, actor, report)
    except Exception as err:
        log.exception("audit verification %s failed", job_id)
        _update(
            sessions,
            job_id,
            status="failed",
            error=f"{type(err).__name__}: {err}"[:2000],
            finished_at=utcnow(),
        )
    finally:
        stop.set()


def _heartbeat(sessions: sessionmaker[Session], job_id: int, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT.total_seconds()):
        try:
            _update(sessions, job_id)
        except Exception:
            log.exception("audit verification %s: heartbeat failed", job_id)


def _update(sessions: sessionmaker[Session], job_id: int, **values: Any) -> None:
    with transaction(sessions) as session:
        _update_in(session, job_id, **values)


def _update_in(session: Session, job_id: int, **values: Any) -> None:
    session.execute(
        update(AuditVerification).where(AuditVerification.id == job_id).values(updated_at=utcnow(), **values)
    )


def get(session: Session, *, job_id: int) -> AuditVerification:
    job = session.get(AuditVerification, job_id)
    if job is None:
        raise VerificationNotFound(f"校验任务 {job_id} 不存在")
    return job


def view(job: AuditVerification) -> dict[str, Any]:
    status, error = job.status, job.error
    if status == "running" and utcnow() - job.updated_at > STALE:
        status, error = "failed", "校验中断：运行它的服务进程已停止，请重新校验"
    return {
        "id": job.id,
        "status": status,
        "requested_by": job.requested_by,
        "requested_at": job.requested_at.isoformat(),
        "total": job.total,
        "done": job.done,
        "updated_at": job.updated_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "report": job.report,
        "error": error,
    }
