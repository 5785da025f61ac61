"""Compiles a form's JSON Schema into a fast validator that collects every error.

The schema is the single source of truth: `forms.get` hands it to the web and the API, and this module
turns the same dict into nested closures, once per process. A general JSON Schema validator walks the
schema for every document; here every keyword is resolved at compile time, so a valid registration
form costs a few dozen dict look-ups and regex matches.

Only the keywords below are understood. Any other keyword is a compile-time error, so the schema cannot
say something this validator silently ignores; `tests/forms` also check that the reference
implementation (`jsonschema`) accepts every document this validator accepts.

Standard: type, properties, required, additionalProperties (false only), items, minItems, maxItems,
uniqueItems, contains, minLength, maxLength, pattern, format (date), const, enum, oneOf (of consts:
code lists), minimum, maximum, allOf, if/then/else, not.
canbao: x-check (a function in checks.CHECKS), x-division (level, accept), x-not-future, x-multiline,
x-codes / x-messages (override the machine code / message of a keyword's error at this node).
Annotations that change nothing: title, description, examples, default, $schema, $id, $comment, x-code,
x-columns, x-unverified, x-version, readOnly, x-identity (whose record the form is about), x-personal
(the field holds personal data of a kind: `id_number` or `phone`; masked for roles that do not need it).

Every string must carry maxLength and every array maxItems: nothing unbounded gets through.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from canbao.errors import FieldError

from . import checks, divisions

Errors = list[FieldError]
Check = Callable[[Any, str, Errors], None]

ANNOTATIONS = {
    "title",
    "description",
    "examples",
    "default",
    "$schema",
    "$id",
    "$comment",
    "x-code",
    "x-columns",
    "x-identity",
    "x-personal",
    "x-unverified",
    "x-version",
    "readOnly",
}
KEYWORDS = ANNOTATIONS | {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contains",
    "minLength",
    "maxLength",
    "pattern",
    "format",
    "const",
    "enum",
    "oneOf",
    "minimum",
    "maximum",
    "allOf",
    "if",
    "then",
    "else",
    "not",
    "x-check",
    "x-division",
    "x-not-future",
    "x-multiline",
    "x-codes",
    "x-messages",
}
TYPE_NAMES = {
    "string": "文本",
    "integer": "整数",
    "number": "数字",
    "boolean": "是/否（true/false）",
    "object": "对象（键值）",
    "array": "列表",
    "null": "空值",
}
MISSING = object()


class SchemaError(Exception):
    """The schema uses something the compiler does not understand (a bug in a form definition)."""


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _is_type(name: str) -> Callable[[Any], bool]:
    if name == "string":
        return lambda v: type(v) is str
    if name == "boolean":
        return lambda v: type(v) is bool
    if name == "object":
        return lambda v: isinstance(v, dict)
    if name == "array":
        return lambda v: isinstance(v, list)
    if name == "null":
        return lambda v: v is None
    if name == "integer":
        return lambda v: (type(v) is int) or (type(v) is float and v.is_integer())
    if name == "number":
        return lambda v: type(v) in (int, float)
    raise SchemaError(f"unknown type {name!r}")


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 and true differ, 1 and 1.0 do not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@dataclass
class Node:
    """A compiled schema node: its validator plus what `resolve` needs to walk into it."""

    schema: dict[str, Any]
    check: Check
    properties: dict[str, Node] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    items: Node | None = None
    # An inline Python test on `x` (`{0}`, `{1}`… name the functions and sets in `fast_values`) that is
    # true only for values this node accepts; the generated object code skips the call for them.
    fast: str | None = None
    fast_values: tuple[Any, ...] = ()

    @property
    def title(self) -> str:
        return str(self.schema.get("title", ""))


class Compiler:
    def __init__(self) -> None:
        self._regex: dict[str, re.Pattern[str]] = {}

    # -- error helpers --------------------------------------------------------------------------------

    @staticmethod
    def _error_factory(schema: dict[str, Any], title: str) -> Callable[[str, str, str], tuple[str, str]]:
        codes = schema.get("x-codes", {})
        messages = schema.get("x-messages", {})
        prefix = f"{title}：" if title else ""

        def make(keyword: str, code: str, message: str) -> tuple[str, str]:
            return codes.get(keyword, code), messages.get(keyword, prefix + message)

        return make

    # -- entry ----------------------------------------------------------------------------------------

    def compile(self, schema: Any, *, titles: dict[str, str] | None = None) -> Node:
        if not isinstance(schema, dict):
            raise SchemaError(f"schema must be an object, got {schema!r}")
        unknown = set(schema) - KEYWORDS
        if unknown:
            raise SchemaError(f"unsupported keywords {sorted(unknown)} in {schema.get('title', schema)!r}")
        kind = schema.get("type")
        if kind == "string":
            return self._string(schema)
        if kind == "object":
            return self._object(schema)
        if kind == "array":
            return self._array(schema)
        if kind in ("boolean", "integer", "number", "null"):
            return self._scalar(schema, kind)
        if kind is None:
            return self._untyped(schema, titles or {})
        raise SchemaError(f"unsupported type {kind!r}")

    # -- strings --------------------------------------------------------------------------------------

    def _string(self, schema: dict[str, Any]) -> Node:
        title = str(schema.get("title", ""))
        err = self._error_factory(schema, title)
        max_len = schema.get("maxLength")
        if not isinstance(max_len, int):
            raise SchemaError(f"string {title!r} has no maxLength")
        min_len = int(schema.get("minLength", 0))
        control: re.Pattern[str] | None = (
            checks.CONTROL_MULTILINE if schema.get("x-multiline") else checks.CONTROL
        )
        if schema.get("format") == "date" or "x-division" in schema:
            # Digits and dashes only, enforced by the date format or the division pattern checked below.
            if "x-division" in schema and not re.fullmatch(r"\^\[0-9\]\{\d+\}\$", schema.get("pattern", "")):
                raise SchemaError(f"division field {schema.get('title')!r} needs a ^[0-9]{{n}}$ pattern")
            control = None
        x_check = checks.CHECKS[schema["x-check"]] if "x-check" in schema else None
        pattern = re.compile(schema["pattern"]) if "pattern" in schema else None
        allowed, code_title = self._choices(schema)
        if allowed is not None and any(
            type(a) is not str or not min_len <= len(a) <= max_len or control.search(a) for a in allowed
        ):
            raise SchemaError(f"string {title!r}: a choice is not a clean string within its length bounds")
        if allowed is not None and (
            "x-check" in schema or "pattern" in schema or "format" in schema or "x-division" in schema
        ):
            raise SchemaError(f"string {title!r}: choices cannot be combined with other value checks")
        is_date = schema.get("format") == "date"
        if "format" in schema and not is_date:
            raise SchemaError(f"unsupported format {schema['format']!r}")
        not_future = bool(schema.get("x-not-future"))
        div = schema.get("x-division")
        div_level, div_accept = (div["level"], tuple(div.get("accept", ()))) if div else ("", ())
        e_type = err("type", "field.type", "应为文本")
        e_long = err("maxLength", "field.too_long", f"长度不能超过{max_len}个字符")
        e_short = (
            err("minLength", "field.empty", "不能为空")
            if min_len == 1
            else err("minLength", "field.too_short", f"长度至少{min_len}个字符")
        )
        e_control = err("x-control", "field.control_chars", "含有控制字符或不可见字符")
        e_pattern = err("pattern", "field.pattern", "格式不正确")
        e_date = err("format", "date.format", "应为 YYYY-MM-DD 格式的有效日期")
        e_future = err("x-not-future", "date.future", "不能晚于今天")
        const = schema.get("const", MISSING)
        e_const = err("const", "field.not_allowed", f"只能为“{const}”")

        def check(v: Any, ptr: str, errs: Errors) -> None:
            if type(v) is not str:
                errs.append(FieldError(ptr, *e_type))
                return
            if allowed is not None and v in allowed:
                return  # a code of the list: checked at compile time to be clean and within bounds
            n = len(v)
            if n > max_len:
                errs.append(FieldError(ptr, *e_long))
                return
            if n < min_len:
                errs.append(FieldError(ptr, *e_short))
                return
            if control is not None and control.search(v):
                errs.append(FieldError(ptr, *e_control))
                return
            if const is not MISSING and v != const:
                errs.append(FieldError(ptr, *e_const))
                return
            if allowed is not None and v not in allowed:
                errs.append(
                    FieldError(ptr, *err("oneOf", "code.unknown", f"代码“{v}”不在{code_title}代码表中"))
                )
                return
            if x_check is not None:
                problem = x_check(v)
                if problem is not None:
                    errs.append(FieldError(ptr, *err("x-check", *problem)))
                    return
            if pattern is not None and pattern.search(v) is None:
                errs.append(FieldError(ptr, *e_pattern))
                return
            if is_date:
                if checks.iso_date(v) is None:
                    errs.append(FieldError(ptr, *e_date))
                    return
                if not_future and v > checks.today_iso():
                    errs.append(FieldError(ptr, *e_future))
                    return
            if div_level:
                problem = _division_index().check(v, div_level, div_accept)
                if problem is not None:
                    errs.append(FieldError(ptr, *err("x-division", *problem)))

        if const is not MISSING:
            return Node(schema, check)
        if allowed is not None:
            return Node(schema, check, fast="type(x) is str and x in {0}", fast_values=(allowed,))
        # The same tests as `check`, as one expression that is true only for a value it would accept.
        parts, consts = ["type(x) is str", f"{min_len} <= len(x) <= {max_len}"], []
        for test, fn in (
            ("{%d}(x) is None", control.search if control is not None else None),
            ("{%d}(x) is None", x_check),
            ("{%d}(x) is not None", pattern.search if pattern is not None else None),
            ("{%d}(x) is not None", checks.iso_date if is_date else None),
            ("x <= {%d}()", checks.today_iso if is_date and not_future else None),
            (
                "{%d}(x) is None",
                (lambda x: _division_index().check(x, div_level, div_accept)) if div_level else None,
            ),
        ):
            if fn is not None:
                parts.append(test % len(consts))
                consts.append(fn)
        return Node(schema, check, fast=" and ".join(parts), fast_values=tuple(consts))

    def _choices(self, schema: dict[str, Any]) -> tuple[frozenset[Any] | None, str]:
        """`enum`, or `oneOf` made only of `{"const": …}` choices (how code lists are written)."""
        if "enum" in schema:
            return frozenset(schema["enum"]), str(schema.get("title", ""))
        if "oneOf" in schema:
            options = schema["oneOf"]
            if not all(
                isinstance(o, dict) and "const" in o and set(o) <= {"const", "title", "description"}
                for o in options
            ):
                raise SchemaError("oneOf is only supported as a list of {const, title} choices")
            return frozenset(o["const"] for o in options), str(schema.get("x-code", {}).get("title", ""))
        return None, ""

    # -- objects --------------------------------------------------------------------------------------

    def _object(self, schema: dict[str, Any]) -> Node:
        """An object check generated as straight-line Python: one block per property, with an inline
        test that accepts the common valid value (a code of the list, a boolean) without a call."""
        title = str(schema.get("title", ""))
        err = self._error_factory(schema, title)
        if schema.get("additionalProperties") is not False:
            raise SchemaError(f"object {title!r} must set additionalProperties: false")
        props = {k: self.compile(s) for k, s in schema.get("properties", {}).items()}
        required = frozenset(schema.get("required", ()))
        if not required <= set(props):
            raise SchemaError(f"object {title!r} requires undeclared {sorted(required - set(props))}")
        titles = {k: n.title for k, n in props.items()}
        ns: dict[str, Any] = {
            "MISSING": MISSING,
            "FieldError": FieldError,
            "escape": escape,
            "KNOWN": frozenset(props),
            "EXTRA": tuple(self._conditionals(schema, titles)),
            "E_TYPE": err("type", "field.type", "应为对象"),
            "REQUIRED": schema.get("x-codes", {}).get("required", "field.required"),
            "unknown": _unknown_field,
        }
        lines = [
            "def check(v, ptr, errs):",
            "    if not isinstance(v, dict):",
            "        errs.append(FieldError(ptr, *E_TYPE))",
            "        return",
            "    get = v.get",
        ]
        for i, (key, node) in enumerate(props.items()):
            ns[f"K{i}"], ns[f"P{i}"], ns[f"S{i}"] = key, "/" + escape(key), node.check
            ns[f"M{i}"] = f"{titles[key] or key}：必填"
            lines += [f"    x = get(K{i}, MISSING)", "    if x is MISSING:"]
            lines.append(
                f"        errs.append(FieldError(ptr + P{i}, REQUIRED, M{i}))"
                if key in required
                else "        pass"
            )
            if node.fast is not None:
                names = [f"A{i}_{j}" for j in range(len(node.fast_values))]
                ns.update(zip(names, node.fast_values, strict=True))
                lines.append(f"    elif not ({node.fast.format(*names)}):")
            else:
                lines.append("    else:")
            lines.append(f"        S{i}(x, ptr + P{i}, errs)")
        lines += [
            "    if not KNOWN.issuperset(v):",
            "        unknown(v, KNOWN, ptr, errs)",
            "    for c in EXTRA:",
            "        c(v, ptr, errs)",
        ]
        exec(
            compile("\n".join(lines), f"<form object {title}>", "exec"), ns
        )  # the source names constants only: no schema text in it
        return Node(schema, ns["check"], properties=props, required=required)

    # -- arrays ---------------------------------------------------------------------------------------

    def _array(self, schema: dict[str, Any]) -> Node:
        title = str(schema.get("title", ""))
        err = self._error_factory(schema, title)
        max_items = schema.get("maxItems")
        if not isinstance(max_items, int):
            raise SchemaError(f"array {title!r} has no maxItems")
        if "items" not in schema:
            raise SchemaError(f"array {title!r} has no items")
        items = self.compile(schema["items"])
        item_check = items.check
        min_items = int(schema.get("minItems", 0))
        unique = bool(schema.get("uniqueItems"))
        extra = self._conditionals(schema, {})
        e_type = err("type", "field.type", "应为列表")
        e_many = err("maxItems", "field.too_many", f"最多{max_items}项")
        e_few = err("minItems", "field.too_few", f"至少{min_items}项")
        e_dup = err("uniqueItems", "field.duplicate", "有重复项")

        def check(v: Any, ptr: str, errs: Errors) -> None:
            if not isinstance(v, list):
                errs.append(FieldError(ptr, *e_type))
                return
            n = len(v)
            if n > max_items:
                errs.append(FieldError(ptr, *e_many))
                return
            if n < min_items:
                errs.append(FieldError(ptr, *e_few))
            for i, x in enumerate(v):
                item_check(x, f"{ptr}/{i}", errs)
            if unique and n > 1 and len({json.dumps(x, sort_keys=True, default=str) for x in v}) != n:
                errs.append(FieldError(ptr, *e_dup))
            for c in extra:
                c(v, ptr, errs)

        return Node(schema, check, items=items)

    # -- scalars --------------------------------------------------------------------------------------

    def _scalar(self, schema: dict[str, Any], kind: str) -> Node:
        title = str(schema.get("title", ""))
        err = self._error_factory(schema, title)
        is_type = _is_type(kind)
        e_type = err("type", "field.type", f"应为{TYPE_NAMES[kind]}")
        rest = self._generic(schema, {})

        def check(v: Any, ptr: str, errs: Errors) -> None:
            if not is_type(v):
                errs.append(FieldError(ptr, *e_type))
                return
            for c in rest:
                c(v, ptr, errs)

        if kind == "boolean" and not rest:
            return Node(schema, check, fast="x is True or x is False", fast_values=())
        return Node(schema, check)

    # -- keyword checks shared by untyped (conditional) schemas ---------------------------------------

    def _untyped(self, schema: dict[str, Any], titles: dict[str, str]) -> Node:
        rest = self._generic(schema, titles)

        def check(v: Any, ptr: str, errs: Errors) -> None:
            for c in rest:
                c(v, ptr, errs)

        return Node(schema, check)

    def _generic(self, schema: dict[str, Any], titles: dict[str, str]) -> list[Check]:
        """Checks for keywords outside a typed node, each applying only to values of its own type, as
        JSON Schema has it: used in if/then/else branches and for scalars."""
        title = str(schema.get("title", ""))
        err = self._error_factory(schema, title)
        out: list[Check] = []
        if "const" in schema:
            const = schema["const"]
            e_const = err("const", "field.not_allowed", f"只能为 {json.dumps(const, ensure_ascii=False)}")
            out.append(lambda v, p, e: None if _json_equal(v, const) else e.append(FieldError(p, *e_const)))
        if "enum" in schema or "oneOf" in schema:
            allowed, code_title = self._choices(schema)
            assert allowed is not None

            e_list = err("oneOf", "code.unknown", f"值不在{code_title}允许范围内")
            if all(type(a) is str for a in allowed):

                def in_list(v: Any, p: str, e: Errors) -> None:
                    if type(v) is not str or v not in allowed:
                        e.append(FieldError(p, *e_list))

            else:

                def in_list(v: Any, p: str, e: Errors) -> None:
                    if not any(_json_equal(v, a) for a in allowed):
                        e.append(FieldError(p, *e_list))

            out.append(in_list)
        for kw, op, code, word in (
            ("minimum", "lt", "field.range", "不能小于"),
            ("maximum", "gt", "field.range", "不能大于"),
        ):
            if kw in schema:
                bound = schema[kw]
                e_bound = err(kw, code, f"{word}{bound}")

                def bounded(
                    v: Any, p: str, e: Errors, bound: Any = bound, op: str = op, eb: Any = e_bound
                ) -> None:
                    if type(v) in (int, float) and (v < bound if op == "lt" else v > bound):
                        e.append(FieldError(p, *eb))

                out.append(bounded)
        if "properties" in schema or "required" in schema:
            props = tuple(
                (k, "/" + escape(k), self.compile(s).check) for k, s in schema.get("properties", {}).items()
            )
            req_code = schema.get("x-codes", {}).get("required", "field.required")
            req_msgs = schema.get("x-messages", {})
            required = tuple(
                (k, "/" + escape(k), req_msgs.get("required", f"{titles.get(k) or k}：必填"))
                for k in schema.get("required", ())
            )

            def props_check(v: Any, p: str, e: Errors) -> None:
                if not isinstance(v, dict):
                    return
                for k, suffix, message in required:
                    if k not in v:
                        e.append(FieldError(p + suffix, req_code, message))
                for k, suffix, sub in props:
                    x = v.get(k, MISSING)
                    if x is not MISSING:
                        sub(x, p + suffix, e)

            out.append(props_check)
        for kw, code, word in (("minItems", "field.too_few", "至少"), ("maxItems", "field.too_many", "最多")):
            if kw in schema:
                bound = schema[kw]
                e_items = err(kw, code, f"{word}{bound}项")
                low = kw == "minItems"

                def items_bound(
                    v: Any, p: str, e: Errors, bound: int = bound, low: bool = low, ei: Any = e_items
                ) -> None:
                    if isinstance(v, list) and (len(v) < bound if low else len(v) > bound):
                        e.append(FieldError(p, *ei))

                out.append(items_bound)
        if "contains" in schema:
            matches = self.predicate(schema["contains"])
            e_contains = err("contains", "field.contains", "缺少符合要求的项")

            def contains(v: Any, p: str, e: Errors) -> None:
                if isinstance(v, list) and not any(matches(x) for x in v):
                    e.append(FieldError(p, *e_contains))

            out.append(contains)
        for kw in (
            "type",
            "items",
            "minLength",
            "maxLength",
            "pattern",
            "format",
            "uniqueItems",
            "additionalProperties",
        ):
            if kw in schema and schema.get("type") is None:
                raise SchemaError(f"keyword {kw!r} needs a typed node")
        out.extend(self._conditionals(schema, titles))
        return out

    def predicate(self, schema: dict[str, Any]) -> Callable[[Any], bool]:
        """Is a value valid against `schema`? The shapes conditions are written in (`properties` with an
        `enum` or `const`, `required`, `contains`) become plain boolean functions; anything else runs
        the full check into a scratch list."""
        simple = {"properties", "required", "contains", "enum", "const"}
        if not isinstance(schema, dict) or not set(schema) - ANNOTATIONS <= simple or "type" in schema:
            check = self.compile(schema).check
            return lambda v: _valid(check, v)
        tests: list[Callable[[Any], bool]] = []
        if "enum" in schema:
            allowed = frozenset(schema["enum"]) if all(type(a) is str for a in schema["enum"]) else None
            if allowed is not None:
                tests.append(lambda v: type(v) is str and v in allowed)
            else:
                options = list(schema["enum"])
                tests.append(lambda v: any(_json_equal(v, o) for o in options))
        if "const" in schema:
            const = schema["const"]
            tests.append(lambda v: _json_equal(v, const))
        if "required" in schema or "properties" in schema:
            required = tuple(schema.get("required", ()))
            props = tuple((k, self.predicate(sub)) for k, sub in schema.get("properties", {}).items())

            def object_test(v: Any) -> bool:
                if not isinstance(v, dict):
                    return True
                if any(k not in v for k in required):
                    return False
                return all(k not in v or ok(v[k]) for k, ok in props)

            tests.append(object_test)
        if "contains" in schema:
            inner = self.predicate(schema["contains"])
            tests.append(lambda v: not isinstance(v, list) or any(inner(x) for x in v))
        if len(tests) == 1:
            return tests[0]
        return lambda v: all(t(v) for t in tests)

    def _conditionals(self, schema: dict[str, Any], titles: dict[str, str]) -> list[Check]:
        out: list[Check] = []
        for sub in schema.get("allOf", ()):
            out.append(self.compile(sub, titles=titles).check)
        if "not" in schema:
            negated = self.predicate(schema["not"])
            e_not = self._error_factory(schema, str(schema.get("title", "")))(
                "not", "field.not_allowed", "取值不允许"
            )
            out.append(lambda v, p, e: e.append(FieldError(p, *e_not)) if negated(v) else None)
        if "if" in schema:
            cond = self.predicate(schema["if"])
            then = self.compile(schema["then"], titles=titles).check if "then" in schema else None
            other = self.compile(schema["else"], titles=titles).check if "else" in schema else None

            def if_then_else(v: Any, p: str, e: Errors) -> None:
                branch = then if cond(v) else other
                if branch is not None:
                    branch(v, p, e)

            out.append(if_then_else)
        elif "then" in schema or "else" in schema:
            raise SchemaError("then/else without if")
        return out


def _division_index() -> divisions.Index:
    return divisions._index if divisions._index is not None else divisions.index()


MAX_UNKNOWN_REPORTED = 20


def _unknown_field(v: dict[Any, Any], known: frozenset[str], ptr: str, errs: Errors) -> None:
    """Name each unknown key (the first MAX_UNKNOWN_REPORTED of them, then how many more there are)."""
    extra = [k for k in v if k not in known]
    for k in extra[:MAX_UNKNOWN_REPORTED]:
        name = str(k)
        errs.append(FieldError(f"{ptr}/{escape(name)}", "field.unknown", f"不认识的字段“{name[:40]}”"))
    if len(extra) > MAX_UNKNOWN_REPORTED:
        errs.append(
            FieldError(ptr, "field.unknown", f"另有{len(extra) - MAX_UNKNOWN_REPORTED}个不认识的字段")
        )


def _valid(check: Check, value: Any) -> bool:
    scratch: Errors = []
    check(value, "", scratch)
    return not scratch


def resolve(node: Node, pointer: str) -> Node | None:
    """The compiled node that a JSON pointer into a document of this schema lands on (array indexes and
    "-" walk into `items`), or None when the schema has no such field."""
    if pointer == "":
        return node
    if not pointer.startswith("/"):
        return None
    for token in (unescape(t) for t in pointer[1:].split("/")):
        if node.properties:
            nxt = node.properties.get(token)
        elif node.items is not None and (token == "-" or (token.isdigit() and token.isascii())):
            nxt = node.items
        else:
            nxt = None
        if nxt is None:
            return None
        node = nxt
    return node
