"""The script sandbox. Every BPMN script, condition and timer expression is compiled with
RestrictedPython (`compile_restricted`), which refuses `import`, `open`, `exec` and any access to
underscore names at compile time; the globals hold only whitelisted builtins.

SpiffWorkflow's default engine runs plain `exec` with the real builtins (`import os` works), and
`RestrictedPython.safe_globals` alone still lets `().__class__.__base__.__subclasses__()` through.
"""

from __future__ import annotations

import ast
import operator
from functools import lru_cache
from types import CodeType

from RestrictedPython import compile_restricted, safe_builtins
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine import TaskDataEnvironment

_INPLACE = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "|=": operator.ior,
    "&=": operator.iand,
}


@lru_cache(maxsize=4096)
def compile_script(source: str, mode: str) -> CodeType:
    """Compile under the sandbox; SyntaxError names what is refused (e.g. an underscore name)."""
    return compile_restricted(source, filename="<string>", mode=mode)


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
            "sum": sum,
            "min": min,
            "max": max,
            "any": any,
            "all": all,
            "enumerate": enumerate,
            "sorted": sorted,
            "len": len,
        }
    )
    return allowed


class RestrictedEnvironment(TaskDataEnvironment):
    def __init__(self) -> None:
        super().__init__(
            {
                "__builtins__": _builtins(),
                "_getattr_": safer_getattr,
                "_getitem_": operator.getitem,
                "_getiter_": iter,
                "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
                "_unpack_sequence_": guarded_unpack_sequence,
                "_write_": full_write_guard,
                "_inplacevar_": lambda op, x, y: _INPLACE[op](x, y),
            }
        )

    def evaluate(self, expression, context, external_context=None):
        return super().evaluate(compile_script(expression, "eval"), context, external_context)

    def execute(self, script, context, external_context=None):
        return super().execute(compile_script(script, "exec"), context, external_context)


ENVIRONMENT = RestrictedEnvironment()
