"""The script sandbox. Every BPMN script, condition and timer expression is compiled with
RestrictedPython (`compile_restricted`), which refuses `import`, `open`, `exec` and any access to
underscore names at compile time; the globals hold only whitelisted builtins. The compilation also
inserts the calls that keep each evaluation within its limits (`limits`): a tick in every loop, call,
exception handler and `finally` block, and size checks on the operators, builtins and methods that can
build something large. The time limit is `CANBAO_SCRIPT_TIME_LIMIT_MS` per evaluation.

SpiffWorkflow's default engine runs plain `exec` with the real builtins (`import os` works), and
`RestrictedPython.safe_globals` alone still lets `().__class__.__base__.__subclasses__()` through.
"""

from __future__ import annotations

import ast
import operator
from functools import lru_cache, partial
from types import CodeType
from typing import Any

from RestrictedPython import RestrictingNodeTransformer, compile_restricted, safe_builtins
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from RestrictedPython.transformer import copy_locations
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment

from canbao.config import get_settings

from . import limits

_OPERATORS = {
    ast.Add: "_add_",
    ast.Mult: "_mul_",
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
    ast.Mod: "_mod_",
}


def _call(name: str, at: ast.AST, *args: ast.expr) -> ast.Call:
    call = ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])
    copy_locations(call, at)
    return call


def _tick(at: ast.AST) -> ast.Expr:
    statement = ast.Expr(_call("_tick_", at))
    copy_locations(statement, at)
    return statement


class LimitingPolicy(RestrictingNodeTransformer):
    """RestrictedPython's checks, plus the calls to `limits`. The names it adds start with an underscore,
    which a script itself cannot write."""

    def visit_While(self, node: ast.While) -> ast.AST:
        node = super().visit_While(node)
        node.body.insert(0, _tick(node))
        return node

    def visit_For(self, node: ast.For) -> ast.AST:
        node = super().visit_For(node)
        node.body.insert(0, _tick(node))
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        # A comprehension has no body to put a tick in: its iterator ticks instead.
        node = super().visit_comprehension(node)
        node.iter = _call("_tickiter_", node.iter, node.iter)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node = super().visit_FunctionDef(node)
        node.body.insert(0, _tick(node))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        node = super().visit_Lambda(node)
        node.body = ast.BoolOp(ast.Or(), [_call("_tick_", node.body), node.body])
        copy_locations(node.body, node)
        return node

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        node = super().visit_ExceptHandler(node)
        node.body.insert(0, _tick(node))
        return node

    def visit_Try(self, node: ast.Try) -> ast.AST:
        node = super().visit_Try(node)
        if node.finalbody:
            node.finalbody.insert(0, _tick(node.finalbody[0]))
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = super().visit_BinOp(node)
        guard = _OPERATORS.get(type(node.op))
        return node if guard is None else _call(guard, node, node.left, node.right)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = super().visit_FormattedValue(node)
        node.value = _call("_render_", node.value, node.value)
        if node.format_spec is not None:
            spec = ast.FormattedValue(_call("_format_spec_", node.format_spec, node.format_spec), -1, None)
            copy_locations(spec, node.format_spec)
            node.format_spec = ast.JoinedStr([spec])
            copy_locations(node.format_spec, spec)
        return node


@lru_cache(maxsize=4096)
def compile_script(source: str, mode: str) -> CodeType:
    """Compile under the sandbox; SyntaxError names what is refused (e.g. an underscore name)."""
    return compile_restricted(source, filename="<string>", mode=mode, policy=LimitingPolicy)


# Names that the sandbox does not provide; refusing them at deploy reports the mistake early instead
# of as a NameError in the middle of a case.
FORBIDDEN_NAMES = frozenset(
    {
        "open",
        "exec",
        "eval",
        "compile",
        "globals",
        "locals",
        "vars",
        "getattr",
        "setattr",
        "delattr",
        "__import__",
        "input",
        "breakpoint",
        "help",
        "memoryview",
        "type",
        "object",
        "super",
        "classmethod",
        "staticmethod",
        "property",
    }
)


def check(source: str, mode: str) -> str | None:
    """None when `source` is allowed in the sandbox, otherwise why not (one line, Chinese)."""
    try:
        tree = ast.parse(source, mode=mode)
        compile_script(source, mode)
    except SyntaxError as err:
        return str(err).splitlines()[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            return f"第 {node.lineno} 行：不允许导入模块"
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            return f"第 {node.lineno} 行：不允许使用 {node.id}"
        if isinstance(node, ast.ClassDef | ast.Lambda | ast.AsyncFunctionDef):
            return f"第 {node.lineno} 行：脚本中不允许定义类或匿名函数"
    return None


def _builtins() -> dict:
    allowed = {k: v for k, v in safe_builtins.items() if k not in ("setattr", "delattr", "__build_class__")}
    allowed.update(
        {
            "dict": dict,
            "list": list,
            "set": set,
            "sum": limits.checked_sum,
            "min": min,
            "max": max,
            "any": any,
            "all": all,
            "enumerate": enumerate,
            "sorted": sorted,
            "len": len,
            "str": limits.SCRIPT_STR,
            "repr": limits.checked_repr,
            "range": limits.checked_range,
            "bytes": limits.checked_bytes,
            "pow": limits.power,
            "round": limits.checked_round,
        }
    )
    return allowed


def _getattr(obj: Any, name: str, default: Any = None) -> Any:
    """safer_getattr, with the methods that can build something large replaced by checked ones."""
    if obj is limits.SCRIPT_STR:
        obj = str
    value = safer_getattr(obj, name, default)
    if isinstance(obj, type):
        return limits.METHODS.get((obj, name), value)
    method = limits.METHODS.get((type(obj), name))
    return value if method is None else partial(method, obj)


def _write(obj: Any) -> Any:
    return limits.ListWrite(obj) if type(obj) is list else full_write_guard(obj)


class RestrictedEnvironment(TaskDataEnvironment):
    """`time_limit_ms` per evaluation; by default the setting `CANBAO_SCRIPT_TIME_LIMIT_MS`."""

    def __init__(self, time_limit_ms: int | None = None) -> None:
        super().__init__(
            {
                "__builtins__": _builtins(),
                "_getattr_": _getattr,
                "_getitem_": operator.getitem,
                "_getiter_": iter,
                "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
                "_unpack_sequence_": guarded_unpack_sequence,
                "_write_": _write,
                "_inplacevar_": limits.inplace,
                "_add_": limits.add,
                "_mul_": limits.multiply,
                "_pow_": limits.power,
                "_lshift_": limits.lshift,
                "_mod_": limits.modulo,
                "_render_": limits.render,
                "_format_spec_": limits.format_spec,
            }
        )
        self.time_limit_ms = time_limit_ms

    def _clock(self) -> dict[str, Any]:
        """The ticks of one evaluation, its time counted from now."""
        tick = limits.ticker(self.time_limit_ms or get_settings().script_time_limit_ms)
        return {"_tick_": tick, "_tickiter_": limits.ticking_iter(tick)}

    def evaluate(self, expression, context, external_context=None):
        code = compile_script(expression, "eval")
        return eval(code, {**self.globals, **(external_context or {}), **context, **self._clock()})

    def execute(self, script, context, external_context=None):
        code = compile_script(script, "exec")
        return super().execute(code, context, {**(external_context or {}), **self._clock()})


ENVIRONMENT = RestrictedEnvironment()
