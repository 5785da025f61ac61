"""Masking personal data for roles that do not need it in full (design §6)."""

from __future__ import annotations

from typing import Any

from canbao.actors import Actor
from forms import idnumber

from .policy import UNMASKED_ROLES


def sees_unmasked(actor: Actor) -> bool:
    return bool(UNMASKED_ROLES.intersection(actor.roles))


def phone(value: str) -> str:
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)


def id_number(value: str | None, actor: Actor) -> str | None:
    return value if value is None or sees_unmasked(actor) else idnumber.mask(value)


def document(value: Any, actor: Actor) -> Any:
    """A copy of a JSON document with every `id_number` and `phone` masked, unless the role needs them."""
    if sees_unmasked(actor):
        return value
    if isinstance(value, dict):
        return {
            k: idnumber.mask(v)
            if k == "id_number" and isinstance(v, str)
            else phone(v)
            if k == "phone" and isinstance(v, str)
            else document(v, actor)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [document(v, actor) for v in value]
    return value
