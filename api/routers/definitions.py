"""Process definitions: list, versions, XML, validate, deploy."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import Response

from canbao.actors import Actor
from canbao.errors import NotFound
from engine import definitions, specs
from engine.models import ProcessDefinition

from ..deps import Db, permit

router = APIRouter(tags=["definitions 流程定义"])
Reader = Annotated[Actor, Depends(permit("definitions.read"))]
Manager = Annotated[Actor, Depends(permit("definitions.write"))]
BpmnBody = Annotated[str, Body(media_type="application/xml", description="BPMN 2.0 XML")]


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
    }


@router.get("/definitions", summary="流程定义及版本")
def list_definitions(actor: Reader, db: Db) -> list[dict[str, Any]]:
    return [version_view(d) for d in definitions.get_all(db)]


@router.get("/definitions/{key}/versions", summary="某流程的全部版本")
def versions(key: str, actor: Reader, db: Db) -> list[dict[str, Any]]:
    rows = [d for d in definitions.get_all(db) if d.key == key]
    if not rows:
        raise NotFound(f"流程 {key} 不存在")
    return [version_view(d) for d in rows]


@router.get(
    "/definitions/{key}/versions/{version}/xml",
    summary="某版本的 BPMN XML",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}},
)
def version_xml(key: str, version: int, actor: Reader, db: Db) -> Response:
    row = next((d for d in definitions.get_all(db) if d.key == key and d.version == version), None)
    if row is None:
        raise NotFound(f"流程 {key} 没有版本 {version}")
    return Response(row.bpmn_xml, media_type="application/xml")


@router.post("/definitions/validate", summary="校验 BPMN，返回按元素定位的问题")
def validate(xml: BpmnBody, actor: Manager) -> dict[str, Any]:
    problems = specs.validate(xml)
    return {"valid": not problems, "problems": [p.as_dict() for p in problems]}


@router.post("/definitions", status_code=201, summary="部署新版本（内容未变则不产生新版本）")
def deploy(xml: BpmnBody, actor: Manager, db: Db, comment: str | None = None) -> dict[str, Any]:
    definition, created = definitions.deploy(db, actor=actor, bpmn_xml=xml, comment=comment)
    return {**version_view(definition), "created": created}
