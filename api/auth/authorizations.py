"""County approval needs the city's authorization in force; revoking it stops approvals at once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from canbao import audit
from canbao.actors import Actor
from canbao.db import utcnow
from canbao.errors import FieldError, Forbidden, Invalid, NotFound

from .models import CountyAuthorization


class NotAuthorized(Forbidden):
    code = "authorization.missing"
    title = "县级审定未获市级经办机构授权"


def grant(
    session: Session,
    *,
    actor: Actor,
    county: str,
    valid_from: datetime,
    valid_to: datetime | None,
    note: str | None = None,
) -> CountyAuthorization:
    errors = []
    if not (county.isdigit() and len(county) == 6):
        errors.append(FieldError("/county", "county.invalid", "县级区划代码应为6位数字"))
    elif not actor.reaches(county):
        errors.append(FieldError("/county", "county.outside_city", "只能授权本市所辖的县（区）"))
    if valid_to is not None and valid_to <= valid_from:
        errors.append(FieldError("/valid_to", "valid_to.before_from", "授权截止时间应晚于起始时间"))
    if errors:
        raise Invalid(errors)
    row = CountyAuthorization(
        county=county, granted_by=actor.sub, valid_from=valid_from, valid_to=valid_to, note=note
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="authorization.grant",
        object_type="authorization",
        object_id=row.id,
        payload={
            "county": county,
            "valid_from": valid_from.isoformat(),
            "valid_to": valid_to.isoformat() if valid_to else None,
            "note": note,
        },
        area=county,
    )
    return row


def revoke(session: Session, *, actor: Actor, authorization_id: int) -> CountyAuthorization:
    row = session.get(CountyAuthorization, authorization_id)
    if row is None or not actor.reaches(row.county):
        raise NotFound("授权不存在")
    if row.revoked_at is None:
        row.revoked_at, row.revoked_by = utcnow(), actor.sub
        audit.record(
            session,
            actor=actor,
            action="authorization.revoke",
            object_type="authorization",
            object_id=row.id,
            payload={"county": row.county},
            area=row.county,
        )
    return row


def get_all(session: Session, *, actor: Actor) -> list[CountyAuthorization]:
    return list(
        session.scalars(
            select(CountyAuthorization)
            .where(CountyAuthorization.county.startswith(actor.area))
            .order_by(CountyAuthorization.id.desc())
        )
    )


def in_force(session: Session, *, county: str, at: datetime | None = None) -> bool:
    at = at or utcnow()
    return (
        session.scalar(
            select(CountyAuthorization.id)
            .where(
                CountyAuthorization.county == county,
                CountyAuthorization.revoked_at.is_(None),
                CountyAuthorization.valid_from <= at,
                (CountyAuthorization.valid_to.is_(None)) | (CountyAuthorization.valid_to > at),
            )
            .limit(1)
        )
        is not None
    )


def require(session: Session, *, county: str) -> None:
    if not in_force(session, county=county):
        raise NotAuthorized(f"县（区）{county} 的审定授权不存在、未生效、已过期或已撤销")
