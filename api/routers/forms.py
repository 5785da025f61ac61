"""The forms: JSON Schemas the API validates with and the web renders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

import forms
from canbao.actors import Actor
from canbao.errors import NotFound

from ..bodies import Body
from ..deps import permit
from ..masking import MaskingRoute

router = APIRouter(tags=["forms 表单"], route_class=MaskingRoute)
Reader = Annotated[Actor, Depends(permit("forms.read"))]


class FormEntry(Body):
    key: str
    title: str


class FormSchema(Body):
    """A JSON Schema (draft 2020-12) with canbao's layout keywords."""


@router.get("/forms", summary="表单列表", response_model=list[FormEntry])
def list_forms(actor: Reader) -> list[dict]:
    return [{"key": key, "title": forms.get(key).get("title", key)} for key in forms.keys()]  # noqa: SIM118 (a module function, not a dict)


@router.get("/forms/{key}", summary="表单的 JSON Schema", response_model=FormSchema)
def get_form(key: str, actor: Reader) -> dict:
    if key not in forms.keys():  # noqa: SIM118
        raise NotFound(f"表单 {key} 不存在")
    return forms.get(key)
