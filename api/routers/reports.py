"""Reports (第三十条): the statistics tables as XLSX (with the person details on a second sheet when
asked) and CSV. Every export is an audit event."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response

from canbao.actors import Actor
from registry.stats import queries, reports

from ..deps import Db, permit
from ..masking import MaskingRoute, for_actor
from .registry import XLSX
from .stats import AsOf, By

router = APIRouter(tags=["reports 报表"], route_class=MaskingRoute)
Exporter = Annotated[Actor, Depends(permit("stats.export"))]
Area = Annotated[str | None, Query(max_length=12, description="区划代码，默认为本人辖区")]


def _send(content: bytes, filename: str, media_type: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )


@router.get(
    "/reports/{name}.xlsx",
    summary="报表（XLSX；details=true 时第二个工作表为人员明细）",
    response_class=Response,
    responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}},
)
def xlsx(
    name: str,
    actor: Exporter,
    db: Db,
    area: Area = None,
    as_of: AsOf = None,
    by: By = None,
    details: bool = False,
    indicator: Annotated[str | None, Query(max_length=40, description="明细对应的指标，默认按报表")] = None,
) -> Response:
    sc = queries.scope(actor, area=area, as_of=as_of, by=None if name == "survey-teams" else by)
    content, filename, media = reports.export(
        db,
        actor=actor,
        name=name,
        fmt="xlsx",
        sc=sc,
        details=details,
        indicator=indicator,
        mask=for_actor(actor),
    )
    return _send(content, filename, media)


@router.get(
    "/reports/{name}.csv",
    summary="报表（CSV，UTF-8 带 BOM）",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def csv(name: str, actor: Exporter, db: Db, area: Area = None, as_of: AsOf = None, by: By = None) -> Response:
    sc = queries.scope(actor, area=area, as_of=as_of, by=None if name == "survey-teams" else by)
    return _send(*reports.export(db, actor=actor, name=name, fmt="csv", sc=sc))
