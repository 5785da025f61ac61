"""Deploying process definitions as immutable versions."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from canbao import audit
from canbao.actors import Actor
from canbao.db import utcnow

from . import specs
from .errors import UnknownProcess
from .models import ProcessDefinition


def digest(bpmn_xml: str, dmn: dict[str, str]) -> str:
    h = hashlib.sha256(bpmn_xml.encode())
    for name in sorted(dmn):
        h.update(b"\0" + name.encode() + b"\0" + dmn[name].encode())
    return h.hexdigest()


def deploy(
    session: Session,
    *,
    actor: Actor,
    bpmn_xml: str,
    dmn: dict[str, str] | None = None,
    comment: str | None = None,
    publish: bool = True,
) -> tuple[ProcessDefinition, bool]:
    """Validate and store a new version; identical content to the newest version is a no-op.

    Returns the version and whether it was created. Raises InvalidDefinition with every problem.
    """
    dmn = dmn or {}
    parsed = specs.parse(bpmn_xml, dmn)
    sha = digest(bpmn_xml, dmn)
    latest = get_latest(session, key=parsed.key)
    if latest is not None and latest.sha256 == sha:
        return latest, False
    now = utcnow()
    definition = ProcessDefinition(
        key=parsed.key,
        version=(latest.version + 1) if latest else 1,
        name=parsed.name,
        bpmn_xml=bpmn_xml,
        dmn=dmn,
        sha256=sha,
        deployed_by=actor.sub,
        deployed_at=now,
        comment=comment,
        published_at=now if publish else None,
    )
    session.add(definition)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="definition.deploy",
        object_type="definition",
        object_id=definition.id,
        payload={
            "key": definition.key,
            "version": definition.version,
            "sha256": sha,
            "comment": comment,
            "published": publish,
        },
    )
    return definition, True


def deploy_directory(
    session: Session, *, actor: Actor, directory: Path
) -> list[tuple[ProcessDefinition, bool]]:
    return [
        deploy(session, actor=actor, bpmn_xml=path.read_text(encoding="utf-8"), comment=f"部署 {path.name}")
        for path in sorted(directory.glob("*.bpmn"))
    ]


def get(session: Session, *, definition_id: int) -> ProcessDefinition | None:
    return session.get(ProcessDefinition, definition_id)


def get_latest(session: Session, *, key: str) -> ProcessDefinition | None:
    return session.scalars(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    ).first()


def get_current(session: Session, *, key: str) -> ProcessDefinition:
    """The version new cases start on: the most recently published one that is not retired."""
    current = session.scalars(
        select(ProcessDefinition)
        .where(
            ProcessDefinition.key == key,
            ProcessDefinition.published_at.is_not(None),
            ProcessDefinition.retired_at.is_(None),
        )
        .order_by(ProcessDefinition.published_at.desc(), ProcessDefinition.version.desc())
        .limit(1)
    ).first()
    if current is None:
        raise UnknownProcess(f"流程 {key} 不存在或没有已发布的版本")
    return current


def get_all(session: Session) -> list[ProcessDefinition]:
    return list(
        session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version))
    )
