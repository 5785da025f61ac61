"""Every script and condition runs under a time limit, and no single operation may build something huge:
a runaway script fails its step with a problem naming the element, and the case is left as it was."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from canbao.audit.models import AuditEvent
from engine import cases, definitions
from engine.errors import ScriptLimit
from engine.limits import LimitExceeded
from engine.models import Case
from engine.sandbox import ENVIRONMENT, RestrictedEnvironment

from . import samples
from .office import APPROVE, MANAGER, PLATFORM1


def bounded(call: Callable[[], Any], seconds: float = 60) -> Any:
    """`call()`'s result, raising what it raised; fails the test instead of hanging when it never ends."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as err:
            outcome["error"] = err

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


RUNAWAY = {
    "while": "while True:\n    pass",
    "swallowed": "while True:\n    try:\n        x = 1\n    except Exception:\n        pass",
    "bare except": "while True:\n    try:\n        x = 1\n    except:\n        pass",
    "finally continue": "while True:\n    try:\n        x = 1\n    finally:\n        continue",
    "nested for": "n = 0\nfor i in range(10**6):\n    for j in range(10**6):\n        n += 1",
    "comprehension": "r = list(range(1000))\nx = [a for a in r for b in r for c in r]",
    "recursion": "def f(n):\n    return f(n - 1) + f(n - 1) if n else 1\nx = f(60)",
    "caught in a function": (
        "def spin():\n    while True:\n        pass\n"
        "while True:\n    try:\n        spin()\n    except Exception:\n        pass"
    ),
}

# A list holding one long string ten thousand times: small in memory, ten gigabytes as text.
_MANY_REFERENCES = "s = 'x' * 10 ** 6\nl = []\nfor i in range(10 ** 4):\n    l.append(s)"
HUGE = {
    "power": "x = 2 ** 10 ** 9",
    "pow()": "x = pow(2, 10 ** 9)",
    "repeated string": "x = 'x' * 10 ** 10",
    "repeated list": "x = [0] * 10 ** 10",
    "shift": "x = 1 << 10 ** 10",
    "product": "x = 10 ** 4000\nfor i in range(10):\n    x = x * x",
    "doubling": "s = 'ab'\nwhile True:\n    s = s + s",
    "doubling in place": "s = [1]\nfor i in range(60):\n    s += s",
    "repeating in place": "s = 'ab'\nfor i in range(60):\n    s *= 2",
    "slice doubling": "s = [1]\nfor i in range(60):\n    s[:0] = s",
    "extend": "s = [1]\nfor i in range(60):\n    s.extend(s)",
    "range": "x = sum(range(10 ** 12))",
    "bytes": "x = bytes(10 ** 10)",
    "to_bytes": "x = (1).to_bytes(10 ** 10, 'big')",
    "round": "x = round(5, -10 ** 9)",
    "width in f-string": "x = f'{1:>10000000000}'",
    "computed width": "w = 10 ** 10\nx = f'{1:>{w}}'",
    "printf width": "x = '%10000000000d' % 1",
    "printf star": "x = '%*d' % (10 ** 10, 1)",
    "replace": "s = 'x' * 10 ** 6\nx = s.replace('x', s)",
    "join": "s = 'x' * 10 ** 6\nx = ''.join(s for i in range(10 ** 4))",
    "padding": "x = 'x'.center(10 ** 10)",
    "zfill": "x = '1'.zfill(10 ** 10)",
    "expandtabs": "x = ('\\t' * 10 ** 6).expandtabs(10 ** 6)",
    "translate": "s = 'x' * 10 ** 6\nx = s.translate({120: s})",
    "rendered list": f"{_MANY_REFERENCES}\nx = str(l)",
    "rendered in f-string": f"{_MANY_REFERENCES}\nx = f'{{l}}'",
    "rendered by %": f"{_MANY_REFERENCES}\nx = '%s' % (l,)",
    "repr": f"{_MANY_REFERENCES}\nx = repr(l)",
    "sum of lists": "x = sum([[0] * 1000] * 1000, [])",
}


@pytest.mark.parametrize("script", RUNAWAY.values(), ids=RUNAWAY.keys())
def test_a_runaway_script_stops_at_the_time_limit(script):
    environment = RestrictedEnvironment(time_limit_ms=100)
    with pytest.raises(LimitExceeded, match="100 毫秒"):
        bounded(lambda: environment.execute(script, {}, {}))


@pytest.mark.parametrize("script", HUGE.values(), ids=HUGE.keys())
def test_one_operation_cannot_build_something_huge(script):
    with pytest.raises(LimitExceeded):
        bounded(lambda: ENVIRONMENT.execute(script, {}, {}))


@pytest.mark.parametrize(
    "expression",
    [
        "sum(1 for a in range(1000) for b in range(1000) for c in range(1000)) > 0",
        "2 ** 10 ** 9 > 0",
        "len('x' * 10 ** 10) > 0",
    ],
)
def test_conditions_run_under_the_same_limits(expression):
    environment = RestrictedEnvironment(time_limit_ms=100)
    with pytest.raises(LimitExceeded):
        bounded(lambda: environment.evaluate(expression, {}, {}))


def test_ordinary_scripts_are_untouched():
    data = {"returns": 2, "items": [1, 2, 3], "name": "张三", "check": {"decision": "approve"}}
    script = "\n".join(
        [
            "returns = returns + 1",
            "total = sum(items) + sum(i * 2 for i in items)",
            "line = '-' * 20 + name * 2",
            "label = f'{name:>6}|{total:05d}|{1.5:.2f}'",
            "code = '%s-%04d' % (name, 7)",
            "big = 2 ** 64 * 3 + (1 << 70)",
            "pairs = []",
            "for k, v in {'a': 1, 'b': 2}.items():",
            "    pairs.append(k + str(v))",
            "n = 0",
            "while n < 1000:",
            "    n += 1",
            "joined = ','.join(pairs).replace('a', 'A').center(9, '*')",
            "def twice(x):",
            "    return x * 2",
            "try:",
            "    boom = 1 / 0",
            "except ZeroDivisionError:",
            "    boom = None",
            "ok = isinstance(name, str) and str(12) == '12' and len(range(3)) == 3",
            "rounded = round(2.675, 2)",
            "doubled = twice(21)",
        ]
    )
    ENVIRONMENT.execute(script, data, {})
    assert data["returns"] == 3 and data["total"] == 18 and data["line"] == "-" * 20 + "张三张三"
    assert data["label"] == "    张三|00018|1.50" and data["code"] == "张三-0007"
    assert data["big"] == 2**64 * 3 + 2**70 and data["n"] == 1000 and data["joined"] == "**A1,b2**"
    assert data["boom"] is None and data["ok"] is True and data["doubled"] == 42
    assert ENVIRONMENT.evaluate('check["decision"] == "approve" and returns >= 3', data, {}) is True


def _snapshot(db, case_id):
    with db.sessions() as s:
        case = s.get(Case, case_id)
        return case.version, case.state, s.scalar(select(func.count()).select_from(AuditEvent))


def _deploy(office, body: str, refs: tuple[str, ...]) -> None:
    with office.db.sessions() as s, s.begin():
        definitions.deploy(s, actor=MANAGER, bpmn_xml=samples.process(body, refs=refs))


def _start(office) -> int:
    with office.db.sessions() as s, s.begin():
        return cases.start(s, actor=PLATFORM1, process_key="sample", area="370102001002").id


def test_a_looping_script_fails_its_step_naming_the_element(office):
    looping = samples.task_then_script("n = 0\nwhile True:\n    n += 1")
    _deploy(office, looping, ("start", "work", "boom", "end"))
    case_id = _start(office)
    before = _snapshot(office.db, case_id)
    with pytest.raises(ScriptLimit) as err:
        bounded(lambda: office.complete(PLATFORM1, case_id, "work", APPROVE))
    assert (err.value.code, err.value.status, err.value.task, err.value.line) == (
        "case.script_limit",
        422,
        "boom",
        2,
    )
    assert "计算" in err.value.detail and "boom" in err.value.detail and "毫秒" in err.value.detail
    assert _snapshot(office.db, case_id) == before
    assert office.task(case_id).spec_name == "work"


GATEWAY = (
    '<bpmn:startEvent id="start"/>'
    '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="work"/>'
    '<bpmn:userTask id="work" name="审核"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="formKey" value="review_decision"/>'
    "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"
    '<bpmn:sequenceFlow id="f1" sourceRef="work" targetRef="choose"/>'
    '<bpmn:exclusiveGateway id="choose" name="是否通过" default="f3"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="choose" targetRef="end">'
    '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
    "sum(1 for a in range(1000) for b in range(1000) for c in range(1000)) &gt; 0"
    "</bpmn:conditionExpression></bpmn:sequenceFlow>"
    '<bpmn:sequenceFlow id="f3" sourceRef="choose" targetRef="end"/>'
    '<bpmn:endEvent id="end"/>'
)


def test_a_runaway_condition_fails_its_step_naming_the_gateway(office):
    _deploy(office, GATEWAY, ("start", "work", "choose", "end"))
    case_id = _start(office)
    before = _snapshot(office.db, case_id)
    with pytest.raises(ScriptLimit) as err:
        bounded(lambda: office.complete(PLATFORM1, case_id, "work", APPROVE))
    assert err.value.task == "choose" and "是否通过" in err.value.detail
    assert _snapshot(office.db, case_id) == before


def test_a_looping_post_script_fails_the_completion(office):
    post = "<spiffworkflow:postScript>while True:\n    pass</spiffworkflow:postScript>"
    body = samples.user_task().replace("</spiffworkflow:properties>", "</spiffworkflow:properties>" + post)
    _deploy(office, body, ("start", "work", "end"))
    case_id = _start(office)
    before = _snapshot(office.db, case_id)
    with pytest.raises(ScriptLimit) as err:
        bounded(lambda: office.complete(PLATFORM1, case_id, "work", APPROVE))
    assert err.value.task == "work"
    assert _snapshot(office.db, case_id) == before


LOOP = (
    '<bpmn:startEvent id="start"/>'
    '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="work"/>'
    '<bpmn:userTask id="work" name="审核"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="formKey" value="review_decision"/>'
    "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"
    '<bpmn:sequenceFlow id="f1" sourceRef="work" targetRef="again"/>'
    '<bpmn:scriptTask id="again" name="计数"><bpmn:script>n = 1</bpmn:script></bpmn:scriptTask>'
    '<bpmn:sequenceFlow id="f2" sourceRef="again" targetRef="choose"/>'
    '<bpmn:exclusiveGateway id="choose" name="再来一次" default="f3"/>'
    '<bpmn:sequenceFlow id="f3" sourceRef="choose" targetRef="again"/>'
    '<bpmn:sequenceFlow id="f4" sourceRef="choose" targetRef="end">'
    '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">n &gt; 1</bpmn:conditionExpression>'
    "</bpmn:sequenceFlow>"
    '<bpmn:endEvent id="end"/>'
)


def test_a_loop_of_steps_without_a_wait_fails_the_step(office):
    """Each script ends at once, but the process goes round without waiting for anyone."""
    _deploy(office, LOOP, ("start", "work", "again", "choose", "end"))
    case_id = _start(office)
    before = _snapshot(office.db, case_id)
    with pytest.raises(ScriptLimit) as err:
        bounded(lambda: office.complete(PLATFORM1, case_id, "work", APPROVE))
    assert err.value.task in ("again", "choose")
    assert _snapshot(office.db, case_id) == before
