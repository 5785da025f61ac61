"""Every validation rule reports its problem at the element a modeler must fix, with a machine code and
a Chinese message; a valid document has no problems."""

import re

import pytest

from composition.wiring import wire
from engine import specs

from ..engine import samples

CJK = re.compile(r"[\u4e00-\u9fff]")


def _user(
    element_id: str, props: str = '<spiffworkflow:property name="formKey" value="review_decision"/>'
) -> str:
    return (
        f'<bpmn:userTask id="{element_id}" name="审核"><bpmn:extensionElements><spiffworkflow:properties>'
        f"{props}</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"
    )


def _chain(*nodes: str, flows: list[tuple[str, str]]) -> str:
    edges = "".join(f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>' for a, b in flows)
    return '<bpmn:startEvent id="start"/>' + "".join(nodes) + '<bpmn:endEvent id="end"/>' + edges


GATEWAY = (
    '<bpmn:exclusiveGateway id="gw" default="f_gw_end"/>'
    '<bpmn:sequenceFlow id="f_gw_work" sourceRef="gw" targetRef="work">'
    "<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>"
    '<bpmn:sequenceFlow id="f_gw_end" sourceRef="gw" targetRef="end"/>'
)
TIMER = (
    '<bpmn:boundaryEvent id="late" attachedToRef="work"><bpmn:timerEventDefinition id="late_def">'
    "<bpmn:timeDuration>{expression}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
    '<bpmn:sequenceFlow id="f_late" sourceRef="late" targetRef="end"/>'
)
LONG_ID = "x" * 101

CASES = {
    "xml schema": (
        samples.process(
            samples.user_task().replace('<bpmn:userTask id="work"', '\n<bpmn:userTask id="work" bogus="1"')
        ),
        [("work", "xml.schema")],
    ),
    "not executable": (
        samples.process(samples.user_task(), executable=False),
        [(None, "process.not_executable")],
    ),
    "lane not a role": (samples.process(samples.user_task(), lane="门卫"), [("work", "lane.unknown_role")]),
    "form missing": (
        samples.process(_chain(_user("work", ""), flows=[("start", "work"), ("work", "end")])),
        [("work", "form.missing")],
    ),
    "form unknown": (samples.process(samples.user_task(form="no_such_form")), [("work", "form.unknown")]),
    "operation unknown": (
        samples.process(samples.service_task("ledger.drop_all"), lane="县级经办机构"),
        [("work", "operation.unknown")],
    ),
    "operation missing": (
        samples.process(
            _chain('<bpmn:serviceTask id="work" name="调用"/>', flows=[("start", "work"), ("work", "end")])
        ),
        [("work", "operation.missing")],
    ),
    "script unsafe": (
        samples.process(samples.script_then_task("import os"), refs=("start", "boom", "work", "end")),
        [("boom", "script.unsafe")],
    ),
    "condition unsafe": (
        samples.process(
            _chain(
                _user("work"),
                GATEWAY.format(condition="approved.__class__"),
                flows=[("start", "gw"), ("work", "end")],
            ),
            refs=("start", "gw", "work", "end"),
        ),
        [("f_gw_work", "condition.unsafe")],
    ),
    "timer unsafe": (
        samples.process(
            _chain(
                _user("work"),
                TIMER.format(expression="open('/etc/passwd')"),
                flows=[("start", "work"), ("work", "end")],
            )
        ),
        [("late", "timer.unsafe")],
    ),
    "unreachable": (
        samples.process(
            _chain(
                _user("work"),
                _user("forgotten"),
                flows=[("start", "work"), ("work", "end"), ("forgotten", "end")],
            ),
            refs=("start", "work", "forgotten", "end"),
        ),
        [("forgotten", "element.unreachable")],
    ),
    "dangling reference": (
        samples.process(_chain(_user("work"), flows=[("start", "work"), ("work", "gone")])),
        [("end", "element.unreachable"), ("f_work_gone", "reference.missing")],
    ),
    "id too long": (
        samples.process(
            _chain(_user(LONG_ID), flows=[("start", LONG_ID), (LONG_ID, "end")]),
            refs=("start", LONG_ID, "end"),
        ),
        [(LONG_ID, "element.id_too_long")],
    ),
    "due date": (
        samples.process(
            samples.user_task(extra_props='<spiffworkflow:property name="dueIn" value="ten days"/>')
        ),
        [("work", "due.invalid")],
    ),
}


@pytest.fixture(autouse=True, scope="module")
def operations():
    wire()


@pytest.mark.parametrize("name", list(CASES))
def test_each_rule_is_located_at_its_element(name):
    xml, expected = CASES[name]
    problems = specs.validate(xml)
    assert [(p.element_id, p.code) for p in problems] == expected
    assert all(CJK.search(p.message) for p in problems)


def test_every_problem_of_a_document_is_reported_at_once():
    xml = samples.process(
        _chain(
            _user("work", '<spiffworkflow:property name="formKey" value="nope"/>'),
            '<bpmn:serviceTask id="call" name="调用"/>',
            GATEWAY.format(condition="x ==="),
            flows=[("start", "work"), ("work", "call"), ("call", "gw")],
        ),
        lane="门卫",
        refs=("start", "work", "call", "gw", "end"),
    )
    found = {(p.element_id, p.code) for p in specs.validate(xml)}
    assert found == {
        ("f_gw_work", "condition.unsafe"),
        ("work", "lane.unknown_role"),
        ("work", "form.unknown"),
        ("call", "operation.missing"),
    }


def test_a_valid_document_has_no_problems():
    assert specs.validate(samples.process(samples.user_task())) == []
