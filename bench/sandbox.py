"""What the script limits cost: the sandbox with its limits against the same sandbox without them.

    python -m bench.sandbox [--rounds 5] [--cases 300]

Three workloads, each run on both sides, alternating in rounds so that a change in the machine's speed
falls on both:
- expressions: every script, condition and timer expression of bpmn/ evaluated with the task data they
  see (µs per evaluation);
- loop: a script that loops 2,000 times (µs per run), the worst case for per-iteration ticks;
- lifecycle: the survey lifecycle in memory (start → 入户调查 → 初审 → 审定 → end, service tasks
  stubbed), ms per case, which is what a persisted transition adds the database to; and how many
  evaluations one lifecycle makes, which times the cost per evaluation gives what the limits add to it.

Times are CPU time of this single-threaded process, so that other work on the machine does not count.

The baseline is the sandbox as it was before the limits: RestrictedPython's own policy, the same
whitelisted builtins, no ticks and no size checks. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import operator
import re
import statistics
import time

from RestrictedPython import compile_restricted
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from canbao.config import PROJECT_ROOT
from engine import sandbox, specs

from .lifecycle import APPROVE, BPMN, person, registration

LOOP = """total = 0
for item in items:
    total = total + item * 2
n = 0
while n < 1000:
    n += 1
"""
DATA = {
    "returns": 2,
    "timeouts": {},
    "items": list(range(1000)),
    **{
        key: {"decision": "approve"}
        for key in ("check", "confirm", "escalation_review", "final_review", "initial_review")
    },
}


class Unlimited(TaskDataEnvironment):
    """The sandbox before the limits (engine/sandbox.py of 2026-12-01)."""

    def __init__(self) -> None:
        builtins = sandbox._builtins()
        builtins.update(
            {"str": str, "repr": repr, "range": range, "bytes": bytes, "pow": pow, "round": round, "sum": sum}
        )
        inplace = {
            "+=": operator.iadd,
            "-=": operator.isub,
            "*=": operator.imul,
            "/=": operator.itruediv,
            "//=": operator.ifloordiv,
            "%=": operator.imod,
            "|=": operator.ior,
            "&=": operator.iand,
        }
        super().__init__(
            {
                "__builtins__": builtins,
                "_getattr_": safer_getattr,
                "_getitem_": operator.getitem,
                "_getiter_": iter,
                "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
                "_unpack_sequence_": guarded_unpack_sequence,
                "_write_": full_write_guard,
                "_inplacevar_": lambda op, x, y: inplace[op](x, y),
            }
        )
        self._code: dict[tuple[str, str], object] = {}

    def _compiled(self, source: str, mode: str):
        key = (source, mode)
        if key not in self._code:
            self._code[key] = compile_restricted(source, filename="<string>", mode=mode)
        return self._code[key]

    def evaluate(self, expression, context, external_context=None):
        return super().evaluate(self._compiled(expression, "eval"), context, external_context)

    def execute(self, script, context, external_context=None):
        return super().execute(self._compiled(script, "exec"), context, external_context)


def process_expressions() -> list[tuple[str, str]]:
    """(source, mode) of every script, condition and timer expression in bpmn/."""
    found = []
    patterns = [
        (r"<bpmn:script>(.*?)</bpmn:script>", "exec"),
        (r"<spiffworkflow:(?:pre|post)Script>(.*?)</spiffworkflow:(?:pre|post)Script>", "exec"),
        (r"<bpmn:conditionExpression[^>]*>(.*?)</bpmn:conditionExpression>", "eval"),
        (r"<bpmn:time(?:Duration|Date|Cycle)[^>]*>(.*?)</bpmn:time", "eval"),
    ]
    for path in sorted((PROJECT_ROOT / "bpmn").glob("*.bpmn")):
        xml = path.read_text(encoding="utf-8")
        for pattern, mode in patterns:
            for source in re.findall(pattern, xml, re.S):
                found.append((source.replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&"), mode))
    return found


def time_expressions(environment: TaskDataEnvironment, expressions: list[tuple[str, str]], n: int) -> float:
    """µs per evaluation."""
    started = time.process_time()
    for _ in range(n):
        for source, mode in expressions:
            data = dict(DATA)
            if mode == "exec":
                environment.execute(source, data, {})
            else:
                environment.evaluate(source, data, {})
    return (time.process_time() - started) / (n * len(expressions)) * 1e6


def time_loop(environment: TaskDataEnvironment, n: int) -> float:
    """µs per run of LOOP."""
    started = time.process_time()
    for _ in range(n):
        data = {"items": DATA["items"]}
        environment.execute(LOOP, data, {})
        assert data["n"] == 1000
    return (time.process_time() - started) / n * 1e6


def time_lifecycle(environment: TaskDataEnvironment, n: int) -> float:
    """ms per survey lifecycle in memory."""
    parsed = specs.parse(BPMN.read_text(), check=False)

    class Engine(PythonScriptEngine):
        def call_service(self, task, **kwargs):
            return "{}"

    engine = Engine(environment=environment)
    started = time.process_time()
    for i in range(n):
        wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=engine)
        wf.get_tasks(state=TaskState.READY)[0].data.update({"timeouts": {}})
        wf.do_engine_steps()
        for key, data in (
            ("registration", registration(person(i))),
            ("initial_review", APPROVE),
            ("final_review", APPROVE),
        ):
            [task] = wf.get_tasks(state=TaskState.READY, manual=True)
            task.data[key] = data
            task.run()
            wf.do_engine_steps()
        assert wf.is_completed()
    return (time.process_time() - started) / n * 1e3


class Counting(sandbox.RestrictedEnvironment):
    evaluations = 0

    def evaluate(self, expression, context, external_context=None):
        self.evaluations += 1
        return super().evaluate(expression, context, external_context)

    def execute(self, script, context, external_context=None):
        self.evaluations += 1
        return super().execute(script, context, external_context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cases", type=int, default=300, help="lifecycles per round and side")
    args = parser.parse_args()
    expressions = process_expressions()
    sides = {"limited": sandbox.RestrictedEnvironment(), "unlimited": Unlimited()}
    figures: dict[str, dict[str, list[float]]] = {
        s: {"expr_us": [], "loop_us": [], "case_ms": []} for s in sides
    }
    for environment in sides.values():  # warm the compile caches
        time_expressions(environment, expressions, 10)
        time_loop(environment, 5)
        time_lifecycle(environment, 5)
    for r in range(args.rounds):
        order = list(sides) if r % 2 == 0 else list(reversed(sides))
        for side in order:
            environment = sides[side]
            figures[side]["expr_us"].append(time_expressions(environment, expressions, 2000))
            figures[side]["loop_us"].append(time_loop(environment, 200))
            figures[side]["case_ms"].append(time_lifecycle(environment, args.cases))
    median = {s: {k: statistics.median(v) for k, v in f.items()} for s, f in figures.items()}
    lim, base = median["limited"], median["unlimited"]
    counting = Counting()
    time_lifecycle(counting, 10)
    per_case = counting.evaluations / 10
    added_us = per_case * (lim["expr_us"] - base["expr_us"])
    print(f"{len(expressions)} expressions of bpmn/, {args.rounds} rounds alternating, medians:")
    print(f"  per evaluation: {lim['expr_us']:.2f} µs with limits, {base['expr_us']:.2f} µs without")
    print(f"  2,000-iteration loop: {lim['loop_us']:.0f} µs with limits, {base['loop_us']:.0f} µs without")
    print(
        f"  survey lifecycle in memory: {lim['case_ms']:.2f} ms with limits, {base['case_ms']:.2f} ms without"
    )
    print(
        f"  one lifecycle makes {per_case:g} evaluations: the limits add {added_us:.1f} µs to it "
        f"({added_us / 10 / base['case_ms']:.2f} % of the in-memory lifecycle)"
    )
    result = {
        "expressions": len(expressions),
        "expr_us": round(lim["expr_us"], 2),
        "expr_us_unlimited": round(base["expr_us"], 2),
        "loop_us": round(lim["loop_us"]),
        "loop_us_unlimited": round(base["loop_us"]),
        "loop_ratio": round(lim["loop_us"] / base["loop_us"], 2),
        "case_ms": round(lim["case_ms"], 3),
        "case_ms_unlimited": round(base["case_ms"], 3),
        "case_ratio": round(lim["case_ms"] / base["case_ms"], 3),
        "evaluations_per_case": per_case,
        "added_us_per_case": round(added_us, 1),
        "case_ranges": {
            s: [round(min(f["case_ms"]), 3), round(max(f["case_ms"]), 3)] for s, f in figures.items()
        },
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
