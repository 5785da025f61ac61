"""What personal data looks like, and its masked form for roles that do not need it in full (design §6).

Masking follows what a value is, not the name of the key it happens to sit under:

- a field a form declares personal (`x-personal: id_number | phone` in its schema), wherever that form's
  documents travel (case data, task forms, audit payloads), whatever the value looks like;
- a change of such a field — the `{"field": pointer, "old": …, "new": …}` shape of change requests, the
  registry's field history and the audit events that record them;
- a person's key, the 社会保障号码, under the name every body gives it (`person_id`);
- and any text holding a valid 公民身份号码 (check digit right; a 港澳台居民居住证 or 2023 外国人永久居留
  身份证 number is built the same way), a 社会保障号码 in the form a 经办机构 assigns (forms.ssnumber), or
  a mobile number, under any key or in free text (an operation's result, a message, a CSV cell).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from . import definitions
from .idnumber import CHECK_CHARS, WEIGHTS

# 18 characters (6-digit area, a birth date in 1800–2099, sequence, check character) or the 15-digit
# legacy form, standing alone: not inside a longer run of letters and digits (a hash, a card number).
_DAY = r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
_ID = re.compile(
    rf"(?<![0-9A-Za-z])[1-9][0-9]{{5}}(?:(?:18|19|20)[0-9]{{2}}{_DAY}[0-9]{{3}}[0-9Xx]|[0-9]{{2}}{_DAY}[0-9]{{3}})"
    r"(?![0-9A-Za-z])"
)
_MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9][0-9]{9}(?![0-9A-Za-z])")
# 18 capitals and digits with a letter among the first 17 and a digit somewhere, standing alone.
_ASSIGNED = re.compile(
    r"(?<![0-9A-Za-z])(?=[0-9A-Z]{0,16}[A-Z])(?=[A-Z]{0,17}[0-9])[0-9A-Z]{18}(?![0-9A-Za-z])"
)
# Keys under which a body names a person by their 社会保障号码.
KEYED = {"person_id": "id_number"}


def mask_id(value: str) -> str:
    """370102********123X: the first six and last four characters shown."""
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


def mask_phone(value: str) -> str:
    """138****0000; a fixed line keeps its area code and last four digits."""
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)


MASKS = {"id_number": mask_id, "phone": mask_phone}


def _is_id(text: str) -> bool:
    if len(text) == 15:
        return text.isdigit()
    if len(text) != 18:
        return False
    body = text[:17].encode()
    return CHECK_CHARS[sum(w * (b - 48) for w, b in zip(WEIGHTS, body, strict=True)) % 11] == text[17].upper()


def mask_text(text: str) -> str:
    """Text with every valid 公民身份号码, assigned 社会保障号码 and mobile number in it masked."""
    text = _ID.sub(lambda m: mask_id(m.group()) if _is_id(m.group()) else m.group(), text)
    text = _ASSIGNED.sub(lambda m: mask_id(m.group()), text)
    return _MOBILE.sub(lambda m: mask_phone(m.group()), text)


@cache
def declared() -> tuple[dict[str, str], dict[str, str]]:
    """From every form's schema: {property name: kind} of the fields declared personal, and
    {JSON pointer: kind} of the same fields within their forms (what a field change names)."""
    keys: dict[str, str] = {}
    pointers: dict[str, str] = {}

    def walk(node: Any, pointer: str) -> None:
        if not isinstance(node, dict):
            return
        for name, child in (node.get("properties") or {}).items():
            kind = child.get("x-personal") if isinstance(child, dict) else None
            if kind:
                keys[name] = kind
                pointers[f"{pointer}/{name}"] = kind
            walk(child, f"{pointer}/{name}")
        walk(node.get("items"), pointer)

    for build in definitions.FORMS.values():
        walk(build(), "")
    return keys, pointers


def mask(value: Any) -> Any:
    """A copy of a JSON value with every personal datum masked (see the module's docstring)."""
    keys, pointers = declared()
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, list):
        return [mask(v) for v in value]
    if not isinstance(value, dict):
        return value
    changed_kind = pointers.get(value["field"]) if isinstance(value.get("field"), str) else None
    shown = {}
    for key, item in value.items():
        kind = keys.get(key) or KEYED.get(key) or (changed_kind if key in ("old", "new") else None)
        shown[key] = MASKS[kind](item) if kind and isinstance(item, str) else mask(item)
    return shown
