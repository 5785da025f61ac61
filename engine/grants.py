"""The two authorizations a county needs before its 审定 lets data into the registry.

第十九条: survey data are 审定 by the 县级经办机构 "经市级经办机构授权"; 第二十一条: changes are 审定 by
the 县级人力资源社会保障部门 "经市级人力资源社会保障部门授权". Two kinds of grant, each granted and
revoked only by its own city body, and each 审定 task names the kind it needs (`authorization`
property); completing such a task is refused while no grant of that kind is in force for the county —
checked here, in the engine's completion path, whoever calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from canbao import audit
from canbao.actors import ROLES, Actor
from canbao.db import utcnow
from canbao.errors import FieldError, Forbidden, Invalid, NotFound

from .models import CountyAuthorization


@dataclass(frozen=True)
class Kind:
    key: str
    title: str
    article: str
    grantor_role: str  # who grants and revokes it
    grantee: str


KINDS = {
    "survey": Kind("survey", "调查信息审定授权", "第十九条", "city_admin", "县级经办机构"),
    "change": Kind("change", "变更信息审定授权", "第二十一条", "city_hrss", "县级人力资源社会保障部门"),
}


class NotAuthorized(Forbidden):
    code = "authorization.missing"
    title = "县级审定未获市级授权"


class NotGrantor(Forbidden):
    code = "authorization.not_grantor"
    title = "无权授予或撤销这种审定授权"


def _kind(key: str) -> Kind:
    try:
        return KINDS[key]
    except KeyError:
        known = "、".join(f"{k.key}（{k.title}）" for k in KINDS.values())
        raise Invalid([FieldError("/kind", "authorization.kind", f"授权种类应为：{known}")]) from None


def _require_grantor(actor: Actor, kind: Kind) -> None:
    if not actor.has_role(kind.grantor_role):
        raise NotGrantor(
            f"{kind.title}（{kind.article}）只能由{ROLES[kind.grantor_role]}授予或撤销",
            reason="grantor",
        )


def grant(
    session: Session,
    *,
    actor: Actor,
    kind: str,
    county: str,
    valid_from: datetime,
    valid_to: datetime | None,
    note: str | None = None,
) -> CountyAuthorization:
    chosen = _kind(kind)
    _require_grantor(actor, chosen)
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
        kind=kind, county=county, granted_by=actor.sub, valid_from=valid_from, valid_to=valid_to, note=note
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
            "kind": kind,
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
    _require_grantor(actor, KINDS[row.kind])
    if row.revoked_at is None:
        row.revoked_at, row.revoked_by = utcnow(), actor.sub
        audit.record(
            session,
            actor=actor,
            action="authorization.revoke",
            object_type="authorization",
            object_id=row.id,
            payload={"kind": row.kind, "county": row.county},
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


_IN_FORCE = (
    select(CountyAuthorization.id)
    .where(
        CountyAuthorization.kind == bindparam("kind"),
        CountyAuthorization.county == bindparam("county"),
        CountyAuthorization.revoked_at.is_(None),
        CountyAuthorization.valid_from <= bindparam("at"),
        (CountyAuthorization.valid_to.is_(None)) | (CountyAuthorization.valid_to > bindparam("at")),
    )
    .limit(1)
)


def in_force(session: Session, *, kind: str, county: str, at: datetime | None = None) -> bool:
    found = session.execute(_IN_FORCE, {"kind": kind, "county": county, "at": at or utcnow()}).first()
    return found is not None


def require(session: Session, *, kind: str, county: str) -> None:
    if not in_force(session, kind=kind, county=county):
        chosen = _kind(kind)
        raise NotAuthorized(
            f"县（区）{county} 的{chosen.title}（{chosen.article}）不存在、未生效、已过期或已撤销",
            kind=kind,
        )
