"""Exchange with the registry of the level above (第十条) as a service: the city and the province export
their changes, the level above fetches the signed files (resuming a broken transfer with `Range`) and
imports them, and sends each lower registry the enrollments of its persons insured elsewhere (取回).
Which role sends or receives which kind, and the areas, are checked by `registry.exchange`."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from canbao.actors import Actor
from canbao.errors import FieldError, Invalid
from registry import exchange

from ..deps import MAX_ID, Db, RowId, permit
from ..masking import MaskingRoute

router = APIRouter(tags=["exchange 上下级交换"], route_class=MaskingRoute)
Reader = Annotated[Actor, Depends(permit("exchange.read"))]
Exporter = Annotated[Actor, Depends(permit("exchange.export"))]
Importer = Annotated[Actor, Depends(permit("exchange.import"))]
MAX_FILE_BYTES = 512 * 1024 * 1024
GZIP = "application/gzip"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Batch(BaseModel):
    id: int
    direction: Literal["export", "import"] = Field(description="export：本库导出；import：本库导入")
    kind: Literal["changes", "elsewhere"] = Field(
        description="changes：变更信息；elsewhere：异地参保（取回）"
    )
    kind_title: str
    origin: str = Field(description="写出文件的登记库的区划")
    origin_batch: int = Field(description="该登记库的批次号")
    for_area: str | None = Field(description="取回文件的接收地区")
    sha256: str = Field(description="文件内容的 SHA-256（导入按它识别重复）")
    size: int | None = Field(description="导出文件的字节数（导入不保存文件）")
    counts: dict[str, int]
    status: Literal["ready", "fetched", "applied"] = Field(
        description="ready：待上级取走；fetched：已取走；applied：已导入"
    )
    status_title: str
    at: str
    fetched_at: str | None
    actor: str


class BatchPage(BaseModel):
    items: list[Batch]
    next: int | None = Field(description="下一页：作为 after 传入")


class ExportRequest(BaseModel):
    kind: Literal["changes", "elsewhere"] = Field(
        description="changes：本库自上次导出以来的变更（市级、省级人社部门）；"
        "elsewhere：下级地区户籍人员的异地参保信息（省级、部级，取回）"
    )
    area: str | None = Field(
        default=None, pattern=r"^\d{2,12}$", description="本登记库的区划（默认本人区域）"
    )
    for_area: str | None = Field(default=None, pattern=r"^\d{4,12}$", description="取回文件的接收地区")


class ExportResult(BaseModel):
    created: bool = Field(description="false：自上次导出以来没有变更，未生成批次")
    batch: Batch | None


class ImportResult(BaseModel):
    repeated: bool = Field(description="true：同一内容（或同一批次）已导入过，本次未作改动")
    batch: Batch
    counts: dict[str, int]


@router.get(
    "/exchange/batches", response_model=BatchPage, summary="交换批次（新者在前；按方向、种类、状态过滤）"
)
def list_batches(
    actor: Reader,
    db: Db,
    direction: Literal["export", "import"] | None = None,
    kind: Literal["changes", "elsewhere"] | None = None,
    status: Literal["ready", "fetched", "applied"] | None = None,
    after: Annotated[int | None, Query(ge=1, le=MAX_ID, description="上一页的 next")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    rows = exchange.list_batches(
        db, actor=actor, direction=direction, kind=kind, status=status, after=after, limit=limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [exchange.view(b) for b in rows], "next": rows[-1].id if more else None}


@router.get("/exchange/batches/{batch_id}", response_model=Batch, summary="一个交换批次")
def get_batch(batch_id: RowId, actor: Reader, db: Db) -> dict[str, Any]:
    return exchange.view(exchange.get_or_raise(db, actor=actor, batch_id=batch_id))


@router.get(
    "/exchange/batches/{batch_id}/file",
    response_class=Response,
    responses={
        200: {"content": {GZIP: {}}, "description": "签名的交换文件（gzip 压缩的 JSON）"},
        206: {"content": {GZIP: {}}, "description": "文件的一段（Range），用于断点续传"},
    },
    summary="取走导出的交换文件（支持 Range 断点续传；取完整个文件后批次记为已取走）",
)
def fetch_file(
    batch_id: RowId,
    actor: Reader,
    db: Db,
    range_: Annotated[str | None, Header(alias="Range", description="bytes=起-止")] = None,
    if_range: Annotated[str | None, Header(alias="If-Range", description="文件的 ETag")] = None,
) -> Response:
    batch = exchange.get_or_raise(db, actor=actor, batch_id=batch_id)
    etag = f'"{batch.sha256}"'
    start, end = 0, None
    ranged = range_ is not None and (if_range is None or if_range == etag)
    if ranged:
        start, end = _byte_range(range_, len(batch.content or b""))
    part = exchange.fetch(db, actor=actor, batch_id=batch_id, start=start, end=end)
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'attachment; filename="exchange-{batch.origin}-{batch.origin_batch}.json.gz"',
    }
    if ranged:
        headers["Content-Range"] = f"bytes {part.start}-{part.end}/{part.total}"
        return Response(part.content, status_code=206, media_type=GZIP, headers=headers)
    return Response(part.content, media_type=GZIP, headers=headers)


def _byte_range(header: str, total: int) -> tuple[int, int | None]:
    """One range of `Range: bytes=…` (a suffix `-n` counts from the end)."""
    match = _RANGE.match(header.strip())
    if match is None or match.groups() == ("", ""):
        raise exchange.RangeNotSatisfiable("Range 应为 bytes=起-止（只支持一段）")
    first, last = match.groups()
    if first == "":
        return max(total - int(last), 0), None
    return int(first), int(last) if last else None


@router.post("/exchange/exports", response_model=ExportResult, status_code=201, summary="导出交换文件")
def export(
    body: ExportRequest, actor: Exporter, db: Db, request: Request, response: Response
) -> dict[str, Any]:
    result = exchange.export(
        db,
        actor=actor,
        kind=body.kind,
        area=body.area if body.area is not None else actor.area,
        for_area=body.for_area,
        data_dir=request.app.state.settings.data_dir,
    )
    if result is None:
        response.status_code = 200
        return {"created": False, "batch": None}
    return {"created": True, "batch": exchange.view(result[1])}


@router.post(
    "/exchange/imports",
    response_model=ImportResult,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in ("application/octet-stream", GZIP)
            },
            "description": "下级库的变更文件，或上级库的取回文件（按文件自身的类型导入）",
        }
    },
    summary="导入交换文件（同一内容重复提交不重复导入；签名须出自受信任的密钥）",
)
async def import_file(actor: Importer, db: Db, request: Request, response: Response) -> dict[str, Any]:
    content = bytearray()
    async for chunk in request.stream():
        content += chunk
        if len(content) > MAX_FILE_BYTES:
            raise Invalid([FieldError("/file", "file.too_large", f"文件不能超过 {MAX_FILE_BYTES >> 20} MB")])
    result = exchange.import_file(
        db, actor=actor, content=bytes(content), data_dir=request.app.state.settings.data_dir
    )
    batch = exchange.get_or_raise(db, actor=actor, batch_id=result["batch_id"])
    if result["repeated"]:
        response.status_code = 200
    counts = {k: v for k, v in result.items() if k not in ("batch_id", "repeated")}
    return {"repeated": result["repeated"], "batch": exchange.view(batch), "counts": counts}
