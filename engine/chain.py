"""The 规程's chain of responsibility, checked on every deploy of a process that writes the registry.

Who must have decided before data enter the registry depends on how they were collected:

- 第十九条 (入户调查): the 基层平台 审核 (初审), then the 县级经办机构 审定 under the 市级经办机构's grant;
- 第二十一条 (变更, and the correction of a number): 初审 by the 基层平台, then 审定 by the 县级人力资源
  社会保障部门 under the 市级人力资源社会保障部门's grant;
- 第十三条 (窗口): 录入校核 by a second clerk;
- 第二十三条 (自助): 确认 by the 经办机构;
- 第三十二条: every outcome's paperwork, 不予登记 / 不予变更 included, is 归档.

A user task says which of these duties it performs with its `duty` property (initial_review, final_review,
check, confirm) and a 审定 names the grant it needs (`authorization`, see `grants`). On deploy, for a
process key that writes the registry (a service task calling a `registry.*` operation), every path from
the start to a registry write must pass the completion of a task of each duty its article requires (a
boundary event leaves its task uncompleted), each such task must sit in the lane of the role the duty
belongs to, and every path to an end must pass 归档 (`archive.seal`). A manager cannot delete the
县级审定 and deploy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from canbao.actors import ROLES

from .errors import Problem
from .lint import BPMN_NS, label, local
from .task_rules import properties, role

ARCHIVE = "archive.seal"
REGISTRY = "registry."


@dataclass(frozen=True)
class Duty:
    key: str
    title: str
    role: str


DUTIES = {
    "initial_review": Duty("initial_review", "基层平台初审", "platform_reviewer"),
    "final_review": Duty("final_review", "县级审定", "county_approver"),
    "check": Duty("check", "录入校核", "counter_clerk"),
    "confirm": Duty("confirm", "经办机构确认", "county_approver"),
}


@dataclass(frozen=True)
class Chain:
    article: str
    duties: tuple[str, ...]
    authorization: str | None = None  # the grant every final_review of the process must require


SURVEY = Chain("第十九条", ("initial_review", "final_review"), "survey")
CHANGE = Chain("第二十一条", ("initial_review", "final_review"), "change")
CHAINS = {
    "survey_registration": SURVEY,
    "change_approval": CHANGE,
    "id_correction": CHANGE,
    "counter_collection": Chain("第十三条", ("check",)),
    "self_service_update": Chain("第二十三条", ("confirm",)),
}
"""Process keys and the article their registry writes answer to. Any other process that writes the
registry answers to 第十九条's chain, the fullest one."""


def chain_of(key: str) -> Chain:
    return CHAINS.get(key, SURVEY)


@dataclass
class _Node:
    el: etree._Element
    duty: str | None = None
    operation: str | None = None
    writes: bool = False  # the node itself, or a sub-process within it, writes the registry


def problems(tree: etree._Element, *, key: str) -> list[Problem]:
    """Every break of the chain in the main process `key` of a document (empty when it writes nothing)."""
    process = next((p for p in tree.iter(f"{{{BPMN_NS}}}process") if p.get("id") == key), None)
    if process is None:
        return []
    graph = _Graph(process)
    writes = [n for n in graph.nodes.values() if n.writes]
    if not writes:
        return []
    chain = chain_of(key)
    found = list(_lanes(process, graph, chain))
    for duty in chain.duties:
        for write in writes:
            path = graph.path_avoiding(write.el.get("id"), lambda n, d=duty: n.duty == d)
            if path is not None:
                found.append(
                    Problem(
                        write.el.get("id"),
                        "chain.skips_duty",
                        f"“{label(write.el)}”写入登记库，但存在不经{DUTIES[duty].title}的路径"
                        f"（{chain.article}）：{' → '.join(path)}",
                    )
                )
    for end in graph.ends():
        path = graph.path_avoiding(end.get("id"), lambda n: n.operation == ARCHIVE)
        if path is not None:
            found.append(
                Problem(
                    end.get("id"),
                    "chain.no_archive",
                    f"结束事件“{label(end)}”可以不经归档到达（第三十二条：各种办理结果的材料都应归档）："
                    f"{' → '.join(path)}",
                )
            )
    return found


def _lanes(process: etree._Element, graph: _Graph, chain: Chain) -> Iterator[Problem]:
    """Each duty in the lane of its role, each 审定 requiring the process's grant, each 校核 by a second
    clerk (第十三条: 录入校核)."""
    lanes = {
        ref.text.strip(): ref.getparent().get("name")
        for ref in process.iter(f"{{{BPMN_NS}}}flowNodeRef")
        if ref.text and ref.text.strip()
    }
    for node in graph.nodes.values():
        if node.duty is None:
            continue
        element_id, name, props = node.el.get("id"), label(node.el), properties(node.el)
        duty = DUTIES.get(node.duty)
        if duty is None:
            known = "、".join(f"{d.key}（{d.title}）" for d in DUTIES.values())
            yield Problem(
                element_id, "duty.unknown", f"用户任务“{name}”的职责“{node.duty}”不存在（可用：{known}）"
            )
            continue
        lane = lanes.get(element_id)
        in_lane = role(lane, props)
        if in_lane is not None and in_lane != duty.role:  # a lane of no known role is reported already
            yield Problem(
                element_id,
                "duty.lane",
                f"“{name}”是{duty.title}，应由{ROLES[duty.role]}办理，却在泳道“{lane or '（无）'}”中",
            )
        if (
            node.duty == "final_review"
            and chain.authorization
            and props.get("authorization") != chain.authorization
        ):
            yield Problem(
                element_id,
                "duty.authorization",
                f"“{name}”是{chain.article}规定的县级审定，应要求“{chain.authorization}”种类的市级授权"
                f"（authorization），实际为“{props.get('authorization') or '（无）'}”",
            )
        if node.duty == "check" and not props.get("separateFrom"):
            yield Problem(
                element_id,
                "duty.separation",
                f"“{name}”是{duty.title}，应与采集分人办理（separateFrom 指定采集任务）",
            )


class _Graph:
    """The flow of one process, each activity split into its start and its completion so that a path
    through a boundary event does not count as having completed the activity it interrupts."""

    def __init__(self, process: etree._Element) -> None:
        self.process = process
        self.nodes: dict[str, _Node] = {}
        self.edges: dict[str, list[str]] = {}  # from "id>" (completed) or "id<" (entered) to "id<"
        self.starts: list[str] = []
        for el in process:
            tag, element_id = local(el), el.get("id")
            if not element_id or tag in ("sequenceFlow", "laneSet", "extensionElements", "documentation"):
                continue
            node = _Node(el)
            node.duty = properties(el).get("duty") if tag in ("userTask", "manualTask") else None
            node.operation = _operation(el)
            node.writes = any((_operation(inner) or "").startswith(REGISTRY) for inner in el.iter())
            self.nodes[element_id] = node
            self.edges.setdefault(f"{element_id}<", []).append(f"{element_id}>")
            if tag == "startEvent":
                self.starts.append(f"{element_id}<")
            if tag == "boundaryEvent":
                attached = el.get("attachedToRef")
                interrupting = el.get("cancelActivity", "true") != "false"
                # A non-interrupting event starts a branch of its own; the case goes on regardless.
                if attached and interrupting:
                    self.edges.setdefault(f"{attached}<", []).append(f"{element_id}<")
        for flow in process.iterfind(f"{{{BPMN_NS}}}sequenceFlow"):
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            if source in self.nodes and target in self.nodes:
                self.edges.setdefault(f"{source}>", []).append(f"{target}<")

    def ends(self) -> list[etree._Element]:
        return [n.el for n in self.nodes.values() if local(n.el) == "endEvent"]

    def path_avoiding(self, target: str, avoided) -> list[str] | None:
        """The element names on a path from a start to `target`'s entry on which no node that `avoided`
        selects completes, or None when there is none."""
        blocked = {f"{i}>" for i, n in self.nodes.items() if avoided(n)}
        came: dict[str, str | None] = {s: None for s in self.starts if s not in blocked}
        queue = deque(came)
        goal = f"{target}<"
        while queue:
            at = queue.popleft()
            if at == goal:
                names, step = [], at
                while step is not None:
                    if step.endswith("<"):
                        names.append(label(self.nodes[step[:-1]].el))
                    step = came[step]
                return names[::-1]
            for nxt in self.edges.get(at, ()):
                if nxt not in came and nxt not in blocked:
                    came[nxt] = at
                    queue.append(nxt)
        return None


def _operation(el: etree._Element) -> str | None:
    if local(el) != "serviceTask":
        return None
    found = el.find("{*}extensionElements/{*}serviceTaskOperator")
    return found.get("id") if found is not None else None
