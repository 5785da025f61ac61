"""Shared helpers for the forms tests."""

from __future__ import annotations

import copy
from typing import Any

import forms
from canbao.errors import FieldError


def reg(**changes: Any) -> dict[str, Any]:
    """The registration example with top-level fields replaced (None removes a field)."""
    doc = forms.example("registration")
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def at(doc: dict[str, Any], pointer: str, value: Any) -> dict[str, Any]:
    """A copy of `doc` with the value at a JSON pointer replaced (or removed when value is REMOVE)."""
    doc = copy.deepcopy(doc)
    tokens = pointer[1:].split("/")
    target: Any = doc
    for token in tokens[:-1]:
        target = target[int(token)] if isinstance(target, list) else target[token]
    last = tokens[-1]
    if value is REMOVE:
        if isinstance(target, list):
            del target[int(last)]
        else:
            del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return doc


REMOVE = object()


def codes_of(errors: list[FieldError]) -> set[tuple[str, str]]:
    return {(e.pointer, e.code) for e in errors}


def errors(key: str, doc: Any) -> set[tuple[str, str]]:
    return codes_of(forms.validate(key, doc))
