"""Process definitions: versions (deploy, publish, retire, delete), validation, diff between versions,
and migration of running cases from one version to another."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile

import forms
from canbao.actors import FORMER_NAMES, ROLES, Actor
from canbao.errors import CanbaoError, FieldError, Invalid
from engine import chain, definitions, diff, grants, migration, operations, task_rules
from engine.change_models import MigrationItem, MigrationJob
from engine.errors import InvalidDefinition, Problem, UnknownProcess
from engine.models import ProcessDefinition

from ..deps import MAX_ID, MAX_VERSION, Db, RowId, VersionNo, permit
from ..masking import MaskingRoute

router = APIRouter(tags=["definitions 流程定义"], route_class=MaskingRoute)
Reader = Annotated[Actor, Depends(permit("definitions.read"))]
Manager = Annotated[Actor, Depends(permit("definitions.write"))]

XML_TYPES = {
    "",
    "application/xml",
    "text/xml",
    "application/bpmn+xml",
    "application/octet-stream",
    "text/plain",
}
MAX_FILES = 20
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/xml": {"schema": {"type": "string", "description": "BPMN 2.0 XML"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "一个 .bpmn 文件，另可附若干 .dmn 文件",
                        },
                        "comment": {"type": "string"},
                    },
                    "required": ["files"],
                }
            },
        },
    }
}


class UnsupportedMediaType(CanbaoError):
    status = 415
    code = "unsupported_media_type"
    title = "不支持的内容类型"


@dataclass
class Upload:
    """A BPMN document and its DMN files as received (bytes: decoding is part of validating them)."""

    bpmn: bytes
    bpmn_name: str = "definition.bpmn"
    dmn: dict[str, bytes] = field(default_factory=dict)
    comment: str | None = None

    def decoded(self) -> tuple[str, dict[str, str]]:
        """Text of every file; InvalidDefinition (xml.encoding) for one that is not UTF-8."""
        return definitions.decode(self.bpmn, self.bpmn_name), {
            name: definitions.decode(raw, name) for name, raw in self.dmn.items()
        }


async def read_upload(request: Request) -> Upload:
    """The body: BPMN XML as is, or multipart/form-data with one .bpmn file, optional .dmn files and a
    `comment` field."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in XML_TYPES:
        return Upload(await request.body())
    if media != "multipart/form-data":
        raise UnsupportedMediaType(f"请以 application/xml 或 multipart/form-data 上传，而不是 {media}")
    form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES)
    bpmn: list[tuple[str, bytes]] = []
    dmn: dict[str, bytes] = {}
    for _, value in form.multi_items():
        if isinstance(value, UploadFile):
            name = PurePath(value.filename or "definition.bpmn").name
            content = await value.read()
            if name.lower().endswith(".dmn"):
                dmn[name] = content
            else:
                bpmn.append((name, content))
    if len(bpmn) != 1:
        raise Invalid(
            [FieldError("/files", "definition.bpmn_count", "应上传且仅上传一个 BPMN 文件（另可附 DMN 文件）")]
        )
    comment = form.get("comment")
    [(name, content)] = bpmn
    return Upload(content, name, dmn, comment if isinstance(comment, str) and comment else None)


Uploaded = Annotated[Upload, Depends(read_upload)]


def version_view(d: ProcessDefinition) -> dict[str, Any]:
    return {
        "id": d.id,
        "key": d.key,
        "version": d.version,
        "name": d.name,
        "sha256": d.sha256,
        "deployed_by": d.deployed_by,
        "deployed_at": d.deployed_at.isoformat(),
        "comment": d.comment,
        "published_at": d.published_at.isoformat() if d.published_at else None,
        "retired_at": d.retired_at.isoformat() if d.retired_at else None,
        "dmn": sorted(d.dmn or {}),
    }


def usage_view(
    d: ProcessDefinition, usage: definitions.Usage | None, current: ProcessDefinition | None
) -> dict[str, Any]:
    """A version with whether new cases start on it and its cases, whatever state the process is in
    (only drafts, every version retired: no current version, no cases)."""
    use = usage or definitions.Usage(0, 0)
    return {
        **version_view(d),
        "current": current is not None and current.id == d.id,
        "cases": {"open": use.open, "completed": use.completed},
    }


@router.get("/definitions", summary="流程定义及版本")
def list_definitions(actor: Reader, db: Db) -> list[dict[str, Any]]:
    return [version_view(d) for d in definitions.get_all(db)]


class Choice(BaseModel):
    key: str
    title: str


class RoleChoice(Choice):
    former_names: list[str] = Field(description="该岗位以前的名称：已部署版本的泳道仍可能使用")


class DutyChoice(Choice):
    role: str = Field(description="办理该职责的岗位代码")


class Vocabulary(BaseModel):
    """What a process's elements may name: the modeler's properties panel offers exactly these."""

    forms: list[Choice] = Field(description="用户任务的表单（formKey）")
    roles: list[RoleChoice] = Field(description="岗位：泳道名称或用户任务的 role 属性")
    operations: list[Choice] = Field(description="服务任务可调用的操作（spiffworkflow:serviceTaskOperator）")
    duties: list[DutyChoice] = Field(description="用户任务的职责（duty）")
    authorizations: list[Choice] = Field(description="审定所需的授权种类（authorization）")
    decisions: list[Choice] = Field(description="审核结论（decisions）")


@router.get(
    "/definitions/vocabulary",
    response_model=Vocabulary,
    summary="流程元素可用的表单、岗位、操作、职责、授权和审核结论",
)
def vocabulary(actor: Reader) -> Vocabulary:
    return Vocabulary(
        forms=[Choice(key=k, title=forms.get(k).get("title", k)) for k in forms.keys()],  # noqa: SIM118
        roles=[
            RoleChoice(key=k, title=t, former_names=[n for n, c in FORMER_NAMES.items() if c == k])
            for k, t in ROLES.items()
        ],
        operations=[Choice(key=n, title=operations.get(n).title) for n in operations.names()],
        duties=[DutyChoice(key=d.key, title=d.title, role=d.role) for d in chain.DUTIES.values()],
        authorizations=[Choice(key=k.key, title=k.title) for k in grants.KINDS.values()],
        decisions=[Choice(key=k, title=t) for k, t in task_rules.DECISIONS.items()],
    )


@router.get("/definitions/{key}/versions", summary="某流程的全部版本（含当前版本标记与案件数）")
def versions(key: str, actor: Reader, db: Db) -> list[dict[str, Any]]:
    rows = definitions.get_versions(db, key=key)
    if not rows:
        raise UnknownProcess(f"流程 {key} 不存在")
    usage = definitions.usage(db, key=key)
    current = definitions.find_current(db, key=key)
    return [usage_view(d, usage.get(d.id), current) for d in rows]


@router.get("/definitions/{key}/versions/{version}", summary="某个版本")
def version(key: str, version: VersionNo, actor: Reader, db: Db) -> dict[str, Any]:
    d = definitions.get_version_or_raise(db, key=key, version=version)
    return usage_view(d, definitions.usage(db, key=key).get(d.id), definitions.find_current(db, key=key))


@router.get(
    "/definitions/{key}/versions/{version}/xml",
    summary="某版本的 BPMN XML",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}},
)
def version_xml(key: str, version: VersionNo, actor: Reader, db: Db) -> Response:
    row = definitions.get_version_or_raise(db, key=key, version=version)
    return Response(row.bpmn_xml, media_type="application/xml")


@router.post(
    "/definitions/validate", summary="校验 BPMN（可附 DMN），返回按元素定位的问题", openapi_extra=UPLOAD_BODY
)
def validate(actor: Manager, upload: Uploaded) -> dict[str, Any]:
    """Every problem with its element (`scope` "document" for those of the whole document), and for a
    document drawn for Camunda or Flowable what was translated (`imported.mapped`) and dropped
    (`imported.ignored`); what cannot be translated is among the problems (`import.unmapped`)."""
    try:
        bpmn_xml, dmn = upload.decoded()
    except InvalidDefinition as err:
        problems: list[Problem] = err.problems
        imported = None
    else:
        checked = definitions.check(bpmn_xml, dmn)
        problems, imported = checked.problems, checked.imported.as_dict()
    return {"valid": not problems, "problems": [p.as_dict() for p in problems], "imported": imported}


@router.post(
    "/definitions",
    status_code=201,
    summary="部署新版本（内容与已有版本相同则不产生新版本，返回 200）",
    openapi_extra=UPLOAD_BODY,
)
def deploy(
    actor: Manager,
    upload: Uploaded,
    db: Db,
    response: Response,
    comment: Annotated[str | None, Query(max_length=2000)] = None,
    publish: bool = True,
) -> dict[str, Any]:
    bpmn_xml, dmn = upload.decoded()
    checked = definitions.check(bpmn_xml, dmn)
    definition, created = definitions.store(
        db, actor=actor, checked=checked, comment=upload.comment or comment, publish=publish
    )
    if not created:
        response.status_code = 200
    return {**version_view(definition), "created": created, "imported": checked.imported.as_dict()}


@router.post("/definitions/{key}/versions/{version}/publish", summary="发布：新案件从此版本开始")
def publish(key: str, version: VersionNo, actor: Manager, db: Db) -> dict[str, Any]:
    return version_view(definitions.publish(db, actor=actor, key=key, version=version))


@router.post("/definitions/{key}/versions/{version}/retire", summary="停用：不再以此版本发起新案件")
def retire(key: str, version: VersionNo, actor: Manager, db: Db) -> dict[str, Any]:
    return version_view(definitions.retire(db, actor=actor, key=key, version=version))


@router.delete("/definitions/{key}/versions/{version}", status_code=204, summary="删除从未被案件使用的版本")
def delete_version(key: str, version: VersionNo, actor: Manager, db: Db) -> Response:
    definitions.delete(db, actor=actor, key=key, version=version)
    return Response(status_code=204)


@router.get("/definitions/{key}/versions/{a}/diff/{b}", summary="两个版本间新增、删除和修改的元素")
def version_diff(key: str, a: VersionNo, b: VersionNo, actor: Reader, db: Db) -> dict[str, Any]:
    old = definitions.get_version_or_raise(db, key=key, version=a)
    new = definitions.get_version_or_raise(db, key=key, version=b)
    return {"key": key, "from": a, "to": b, **diff.diff(old.bpmn_xml, new.bpmn_xml).as_dict()}


class MigrationFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    area: str | None = Field(None, pattern=r"^\d{2,12}$", description="只迁移该区划（及下级）的案件")
    case_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        None, max_length=10_000, description="只迁移这些案件（至多 10000 个）"
    )
    waiting_at: list[Annotated[str, Field(max_length=100)]] | None = Field(
        None, max_length=100, description="只迁移停在这些用户任务（BPMN id）上的案件"
    )


class MigrationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: int = Field(alias="from", ge=1, le=MAX_VERSION, description="原版本号")
    to: int = Field(ge=1, le=MAX_VERSION, description="目标版本号")
    filter: MigrationFilter = Field(default_factory=MigrationFilter)
    dry_run: bool = Field(description="true：只判断每个案件能否迁移，不做任何修改")


def job_view(job: MigrationJob, tally: dict[str, int]) -> dict[str, Any]:
    return {
        "id": job.id,
        "key": job.process_key,
        "from": job.from_version,
        "to": job.to_version,
        "dry_run": job.dry_run,
        "filter": job.filter,
        "status": job.status,
        "requested_by": job.requested_by,
        "requested_at": job.requested_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "total": job.total,
        "done": job.total - tally["pending"],
        "counts": tally,
    }


def item_view(item: MigrationItem) -> dict[str, Any]:
    return {
        "case_id": item.case_id,
        "outcome": item.outcome,
        "reason": item.reason,
        "report": item.report,
        "processed_at": item.processed_at.isoformat() if item.processed_at else None,
    }


@router.post(
    "/definitions/{key}/migrations",
    status_code=202,
    summary="迁移运行中的案件（或试运行），按案件报告结果",
    description=(
        "为每个符合条件的运行中案件判断能否迁移到目标版本：已办理或正在办理的环节在新版本中被修改或删除的不迁移，"
        "并说明原因。非试运行时每个案件在各自的事务中迁移。小任务在请求后立即处理，大任务由后台 worker 处理；"
        "进度和逐案结果见 Location 所指的地址。"
    ),
)
def start_migration(
    key: str,
    body: MigrationRequest,
    actor: Manager,
    db: Db,
    request: Request,
    response: Response,
    background: BackgroundTasks,
) -> dict[str, Any]:
    job = migration.request(
        db,
        actor=actor,
        key=key,
        from_version=body.from_,
        to_version=body.to,
        dry_run=body.dry_run,
        area=body.filter.area,
        case_ids=body.filter.case_ids,
        waiting_at=body.filter.waiting_at,
    )
    if 0 < job.total <= migration.INLINE_LIMIT:
        # Runs after the response, so after this request's transaction has committed the job.
        background.add_task(migration.run, request.app.state.sessions, job_id=job.id)
    response.headers["Location"] = f"{request.url.path}/{job.id}"
    return job_view(job, {o: 0 for o in migration.OUTCOMES} | {"pending": job.total})


@router.get("/definitions/{key}/migrations", summary="某流程的迁移任务（最近 50 个）")
def list_migrations(key: str, actor: Manager, db: Db) -> list[dict[str, Any]]:
    return [job_view(job, migration.counts(db, job=job)) for job in migration.get_all(db, key=key)]


@router.get("/definitions/{key}/migrations/{job_id}", summary="迁移任务的进度和逐案结果")
def get_migration(
    key: str,
    job_id: RowId,
    actor: Manager,
    db: Db,
    outcome: Literal["pending", "migrated", "movable", "refused", "skipped", "failed"] | None = None,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="上一页返回的 next_after")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    job = migration.get_or_raise(db, key=key, job_id=job_id)
    page = migration.items(db, job=job, outcome=outcome, after=after, limit=limit)
    return {
        **job_view(job, migration.counts(db, job=job)),
        "items": [item_view(i) for i in page],
        "next_after": page[-1].id if len(page) == limit else None,
    }
