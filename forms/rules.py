"""Cross-field rules that JSON Schema cannot say, one function per rule.

They run after the schema checks on the same document and must cope with anything: a rule acts only on
fields that are present, of the right type and not already reported, so one mistake gives one error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from canbao import clock
from canbao.errors import FieldError

from . import checks, ssnumber
from .compiler import Node, resolve, unescape
from .definitions import MAX_INSURANCE
from .idnumber import IdNumberError

Errors = list[FieldError]
Rule = Callable[[Any, Errors], None]

GUARDIAN_AGE = 16
RESIDENT_ID = "01"
CITIZEN_KINDS = ("resident_id", "citizen", "disability_card")
# Fields a change request may not touch: the person's key and the provenance of the registration.
PROTECTED = ("/id_type", "/id_number", "/survey")
OLD_VALUE_BUDGET = 2000  # JSON nodes + characters allowed in a change's `old` value
SEX_LABEL = {"1": "男", "2": "女"}


def _reported(errs: Errors, *pointers: str) -> bool:
    """Is any of `pointers` (or a field inside it) already reported?"""
    if not errs:
        return False
    return any(e.pointer == p or e.pointer.startswith(p + "/") for e in errs for p in pointers)


def _resident_id(number: Any, pointer: str, errs: Errors) -> ssnumber.Key | None:
    """The 公民身份号码 on a 居民身份证, or None after reporting why it is not one."""
    if type(number) is not str or _reported(errs, pointer):
        return None
    try:
        return ssnumber.resident_id(number)
    except IdNumberError as exc:
        errs.append(FieldError(pointer, exc.code, exc.message))
        return None


def _ss_number(number: Any, pointer: str, errs: Errors) -> ssnumber.Key | None:
    """A 社会保障号码 of any scheme, or None after reporting the rule it breaks."""
    if type(number) is not str or _reported(errs, pointer):
        return None
    try:
        return ssnumber.parse(number)
    except IdNumberError as exc:
        errs.append(FieldError(pointer, exc.code, exc.message))
        return None


def _iso(value: Any, pointer: str, errs: Errors) -> date | None:
    if type(value) is not str or _reported(errs, pointer):
        return None
    return checks.iso_date(value)


# -- registration -----------------------------------------------------------------------------------------


def _person_key(doc: dict[str, Any], errs: Errors) -> ssnumber.Key | None:
    """The 社会保障号码 of the 登记表's person by the rule of its 证件类型 (forms.ssnumber): the document
    number where it is one, else the `ss_number` the form carries. None after reporting why there is none."""
    id_type, number, given = doc.get("id_type"), doc.get("id_number"), doc.get("ss_number")
    if type(id_type) is not str or type(number) is not str or _reported(errs, "/id_type", "/id_number"):
        return None
    rule = ssnumber.rule(id_type)
    try:
        from_document = rule.document_key(number)
    except IdNumberError as exc:
        errs.append(FieldError("/id_number", exc.code, exc.message))
        return None
    if given is None:
        if from_document is None:
            errs.append(
                FieldError(
                    "/ss_number",
                    "ss_number.required",
                    f"社会保障号码：证件号码不是社会保障号码时必填，应为{rule.title}",
                )
            )
        return from_document
    key = _ss_number(given, "/ss_number", errs)
    if key is None:
        return None
    if from_document is not None:
        if key.number == from_document.number:
            return from_document
        errs.append(
            FieldError(
                "/ss_number",
                "ss_number.mismatch",
                f"社会保障号码与证件号码所载的不一致（应为{rule.title}），可以不填",
            )
        )
        return None
    refused = rule.refuses(key)
    if refused is not None:
        errs.append(FieldError("/ss_number", *refused))
        return None
    return key


def _agrees(doc: dict[str, Any], errs: Errors, key: ssnumber.Key | None) -> date | None:
    """Sex and birth date agree with a number that holds them; the birth date (the number's when it holds
    one, else the form's)."""
    born = _iso(doc.get("birth_date"), "/birth_date", errs)
    if key is None or key.born is None:
        return born
    if born is not None and born != key.born:
        errs.append(
            FieldError(
                "/birth_date",
                "birth_date.mismatch",
                f"出生日期与{key.label}不符（号码中为 {key.born:%Y-%m-%d}）",
            )
        )
    sex = doc.get("sex")
    if type(sex) is str and not _reported(errs, "/sex") and sex != key.sex:
        errs.append(
            FieldError(
                "/sex",
                "sex.mismatch",
                f"性别与{key.label}不符（号码第17位表示{SEX_LABEL.get(key.sex or '', '')}）",
            )
        )
    return key.born


def _identity(doc: dict[str, Any], errs: Errors) -> tuple[str | None, date | None]:
    """Whose 登记表 it is: the 社会保障号码 and the birth date (sex and birth date checked against it)."""
    key = _person_key(doc, errs)
    return (key.number if key else None), _agrees(doc, errs, key)


def _hukou(doc: dict[str, Any], errs: Errors) -> None:
    """Citizens have a 户口所在地; 港澳台居民 and foreigners have none to write."""
    id_type = doc.get("id_type")
    if type(id_type) is str and "hukou" not in doc and ssnumber.rule(id_type).kind in CITIZEN_KINDS:
        errs.append(
            FieldError("/hukou", "hukou.required", "户口所在地：持居民身份证等中国公民证件的登记人必填")
        )


def _reference_day(doc: dict[str, Any], errs: Errors) -> date:
    survey = doc.get("survey")
    if isinstance(survey, dict):
        day = _iso(survey.get("date"), "/survey/date", errs)
        if day is not None:
            return day
    return clock.today()


def _guardian(doc: dict[str, Any], errs: Errors, id18: str | None, born: date | None) -> None:
    """A person under 16 needs a guardian; a guardian's resident ID is checked and is not the person's."""
    guardian = doc.get("guardian")
    if (
        born is not None
        and "guardian" not in doc
        and checks.age_on(born, _reference_day(doc, errs)) < GUARDIAN_AGE
    ):
        errs.append(
            FieldError("/guardian", "guardian.required", "监护人：登记人未满16周岁，必须填写监护人信息")
        )
    if not isinstance(guardian, dict) or guardian.get("id_type", RESIDENT_ID) != RESIDENT_ID:
        return
    parsed = _resident_id(guardian.get("id_number"), "/guardian/id_number", errs)
    if parsed is not None and parsed.number == id18:
        errs.append(FieldError("/guardian/id_number", "guardian.self", "监护人不能是登记人本人"))


def _insurance_dates(doc: dict[str, Any], errs: Errors, born: date | None) -> None:
    items = doc.get("insurance")
    if born is None or not isinstance(items, list):
        return
    for i, item in enumerate(items):
        if isinstance(item, dict):
            ptr = f"/insurance/{i}/first_date"
            first = _iso(item.get("first_date"), ptr, errs)
            if first is not None and first < born:
                errs.append(
                    FieldError(ptr, "insurance.first_date_before_birth", "首次参保日期不能早于出生日期")
                )


def _insurance_relationships(doc: dict[str, Any], errs: Errors) -> None:
    """A 险种 at one 参保地 is one relationship in the registry: listed twice, the 登记表 would say two
    different things about it."""
    items = doc.get("insurance")
    if not isinstance(items, list) or len(items) > MAX_INSURANCE:  # the schema refuses a longer list
        return
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(items):
        key = (item.get("scheme"), item.get("place")) if isinstance(item, dict) else None
        if key is None or not all(type(part) is str for part in key):
            continue
        if key in seen:
            errs.append(
                FieldError(
                    f"/insurance/{i}/scheme", "insurance.duplicate", "同一险种在同一参保地只能填写一次"
                )
            )
        seen.add(key)


def _surveyors(doc: dict[str, Any], errs: Errors) -> None:
    survey = doc.get("survey")
    team = survey.get("surveyors") if isinstance(survey, dict) else None
    if not isinstance(team, list):
        return
    seen: set[str] = set()
    for j, person in enumerate(team):
        card = person.get("card_no") if isinstance(person, dict) else None
        if type(card) is str:
            if card in seen:
                errs.append(
                    FieldError(
                        f"/survey/surveyors/{j}/card_no",
                        "survey.surveyor_duplicate",
                        "调查证编号重复：同一调查员只能填写一次",
                    )
                )
            seen.add(card)


def registration(doc: Any, errs: Errors) -> None:
    if not isinstance(doc, dict):
        return
    id18, born = _identity(doc, errs)
    _hukou(doc, errs)
    _guardian(doc, errs, id18, born)
    _insurance_dates(doc, errs, born)
    _insurance_relationships(doc, errs)
    _surveyors(doc, errs)


# -- change request ---------------------------------------------------------------------------------------


def _json_budget(value: Any, budget: int, depth: int = 0) -> int:
    """What is left of `budget` after counting the nodes and characters of `value`; -1 when exceeded or
    when `value` is not JSON (sets, objects, NaN, non-string keys, nesting deeper than 10)."""
    budget -= 1
    if budget < 0 or depth > 10:
        return -1
    if value is None or type(value) in (bool, int):
        return budget
    if type(value) is float:
        return budget if value == value and value not in (float("inf"), float("-inf")) else -1
    if type(value) is str:
        return budget - len(value) if len(value) <= budget else -1
    if isinstance(value, list):
        for x in value:
            budget = _json_budget(x, budget, depth + 1)
            if budget < 0:
                return -1
        return budget
    if isinstance(value, dict):
        for k, x in value.items():
            if type(k) is not str:
                return -1
            budget = _json_budget(x, budget - len(k), depth + 1)
            if budget < 0:
                return -1
        return budget
    return -1


def change_request(registration_root: Node) -> Rule:
    def rule(doc: Any, errs: Errors) -> None:
        if not isinstance(doc, dict):
            return
        _ss_number(doc.get("id_number"), "/id_number", errs)
        changes = doc.get("changes")
        if not isinstance(changes, list) or any(e.pointer == "/changes" for e in errs):
            return  # not a list, or too long to walk
        fields: list[str] = []
        for i, change in enumerate(changes):
            if not isinstance(change, dict):
                continue
            here = f"/changes/{i}"
            if "old" in change and _json_budget(change["old"], OLD_VALUE_BUDGET) < 0:
                errs.append(FieldError(f"{here}/old", "change.old_too_large", "原值过大或不是合法的 JSON 值"))
            pointer = change.get("field")
            if type(pointer) is not str or _reported(errs, f"{here}/field"):
                continue
            node = resolve(registration_root, pointer)
            if node is None or node is registration_root:
                errs.append(
                    FieldError(
                        f"{here}/field", "change.field_unknown", f"全民参保登记表中没有字段“{pointer}”"
                    )
                )
                continue
            if any(pointer == p or pointer.startswith(p + "/") for p in PROTECTED):
                errs.append(
                    FieldError(
                        f"{here}/field",
                        "change.field_protected",
                        "证件类型、证件号码和采集信息不能通过变更申请修改",
                    )
                )
                continue
            if any(
                pointer == f or pointer.startswith(f + "/") or f.startswith(pointer + "/") for f in fields
            ):
                errs.append(
                    FieldError(
                        f"{here}/field", "change.field_duplicate", f"字段“{pointer}”在本申请中重复变更"
                    )
                )
                continue
            fields.append(pointer)
            if "new" not in change:
                continue
            new = change["new"]
            if new is None:
                parent_ptr, _, last = pointer.rpartition("/")
                parent = resolve(registration_root, parent_ptr)
                if parent is not None and unescape(last) in parent.required:
                    errs.append(
                        FieldError(f"{here}/new", "change.value_required", f"{node.title}是必填项，不能清除")
                    )
                continue
            node.check(new, f"{here}/new", errs)
            if "old" in change and change["old"] == new and type(change["old"]) is type(new):
                errs.append(FieldError(f"{here}/new", "change.unchanged", "新值与原值相同"))

    return rule


# -- review decision --------------------------------------------------------------------------------------


def id_correction(doc: Any, errs: Errors) -> None:
    """Both numbers are valid 公民身份号码, and the corrected one is another number."""
    if not isinstance(doc, dict):
        return
    current = _resident_id(doc.get("id_number"), "/id_number", errs)
    corrected = _resident_id(doc.get("new_id_number"), "/new_id_number", errs)
    if current and corrected and current.number == corrected.number:
        errs.append(FieldError("/new_id_number", "id_correction.same", "更正后的号码与现有号码相同"))


def review_decision(registration_root: Node) -> Rule:
    def rule(doc: Any, errs: Errors) -> None:
        items = doc.get("return_items") if isinstance(doc, dict) else None
        if not isinstance(items, list):
            return
        for i, pointer in enumerate(items):
            ptr = f"/return_items/{i}"
            if (
                type(pointer) is str
                and not _reported(errs, ptr)
                and resolve(registration_root, pointer) in (None, registration_root)
            ):
                errs.append(FieldError(ptr, "review.item_unknown", f"全民参保登记表中没有字段“{pointer}”"))

    return rule


# -- summary row ------------------------------------------------------------------------------------------


def summary_row(doc: Any, errs: Errors) -> None:
    if not isinstance(doc, dict):
        return
    _agrees(doc, errs, _ss_number(doc.get("id_number"), "/id_number", errs))
