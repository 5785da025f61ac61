"""The forms: JSON Schemas the API validates with and the web renders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

import forms
from canbao.actors import Actor
from canbao.errors import NotFound

from ..deps import permit
from ..masking import MaskingRoute

router = APIRouter(tags=["forms 表单"], route_class=MaskingRoute)
Reader = Annotated[Actor, Depends(permit("forms.read"))]


@router.get("/forms", summary="表单列表")
def list_forms(actor: Reader) -> list[dict]:
    return [{"key": key, "title": forms.get(key).get("title", key)} for key in forms.keys()]  # noqa: SIM118 (a module function, not a dict)


@router.get("/forms/{key}", summary="表单的 JSON Schema")
def get_form(key: str, actor: Reader) -> dict:
    if key not in forms.keys():  # noqa: SIM118
        raise NotFound(f"表单 {key} 不存在")
    return forms.get(key)
