"""Deploy-time rules read from the BPMN and DMN XML itself, where every element has its id.

References that point nowhere (SpiffWorkflow's parser reports those confusingly), elements no token can
reach, ids and names longer than the database holds, data stores canbao has no implementation for,
and DMN expressions under the script sandbox; `locate` finds the element a problem is reported at.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator

from lxml import etree

from . import sandbox
from .errors import Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
NS = {"bpmn": BPMN_NS}

# Limits of the columns these end up in (process_definition.key/name, case_task.spec_name/title).
MAX_ID = 100
MAX_NAME = 200

FLOW_NODES = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "task",
        "userTask",
        "manualTask",
        "serviceTask",
        "scriptTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)
SCOPES = frozenset({"subProcess", "transaction", "adHocSubProcess"})
# Elements a modeler sees and can select: a problem inside one (a condition, an event definition, a
# property) is located at it.
DIAGRAM_ELEMENTS = FLOW_NODES | {
    "process",
    "collaboration",
    "participant",
    "lane",
    "sequenceFlow",
    "messageFlow",
    "association",
    "dataObject",
    "dataObjectReference",
    "dataStore",
    "dataStoreReference",
    "textAnnotation",
    "group",
    "message",
    "signal",
    "error",
    "escalation",
    "definitions",
}


def local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def label(el: etree._Element) -> str:
    """How a message names an element: its name on one line, else its id."""
    return " ".join((el.get("name") or "").split()) or el.get("id") or local(el)


def qualified(el: etree._Element, name: str) -> str:
    """An attribute or tag as the document writes it: `camunda:formKey` (with the document's prefix)."""
    qname = etree.QName(name)
    if qname.namespace is None:
        return qname.localname
    prefix = next((p for p, ns in (el.nsmap or {}).items() if ns == qname.namespace and p), None)
    return f"{prefix or qname.namespace}:{qname.localname}"


def locate(el: etree._Element) -> str | None:
    """The id of the diagram element that holds `el` (itself, or the nearest such ancestor with an id);
    None when nothing above it has one: the problem concerns the whole document."""
    fallback = None
    for node in (el, *el.iterancestors()):
        element_id = node.get("id")
        if element_id and local(node) in DIAGRAM_ELEMENTS:
            return element_id
        fallback = fallback or element_id
    return fallback


def executable_processes(tree: etree._Element) -> list[etree._Element]:
    return [p for p in tree.iterfind("bpmn:process", NS) if p.get("isExecutable") == "true"]


def dangling_references(tree: etree._Element) -> list[Problem]:
    """Sequence flows and boundary events that name an element missing from their process.

    SpiffWorkflow's parser fails on these with a message about an unrelated element, so they are
    reported on their own and parsing is skipped.
    """
    problems = []
    for process in executable_processes(tree):
        ids = {el.get("id") for el in process.iter() if isinstance(el.tag, str) and el.get("id")}
        for el in process.iter(f"{{{BPMN_NS}}}sequenceFlow", f"{{{BPMN_NS}}}boundaryEvent"):
            refs = ("sourceRef", "targetRef") if local(el) == "sequenceFlow" else ("attachedToRef",)
            missing = [el.get(ref) or "（空）" for ref in refs if el.get(ref) not in ids]
            if missing:
                problems.append(
                    Problem(
                        el.get("id"),
                        "reference.missing",
                        f"“{label(el)}”引用了不存在的元素：{'、'.join(missing)}",
                    )
                )
    return problems


def structure_problems(tree: etree._Element) -> list[Problem]:
    problems = []
    for process in executable_processes(tree):
        problems += _length_problems(process)
        problems += _unreachable(process)
    return problems


def _length_problems(process: etree._Element) -> Iterator[Problem]:
    for el in (process, *(el for el in process.iter() if local(el) in FLOW_NODES)):
        element_id, name = el.get("id") or "", el.get("name") or ""
        if len(element_id) > MAX_ID:
            yield Problem(element_id, "element.id_too_long", f"元素 id 超过 {MAX_ID} 个字符")
        if len(name) > MAX_NAME:
            yield Problem(
                element_id or None, "element.name_too_long", f"“{name[:20]}…”的名称超过 {MAX_NAME} 个字符"
            )


def _unreachable(scope: etree._Element) -> Iterator[Problem]:
    """Flow nodes of a process or sub-process that no path from its start events reaches.

    Boundary events count as reached with the activity they are attached to, link events jump to the
    catching event of the same name, and event sub-processes and compensation handlers start on their
    own (they are triggered, not reached by a sequence flow).
    """
    nodes = {el.get("id"): el for el in scope if local(el) in FLOW_NODES and el.get("id")}
    edges: dict[str, list[str]] = defaultdict(list)
    targets = set()
    for flow in scope.iterfind("bpmn:sequenceFlow", NS):
        edges[flow.get("sourceRef")].append(flow.get("targetRef"))
        targets.add(flow.get("targetRef"))
    links: dict[str, list[str]] = defaultdict(list)
    for node_id, el in nodes.items():
        if local(el) == "boundaryEvent":
            edges[el.get("attachedToRef")].append(node_id)
        link = el.find("bpmn:linkEventDefinition", NS)
        if link is not None and local(el) == "intermediateCatchEvent":
            links[link.get("name") or ""].append(node_id)
    for node_id, el in nodes.items():
        link = el.find("bpmn:linkEventDefinition", NS)
        if link is not None and local(el) == "intermediateThrowEvent":
            edges[node_id] += links.get(link.get("name") or "", [])

    def starts_alone(el: etree._Element) -> bool:
        return el.get("triggeredByEvent") == "true" or el.get("isForCompensation") == "true"

    roots = [i for i, el in nodes.items() if local(el) == "startEvent" or starts_alone(el)]
    if not any(local(nodes[i]) == "startEvent" for i in roots):
        # No start event: BPMN starts every activity without incoming flows (SpiffWorkflow refuses
        # the process for other reasons; nothing is unreachable by this rule then).
        roots += [i for i, el in nodes.items() if i not in targets and local(el) != "boundaryEvent"]
    reached = set(roots)
    queue = deque(roots)
    while queue:
        for nxt in edges.get(queue.popleft(), []):
            if nxt in nodes and nxt not in reached:
                reached.add(nxt)
                queue.append(nxt)
    for node_id, el in nodes.items():
        if node_id not in reached:
            yield Problem(node_id, "element.unreachable", f"“{label(el)}”从开始事件无法到达")
        elif local(el) in SCOPES:
            yield from _unreachable(el)


def data_reference_problems(tree: etree._Element) -> list[Problem]:
    """Data associations of the executable processes that read from or write to a data object or data
    store reference the document does not have."""
    known = {
        el.get("id")
        for el in tree.iter(f"{{{BPMN_NS}}}dataObjectReference", f"{{{BPMN_NS}}}dataStoreReference")
    }
    problems = []
    for process in executable_processes(tree):
        for path in ("bpmn:dataInputAssociation/bpmn:sourceRef", "bpmn:dataOutputAssociation/bpmn:targetRef"):
            for ref in process.iterfind(f".//{path}", NS):
                target = (ref.text or "").strip()
                if target not in known:
                    owner = ref.getparent().getparent()
                    problems.append(
                        Problem(
                            locate(owner),
                            "data.unresolved",
                            f"“{label(owner)}”的数据关联引用了不存在的数据对象：{target or '（空）'}",
                        )
                    )
    return problems


def data_store_problems(tree: etree._Element) -> list[Problem]:
    """Data stores the executable processes use: SpiffWorkflow needs an implementation for each, and
    canbao has none (case data lives in the case; the registry is reached through service tasks)."""
    stores = {el.get("id"): el for el in tree.iter(f"{{{BPMN_NS}}}dataStore")}
    problems = []
    for process in executable_processes(tree):
        for ref in process.iter(f"{{{BPMN_NS}}}dataStoreReference"):
            store = stores.get(ref.get("dataStoreRef") or "")
            name = (store.get("name") if store is not None else None) or label(ref)
            problems.append(
                Problem(
                    ref.get("id"),
                    "data_store.unsupported",
                    f"数据存储“{name}”在 canbao 中没有实现：案件数据随案件保存，登记库通过服务任务的操作读写",
                )
            )
    return problems


# DMN: SpiffWorkflow evaluates input expressions, input entries and output entries as Python with the
# case's script engine, so they must compile under the sandbox like any script.
_DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
)
_QUESTION_MARK = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


def dmn_problems(filename: str, tree: etree._Element) -> list[Problem]:
    ns = etree.QName(tree).namespace
    if ns not in _DMN_NAMESPACES:
        return [Problem(None, "dmn.not_dmn", f"{filename} 不是 DMN 1.1–1.3 文档")]
    dmn = {"dmn": ns}
    problems = []
    for table in tree.iterfind(".//dmn:decisionTable", dmn):
        inputs = [
            (el.findtext("dmn:text", "", dmn) or "").strip()
            for el in table.iterfind("dmn:input/dmn:inputExpression", dmn)
        ]
        for source in inputs:
            problems += _dmn_check(filename, table, source, "dmn.input_unsafe", "输入表达式")
        for rule in table.iterfind("dmn:rule", dmn):
            entries = [
                (e.findtext("dmn:text", "", dmn) or "").strip() for e in rule.iterfind("dmn:inputEntry", dmn)
            ]
            for source, entry in zip(inputs, entries, strict=False):
                if entry in ("", "-"):
                    continue
                why = sandbox.check(_dmn_test(source, entry), "eval")
                if why is not None:
                    problems.append(
                        Problem(
                            rule.get("id"),
                            "dmn.rule_unsafe",
                            f"{filename} 规则条件“{entry}”不能在沙箱中编译：{why}",
                        )
                    )
            for out in rule.iterfind("dmn:outputEntry", dmn):
                problems += _dmn_check(
                    filename,
                    rule,
                    (out.findtext("dmn:text", "", dmn) or "").strip(),
                    "dmn.output_unsafe",
                    "输出值",
                )
    return problems


def _dmn_test(source: str, entry: str) -> str:
    """The expression SpiffWorkflow's DMN engine evaluates for one input entry (DMNEngine.evaluate):
    `4 < ? < 6` with the input in place of `?`, `(input) == (entry)` when the entry is an expression
    of its own, otherwise the entry appended to the input (`>= 18`)."""
    if _QUESTION_MARK.search(entry):
        return _QUESTION_MARK.sub("dmninputexpr", entry)
    try:
        ast.parse(entry)
    except SyntaxError:
        return f"{source} {entry}"
    return f"({source}) == ({entry})"


def _dmn_check(filename: str, owner: etree._Element, source: str, code: str, what: str) -> Iterable[Problem]:
    if not source:
        return []
    why = sandbox.check(source, "eval")
    if why is None:
        return []
    return [Problem(owner.get("id"), code, f"{filename} 的{what}“{source}”不能在沙箱中编译：{why}")]
