"""The registry's use of `forms`: code lists, division codes and the 登记表 validator.

`forms` owns the rules; this module only asks it. Where a part of `forms` is not importable (it is
optional for the comparison engine and the benchmark), the checks fall back to the format rules the
registry itself needs (digits, known statuses), never to a second copy of the code lists.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from canbao.errors import FieldError

from .common import is_division

# The 险种 and statuses the comparison rules name (rule set, registry/comparison.py) — also the
# fallback when `forms.codes` is not available.
RULE_SCHEMES = ("110", "120", "170", "210", "310", "390", "410", "510")
ENROLLMENT_STATUSES = ("0", "1", "2", "4")
PAYMENT_STATUSES = ("1", "2", "3")


@cache
def _codes_module() -> Any:
    try:
        from forms import codes
    except ImportError:  # pragma: no cover - forms is part of the product; guard for partial installs
        return None
    return codes


def code_values(key: str, fallback: tuple[str, ...] = ()) -> frozenset[str]:
    codes = _codes_module()
    if codes is not None:
        try:
            return codes.get(key).values()
        except Exception:  # the list is not shipped (yet)
            pass
    return frozenset(fallback)


def code_label(key: str, code: str | None) -> str:
    if code is None:
        return ""
    codes = _codes_module()
    if codes is not None:
        try:
            return codes.label(key, code) or code
        except Exception:
            return code
    return code


@cache
def _division_index() -> Any:
    try:
        from forms import divisions
    except ImportError:  # pragma: no cover
        return None
    try:
        return divisions.index()
    except Exception:
        return None


def division_problem(
    code: str, *, levels: tuple[str, ...] = ("village", "township", "county")
) -> tuple[str, str] | None:
    """(machine code, message) when `code` is not a division at one of `levels`; None when fine."""
    if not is_division(code):
        return "division.format", "区划代码应为2、4、6、9或12位数字"
    idx = _division_index()
    if idx is None or len(idx) == 0:
        return None
    level = {2: "province", 4: "city", 6: "county", 9: "township", 12: "village"}[len(code)]
    if level not in levels:
        return "division.level", f"区划代码“{code}”的级别不符合要求"
    problem = idx.check(code, level)
    return problem


def division_name(code: str | None) -> str:
    if not code:
        return ""
    idx = _division_index()
    if idx is None:
        return ""
    return idx.name(code) or ""


def division_path(code: str | None) -> str:
    if not code:
        return ""
    idx = _division_index()
    return idx.path(code) if idx is not None else ""


def validate_registration(reg: dict[str, Any]) -> list[FieldError]:
    """The 全民参保登记表 checks of `forms` (form key "registration") when available, else the minimum
    the registry cannot store without: a valid number, a name, a birth date."""
    try:
        import forms

        validate = getattr(forms, "validate", None)
    except ImportError:  # pragma: no cover
        validate = None
    if validate is not None:
        try:
            return list(validate("registration", reg))
        except Exception as exc:  # unknown form key while forms is being built
            if type(exc).__name__ not in ("NotFound", "KeyError"):
                raise
    from forms.idnumber import IdNumberError, normalize

    from .common import parse_date

    errors: list[FieldError] = []
    try:
        normalize(str(reg.get("id_number", "")))
    except IdNumberError as exc:
        errors.append(FieldError("/id_number", exc.code, exc.message))
    if not str(reg.get("name") or "").strip():
        errors.append(FieldError("/name", "name.required", "请填写姓名"))
    try:
        if parse_date(reg.get("birth_date")) is None:
            errors.append(FieldError("/birth_date", "birth_date.required", "请填写出生日期"))
    except ValueError:
        errors.append(FieldError("/birth_date", "birth_date.format", "出生日期格式应为YYYY-MM-DD"))
    return errors
