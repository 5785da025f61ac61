"""Persons in the registry: the record, and what the counter must still collect (第十三条)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from canbao.actors import Actor
from canbao.errors import NotFound
from registry import persons

from .. import masking
from ..deps import Db, permit

router = APIRouter(tags=["persons 登记库人员"])
Reader = Annotated[Actor, Depends(permit("persons.read"))]
IdNumber = Annotated[str, Path(min_length=15, max_length=18, description="公民身份号码")]


def _reach(actor: Actor, id_number: str) -> None:
    """Citizens read their own record only (as not found otherwise, revealing nothing)."""
    if actor.roles == ("citizen",) and id_number.upper() != actor.sub:
        raise NotFound("登记库中没有该人员")


@router.get("/persons/{id_number}", summary="人员登记信息（按岗位脱敏）")
def get_person(id_number: IdNumber, actor: Reader, db: Db) -> dict[str, Any]:
    _reach(actor, id_number)
    return masking.document(
        persons.read(db, actor=actor, id_number=id_number, purpose="GET /persons/{id}"), actor
    )


@router.get("/persons/{id_number}/missing", summary="需采集、补正的信息（窗口弹出）")
def get_missing(id_number: IdNumber, actor: Reader, db: Db) -> dict[str, Any]:
    _reach(actor, id_number)
    result = persons.missing(db, actor=actor, id_number=id_number)
    return {**result, "person_id": masking.id_number(result["person_id"], actor)}
