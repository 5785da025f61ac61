"""The city's two authorizations for county approval (审定): of survey data (第十九条, by the 市级经办机构)
and of changes (第二十一条, by the 市级人力资源社会保障部门)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, Field

from canbao.actors import Actor
from engine import grants
from engine.models import CountyAuthorization

from ..bodies import Body
from ..deps import Db, RowId, permit
from ..inputs import Text
from ..masking import MaskingRoute

router = APIRouter(tags=["authorizations 审定授权"], route_class=MaskingRoute)
Reader = Annotated[Actor, Depends(permit("authorizations.read"))]
CityAdmin = Annotated[Actor, Depends(permit("authorizations.write"))]


class Grant(BaseModel):
    kind: Literal["survey", "change"] = Field(
        description="survey：调查信息审定授权（第十九条，市级经办机构授予）；"
        "change：变更信息审定授权（第二十一条，市级人社部门授予）"
    )
    county: str = Field(pattern=r"^\d{6}$", description="县（区）行政区划代码")
    valid_from: AwareDatetime
    valid_to: AwareDatetime | None = None
    note: Text | None = Field(default=None, max_length=500)


class AuthorizationView(Body):
    id: int
    kind: str
    kind_title: str
    county: str
    granted_by: str
    granted_at: str
    valid_from: str
    valid_to: str | None
    note: str | None
    revoked_at: str | None
    revoked_by: str | None


def view(row: CountyAuthorization, now: datetime | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "kind_title": grants.KINDS[row.kind].title,
        "county": row.county,
        "granted_by": row.granted_by,
        "granted_at": row.granted_at.isoformat(),
        "valid_from": row.valid_from.isoformat(),
        "valid_to": row.valid_to.isoformat() if row.valid_to else None,
        "note": row.note,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
        "revoked_by": row.revoked_by,
    }


@router.post("/authorizations", status_code=201, summary="市级授权县级审定", response_model=AuthorizationView)
def grant(body: Grant, actor: CityAdmin, db: Db) -> dict[str, Any]:
    return view(
        grants.grant(
            db,
            actor=actor,
            kind=body.kind,
            county=body.county,
            valid_from=body.valid_from,
            valid_to=body.valid_to,
            note=body.note,
        )
    )


@router.delete(
    "/authorizations/{authorization_id}", summary="撤销授权（立即停止审定）", response_model=AuthorizationView
)
def revoke(authorization_id: RowId, actor: CityAdmin, db: Db) -> dict[str, Any]:
    return view(grants.revoke(db, actor=actor, authorization_id=authorization_id))


@router.get("/authorizations", summary="本区域的授权", response_model=list[AuthorizationView])
def list_authorizations(actor: Reader, db: Db) -> list[dict[str, Any]]:
    return [view(r) for r in grants.get_all(db, actor=actor)]
