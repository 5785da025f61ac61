"""Persons in the registry: the record, and what the counter must still collect (第十三条)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from canbao.actors import Actor
from canbao.errors import FieldError, Invalid
from forms import idnumber
from registry import persons
from registry.common import PersonNotFound

from ..deps import Db, permit
from ..masking import MaskingRoute

router = APIRouter(tags=["persons 登记库人员"], route_class=MaskingRoute)
Reader = Annotated[Actor, Depends(permit("persons.read"))]
IdNumber = Annotated[str, Path(min_length=15, max_length=18, description="公民身份号码")]


def _reach(db: Db, actor: Actor, id_number: str) -> str:
    """The normalized number of a person the actor reaches; anyone else is not found, revealing nothing
    (citizens reach their own record only)."""
    try:
        key = idnumber.normalize(id_number)
    except idnumber.IdNumberError as err:
        raise Invalid([FieldError("/path/id_number", err.code, err.message)]) from err
    person = persons.get(db, id_number=key)
    if person is None or not actor.may_see(area=person.area, person_id=person.id):
        raise PersonNotFound("登记库中没有该人员，或不在您的管辖范围内")
    return key


@router.get("/persons/{id_number}", summary="人员登记信息（按岗位脱敏）")
def get_person(id_number: IdNumber, actor: Reader, db: Db) -> dict[str, Any]:
    key = _reach(db, actor, id_number)
    return persons.read(db, actor=actor, id_number=key, purpose="GET /persons/{id}")


@router.get("/persons/{id_number}/missing", summary="需采集、补正的信息（窗口弹出）")
def get_missing(id_number: IdNumber, actor: Reader, db: Db) -> dict[str, Any]:
    key = _reach(db, actor, id_number)
    return persons.missing(db, actor=actor, id_number=key)
