"""Small BPMN documents for engine tests (no diagram; the parser does not need one)."""

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'id="Definitions_test" targetNamespace="http://canbao.example/bpmn">'
)


def process(
    body: str,
    *,
    key: str = "sample",
    lane: str = "基层平台",
    executable: bool = True,
    refs: tuple[str, ...] = ("start", "work", "end"),
) -> str:
    refs_xml = "".join(f"<bpmn:flowNodeRef>{r}</bpmn:flowNodeRef>" for r in refs)
    return (
        f'{HEAD}<bpmn:process id="{key}" name="测试流程" isExecutable="{"true" if executable else "false"}">'
        f'<bpmn:laneSet id="ls"><bpmn:lane id="lane1" name="{lane}">{refs_xml}</bpmn:lane></bpmn:laneSet>'
        f"{body}</bpmn:process></bpmn:definitions>"
    )


def user_task(form: str = "review_decision", extra_props: str = "") -> str:
    return (
        '<bpmn:startEvent id="start"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>'
        '<bpmn:userTask id="work" name="审核"><bpmn:extensionElements><spiffworkflow:properties>'
        f'<spiffworkflow:property name="formKey" value="{form}"/>{extra_props}'
        "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"
        '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>'
        '<bpmn:endEvent id="end"/>'
    )


def script_then_task(script: str) -> str:
    """start → script task "boom" → user task → end."""
    escaped = script.replace("&", "&amp;").replace("<", "&lt;")
    return (
        '<bpmn:startEvent id="start"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="boom"/>'
        f'<bpmn:scriptTask id="boom" name="计算"><bpmn:script>{escaped}</bpmn:script></bpmn:scriptTask>'
        '<bpmn:sequenceFlow id="f1" sourceRef="boom" targetRef="work"/>'
        '<bpmn:userTask id="work" name="审核"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formKey" value="review_decision"/>'
        "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"
        '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>'
        '<bpmn:endEvent id="end"/>'
    )


def task_then_script(script: str) -> str:
    """start → user task → script task "boom" → end: the script runs when the task completes."""
    escaped = script.replace("&", "&amp;").replace("<", "&lt;")
    return (
        '<bpmn:startEvent id="start"/>'
        '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="work"/>'
        '<bpmn:userTask id="work" name="审核"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formKey" value="review_decision"/>'
        "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"
        '<bpmn:sequenceFlow id="f1" sourceRef="work" targetRef="boom"/>'
        f'<bpmn:scriptTask id="boom" name="计算"><bpmn:script>{escaped}</bpmn:script></bpmn:scriptTask>'
        '<bpmn:sequenceFlow id="f2" sourceRef="boom" targetRef="end"/>'
        '<bpmn:endEvent id="end"/>'
    )


def service_task(operation: str) -> str:
    return (
        '<bpmn:startEvent id="start"/>'
        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>'
        f'<bpmn:serviceTask id="work" name="调用"><bpmn:extensionElements>'
        f'<spiffworkflow:serviceTaskOperator id="{operation}" resultVariable="out">'
        "<spiffworkflow:parameters/></spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>"
        '<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end"/>'
        '<bpmn:endEvent id="end"/>'
    )
