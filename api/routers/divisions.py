"""Administrative divisions (统计用区划代码) for the division pickers: the children of a division, or named
codes with their full names. The same index validates the forms, so a picker offers exactly what the
validators accept. Division codes are public reference data: any signed-in user may read them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from canbao.errors import FieldError, Invalid, NotFound
from forms import divisions

from ..bodies import Body
from ..deps import CurrentActor
from ..masking import MaskingRoute
from ..problems import answers

router = APIRouter(tags=["divisions 行政区划"], route_class=MaskingRoute)
Code = r"^\d{2,12}$"
MAX_CODES = 200


class DivisionView(Body):
    code: str
    name: str | None
    level: str | None
    path: str = Field(description="全称，自省级起")
    leaf: bool


class Divisions(Body):
    parent: str | None = Field(None, description="按 parent 查询时：上级区划代码（省级为 null）")
    items: list[DivisionView]


def division_view(index: divisions.Index, code: str) -> dict[str, Any]:
    return {
        "code": code,
        "name": index.name(code),
        "level": index.level(code),
        "path": index.path(code),
        "leaf": not index.children(code),
    }


@router.get(
    "/divisions",
    summary="下级区划（parent，省级不带参数），或按代码查名称（code，可重复）",
    response_model=Divisions,
    response_model_exclude_unset=True,
    responses=answers(404),
)
def list_divisions(
    actor: CurrentActor,
    parent: Annotated[str | None, Query(pattern=Code, description="上级区划代码")] = None,
    code: Annotated[list[str] | None, Query(description="要查名称的区划代码（至多200个）")] = None,
) -> dict[str, Any]:
    index = divisions.index()
    if code:
        if parent is not None:
            raise Invalid([FieldError("/code", "divisions.query", "parent 与 code 不能同时使用")])
        if len(code) > MAX_CODES:
            raise Invalid([FieldError("/code", "divisions.too_many", f"一次至多查询 {MAX_CODES} 个区划代码")])
        bad = [
            FieldError(f"/code/{i}", "division.format", "区划代码应为2–12位数字")
            for i, c in enumerate(code)
            if not c.isascii() or not c.isdigit() or not 2 <= len(c) <= 12
        ]
        if bad:
            raise Invalid(bad)
        return {"items": [division_view(index, c) for c in dict.fromkeys(code) if c in index]}
    if parent is not None and parent not in index:
        raise NotFound(f"区划代码“{parent}”不存在")
    return {"parent": parent, "items": [division_view(index, c) for c in index.children(parent)]}
