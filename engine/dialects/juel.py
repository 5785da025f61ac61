"""JUEL conditions (Camunda 7, Flowable, Activiti) translated to expressions the script sandbox runs.

The subset is what gateway conditions need: literals, variables of the case data, property access
(`review.decision`, `review['decision']`), `!`/`not`, `&&`/`and`, `||`/`or`, the comparisons (also
spelled `eq ne lt gt le ge`), `empty` and `? :`. The translation keeps JUEL's meaning where Python's
differs:

- a property of a map that is missing is null, not an error: `review.decision` becomes
  `review.get('decision')`, a further step `(… or {}).get(…)`;
- a comparison `<`, `>`, `<=`, `>=` with null is false, not an error: each operand that is not a literal
  is tested for None first;
- `x == null` is `x is None`; `empty x` is true for null, "" and empty lists and maps.

Everything else is refused with the reason, never guessed: method and function calls
(`execution.getVariable(…)`), arithmetic (JUEL coerces strings to numbers where Python would
concatenate them), numeric indexes, text around the `${…}`, Camunda's implicit objects, and names the
sandbox gives another meaning (Python keywords and builtins, names starting with an underscore).
"""

from __future__ import annotations

import builtins
import keyword
import re
from dataclasses import dataclass

from .. import sandbox


class Untranslatable(ValueError):
    """The expression is outside the subset; the message says why, in Chinese."""


# Objects Camunda and Flowable put in every expression's scope; canbao's case data has none of them.
IMPLICIT = frozenset(
    {
        "execution",
        "task",
        "delegateTask",
        "caseExecution",
        "processEngine",
        "processEngineServices",
        "variableScope",
        "authenticatedUserId",
        "currentUser",
        "currentUserGroups",
        "dateTime",
    }
)
_RESERVED = frozenset(dir(builtins)) | sandbox.FORBIDDEN_NAMES
_WHOLE = re.compile(r"^\s*[$#]\{(?P<body>.*)\}\s*$", re.DOTALL)
_NUMBER = re.compile(r"(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_SYMBOLS = ("==", "!=", "<=", ">=", "&&", "||", "->", "+=", "<", ">", "!", "?", ":", "(", ")", "[", "]")
_SYMBOLS += (".", ",", "+", "-", "*", "/", "%", "=", ";")
_WORDS = {
    "and": "&&",
    "or": "||",
    "not": "!",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
}
_LITERALS = {"true": True, "false": False, "null": None}
_ARITHMETIC = {"+", "-", "*", "/", "%", "div", "mod"}


def is_juel(text: str) -> bool:
    return "${" in text or "#{" in text


def translate(source: str) -> str:
    """The sandbox expression for a JUEL condition `${…}` (or `#{…}`); Untranslatable says why not."""
    whole = _WHOLE.match(source)
    if whole is None:
        if is_juel(source):
            raise Untranslatable("JUEL 条件应由一个 ${…} 构成整个条件，不能与文字拼接")
        raise Untranslatable("不是 JUEL 表达式：JUEL 条件应写成 ${…}")
    body = whole.group("body")
    if "${" in body or "#{" in body or "}" in body:
        raise Untranslatable("JUEL 条件应由一个 ${…} 构成整个条件，不能与文字拼接")
    if not body.strip():
        raise Untranslatable("表达式为空")
    parser = _Parser(_tokens(body))
    tree = parser.expression()
    parser.end()
    python = _emit(tree, 0)
    why = sandbox.check(python, "eval")
    if why is not None:
        raise Untranslatable(f"翻译结果不能在沙箱中运行：{why}")
    return python


# Tokens: ("str", value), ("num", value), ("name", identifier), ("op", symbol or keyword).


def _tokens(text: str) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "'\"":
            value, i = _string(text, i)
            out.append(("str", value))
        elif c.isdigit() or (c == "." and text[i + 1 : i + 2].isdigit()):
            m = _NUMBER.match(text, i)
            assert m is not None
            literal = m.group(0)
            out.append(("num", float(literal) if any(ch in literal for ch in ".eE") else int(literal)))
            i = m.end()
        elif c.isalpha() or c in "_$":
            j = i
            while j < len(text) and (text[j].isalnum() or text[j] in "_$"):
                j += 1
            word = text[i:j]
            if word in _WORDS:
                out.append(("op", _WORDS[word]))
            elif word in _LITERALS or word in ("empty", "div", "mod", "instanceof"):
                out.append(("op", word))
            else:
                out.append(("name", word))
            i = j
        else:
            symbol = next((s for s in _SYMBOLS if text.startswith(s, i)), None)
            if symbol is None:
                raise Untranslatable(f"不认识的符号“{c}”")
            out.append(("op", symbol))
            i += len(symbol)
    return out


def _string(text: str, start: int) -> tuple[str, int]:
    quote, i, chars = text[start], start + 1, []
    while i < len(text):
        c = text[i]
        if c == "\\" and text[i + 1 : i + 2] in (quote, "\\", "'", '"'):
            chars.append(text[i + 1])
            i += 2
        elif c == quote:
            return "".join(chars), i + 1
        else:
            chars.append(c)
            i += 1
    raise Untranslatable("字符串缺少结束引号")


# The tree: small immutable nodes, emitted as Python with the parentheses precedence needs.


@dataclass(frozen=True)
class _Literal:
    value: object


@dataclass(frozen=True)
class _Name:
    name: str


@dataclass(frozen=True)
class _Get:
    base: object
    key: str


@dataclass(frozen=True)
class _Unary:
    op: str  # "!" or "empty"
    operand: object


@dataclass(frozen=True)
class _Binary:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class _Choice:
    test: object
    then: object
    otherwise: object


class _Parser:
    def __init__(self, tokens: list[tuple[str, object]]) -> None:
        self.tokens, self.i = tokens, 0

    def peek(self) -> tuple[str, object] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, object]:
        token = self.peek()
        if token is None:
            raise Untranslatable("表达式不完整")
        self.i += 1
        return token

    def accept(self, *ops: str) -> str | None:
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] in ops:
            self.i += 1
            return str(token[1])
        return None

    def expect(self, op: str) -> None:
        if self.accept(op) is None:
            raise Untranslatable(f"表达式不完整：缺少“{op}”")

    def end(self) -> None:
        token = self.peek()
        if token is not None:
            raise Untranslatable(f"不支持“{token[1]}”")

    def expression(self) -> object:
        test = self.binary(0)
        if self.accept("?"):
            then = self.expression()
            self.expect(":")
            return _Choice(test, then, self.expression())
        return test

    _LEVELS = (("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="))

    def binary(self, level: int) -> object:
        if level == len(self._LEVELS):
            return self.arithmetic()
        left = self.binary(level + 1)
        while (op := self.accept(*self._LEVELS[level])) is not None:
            left = _Binary(op, left, self.binary(level + 1))
        return left

    def arithmetic(self) -> object:
        left = self.unary()
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] in _ARITHMETIC:
            raise Untranslatable(f"不支持算术运算（{token[1]}）：JUEL 与 Python 对数字和字符串的运算规则不同")
        return left

    def unary(self) -> object:
        if self.accept("!"):
            return _Unary("!", self.unary())
        if self.accept("empty"):
            return _Unary("empty", self.unary())
        if self.accept("-"):
            token = self.take()
            if token[0] != "num":
                raise Untranslatable("不支持算术运算（-）：只能用于数字常量")
            return _Literal(-token[1])  # type: ignore[operator]
        return self.value()

    def value(self) -> object:
        node = self.primary()
        while True:
            if self.accept("."):
                token = self.take()
                if token[0] != "name":
                    raise Untranslatable(f"“.”后应为属性名，而不是“{token[1]}”")
                node = _Get(node, str(token[1]))
            elif self.accept("["):
                token = self.take()
                if token[0] != "str":
                    raise Untranslatable("只支持用字符串作下标（如 review['decision']）")
                self.expect("]")
                node = _Get(node, str(token[1]))
            else:
                break
            if self.accept("("):
                raise Untranslatable(f"不支持调用方法或函数：{_source(node)}(…)")
        if self.accept("("):
            raise Untranslatable(f"不支持调用方法或函数：{_source(node)}(…)")
        if isinstance(node, _Name) and self._function_follows():
            raise Untranslatable(f"不支持调用 JUEL 函数：{node.name}:{self.tokens[self.i + 1][1]}(…)")
        root = node
        while isinstance(root, _Get):
            root = root.base
        if isinstance(root, _Name):
            _check_name(root.name)
        return node

    def _function_follows(self) -> bool:
        """`prefix:name(` — a JUEL function such as fn:contains(…)."""
        ahead = self.tokens[self.i : self.i + 3]
        return [t[0] for t in ahead] == ["op", "name", "op"] and ahead[0][1] == ":" and ahead[2][1] == "("

    def primary(self) -> object:
        kind, value = self.take()
        if kind in ("str", "num"):
            return _Literal(value)
        if kind == "name":
            return _Name(str(value))
        if value in _LITERALS:
            return _Literal(_LITERALS[str(value)])
        if value == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        raise Untranslatable(f"不支持“{value}”" if value != ")" else "表达式不完整")


def _check_name(name: str) -> None:
    if name.startswith("_"):
        raise Untranslatable(f"变量名 {name} 以下划线开头，沙箱不允许")
    if "$" in name:
        raise Untranslatable(f"变量名 {name} 含有 $，不能在 canbao 中使用")
    if name in IMPLICIT:
        raise Untranslatable(f"{name} 是 Camunda/Flowable 的内置对象，canbao 的案件数据中没有它")
    if keyword.iskeyword(name) or name in _RESERVED:
        raise Untranslatable(f"变量名 {name} 是 Python 关键字或内置名称，不能在 canbao 中使用")


def _source(node: object) -> str:
    if isinstance(node, _Name):
        return node.name
    if isinstance(node, _Get):
        return f"{_source(node.base)}.{node.key}"
    return "…"


# Python precedence, loosest first: conditional 0, or 1, and 2, not 3, comparison 4, atom 6.


def _emit(node: object, need: int) -> str:
    text, level = _render(node)
    return f"({text})" if level < need else text


def _render(node: object) -> tuple[str, int]:
    if isinstance(node, _Literal):
        return repr(node.value), 6
    if isinstance(node, _Name):
        return node.name, 6
    if isinstance(node, _Get):
        base = _emit(node.base, 6) if isinstance(node.base, _Name) else f"({_emit(node.base, 1)} or {{}})"
        return f"{base}.get({node.key!r})", 6
    if isinstance(node, _Choice):
        return f"{_emit(node.then, 1)} if {_emit(node.test, 1)} else {_emit(node.otherwise, 0)}", 0
    if isinstance(node, _Unary):
        if node.op == "empty":
            return f"{_emit(node.operand, 5)} in (None, '', [], {{}})", 4
        if isinstance(node.operand, _Unary) and node.operand.op == "empty":
            return f"{_emit(node.operand.operand, 5)} not in (None, '', [], {{}})", 4
        return f"not {_emit(node.operand, 3)}", 3
    assert isinstance(node, _Binary)
    if node.op in ("||", "&&"):
        level = 1 if node.op == "||" else 2
        word = "or" if node.op == "||" else "and"
        return f"{_emit(node.left, level)} {word} {_emit(node.right, level)}", level
    if node.op in ("==", "!="):
        for a, b in ((node.left, node.right), (node.right, node.left)):
            if isinstance(b, _Literal) and b.value is None:
                return f"{_emit(a, 5)} {'is' if node.op == '==' else 'is not'} None", 4
        return f"{_emit(node.left, 5)} {node.op} {_emit(node.right, 5)}", 4
    # <, >, <=, >= with null is false in JUEL: test each operand that is not a literal for None first.
    guards = [
        f"{_emit(side, 5)} is not None" for side in (node.left, node.right) if not isinstance(side, _Literal)
    ]
    comparison = f"{_emit(node.left, 5)} {node.op} {_emit(node.right, 5)}"
    return (f"({' and '.join([*guards, comparison])})", 6) if guards else (comparison, 4)
