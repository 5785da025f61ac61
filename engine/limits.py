"""What one script or condition may cost: a time limit, and a cap on what any single operation builds.

The sandbox (`sandbox.py`) compiles every script so that each loop iteration, function call, exception
handler and `finally` block calls a tick that raises `LimitExceeded` once the time is up. Because every
handler and `finally` block starts with a tick, a script cannot swallow the exception: catching it only
raises it again. One operation in C (a power, a repeated string, a padded format, rendering a list) runs
to its end between two ticks, so the operators, builtins and methods that can build something large
check the size of their result before building it: at most MAX_LENGTH items or characters, integers
of at most MAX_INT_BITS bits.

Not bounded: memory a script fills by copying within its time (time × memory bandwidth: a loop copying
a million-item list grew the process by about 90 MB in 300 ms here; the service's memory limit is the
outer bound), and C-level work on data within the caps (sorting a million long strings).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Iterator
from time import monotonic
from typing import Any, NoReturn

MAX_LENGTH = 1_000_000
MAX_INT_BITS = 65_536  # about 19,700 decimal digits
MAX_MODULAR_BITS = 4_096  # pow(a, b, m): its cost grows with bits(b) × bits(m)²
MAX_ROUND_DIGITS = 4_300  # round(5, -n) computes 10 ** n

_SEQUENCES = (str, bytes, list, tuple)
_NUMBERS = frozenset({int, float, bool})
_SCALARS = frozenset({str, int, float, bool, type(None)})


class LimitExceeded(Exception):
    """A script or condition went over a limit; its step is abandoned."""


def _too_large(what: str, size: int, limit: int = MAX_LENGTH) -> NoReturn:
    raise LimitExceeded(f"{what}过大（{size}，上限 {limit}）")


def _length(size: int, what: str) -> None:
    if size > MAX_LENGTH:
        _too_large(what, size)


def _bits(bits: int, what: str) -> None:
    if bits > MAX_INT_BITS:
        _too_large(f"{what}的位数", bits, MAX_INT_BITS)


# --- Time -----------------------------------------------------------------------------------------------


def ticker(time_limit_ms: int) -> Callable[[], None]:
    """The tick of one evaluation: raises once `time_limit_ms` have passed since this call."""
    deadline = monotonic() + time_limit_ms / 1000

    def tick() -> None:
        if monotonic() > deadline:
            raise LimitExceeded(f"运行超过 {time_limit_ms} 毫秒的时间限制")

    return tick


def ticking_iter(tick: Callable[[], None]) -> Callable[[Iterable[Any]], Iterator[Any]]:
    """The iterator of a comprehension or generator expression: one tick per item."""

    def getiter(iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            tick()
            yield item

    return getiter


# --- Operators: each checks the size of its result, then computes it ------------------------------------


def _check_add(a: Any, b: Any) -> None:
    if type(a) not in _NUMBERS and isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
        _length(len(a) + len(b), "拼接结果")


def _check_multiply(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int):
        _bits(a.bit_length() + b.bit_length(), "乘积")
    elif isinstance(a, _SEQUENCES) and isinstance(b, int):
        _length(len(a) * b, "重复结果")
    elif isinstance(b, _SEQUENCES) and isinstance(a, int):
        _length(len(b) * a, "重复结果")


def _check_power(a: Any, b: Any, modulo: Any = None) -> None:
    if not (isinstance(a, int) and isinstance(b, int) and b > 0):
        return
    if modulo is None:
        if abs(a) > 1:
            _bits(a.bit_length() * b, "乘方结果")
    elif isinstance(modulo, int) and max(b.bit_length(), modulo.bit_length()) > MAX_MODULAR_BITS:
        _too_large("模幂运算的位数", max(b.bit_length(), modulo.bit_length()), MAX_MODULAR_BITS)


def _check_lshift(a: Any, b: Any) -> None:
    if isinstance(a, int) and isinstance(b, int) and a and b > 0:
        _bits(a.bit_length() + b, "移位结果")


# A printf conversion: %[(key)][flags][width][.precision]type
_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_modulo(a: Any, b: Any) -> None:
    """For a string, printf formatting: its widths, and the size of its arguments' text."""
    if not isinstance(a, str | bytes):
        return
    starred = False
    for conversion in _PRINTF.finditer(a.decode("latin-1") if isinstance(a, bytes) else a):
        for number in conversion.groups():
            if number == "*":
                starred = True
            elif number is not None:
                _width(number)
    arguments = b if isinstance(b, tuple) else (b,)
    if starred:
        for argument in arguments:
            if isinstance(argument, int) and abs(argument) > MAX_LENGTH:
                _too_large("格式宽度", abs(argument))
    _length(len(a) + rendered_size(arguments), "格式化结果")


def add(a: Any, b: Any) -> Any:
    _check_add(a, b)
    return a + b


def multiply(a: Any, b: Any) -> Any:
    _check_multiply(a, b)
    return a * b


def power(a: Any, b: Any, modulo: Any = None) -> Any:
    _check_power(a, b, modulo)
    return pow(a, b) if modulo is None else pow(a, b, modulo)


def lshift(a: Any, b: Any) -> Any:
    _check_lshift(a, b)
    return a << b


def modulo(a: Any, b: Any) -> Any:
    _check_modulo(a, b)
    return a % b


# `x op= y`: the operator's check, then the in-place operator (a list grows in place, as in Python).
_INPLACE = {
    "+=": (_check_add, operator.iadd),
    "-=": (None, operator.isub),
    "*=": (_check_multiply, operator.imul),
    "/=": (None, operator.itruediv),
    "//=": (None, operator.ifloordiv),
    "%=": (_check_modulo, operator.imod),
    "**=": (_check_power, operator.ipow),
    "<<=": (_check_lshift, operator.ilshift),
    ">>=": (None, operator.irshift),
    "|=": (None, operator.ior),
    "&=": (None, operator.iand),
    "^=": (None, operator.ixor),
}


def inplace(op: str, x: Any, y: Any) -> Any:
    check, apply = _INPLACE[op]
    if check is not None:
        check(x, y)
    return apply(x, y)


# --- Rendering: str(), repr(), f-strings ------------------------------------------------------------------


def rendered_size(value: Any) -> int:
    """About how many characters str() of `value` has, counted up to just past MAX_LENGTH. A list that
    holds one long string ten thousand times is small, and its text is not."""
    total, pending = 0, [value]
    while pending and total <= MAX_LENGTH:
        item = pending.pop()
        if isinstance(item, str | bytes):
            total += len(item) + 3
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)
            pending.extend(item)
        elif isinstance(item, dict):
            total += 2 + 4 * len(item)
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        else:
            total += 32
    return total


def render(value: Any) -> Any:
    """An f-string's value, once its text is known to be of bounded size."""
    if type(value) not in _SCALARS:
        _length(rendered_size(value), "文本")
    return value


def _width(number: str) -> None:
    if len(number) > 7 and int(number) > MAX_LENGTH:
        _too_large("格式宽度", int(number))


def format_spec(spec: str) -> str:
    """An f-string's format spec (`{x:>10}`), its numbers bounded."""
    for number in re.findall(r"\d+", spec):
        _width(number)
    return spec


def checked_repr(value: Any) -> str:
    return repr(render(value))


class GuardedStr(type):
    """What `str` is in a script: calling it checks the size of the text first; isinstance still works."""

    def __call__(cls, *args: Any, **kwargs: Any) -> str:
        if args:
            render(args[0])
        return str(*args, **kwargs)

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, str)

    def __subclasscheck__(cls, subclass: type) -> bool:
        return issubclass(subclass, str)


SCRIPT_STR = GuardedStr("str", (), {})


# --- Builtins ---------------------------------------------------------------------------------------------


def checked_range(*args: int) -> range:
    numbers = range(*args)
    _length(len(numbers), "range 的长度")
    return numbers


def checked_bytes(*args: Any, **kwargs: Any) -> bytes:
    if args and isinstance(args[0], int):
        _length(args[0], "bytes 的长度")
    return bytes(*args, **kwargs)


def checked_sum(iterable: Iterable[Any], start: Any = 0) -> Any:
    if not isinstance(start, int | float | complex):
        # Summing lists or strings copies the whole result at every step.
        raise LimitExceeded("sum() 只能对数值求和")
    return sum(iterable, start)


def checked_round(number: Any, ndigits: int | None = None) -> Any:
    if isinstance(ndigits, int) and abs(ndigits) > MAX_ROUND_DIGITS:
        _too_large("round 的位数", abs(ndigits), MAX_ROUND_DIGITS)
    return round(number, ndigits)


# --- Methods that can build something large: checked before they run ------------------------------------


def _join(self: str | bytes, iterable: Iterable[Any]) -> Any:
    items = list(iterable)
    _length(sum(len(i) for i in items if isinstance(i, str | bytes)) + len(self) * len(items), "拼接结果")
    return self.join(items)


def _replace(self: str | bytes, old: Any, new: Any, count: int = -1) -> Any:
    found = self.count(old) if old else len(self) + 1
    if 0 <= count < found:
        found = count
    _length(len(self) + found * max(len(new) - len(old), 0), "替换结果")
    return self.replace(old, new, count)


def _padder(name: str) -> Callable[..., Any]:
    def pad(self: str | bytes, width: int, *args: Any) -> Any:
        _length(width, "填充宽度")
        return getattr(self, name)(width, *args)

    return pad


def _expandtabs(self: str | bytes, tabsize: int = 8) -> Any:
    tab = "\t" if isinstance(self, str) else b"\t"
    _length(len(self) + self.count(tab) * max(tabsize, 0), "展开结果")
    return self.expandtabs(tabsize)


def _translate(self: str, table: Any) -> str:
    if isinstance(table, dict):
        longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
        _length(len(self) * longest, "转换结果")
    return self.translate(table)


def _extend(self: list, iterable: Iterable[Any]) -> None:
    items = list(iterable)
    _length(len(self) + len(items), "列表长度")
    self.extend(items)


def _to_bytes(self: int, length: int = 1, *args: Any, **kwargs: Any) -> bytes:
    _length(length, "to_bytes 的长度")
    return self.to_bytes(length, *args, **kwargs)


_TEXT_METHODS = {
    "join": _join,
    "replace": _replace,
    "center": _padder("center"),
    "ljust": _padder("ljust"),
    "rjust": _padder("rjust"),
    "zfill": _padder("zfill"),
    "expandtabs": _expandtabs,
}
METHODS: dict[tuple[type, str], Callable[..., Any]] = {
    **{(str, name): method for name, method in _TEXT_METHODS.items()},
    **{(bytes, name): method for name, method in _TEXT_METHODS.items()},
    (str, "translate"): _translate,
    (list, "extend"): _extend,
    (int, "to_bytes"): _to_bytes,
}


class ListWrite:
    """`_write_` of a list: item and slice assignment, a slice's new length checked first."""

    __slots__ = ("target",)

    def __init__(self, target: list) -> None:
        self.target = target

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(key, slice):
            value = list(value)
            _length(len(self.target) + len(value), "列表长度")
        self.target[key] = value

    def __delitem__(self, key: Any) -> None:
        del self.target[key]
