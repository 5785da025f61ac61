"""Text input at the edge. PostgreSQL refuses NUL in text and JSON, and no field here has a use for
control characters, so they are refused as bad input with the field named, before any query runs."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import StringConstraints

from canbao.errors import FieldError

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
NO_CONTROL = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
# Machine names: process keys, form keys, usernames.
NAME = r"^[A-Za-z0-9_.@-]+$"

Text = Annotated[str, StringConstraints(pattern=NO_CONTROL)]


def has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def control_errors(value: Any, pointer: str = "") -> list[FieldError]:
    """Every string (key or value) in a JSON document that holds a control character."""
    if isinstance(value, str):
        return (
            [FieldError(pointer, "text.control_character", "不能包含控制字符")] if has_control(value) else []
        )
    if isinstance(value, dict):
        errors = []
        for key, item in value.items():
            child = f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"
            errors += control_errors(key, child) + control_errors(item, child)
        return errors
    if isinstance(value, list):
        return [e for i, item in enumerate(value) for e in control_errors(item, f"{pointer}/{i}")]
    return []
