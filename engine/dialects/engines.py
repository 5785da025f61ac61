"""What the settings of Camunda 7, Flowable (and Activiti, which both descend from) and Camunda 8 mean
to canbao: each attribute and extension element either maps to a canbao property, is ignored because it
does not change how a case runs here, is left to a rule of its own (service-task wiring), or is refused
with the reason.

canbao's properties are `spiffworkflow:property` elements (formKey, dataKey, decisions, dueIn,
separateFrom, escalation, role); a user task's role is its lane, or the `role` property that a single
candidate group becomes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
FLOWABLE = "http://flowable.org/bpmn"
ACTIVITI = "http://activiti.org/bpmn"
MODELER = "http://camunda.org/schema/modeler/1.0"
FLOWABLE_MODELER = "http://flowable.org/modeler"

ENGINES = {
    CAMUNDA: "Camunda 7",
    ZEEBE: "Camunda 8",
    FLOWABLE: "Flowable",
    ACTIVITI: "Activiti",
    MODELER: "Camunda Modeler",
    FLOWABLE_MODELER: "Flowable Modeler",
}
JUEL_ENGINES = frozenset({CAMUNDA, FLOWABLE, ACTIVITI})
CANBAO_PROPERTIES = frozenset(
    {"formKey", "dataKey", "decisions", "dueIn", "separateFrom", "escalation", "role"}
)


@dataclass(frozen=True)
class Property:
    """Becomes the canbao property `name` (a role, a form, a due time…)."""

    name: str
    value: str


@dataclass(frozen=True)
class Decision:
    """Becomes the decision a business rule task evaluates (spiffworkflow:calledDecisionId)."""

    value: str


@dataclass(frozen=True)
class Ignored:
    reason: str


@dataclass(frozen=True)
class Refused:
    reason: str


@dataclass(frozen=True)
class Wiring:
    """How another engine calls code from a service task: reported by the operation rule."""


Outcome = Property | Decision | Ignored | Refused | Wiring

_ROLE_BY_DESIGN = "canbao 按岗位（泳道或候选组）分派任务，由本岗位人员认领"
_TRANSACTIONS = "canbao 在每一步的事务中运行流程，不需要异步延续或作业设置"
_ENGINE_ONLY = "只对原引擎的运行管理有意义，不影响案件怎样办理"


def attribute(namespace: str, name: str, element: str, value: str) -> Outcome:
    """What an attribute of `element` (a BPMN local name) in an engine's namespace becomes."""
    if namespace in (MODELER, FLOWABLE_MODELER):
        return Ignored("建模工具的元数据")
    if name == "formKey":
        if element == "userTask":
            return Property("formKey", value)
        return Refused("canbao 的案件由业务入口发起并带入数据，只有用户任务能指定表单")
    if name == "candidateGroups":
        return _candidate_groups(value)
    if name == "assignee":
        return Refused(
            f"{_ROLE_BY_DESIGN}，不能在流程图中指定办理人“{value}”；请删除它，用 candidateGroups 指定岗位"
        )
    if name == "candidateUsers":
        return Refused(f"{_ROLE_BY_DESIGN}，不能在流程图中指定候选人“{value}”；请用 candidateGroups 指定岗位")
    if name == "dueDate":
        return _due(value)
    if name == "decisionRef" and element == "businessRuleTask":
        if value.startswith(("${", "#{")):
            return Refused(f"决策须在流程图中写明，不能用表达式“{value}”选择")
        return Decision(value)
    if name in ("class", "delegateExpression", "expression", "topic", "type") and element in (
        "serviceTask",
        "sendTask",
    ):
        return Wiring()
    if name == "resultVariable":
        return Refused("canbao 把决策表或脚本的结果直接写入案件数据，不支持 resultVariable")
    if name in ("followUpDate", "priority"):
        return Ignored("canbao 的待办按办理时限排序，不使用跟进日期和优先级")
    if name in ("asyncBefore", "asyncAfter", "async", "exclusive", "jobPriority", "taskPriority"):
        return Ignored(_TRANSACTIONS)
    if name in ("historyTimeToLive", "versionTag", "isStartableInTasklist", "category"):
        return Ignored(_ENGINE_ONLY)
    if name in ("candidateStarterGroups", "candidateStarterUsers"):
        return Ignored("谁能发起案件由 canbao 的岗位权限决定")
    if name == "initiator":
        return Ignored("canbao 在审计记录中记下发起人，不另设流程变量")
    if name in ("formFieldValidation", "decisionRefBinding", "decisionRefVersion", "mapDecisionResult"):
        return Ignored(_ENGINE_ONLY)
    return Refused("canbao 不认识该设置，无法确定它对案件办理的影响")


def extension(namespace: str, name: str, element: str) -> Outcome:
    """What an extension element (a child of bpmn:extensionElements) in an engine's namespace becomes;
    properties (camunda:properties, zeebe:properties) and Camunda 8's form and assignment elements are
    read by the importer itself."""
    if namespace in (MODELER, FLOWABLE_MODELER):
        return Ignored("建模工具的元数据")
    if name in ("taskListener", "executionListener"):
        return Refused("canbao 不运行监听器中的 Java 类、表达式或脚本；需要的处理请画成服务任务或脚本任务")
    if name in ("inputOutput", "ioMapping", "in", "out"):
        return Refused("canbao 不做变量映射：各环节读写同一份案件数据")
    if name in ("formData", "formField", "formProperty"):
        return Refused("canbao 的表单由 formKey 指定的表单定义给出，不在流程图中定义表单字段")
    if name == "field":
        return Refused("字段注入只对原引擎的 Java 委托类有意义")
    if name in ("taskDefinition", "taskHeaders") and element in ("serviceTask", "sendTask"):
        return Wiring()
    if name in ("failedJobRetryTimeCycle", "userTask"):
        return Ignored(_TRANSACTIONS if name == "failedJobRetryTimeCycle" else _ENGINE_ONLY)
    if name in ("connector", "script"):
        return Refused("canbao 不运行原引擎的连接器或脚本；请改用已登记的服务任务操作")
    return Refused("canbao 不认识该设置，无法确定它对案件办理的影响")


def _candidate_groups(value: str) -> Outcome:
    if value.startswith(("${", "#{", "=")):
        return Refused(f"候选组须在流程图中写明，不能用表达式“{value}”计算")
    groups = [g.strip() for g in value.split(",") if g.strip()]
    if len(groups) != 1:
        return Refused(f"canbao 的每个用户任务只属于一个岗位，这里有 {len(groups)} 个候选组：{value}")
    return Property("role", groups[0])


_PLUS = re.compile(r"^[$#]\{\s*dateTime\(\)\.plus(Minutes|Hours|Days|Weeks)\((\d+)\)\.toDate\(\)\s*\}$")
_FEEL_PLUS = re.compile(r"^=\s*now\(\)\s*\+\s*duration\(\s*\"(P[0-9A-Z.]+)\"\s*\)\s*$")


def _due(value: str) -> Outcome:
    """A due date relative to the task's creation: an ISO 8601 duration, Camunda 7's
    `${dateTime().plusDays(5).toDate()}` or Camunda 8's `=now() + duration("P5D")`."""
    text = value.strip()
    plus, feel = _PLUS.match(text), _FEEL_PLUS.match(text)
    if plus is not None:
        unit, n = plus.groups()
        text = {"Minutes": f"PT{n}M", "Hours": f"PT{n}H", "Days": f"P{n}D", "Weeks": f"P{n}W"}[unit]
    elif feel is not None:
        text = feel.group(1)
    if is_duration(text):
        return Property("dueIn", text)
    return Refused(
        "办理时限须是相对任务创建时间的 ISO 8601 时长（如 P5D、PT48H）；"
        f"“{value}”是具体日期或表达式，canbao 不能换算"
    )


def is_duration(text: str) -> bool:
    if not text.startswith("P"):
        return False
    try:
        TimerEventDefinition.parse_iso_duration(text)
    except Exception:
        return False
    return True
