"""What canbao needs of each task of the executable processes, read from the XML so that every task is
checked even where SpiffWorkflow's parser stops at the first element it cannot parse: a user task's
role, form, due time, decisions and separation of duties; a service task's operation; a call
activity's process; a business rule task's decision.

Roles follow SpiffWorkflow's reading of lanes (`specs.role_of` at run time): a task's lane is the
innermost lane listing it, and the tasks of an embedded sub-process take the sub-process's lane when it
has one. A `role` property (what a Camunda or Flowable candidate group becomes) names the role of a
task that no lane gives one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from lxml import etree

import forms
from canbao.actors import ROLE_BY_NAME, ROLES

from . import operations
from .errors import Problem
from .grants import KINDS as AUTHORIZATIONS
from .lint import BPMN_NS, CAMUNDA_NS, SCOPES, ZEEBE_NS, executable_processes, label, local

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
# The review decisions a user task may offer (`decisions` property), with their names on the pages.
DECISIONS = {"approve": "同意", "return": "退回", "reject": "不予登记"}
FLOWABLE_NS = "http://flowable.org/bpmn"
ACTIVITI_NS = "http://activiti.org/bpmn"
_SERVICE_WIRING = ("class", "delegateExpression", "expression", "topic", "type")

Origins = dict[tuple[str | None, str], str]


def properties(el: etree._Element) -> dict[str, str]:
    """A task's `spiffworkflow:property` elements, as SpiffWorkflow reads them."""
    return {
        p.get("name"): p.get("value") or ""
        for p in el.iterfind("bpmn:extensionElements/spiffworkflow:properties//spiffworkflow:property", NS)
        if p.get("name")
    }


def role(lane: str | None, props: dict[str, str]) -> str | None:
    return ROLE_BY_NAME.get(lane or "") or ROLE_BY_NAME.get(props.get("role", ""))


def problems(tree: etree._Element, *, origins: Origins, decisions: set[str], due_at) -> list[Problem]:
    """Every task problem of the document's executable processes, in document order. `decisions` are
    the DMN decision ids uploaded with it; `due_at` computes a due time from an ISO 8601 duration."""
    lanes = {
        ref.text.strip(): ref.getparent().get("name")
        for ref in tree.iter(f"{{{BPMN_NS}}}flowNodeRef")
        if ref.text and ref.text.strip()
    }
    found: list[Problem] = []
    for process in executable_processes(tree):
        found += _scope(process, None, lanes, origins, decisions, due_at)
    return found


def _scope(scope, inherited, lanes, origins, decisions, due_at) -> list[Problem]:
    found: list[Problem] = []
    user_tasks = {el.get("id") for el in scope if local(el) in ("userTask", "manualTask")}
    for el in scope:
        tag, element_id = local(el), el.get("id")
        lane = inherited if inherited is not None else lanes.get(element_id or "")
        if tag in ("userTask", "manualTask"):
            found += _user_task(el, lane, user_tasks, origins, due_at)
        elif tag == "serviceTask":
            found += _service_task(el, origins)
        elif tag == "callActivity" and not el.get("calledElement"):
            found.append(Problem(element_id, "call.unknown", f"调用活动“{label(el)}”没有指定被调用的流程"))
        elif tag == "businessRuleTask":
            found += _business_rule_task(el, decisions, origins)
        if tag in SCOPES:
            found += _scope(el, lane, lanes, origins, decisions, due_at)
    return found


def _user_task(el, lane, user_tasks, origins, due_at) -> Iterator[Problem]:
    element_id, name = el.get("id"), label(el)
    props = properties(el)

    def origin(prop: str) -> str | None:
        return origins.get((element_id, prop))

    named = props.get("role")
    lane_role = ROLE_BY_NAME.get(lane or "")
    known = "、".join(ROLES.values())
    if named is not None and named not in ROLE_BY_NAME:
        yield Problem(
            element_id,
            "role.unknown",
            f"用户任务“{name}”的岗位“{named}”不是已知岗位：{known}",
            origin("role"),
        )
    elif named is not None and lane_role is not None and ROLE_BY_NAME[named] != lane_role:
        yield Problem(
            element_id,
            "role.conflict",
            f"用户任务“{name}”在泳道“{lane}”中，却指定了另一个岗位“{named}”",
            origin("role"),
        )
    elif lane_role is None and named is None:
        hint = "，也没有用候选组（candidateGroups）指定岗位" if lane is None else ""
        yield Problem(
            element_id,
            "lane.unknown_role",
            f"用户任务“{name}”所在泳道“{lane or '（无泳道）'}”不是已知岗位：{known}{hint}",
        )
    form_key, known_forms = props.get("formKey"), forms.keys()
    if not form_key:
        yield Problem(element_id, "form.missing", f"用户任务“{name}”没有指定表单（formKey）")
    elif form_key not in known_forms:
        yield Problem(
            element_id,
            "form.unknown",
            f"用户任务“{name}”的表单不存在：{form_key}（可用的表单：{'、'.join(known_forms)}）",
            origin("formKey"),
        )
    if "dueIn" in props:
        try:
            due_at(props["dueIn"], datetime.now(UTC))
        except Exception:
            yield Problem(
                element_id,
                "due.invalid",
                f"用户任务“{name}”的办理时限不是 ISO 8601 时长：{props['dueIn']}",
                origin("dueIn"),
            )
    if "decisions" in props and not set(props["decisions"].split(",")) <= DECISIONS.keys():
        yield Problem(
            element_id,
            "decisions.invalid",
            f"用户任务“{name}”的审核结论只能是 approve、return、reject：{props['decisions']}",
            origin("decisions"),
        )
    unknown = [t for t in props.get("separateFrom", "").split(",") if t and t not in user_tasks]
    if "separateFrom" in props and (unknown or not props["separateFrom"]):
        yield Problem(
            element_id,
            "separate_from.unknown",
            f"用户任务“{name}”要求与不存在的任务分人办理：{'、'.join(unknown) or '（空）'}",
            origin("separateFrom"),
        )
    if "authorization" in props and props["authorization"] not in AUTHORIZATIONS:
        yield Problem(
            element_id,
            "authorization.unknown",
            f"用户任务“{name}”要求的审定授权种类不存在：{props['authorization']}"
            f"（可用：{'、'.join(AUTHORIZATIONS)}）",
            origin("authorization"),
        )


def _service_task(el: etree._Element, origins: Origins) -> Iterator[Problem]:
    operator = el.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
    name = label(el)
    if operator is not None and operator.get("id"):
        if operations.get(operator.get("id")) is None:
            yield Problem(
                el.get("id"), "operation.unknown", f"服务任务“{name}”调用了未登记的操作：{operator.get('id')}"
            )
        return
    how, attribute = _foreign_wiring(el)
    yield Problem(
        el.get("id"),
        "operation.missing",
        f"服务任务“{name}”没有指定操作（spiffworkflow:serviceTaskOperator）"
        + (f"；不支持 {how}" if how else ""),
        attribute,
    )


def _foreign_wiring(el: etree._Element) -> tuple[str | None, str | None]:
    """How another engine wires the service task to code (a Java class, an expression, a topic)."""
    for namespace in (CAMUNDA_NS, FLOWABLE_NS, ACTIVITI_NS):
        for name in _SERVICE_WIRING:
            value = el.get(f"{{{namespace}}}{name}")
            if value:
                attribute = _qualified(el, namespace, name)
                return f"{attribute}={value}", attribute
    zeebe = el.find(f".//{{{ZEEBE_NS}}}taskDefinition")
    if zeebe is not None:
        return f"zeebe:taskDefinition type={zeebe.get('type')}", "zeebe:taskDefinition"
    return None, None


def _qualified(el: etree._Element, namespace: str, name: str) -> str:
    prefix = next((p for p, ns in (el.nsmap or {}).items() if ns == namespace and p), namespace)
    return f"{prefix}:{name}"


def _business_rule_task(el: etree._Element, decisions: set[str], origins: Origins) -> Iterator[Problem]:
    decision = (el.findtext("bpmn:extensionElements/spiffworkflow:calledDecisionId", None, NS) or "").strip()
    name = label(el)
    if not decision:
        yield Problem(
            el.get("id"),
            "dmn.decision_unnamed",
            f"业务规则任务“{name}”没有指定决策（spiffworkflow:calledDecisionId）",
        )
    elif decision not in decisions:
        yield Problem(
            el.get("id"),
            "dmn.decision_missing",
            f"业务规则任务“{name}”引用的决策“{decision}”不存在，请一并上传定义它的 DMN 文件",
            origins.get((el.get("id"), "calledDecisionId")),
        )
