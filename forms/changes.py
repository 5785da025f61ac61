"""What changed between two submissions of one form, field by field, as a reviewer reads it: each field by
its title path, each value also as text (a code by its name, a division by its path, yes/no)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import divisions
from .compiler import resolve


@dataclass(frozen=True)
class Change:
    pointer: str
    title: str
    old: Any
    new: Any
    old_text: str | None
    new_text: str | None


def between(form: Any, old: Any, new: Any) -> list[Change]:
    """Leaf fields whose value differs (arrays of objects compared item by item, in form order)."""
    out: list[Change] = []
    _walk(form, "", old, new, out)
    return out


def text(form: Any, pointer: str, value: Any) -> str | None:
    """A value of the field at `pointer` as a person reads it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    node = resolve(form.root, pointer)
    schema = node.schema if node is not None else {}
    for option in schema.get("oneOf") or ():
        if isinstance(option, dict) and option.get("const") == value and option.get("title"):
            return f"{option['title']}"
    if schema.get("x-division") and isinstance(value, str):
        path = divisions.index().path(value)
        return f"{path}（{value}）" if path else value
    if isinstance(value, dict | list):
        return None
    return str(value)


def _title(form: Any, pointer: str) -> str:
    """The title path of a field: 采集信息 / 调查员 2 / 调查证编号."""
    titles: list[str] = []
    path = ""
    for key in pointer.split("/")[1:]:
        path += f"/{key}"
        if key.isdigit() and titles:
            titles[-1] = f"{titles[-1]} {int(key) + 1}"
            continue
        node = resolve(form.root, path)
        titles.append((node.schema.get("title") if node is not None else None) or key)
    return " / ".join(titles)


def _walk(form: Any, pointer: str, old: Any, new: Any, out: list[Change]) -> None:
    if old == new:
        return
    if isinstance(old, dict | type(None)) and isinstance(new, dict | type(None)) and (old or new):
        for key in _keys(form, pointer, old or {}, new or {}):
            _walk(form, f"{pointer}/{key}", (old or {}).get(key), (new or {}).get(key), out)
        return
    if isinstance(old, list | type(None)) and isinstance(new, list | type(None)) and _of_objects(old, new):
        old, new = old or [], new or []
        for i in range(max(len(old), len(new))):
            _walk(form, f"{pointer}/{i}", _item(old, i), _item(new, i), out)
        return
    out.append(
        Change(pointer, _title(form, pointer), old, new, text(form, pointer, old), text(form, pointer, new))
    )


def _keys(form: Any, pointer: str, old: dict, new: dict) -> list[str]:
    """Keys in the order the form lists them, then any it does not know."""
    node = resolve(form.root, pointer) if pointer else form.root
    known = list(node.properties or {}) if node is not None else []
    present = set(old) | set(new)
    return [k for k in known if k in present] + sorted(present - set(known))


def _of_objects(old: list | None, new: list | None) -> bool:
    return any(isinstance(v, dict) for v in (old or []) + (new or []))


def _item(values: list, i: int) -> Any:
    return values[i] if i < len(values) else None
