"""The condition language of the rule set: small expressions over per-person facts, typed, compiled to
the SQL that DuckDB, PostgreSQL, SQLite and Spark SQL share.

    status = 'normal' and med_emp and not med_res
    status in ('dead', 'cancelled') or aged(pension_age)
    student.in_school = 1

Types are `bool`, `int`, `str`. A boolean fact is held as 0/1 in SQL and compiled to `(x = 1)`, so the
boolean operators always meet predicates (SQLite has no boolean type, Spark no implicit int→bool).
Functions: `aged(n)` (the person is at least `n` years old on the comparison day, `n` a constant),
`flag(kind)` (any reason of that flag kind holds), `reason(code)` (that reason holds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TYPES = ("bool", "int", "str")


class ExprError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Node:
    kind: str  # name, str, int, bool, not, and, or, cmp, in, call
    value: object = None
    args: tuple[Node, ...] = ()
    op: str = ""


_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+)|(?P<str>'(?:[^']|'')*')|(?P<op><>|!=|<=|>=|=|<|>|\(|\)|,)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?))"
)
KEYWORDS = {"and", "or", "not", "in", "true", "false"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExprError(
                "expr.syntax", f"无法识别的字符：{text[pos:].strip()[:20]!r}（第{pos + 1}个字符）"
            )
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "name" and value.lower() in KEYWORDS:
            kind, value = "kw", value.lower()
        out.append((kind, value))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ExprError("expr.syntax", "表达式不完整")
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok[1] != value:
            raise ExprError("expr.syntax", f"此处应为 {value!r}，实为 {tok[1]!r}")

    def parse(self) -> Node:
        node = self.or_()
        if self.peek() is not None:
            raise ExprError("expr.syntax", f"多余的内容：{self.peek()[1]!r}")  # type: ignore[index]
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.peek() == ("kw", "or"):
            self.take()
            node = Node("or", args=(node, self.and_()))
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.peek() == ("kw", "and"):
            self.take()
            node = Node("and", args=(node, self.not_()))
        return node

    def not_(self) -> Node:
        if self.peek() == ("kw", "not"):
            self.take()
            return Node("not", args=(self.not_(),))
        return self.cmp()

    def cmp(self) -> Node:
        left = self.atom()
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in ("=", "<>", "!=", "<", "<=", ">", ">="):
            self.take()
            return Node("cmp", op="<>" if tok[1] == "!=" else tok[1], args=(left, self.atom()))
        if tok == ("kw", "in"):
            self.take()
            self.expect("(")
            items = [self.atom()]
            while self.peek() == ("op", ","):
                self.take()
                items.append(self.atom())
            self.expect(")")
            return Node("in", args=(left, *items))
        return left

    def atom(self) -> Node:
        kind, value = self.take()
        if value == "(":
            node = self.or_()
            self.expect(")")
            return node
        if kind == "num":
            return Node("int", int(value))
        if kind == "str":
            return Node("str", value[1:-1].replace("''", "'"))
        if kind == "kw" and value in ("true", "false"):
            return Node("bool", value == "true")
        if kind == "name":
            if self.peek() == ("op", "("):
                self.take()
                args = []
                if self.peek() != ("op", ")"):
                    args.append(self.or_())
                    while self.peek() == ("op", ","):
                        self.take()
                        args.append(self.or_())
                self.expect(")")
                return Node("call", value, tuple(args))
            return Node("name", value)
        raise ExprError("expr.syntax", f"此处不应出现 {value!r}")


def parse(text: str) -> Node:
    if not isinstance(text, str) or not text.strip():
        raise ExprError("expr.empty", "条件不能为空")
    return _Parser(text).parse()


def names(node: Node) -> set[str]:
    """The fact names an expression refers to (for the dependency graph)."""
    found: set[str] = set()
    if node.kind == "name":
        found.add(str(node.value))
    for arg in node.args:
        found |= names(arg)
    return found


def calls(node: Node) -> list[Node]:
    found = [node] if node.kind == "call" else []
    for arg in node.args:
        found.extend(calls(arg))
    return found


@dataclass
class Scope:
    """What an expression may refer to: typed facts, constant parameters, and the functions' targets.

    `columns` gives the column of a fact held in a relation (default: its name), `derived` the SQL of a
    derived fact, compiled inline (a predicate for a boolean, a value otherwise); `cutoff(n)` the SQL
    literal of the latest birth date of a person aged `n` on the day."""

    types: dict[str, str]
    params: dict[str, object] = field(default_factory=dict)
    flags: dict[str, str] = field(default_factory=dict)  # flag kind -> its SQL condition
    reasons: dict[str, str] = field(default_factory=dict)  # reason code -> its SQL condition
    columns: dict[str, str] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)
    cutoff: object = None
    allow_flag_calls: bool = False


def _const(node: Node, scope: Scope) -> object:
    if node.kind in ("int", "str", "bool"):
        return node.value
    if node.kind == "name" and node.value in scope.params:
        return scope.params[str(node.value)]
    raise ExprError("expr.not_constant", "此处应为常量或参数")


def type_of(node: Node, scope: Scope) -> str:
    """The node's type; raises ExprError for an unknown name or a type error."""
    k = node.kind
    if k in ("int", "str", "bool"):
        return k
    if k == "name":
        name = str(node.value)
        if name in scope.params:
            value = scope.params[name]
            return "bool" if isinstance(value, bool) else "int" if isinstance(value, int) else "str"
        if name not in scope.types:
            raise ExprError("expr.unknown_field", f"未知字段：{name}")
        return scope.types[name]
    if k == "not":
        _want(node.args[0], "bool", scope, "not")
        return "bool"
    if k in ("and", "or"):
        for arg in node.args:
            _want(arg, "bool", scope, k)
        return "bool"
    if k in ("cmp", "in"):
        left = type_of(node.args[0], scope)
        for arg in node.args[1:]:
            right = type_of(arg, scope)
            if right != left:
                raise ExprError("expr.type", f"类型不符：{left} 与 {right} 不能比较")
        if k == "cmp" and node.op not in ("=", "<>") and left == "bool":
            raise ExprError("expr.type", f"布尔值不能用 {node.op} 比较")
        return "bool"
    if k == "call":
        fn = str(node.value)
        if fn == "aged":
            if len(node.args) != 1:
                raise ExprError("expr.arity", "aged() 需要一个参数（周岁）")
            n = _const(node.args[0], scope)
            if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= 150:
                raise ExprError("expr.type", "aged() 的参数应为0至150的整数")
            return "bool"
        if fn in ("flag", "reason"):
            if not scope.allow_flag_calls:
                raise ExprError("expr.function_here", f"{fn}() 只能用于分类条件")
            if len(node.args) != 1 or node.args[0].kind != "str":
                raise ExprError("expr.arity", f"{fn}() 需要一个字符串参数")
            target = str(node.args[0].value)
            known = scope.flags if fn == "flag" else scope.reasons
            if target not in known:
                what = "标识类别" if fn == "flag" else "原因代码"
                raise ExprError("expr.unknown_field", f"未知{what}：{target}")
            return "bool"
        raise ExprError("expr.unknown_function", f"未知函数：{fn}")
    raise ExprError("expr.syntax", "无法识别的表达式")


def _want(node: Node, want: str, scope: Scope, where: str) -> None:
    got = type_of(node, scope)
    if got != want:
        raise ExprError("expr.type", f"{where} 的操作数应为 {want}，实为 {got}")


def _sql_literal(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def value_sql(node: Node, scope: Scope) -> str:
    """SQL of a non-boolean operand (booleans in comparisons are compared as 0/1)."""
    if node.kind in ("int", "str", "bool"):
        return _sql_literal(node.value)
    if node.kind == "name":
        name = str(node.value)
        if name in scope.params:
            return _sql_literal(scope.params[name])
        if scope.types[name] == "bool":
            return f"(CASE WHEN {to_sql(node, scope)} THEN 1 ELSE 0 END)"
        if name in scope.derived:
            return f"({scope.derived[name]})"
        return scope.columns.get(name, name)
    return f"(CASE WHEN {to_sql(node, scope)} THEN 1 ELSE 0 END)"


def to_sql(node: Node, scope: Scope) -> str:
    """The SQL predicate of a boolean expression (type-checked before)."""
    k = node.kind
    if k == "bool":
        return "1 = 1" if node.value else "1 = 0"
    if k == "name":
        name = str(node.value)
        if name in scope.params:
            return "1 = 1" if scope.params[name] else "1 = 0"
        if name in scope.derived:
            return f"({scope.derived[name]})"
        return f"({scope.columns.get(name, name)} = 1)"
    if k == "not":
        return f"(NOT {to_sql(node.args[0], scope)})"
    if k in ("and", "or"):
        return "(" + f" {k.upper()} ".join(to_sql(a, scope) for a in node.args) + ")"
    if k == "cmp":
        return f"({value_sql(node.args[0], scope)} {node.op} {value_sql(node.args[1], scope)})"
    if k == "in":
        items = ", ".join(value_sql(a, scope) for a in node.args[1:])
        return f"({value_sql(node.args[0], scope)} IN ({items}))"
    if k == "call":
        fn = str(node.value)
        if fn == "aged":
            # NULL birth date: not aged (as a comparison inside NOT would leave it unknown)
            cutoff = scope.cutoff(int(_const(node.args[0], scope)))  # type: ignore[misc]
            return f"(CASE WHEN birth_date <= {cutoff} THEN 1 ELSE 0 END = 1)"
        target = str(node.args[0].value)
        return f"({(scope.flags if fn == 'flag' else scope.reasons)[target]})"
    raise ExprError("expr.syntax", "无法识别的表达式")
