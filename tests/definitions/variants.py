"""Edited versions of bpmn/survey_registration.bpmn, as a process manager would make them, and the
folder of BPMN files from other modelers."""

from pathlib import Path

from canbao.config import PROJECT_ROOT

FIXTURES = Path(__file__).parent / "fixtures"
SURVEY = (PROJECT_ROOT / "bpmn" / "survey_registration.bpmn").read_text(encoding="utf-8")

_PRECHECK = """<bpmn:userTask id="precheck" name="材料预审">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formKey" value="review_decision" />
          <spiffworkflow:property name="dataKey" value="precheck" />
          <spiffworkflow:property name="decisions" value="approve" />
          <spiffworkflow:property name="dueIn" value="P2D" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f_precheck" sourceRef="precheck" targetRef="initial_review" />
    """


def _replace(xml: str, old: str, new: str) -> str:
    assert xml.count(old) == 1, old
    return xml.replace(old, new)


def with_precheck(xml: str = SURVEY) -> str:
    """v2: a platform user task 材料预审 between the survey and 初审."""
    xml = _replace(
        xml,
        '<bpmn:sequenceFlow id="f_survey" sourceRef="survey" targetRef="initial_review" />',
        _PRECHECK + '<bpmn:sequenceFlow id="f_survey" sourceRef="survey" targetRef="precheck" />',
    )
    return _replace(
        xml,
        "<bpmn:flowNodeRef>initial_review</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>precheck</bpmn:flowNodeRef><bpmn:flowNodeRef>initial_review</bpmn:flowNodeRef>",
    )


def with_final_review_renamed(xml: str = SURVEY) -> str:
    """A change after 初审 only: cases waiting at 初审 (with its boundary timer) can move."""
    return _replace(xml, 'name="县级审定"', 'name="县级审定（复核）"')


def with_survey_at_the_platform(xml: str = SURVEY) -> str:
    """The survey moves to the platform's lane with a new title: a waiting survey changes role."""
    xml = _replace(xml, 'name="入户调查登记">', 'name="平台代为登记">')
    xml = _replace(xml, "<bpmn:flowNodeRef>survey</bpmn:flowNodeRef>\n", "")
    return _replace(
        xml,
        "<bpmn:flowNodeRef>initial_review</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>survey</bpmn:flowNodeRef><bpmn:flowNodeRef>initial_review</bpmn:flowNodeRef>",
    )


def with_survey_replaced_by_failing_script(xml: str = SURVEY) -> str:
    """The survey becomes a script that fails when run: migrating a case waiting there must roll back."""
    start = xml.index('<bpmn:userTask id="survey"')
    end = xml.index("</bpmn:userTask>", start) + len("</bpmn:userTask>")
    script = (
        '<bpmn:scriptTask id="survey" name="入户调查登记">'
        "<bpmn:incoming>f_init</bpmn:incoming><bpmn:incoming>f_cap_resurvey</bpmn:incoming>"
        "<bpmn:outgoing>f_survey</bpmn:outgoing><bpmn:script>broken = 1 / 0</bpmn:script></bpmn:scriptTask>"
    )
    return xml[:start] + script + xml[end:]


def with_defaults_spelled_out(xml: str = SURVEY) -> str:
    """The same process as another modeler writes it: defaults left out or written out, an empty name,
    an explicit diverging direction. Nothing that changes how a case runs."""
    xml = _replace(
        xml,
        '<bpmn:startEvent id="start" name="列入调查名单">',
        '<bpmn:startEvent id="start" name="列入调查名单" isInterrupting="true">',
    )
    xml = _replace(
        xml,
        '<bpmn:userTask id="survey" name="入户调查登记">',
        '<bpmn:userTask id="survey" name="入户调查登记" isForCompensation="false" startQuantity="1"'
        ' completionQuantity="1" implementation="##unspecified">',
    )
    xml = _replace(
        xml,
        '<bpmn:exclusiveGateway id="gw_initial" name="初审结论" default="f_initial_return">',
        '<bpmn:exclusiveGateway id="gw_initial" name="初审结论" default="f_initial_return"'
        ' gatewayDirection="Unspecified">',
    )
    return _replace(
        xml,
        '<bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="init" />',
        '<bpmn:sequenceFlow id="f_start" name="" sourceRef="start" targetRef="init" />',
    )
