"""BPMN drawn for other engines (Camunda Modeler 7 and 8, Flowable's and Activiti's designers) translated
into canbao's own, in place, before validation; the translated document is what gets deployed.

Within the executable processes, each engine attribute and extension element is mapped to a canbao
property (`engines` says which), dropped with the reason when it does not change how a case runs here,
or refused: a problem naming the element, the attribute and why. JUEL conditions become sandbox
expressions (`juel`), plain ISO 8601 timer values become the quoted strings canbao's timer expressions
are. The report lists all three, so a process manager sees exactly what the import did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from canbao.actors import ROLE_BY_NAME

from ..errors import Problem
from ..lint import BPMN_NS, executable_processes, local, locate, qualified
from . import engines, juel

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
PYTHON = frozenset({"python", "python3", "text/x-python", "py"})
_TIMER = re.compile(
    r"^(R\d*/)?P[0-9YMWDTHS.,]+$|^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
)


@dataclass(frozen=True)
class Mapped:
    element_id: str | None
    attribute: str
    value: str
    to: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "element_id": self.element_id,
            "attribute": self.attribute,
            "value": self.value,
            "to": self.to,
        }


@dataclass(frozen=True)
class Dropped:
    element_id: str | None
    attribute: str
    value: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "element_id": self.element_id,
            "attribute": self.attribute,
            "value": self.value,
            "reason": self.reason,
        }


@dataclass
class Report:
    engines: set[str] = field(default_factory=set)
    mapped: list[Mapped] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # (element id, canbao property) → the attribute it came from, for the messages of later rules
    origins: dict[tuple[str | None, str], str] = field(default_factory=dict)
    # scripts, conditions and timers refused here, which the sandbox rules need not report again
    judged: set[etree._Element] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        return bool(self.mapped or self.dropped)

    def as_dict(self) -> dict[str, Any] | None:
        if not (self.engines or self.mapped):
            return None
        return {
            "engines": sorted(self.engines),
            "mapped": [m.as_dict() for m in self.mapped],
            "ignored": [d.as_dict() for d in self.dropped],
        }

    def refuse(self, element_id: str | None, attribute: str, value: str, reason: str) -> None:
        what = f"{attribute}=“{value}”" if value else attribute
        self.problems.append(
            Problem(element_id, "import.unmapped", f"{what} 不能转换：{reason}", attribute=attribute)
        )


def translate(tree: etree._Element) -> Report:
    """Translate the executable processes of a document in place; the report says what was done."""
    report = Report()
    processes = executable_processes(tree)
    if not processes:
        return report
    for name, value in list(tree.attrib.items()):
        namespace = etree.QName(name).namespace
        if namespace in engines.ENGINES:
            report.engines.add(engines.ENGINES[namespace])
            report.dropped.append(Dropped(tree.get("id"), qualified(tree, name), value, "建模工具的元数据"))
            del tree.attrib[name]
    for process in processes:
        for el in list(process.iter(etree.Element)):
            if etree.QName(el).namespace != BPMN_NS:
                continue
            _attributes(el, report)
            extensions = el.find(f"{{{BPMN_NS}}}extensionElements")
            if extensions is not None:
                _extensions(el, extensions, report)
            tag = local(el)
            if tag == "conditionExpression":
                _condition(el, report)
            elif tag in ("timeDuration", "timeDate", "timeCycle"):
                _timer(el, report)
            elif tag == "scriptTask":
                _script_format(el, report)
    if report.changed:
        etree.cleanup_namespaces(tree, top_nsmap={"spiffworkflow": SPIFF_NS})
    return report


def _attributes(el: etree._Element, report: Report) -> None:
    for name, value in list(el.attrib.items()):
        namespace = etree.QName(name).namespace
        if namespace not in engines.ENGINES:
            continue
        report.engines.add(engines.ENGINES[namespace])
        outcome = engines.attribute(namespace, etree.QName(name).localname, local(el), value)
        if _apply(el, qualified(el, name), value, outcome, report):
            del el.attrib[name]


def _apply(el: etree._Element, label: str, value: str, outcome: engines.Outcome, report: Report) -> bool:
    """Carry out one outcome; True when the foreign setting is done with and can leave the document."""
    element_id = locate(el)
    if isinstance(outcome, engines.Property):
        stored = ROLE_BY_NAME.get(outcome.value, outcome.value) if outcome.name == "role" else outcome.value
        existing = _property(el, outcome.name)
        if existing is not None and existing != stored:
            report.refuse(element_id, label, value, f"与已有的 canbao 属性 {outcome.name}=“{existing}”冲突")
            return False
        _set_property(el, outcome.name, stored)
        report.mapped.append(Mapped(element_id, label, value, f"{outcome.name}={stored}"))
        report.origins[(element_id, outcome.name)] = label
        return True
    if isinstance(outcome, engines.Decision):
        _set_decision(el, outcome.value)
        report.mapped.append(Mapped(element_id, label, value, f"calledDecisionId={outcome.value}"))
        report.origins[(element_id, "calledDecisionId")] = label
        return True
    if isinstance(outcome, engines.Ignored):
        report.dropped.append(Dropped(element_id, label, value, outcome.reason))
        return True
    if isinstance(outcome, engines.Refused):
        report.refuse(element_id, label, value, outcome.reason)
    return False  # refused, or service-task wiring the operation rule reports


def _extensions(el: etree._Element, extensions: etree._Element, report: Report) -> None:
    refused: dict[str, tuple[list[str], str]] = {}
    for child in list(extensions):
        if not isinstance(child.tag, str):
            continue
        namespace = etree.QName(child).namespace
        if namespace not in engines.ENGINES:
            continue
        report.engines.add(engines.ENGINES[namespace])
        name, label = local(child), qualified(child, child.tag)
        if name == "properties":
            done = all([_engine_property(el, label, p, report) for p in list(child)])
        elif namespace == engines.ZEEBE and name in (
            "formDefinition",
            "assignmentDefinition",
            "taskSchedule",
        ):
            done = all(
                [
                    _apply(el, f"{label} {attr}", value, _zeebe(name, attr, value), report)
                    for attr, value in child.attrib.items()
                ]
            )
        else:
            outcome = engines.extension(namespace, name, local(el))
            if isinstance(outcome, engines.Refused):
                names = refused.setdefault(label, ([], outcome.reason))[0]
                names.append(child.get("name") or child.get("event") or child.get("id") or "")
                done = False
            else:
                done = _apply(el, label, "", outcome, report)
        if done:
            extensions.remove(child)
    for label, (names, reason) in refused.items():
        shown = "、".join(n for n in names if n)
        report.refuse(locate(el), label, "", f"{reason}（{shown}）" if shown else reason)
    if len(extensions) == 0 and not (extensions.text or "").strip():
        el.remove(extensions)


def _engine_property(el: etree._Element, label: str, prop: etree._Element, report: Report) -> bool:
    """camunda:property / zeebe:property: canbao's own properties set this way are mapped, others are
    the engine's free-form metadata and dropped."""
    name, value = prop.get("name") or "", prop.get("value") or ""
    where = f"{label} {name}"
    if name in engines.CANBAO_PROPERTIES:
        return _apply(el, where, value, engines.Property(name, value), report)
    reason = f"不是 canbao 的属性（{'、'.join(sorted(engines.CANBAO_PROPERTIES))}）"
    return _apply(el, where, value, engines.Ignored(reason), report)


def _zeebe(element: str, attribute: str, value: str) -> engines.Outcome:
    """Camunda 8 keeps a user task's form, assignment and schedule in extension elements."""
    if element == "formDefinition":
        if attribute in ("formKey", "formId"):
            return engines.Property("formKey", value)
        return engines.Refused("canbao 的表单由 formKey 指定的表单定义给出")
    return engines.attribute(engines.ZEEBE, attribute, "userTask", value)


def _condition(el: etree._Element, report: Report) -> None:
    text = (el.text or "").strip()
    owner = locate(el)
    language = el.get("language")
    if language and language.lower() not in PYTHON:
        report.refuse(
            owner,
            "conditionExpression",
            text,
            f"条件用 {language} 语言写成，canbao 的条件是在沙箱中运行的表达式",
        )
        report.judged.add(el)
    elif text.startswith("="):
        report.refuse(
            owner,
            "conditionExpression",
            text,
            "Camunda 8 的 FEEL 条件暂不能转换，请改写为 canbao 的条件表达式",
        )
        report.judged.add(el)
    elif juel.is_juel(text):
        try:
            python = juel.translate(text)
        except juel.Untranslatable as why:
            report.refuse(owner, "conditionExpression", text, str(why))
            report.judged.add(el)
            return
        el.text = python
        report.mapped.append(Mapped(owner, "conditionExpression", text, python))


def _timer(el: etree._Element, report: Report) -> None:
    text = (el.text or "").strip()
    if juel.is_juel(text) or text.startswith("="):
        report.refuse(
            locate(el), local(el), text, "定时器须写成 ISO 8601 时间或 canbao 的表达式，不能用原引擎的表达式"
        )
        report.judged.add(el)
    elif _TIMER.match(text):
        el.text = repr(text)
        report.mapped.append(Mapped(locate(el), local(el), text, repr(text)))


def _script_format(el: etree._Element, report: Report) -> None:
    language = el.get("scriptFormat")
    if language and language.lower() not in PYTHON:
        report.refuse(
            locate(el),
            "scriptFormat",
            language,
            "canbao 的脚本是在沙箱中运行的 Python，不能运行其他语言的脚本",
        )
        report.judged.update(el.iter(f"{{{BPMN_NS}}}script"))


def _extension_elements(el: etree._Element) -> etree._Element:
    """The element's bpmn:extensionElements, created where BPMN wants it (after any documentation)."""
    existing = el.find(f"{{{BPMN_NS}}}extensionElements")
    if existing is not None:
        return existing
    created = etree.Element(f"{{{BPMN_NS}}}extensionElements")
    docs = [i for i, child in enumerate(el) if child.tag == f"{{{BPMN_NS}}}documentation"]
    el.insert(docs[-1] + 1 if docs else 0, created)
    return created


def _property(el: etree._Element, name: str) -> str | None:
    for prop in el.iterfind(
        f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property"
    ):
        if prop.get("name") == name:
            return prop.get("value")
    return None


def _set_property(el: etree._Element, name: str, value: str) -> None:
    extensions = _extension_elements(el)
    props = extensions.find(f"{{{SPIFF_NS}}}properties")
    if props is None:
        props = etree.SubElement(extensions, f"{{{SPIFF_NS}}}properties", nsmap={"spiffworkflow": SPIFF_NS})
    if _property(el, name) is None:
        etree.SubElement(props, f"{{{SPIFF_NS}}}property", name=name, value=value)


def _set_decision(el: etree._Element, decision: str) -> None:
    extensions = _extension_elements(el)
    called = etree.SubElement(
        extensions, f"{{{SPIFF_NS}}}calledDecisionId", nsmap={"spiffworkflow": SPIFF_NS}
    )
    called.text = decision
