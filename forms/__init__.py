"""Forms, code lists and validation for 全民参保登记.

    forms.keys()                     → ["change_request", "id_correction", "registration", "review_decision",
                                        "summary_row"]
    forms.get("registration")        → its JSON Schema (draft 2020-12), code lists expanded into
                                       `oneOf: [{"const": code, "title": 中文}]`, division fields marked
                                       `x-division: {"level": …}`
    forms.validate(key, data)        → [FieldError(pointer, code, message), …]; [] when valid. Collects every
                                       error, never raises on any input.
    forms.validate_or_raise(key, d)  → None, or Invalid naming every bad field
    forms.normalize(key, data)       → a copy with ID numbers in their 18-character form and name dots unified
    forms.field_schema(key, pointer) → the schema of one field (what a change request may set there)
    forms.identity(key, data)        → whose record a valid document is about (the schema's `x-identity`)
    forms.apply_changes(doc, changes), forms.summary_row_from(registration, seq=…)
    forms.codes, forms.divisions, forms.idnumber, forms.ssnumber

Validation is pure and needs no database: divisions are checked against an in-memory index of the
shipped NBS table (`forms.divisions.use(...)` installs one built from the database instead).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

from canbao.errors import FieldError, Invalid, NotFound

from . import changes as changes_
from . import codes, definitions, divisions, examples, idnumber, rules, ssnumber
from .checks import NAME_DOTS
from .compiler import Compiler, Node, resolve, unescape

__all__ = [
    "apply_changes",
    "changes",
    "codes",
    "divisions",
    "example",
    "field_schema",
    "get",
    "identity",
    "idnumber",
    "keys",
    "normalize",
    "ssnumber",
    "summary_row_from",
    "validate",
    "validate_or_raise",
]

log = logging.getLogger("canbao.forms")
MAX_ERRORS = 200  # a response names at most this many errors (then says there are more)
example = examples.example


@dataclass(frozen=True)
class Form:
    key: str
    schema: dict[str, Any]
    root: Node
    rules: tuple[rules.Rule, ...]


@cache
def _catalog() -> dict[str, Form]:
    compiler = Compiler()
    schemas = {key: build() for key, build in definitions.FORMS.items()}
    for key, schema in schemas.items():
        schema["examples"] = [examples.example(key)]
    roots = {key: compiler.compile(schema) for key, schema in schemas.items()}
    reg = roots["registration"]
    form_rules: dict[str, tuple[rules.Rule, ...]] = {
        "registration": (rules.registration,),
        "change_request": (rules.change_request(reg),),
        "id_correction": (rules.id_correction,),
        "review_decision": (rules.review_decision(reg),),
        "summary_row": (rules.summary_row,),
    }
    return {key: Form(key, schemas[key], roots[key], form_rules[key]) for key in schemas}


def _form(key: str) -> Form:
    try:
        return _catalog()[key]
    except (KeyError, TypeError):
        raise NotFound(f"表单 {key!r} 不存在") from None


def keys() -> list[str]:
    return sorted(_catalog())


def get(key: str) -> dict[str, Any]:
    """The JSON Schema of form `key` (a copy: change it freely)."""
    return copy.deepcopy(_form(key).schema)


def field_schema(key: str, pointer: str) -> dict[str, Any] | None:
    """The schema of the field a JSON pointer lands on (array indexes walk into items), or None."""
    node = resolve(_form(key).root, pointer)
    return copy.deepcopy(node.schema) if node is not None else None


def changes(key: str, old: Any, new: Any) -> list[changes_.Change]:
    """The fields of form `key` whose value differs between two submissions, titled, values named."""
    return changes_.between(_form(key), old, new)


def validate(key: str, data: Any) -> list[FieldError]:
    """Every error in `data` as a form `key` document; [] when it is valid. Never raises on data."""
    form = _form(key)
    errs: list[FieldError] = []
    try:
        form.root.check(data, "", errs)
        for rule in form.rules:
            rule(data, errs)
    except Exception:  # a bug here must not turn bad input into a 500: report it as a field error
        log.exception("form %s: validator failed", key)
        errs.append(FieldError("", "validation.internal", "校验时发生内部错误，请联系系统管理员"))
    if len(errs) > MAX_ERRORS:
        errs[MAX_ERRORS:] = [
            FieldError("", "validation.too_many_errors", f"错误过多，仅列出前{MAX_ERRORS}处")
        ]
    return errs


def validate_or_raise(key: str, data: Any) -> None:
    errs = validate(key, data)
    if errs:
        raise Invalid(errs)


@dataclass(frozen=True)
class Identity:
    """The person a document is about: their 社会保障号码 (the registry's key), and what else names them."""

    id_number: str
    id_type: str | None = None
    name: str | None = None


def identity(key: str, data: Any) -> Identity | None:
    """Whose record a document of form `key` that passed `validate` is about, read at the pointers its
    schema declares in `x-identity`: the 社会保障号码 its 证件类型 yields (`forms.ssnumber`), or the number
    itself where the form names no 证件类型. None for a form that names no person (a review decision)."""
    pointers = _form(key).schema.get("x-identity")
    if not pointers or not isinstance(data, dict):
        return None
    found = {part: _at(data, pointer) for part, pointer in pointers.items()}
    number, id_type = found["id_number"], found.get("id_type")
    if "id_type" in pointers:
        person = ssnumber.key_of(id_type, number, found.get("ss_number"))
    else:
        person = _key(number) if isinstance(number, str) and ssnumber.is_valid(number) else None
    if person is None:
        return None
    return Identity(person, id_type, found.get("name"))


def _at(data: dict[str, Any], pointer: str) -> Any:
    node: Any = data
    for token in pointer.strip("/").split("/"):
        if not isinstance(node, dict):
            return None
        node = node.get(unescape(token))
    return node


# -- normalisation ----------------------------------------------------------------------------------------

_DOTS = str.maketrans(dict.fromkeys(NAME_DOTS[1:], NAME_DOTS[0]))


def _id(value: Any) -> Any:
    try:
        return idnumber.normalize(value) if isinstance(value, str) else value
    except idnumber.IdNumberError:
        return value


def _name(value: Any) -> Any:
    return value.translate(_DOTS) if isinstance(value, str) else value


def _normalize_registration(doc: dict[str, Any]) -> None:
    id_type = doc.get("id_type")
    if isinstance(doc.get("id_number"), str) and isinstance(id_type, str):
        doc["id_number"] = ssnumber.document(id_type, doc["id_number"])
    if isinstance(doc.get("ss_number"), str):
        doc["ss_number"] = _key(doc["ss_number"])
    if "name" in doc:
        doc["name"] = _name(doc["name"])
    guardian = doc.get("guardian")
    if isinstance(guardian, dict):
        if guardian.get("id_type", rules.RESIDENT_ID) == rules.RESIDENT_ID and "id_number" in guardian:
            guardian["id_number"] = _id(guardian["id_number"])
        if "name" in guardian:
            guardian["name"] = _name(guardian["name"])


def _key(value: Any) -> Any:
    try:
        return ssnumber.normalize(value) if isinstance(value, str) else value
    except idnumber.IdNumberError:
        return value


def normalize(key: str, data: Any) -> Any:
    """A copy of `data` in canonical form: resident ID numbers as 18 characters (full-width digits, a
    lower-case x and 15-digit numbers converted, spaces stripped), other document numbers and 社会保障号码
    in capitals and ASCII, and the look-alikes of the name dot replaced by “·”. Values that cannot be
    normalised are left for `validate` to report."""
    _form(key)
    if not isinstance(data, dict):
        return data
    doc = copy.deepcopy(data)
    if key == "registration":
        _normalize_registration(doc)
    elif key == "id_correction":
        for name in ("id_number", "new_id_number"):
            if name in doc:
                doc[name] = _id(doc[name])
    elif key in ("change_request", "summary_row"):
        if "id_number" in doc:
            doc["id_number"] = _key(doc["id_number"])
        if key == "summary_row" and "name" in doc:
            doc["name"] = _name(doc["name"])
        for change in doc.get("changes", ()) if isinstance(doc.get("changes"), list) else ():
            if isinstance(change, dict) and isinstance(change.get("field"), str):
                last = change["field"].rsplit("/", 1)[-1]
                if last == "id_number":
                    change["new"] = _id(change.get("new"))
                elif last == "name":
                    change["new"] = _name(change.get("new"))
    return doc


# -- applying a change request ----------------------------------------------------------------------------


def apply_changes(document: dict[str, Any], changes: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of a registration with the changes of a (validated) change request applied: `new` set at
    `field`, or the field removed when `new` is null; "-" appends to a list. Validate the result as a
    registration to check the cross-field rules against the whole record."""
    doc = copy.deepcopy(document)
    for change in changes:
        tokens = [unescape(t) for t in change["field"][1:].split("/")]
        target: Any = doc
        for token in tokens[:-1]:
            target = target[int(token)] if isinstance(target, list) else target.setdefault(token, {})
        last, new = tokens[-1], copy.deepcopy(change.get("new"))
        if isinstance(target, list):
            if last == "-":
                target.append(new)
            elif new is None:
                del target[int(last)]
            else:
                target[int(last)] = new
        elif new is None:
            target.pop(last, None)
        else:
            target[last] = new
    return doc


# -- 个人信息汇总表 ---------------------------------------------------------------------------------------


def _surveyor(surveyor: dict[str, Any]) -> str:
    """李四（DC0001）: the name and the 全民参保登记调查证 number (第十八条)."""
    name, card = surveyor.get("name") or "", surveyor.get("card_no")
    return f"{name}（{card}）" if card else name


def summary_row_from(registration: dict[str, Any], *, seq: int, remarks: str | None = None) -> dict[str, Any]:
    """The 个人信息汇总表 row of a (valid) registration."""
    hukou = registration.get("hukou") or {}
    residence = registration.get("residence") or {}
    employment = registration.get("employment") or {}
    reason = registration.get("uninsured_reason") or {}
    survey = registration.get("survey") or {}
    columns = set(_form("summary_row").schema["properties"])
    row: dict[str, Any] = {
        "seq": seq,
        "name": registration.get("name"),
        "id_number": registration.get("ss_number") or registration.get("id_number"),
        "sex": registration.get("sex"),
        "birth_date": registration.get("birth_date"),
        "ethnicity": registration.get("ethnicity"),
        "hukou_division": hukou.get("division"),
        "hukou_address": hukou.get("address"),
        "hukou_nature": hukou.get("nature"),
        "residence_division": residence.get("division"),
        "residence_address": residence.get("address"),
        "phone": registration.get("phone"),
        "employment_status": employment.get("status"),
        "employer": employment.get("employer"),
        "insured_elsewhere": registration.get("insured_elsewhere"),
        "uninsured_reason": reason.get("code"),
        "uninsured_reason_text": reason.get("text"),
        "survey_date": survey.get("date"),
        "survey_team": survey.get("team"),
        "surveyors": "、".join(_surveyor(s) for s in survey.get("surveyors", ()) if isinstance(s, dict))
        or None,
        "remarks": remarks,
    }
    # One status per 险种; an active enrollment wins over an ended one in another place.
    active = set(codes.get("enrollment_status").extra.get("active", ()))
    for item in registration.get("insurance", ()):
        column = f"status_{item.get('scheme')}"
        if column in columns and (row.get(column) is None or item.get("status") in active):
            row[column] = item.get("status")
    return {k: v for k, v in row.items() if v is not None}
