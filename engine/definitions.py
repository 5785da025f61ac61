"""Process definitions as immutable versions: deploy, publish, retire, delete, export and import.

A version's content never changes. Deploying content identical to an existing version is a no-op.
New cases start on the current version: the most recently published one that is not retired. A
version is deleted only while no case uses it and no unfinished migration needs it, and its number is
never given again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import BindParameter, Row, Select, bindparam, case, func, select
from sqlalchemy.orm import Session

from canbao import audit
from canbao.actors import Actor
from canbao.db import utcnow
from canbao.errors import Conflict, NotFound

from . import dialects, specs, xmltext
from .change_models import DeletedDefinition, MigrationJob
from .errors import InvalidDefinition, Problem, UnknownProcess
from .models import Case, ProcessDefinition


class VersionNotFound(NotFound):
    code = "definition.version_not_found"
    title = "流程版本不存在"


class VersionInUse(Conflict):
    code = "definition.in_use"
    title = "流程版本仍在使用，不能删除"


def digest(bpmn_xml: str, dmn: dict[str, str]) -> str:
    h = hashlib.sha256(bpmn_xml.encode())
    for name in sorted(dmn):
        h.update(b"\0" + name.encode() + b"\0" + dmn[name].encode())
    return h.hexdigest()


def decode(raw: bytes, filename: str) -> str:
    """The text of an uploaded BPMN or DMN file, decoded as its byte order mark or XML declaration says
    (UTF-8, UTF-16, GBK, …); InvalidDefinition (xml.encoding) when it cannot be."""
    return xmltext.decode(raw, filename)


def check(bpmn_xml: str, dmn: dict[str, str] | None = None) -> specs.Checked:
    """Every problem of a BPMN document and its DMN files, located at element ids, and what was
    translated from another engine's dialect."""
    dmn = dmn or {}
    bad_names = _dmn_name_problems(dmn)
    if bad_names:
        return specs.Checked(bpmn_xml, dmn, bad_names, dialects.Report(), None)
    return specs.check_document(bpmn_xml, dmn)


def validate(bpmn_xml: str, dmn: dict[str, str] | None = None) -> list[Problem]:
    return check(bpmn_xml, dmn).problems


def _dmn_name_problems(dmn: dict[str, str]) -> list[Problem]:
    return [
        Problem(None, "dmn.name", f"DMN 文件名应为不含目录、以 .dmn 结尾、不超过 100 个字符的名称：{name}")
        for name in dmn
        if name != Path(name).name or not name.endswith(".dmn") or len(name) > 100 or name.startswith(".")
    ]


def deploy(
    session: Session,
    *,
    actor: Actor,
    bpmn_xml: str,
    dmn: dict[str, str] | None = None,
    comment: str | None = None,
    publish: bool = True,
) -> tuple[ProcessDefinition, bool]:
    """Validate and store a new version; content identical to an existing version is a no-op.

    Returns the version and whether it was created. Raises InvalidDefinition with every problem.
    """
    return store(session, actor=actor, checked=check(bpmn_xml, dmn), comment=comment, publish=publish)


def store(
    session: Session,
    *,
    actor: Actor,
    checked: specs.Checked,
    comment: str | None = None,
    publish: bool = True,
) -> tuple[ProcessDefinition, bool]:
    """Store a checked document as a new version, as translated where it was drawn for another
    engine; InvalidDefinition if it has problems."""
    if checked.problems:
        raise InvalidDefinition(checked.problems)
    assert checked.parsed is not None
    bpmn_xml, dmn, parsed = checked.bpmn_xml, checked.dmn, checked.parsed
    sha = digest(bpmn_xml, dmn)
    same = session.scalars(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == parsed.key, ProcessDefinition.sha256 == sha)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    ).first()
    if same is not None:
        return same, False
    now = utcnow()
    definition = ProcessDefinition(
        key=parsed.key,
        version=_next_version(session, parsed.key),
        name=parsed.name[:200],
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
    imported = checked.imported.as_dict()
    _record(
        session,
        actor,
        "definition.deploy",
        definition,
        {
            "sha256": sha,
            "comment": comment,
            "published": publish,
            "dmn": sorted(dmn),
            **({"imported": imported} if imported else {}),
        },
    )
    return definition, True


def _next_version(session: Session, key: str) -> int:
    live = session.scalar(select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == key))
    deleted = session.scalar(select(func.max(DeletedDefinition.version)).where(DeletedDefinition.key == key))
    return max(live or 0, deleted or 0) + 1


def publish(session: Session, *, actor: Actor, key: str, version: int) -> ProcessDefinition:
    """Make a version the one new cases start on; a retired version is reinstated."""
    definition = _lock(session, key, version)
    was_retired = definition.retired_at is not None
    definition.published_at, definition.retired_at = utcnow(), None
    _record(session, actor, "definition.publish", definition, {"reinstated": was_retired})
    return definition


def retire(session: Session, *, actor: Actor, key: str, version: int) -> ProcessDefinition:
    """Start no new cases on a version; cases already on it carry on (or are migrated)."""
    definition = _lock(session, key, version)
    if definition.retired_at is None:
        definition.retired_at = utcnow()
        _record(session, actor, "definition.retire", definition, {})
    return definition


def delete(session: Session, *, actor: Actor, key: str, version: int) -> None:
    """Delete a version no case has ever used and no unfinished migration needs."""
    definition = _lock(session, key, version)
    cases = session.scalar(select(func.count()).select_from(Case).where(Case.definition_id == definition.id))
    if cases:
        raise VersionInUse(f"{key} 版本 {version} 有 {cases} 个案件使用（含已办结的），只能停用")
    jobs = session.scalar(
        select(func.count())
        .select_from(MigrationJob)
        .where(
            MigrationJob.status != "done",
            (MigrationJob.to_definition_id == definition.id)
            | (MigrationJob.from_definition_id == definition.id),
        )
    )
    if jobs:
        raise VersionInUse(f"{key} 版本 {version} 有未完成的迁移任务")
    _record(session, actor, "definition.delete", definition, {"sha256": definition.sha256})
    session.add(
        DeletedDefinition(
            key=definition.key,
            version=definition.version,
            sha256=definition.sha256,
            deleted_by=actor.sub,
        )
    )
    session.delete(definition)
    session.flush()


def _lock(session: Session, key: str, version: int) -> ProcessDefinition:
    definition = session.scalars(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key, ProcessDefinition.version == version)
        .with_for_update()
    ).first()
    if definition is None:
        raise VersionNotFound(f"流程 {key} 没有版本 {version}")
    return definition


def _record(session: Session, actor: Actor, action: str, d: ProcessDefinition, payload: dict) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        object_type="definition",
        object_id=d.id,
        payload={"key": d.key, "version": d.version, **payload},
    )


def get(session: Session, *, definition_id: int) -> ProcessDefinition | None:
    return session.get(ProcessDefinition, definition_id)


def get_version(session: Session, *, key: str, version: int) -> ProcessDefinition | None:
    return session.scalars(
        select(ProcessDefinition).where(ProcessDefinition.key == key, ProcessDefinition.version == version)
    ).first()


def get_version_or_raise(session: Session, *, key: str, version: int) -> ProcessDefinition:
    definition = get_version(session, key=key, version=version)
    if definition is None:
        raise VersionNotFound(f"流程 {key} 没有版本 {version}")
    return definition


def get_latest(session: Session, *, key: str) -> ProcessDefinition | None:
    return session.scalars(
        select(ProcessDefinition)
        .where(ProcessDefinition.key == key)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    ).first()


def _current(key: str | BindParameter[str]) -> Select:
    return (
        select(ProcessDefinition)
        .where(
            ProcessDefinition.key == key,
            ProcessDefinition.published_at.is_not(None),
            ProcessDefinition.retired_at.is_(None),
        )
        .order_by(ProcessDefinition.published_at.desc(), ProcessDefinition.version.desc())
        .limit(1)
    )


def find_current(session: Session, *, key: str) -> ProcessDefinition | None:
    """The version new cases start on: the most recently published one that is not retired."""
    return session.scalars(_current(key)).first()


# Built once with bound parameters: starting a case runs it every time, and a statement built per
# call has its cache key recomputed. A person id of None matches no open case.
_OPEN_CASE = (
    select(Case.id)
    .where(
        Case.process_key == bindparam("key"),
        Case.person_id == bindparam("person_id"),
        Case.status.in_(("running", "waiting")),
    )
    .limit(1)
    .scalar_subquery()
)
_FOR_START = _current(bindparam("key")).with_only_columns(
    ProcessDefinition.id, ProcessDefinition.version, _OPEN_CASE.label("open_case")
)


def current_for_start(session: Session, *, key: str, person_id: str | None) -> Row:
    """The id and version of the current definition of `key` (UnknownProcess without one), and the
    person's open case of it (`open_case`, or None): starting a case reads what it needs in one
    statement, on the connection (a column query needs none of the ORM's per-statement work)."""
    row = session.connection().execute(_FOR_START, {"key": key, "person_id": person_id}).first()
    if row is None:
        raise UnknownProcess(f"流程 {key} 不存在或没有已发布的版本")
    return row


def get_all(session: Session) -> list[ProcessDefinition]:
    return list(
        session.scalars(select(ProcessDefinition).order_by(ProcessDefinition.key, ProcessDefinition.version))
    )


def get_versions(session: Session, *, key: str) -> list[ProcessDefinition]:
    return list(
        session.scalars(
            select(ProcessDefinition).where(ProcessDefinition.key == key).order_by(ProcessDefinition.version)
        )
    )


@dataclass(frozen=True)
class Usage:
    open: int
    completed: int


def usage(session: Session, *, key: str) -> dict[int, Usage]:
    """Cases per version of a process (by definition id): still open, and completed."""
    done = case((Case.status == "completed", 1), else_=0)
    rows = session.execute(
        select(Case.definition_id, func.count(), func.sum(done))
        .where(Case.process_key == key)
        .group_by(Case.definition_id)
    ).all()
    return {d: Usage(open=n - (c or 0), completed=c or 0) for d, n, c in rows}


# Files: one `<name>.bpmn` per process, its DMN files in a folder of the same name beside it.


@dataclass(frozen=True)
class Source:
    path: Path
    bpmn_xml: str
    dmn: dict[str, str]


def read_directory(directory: Path) -> list[Source]:
    sources = []
    for path in sorted(directory.glob("*.bpmn")):
        # Bytes, not text mode: newline translation would change the content and make a new version.
        dmn = {p.name: decode(p.read_bytes(), p.name) for p in sorted(path.with_suffix("").glob("*.dmn"))}
        sources.append(Source(path, decode(path.read_bytes(), path.name), dmn))
    return sources


def deploy_directory(
    session: Session,
    *,
    actor: Actor,
    directory: Path,
    comment: str | None = None,
    publish: bool = True,
) -> list[tuple[ProcessDefinition, bool]]:
    """Deploy every process of a directory, all or nothing: InvalidDefinition lists the problems of
    every file (each message starts with the file name) and nothing is stored."""
    sources = read_directory(directory)
    problems: list[Problem] = []
    keys: dict[str, Path] = {}
    for source in sources:
        try:
            key = specs.parse(source.bpmn_xml, source.dmn).key
        except InvalidDefinition as err:
            problems += [
                Problem(p.element_id, p.code, f"{source.path.name}：{p.message}") for p in err.problems
            ]
            continue
        if key in keys:
            problems.append(
                Problem(None, "process.duplicate", f"{source.path.name}：流程 {key} 与 {keys[key].name} 重复")
            )
        keys[key] = source.path
    if problems:
        raise InvalidDefinition(problems, f"{directory} 中有 {len(problems)} 处问题，未部署任何流程")
    return [
        deploy(
            session,
            actor=actor,
            bpmn_xml=source.bpmn_xml,
            dmn=source.dmn,
            comment=comment or f"部署 {source.path.name}",
            publish=publish,
        )
        for source in sources
    ]


def export_directory(
    session: Session, *, directory: Path, keys: list[str] | None = None
) -> list[ProcessDefinition]:
    """Write the current version of every process (or of `keys`; the newest one where none is
    published) as files that `deploy_directory` reads back without creating a version."""
    wanted = keys or sorted(set(session.scalars(select(ProcessDefinition.key))))
    exported = []
    for key in wanted:
        definition = find_current(session, key=key) or get_latest(session, key=key)
        if definition is None:
            raise UnknownProcess(f"流程 {key} 不存在")
        exported.append(definition)
    directory.mkdir(parents=True, exist_ok=True)
    for definition in exported:
        (directory / f"{definition.key}.bpmn").write_bytes(definition.bpmn_xml.encode())
        if definition.dmn:
            dmn_dir = directory / definition.key
            dmn_dir.mkdir(exist_ok=True)
            for name, text in definition.dmn.items():
                (dmn_dir / name).write_bytes(text.encode())
    return exported
