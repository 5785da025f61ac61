"""Persons in the registry: the record, and what the counter must still collect (第十三条). A person is
named by their 社会保障号码 (forms/ssnumber.py), or found by the document they registered with."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field

from canbao.actors import Actor
from canbao.errors import FieldError, Invalid
from forms import codes, ssnumber
from forms.idnumber import IdNumberError
from registry import persons
from registry.common import PersonNotFound

from ..bodies import Body
from ..deps import Db, permit
from ..inputs import NO_CONTROL
from ..masking import MaskingRoute

router = APIRouter(tags=["persons 登记库人员"], route_class=MaskingRoute)
Reader = Annotated[Actor, Depends(permit("persons.read"))]
IdNumber = Annotated[
    str, Path(min_length=15, max_length=18, description="社会保障号码（中国公民为公民身份号码）")
]


class Hukou(Body):
    division: str | None
    address: str | None
    nature: str | None


class Residence(Body):
    division: str | None
    address: str | None


class Employment(Body):
    status: str | None
    employer: str | None


class Insurance(Body):
    scheme: str
    status: str | None
    payment_status: str | None
    place: str | None
    first_date: str | None
    end_date: str | None
    source: str | None
    elsewhere: bool | None


class UninsuredReason(Body):
    code: str | None
    text: str | None


class Registration(Body):
    """The person's 登记表 as the registry holds it (masked per role)."""

    id_type: str
    id_number: str = Field(description="证件号码")
    ss_number: str | None = Field(None, description="社会保障号码（证件号码不是社会保障号码时）")
    name: str
    sex: str
    birth_date: str
    ethnicity: str | None
    hukou: Hukou
    residence: Residence
    phone: str | None
    employment: Employment
    insurance: list[Insurance]
    uninsured_reason: UninsuredReason
    insured_elsewhere: bool | None
    guardian: dict[str, Any] | None
    status: str
    area: str
    registered_at: str | None


class FoundPersonView(Registration):
    person_id: str = Field(description="社会保障号码")


class FoundPersons(Body):
    items: list[FoundPersonView]


class MissingItem(Body):
    pointer: str
    code: str
    message: str
    kind: str


class OpenFlag(Body):
    id: int
    kind: str
    reasons: list[str]
    raised_at: str


class Missing(Body):
    person_id: str
    flags: list[OpenFlag]
    items: list[MissingItem]


def _reach(db: Db, actor: Actor, id_number: str) -> str:
    """The normalized number of a person the actor reaches; anyone else is not found, revealing nothing
    (citizens reach their own record only)."""
    try:
        key = ssnumber.normalize(id_number)
    except IdNumberError as err:
        raise Invalid([FieldError("/path/id_number", err.code, err.message)]) from err
    person = persons.get(db, id_number=key)
    if person is None or not actor.may_see(area=person.area, person_id=person.id):
        raise PersonNotFound("登记库中没有该人员，或不在您的管辖范围内")
    return key


@router.get(
    "/persons",
    summary="按证件查找人员（证件类型＋证件号码，按岗位脱敏）",
    response_model=FoundPersons,
    response_model_exclude_unset=True,
)
def find_persons(
    actor: Reader,
    db: Db,
    id_type: Annotated[str, Query(min_length=1, max_length=2, pattern=NO_CONTROL, description="证件类型")],
    id_number: Annotated[str, Query(min_length=1, max_length=32, pattern=NO_CONTROL, description="证件号码")],
) -> dict[str, Any]:
    if id_type not in codes.get("id_type"):
        raise Invalid([FieldError("/query/id_type", "id_type.unknown", f"证件类型“{id_type}”不在代码表中")])
    try:
        ssnumber.rule(id_type).document_key(id_number)
    except IdNumberError as err:
        raise Invalid([FieldError("/query/id_number", err.code, err.message)]) from err
    found = persons.find(db, id_type=id_type, document_number=id_number)
    items = [
        {"person_id": p.id, **persons.read(db, actor=actor, id_number=p.id, purpose="GET /persons")}
        for p in found
        if actor.may_see(area=p.area, person_id=p.id)
    ]
    return {"items": items}


@router.get(
    "/persons/{id_number}",
    summary="人员登记信息（按岗位脱敏）",
    response_model=Registration,
    response_model_exclude_unset=True,
)
def get_person(id_number: IdNumber, actor: Reader, db: Db) -> dict[str, Any]:
    key = _reach(db, actor, id_number)
    return persons.read(db, actor=actor, id_number=key, purpose="GET /persons/{id}")


@router.get("/persons/{id_number}/missing", summary="需采集、补正的信息（窗口弹出）", response_model=Missing)
def get_missing(id_number: IdNumber, actor: Reader, db: Db) -> dict[str, Any]:
    key = _reach(db, actor, id_number)
    return persons.missing(db, actor=actor, id_number=key)
