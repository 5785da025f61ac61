"""Parsing and validating BPMN, caching parsed specs per definition version.

Validation answers with every problem of a document at once, each located at the id of the element a
modeler must fix (or marked as concerning the whole document). A document drawn for Camunda or
Flowable is first translated (`dialects`); then the BPMN schema, the rules read from the XML (`lint`,
`task_rules`, scripts and conditions under the sandbox) and SpiffWorkflow's parser each report what
they find, whatever the others found.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.data_spec import BpmnDataStoreSpecification
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

from . import chain, dialects, lint, sandbox, task_rules, xmltext
from .errors import InvalidDefinition, Problem
from .lint import local

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
DEFAULT_DUE = "P30D"  # for user tasks that name no `dueIn`
MAX_XML_BYTES = 2 * 1024 * 1024

log = logging.getLogger(__name__)
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False)


@dataclass(frozen=True)
class Parsed:
    key: str
    name: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]


@dataclass(frozen=True)
class Checked:
    """A document as validation saw it: the text canbao stores (translated where it was drawn for
    another engine), every problem, what the import did, and the parsed process when there is no
    problem."""

    bpmn_xml: str
    dmn: dict[str, str]
    problems: list[Problem]
    imported: dialects.Report
    parsed: Parsed | None


def properties(task_spec: Any) -> dict[str, str]:
    return task_spec.extensions.get("properties", {}) if hasattr(task_spec, "extensions") else {}


def role_of(task_spec: Any) -> str | None:
    """A user task's role: its lane, or (no lane naming a role) its `role` property."""
    return task_rules.role(task_spec.lane, properties(task_spec))


def due_at(duration: str, start: datetime) -> datetime:
    """`start` plus an ISO 8601 duration such as "P10D" (a user task's `dueIn`)."""
    return start + TimerEventDefinition.get_timedelta_from_start(
        TimerEventDefinition.parse_iso_duration(duration), start
    )


def parse(bpmn_xml: str, dmn: dict[str, str] | None = None, *, check: bool = True) -> Parsed:
    """The parsed main process of a BPMN document, or InvalidDefinition listing every problem.

    `check=False` parses a version already deployed, without the deploy-time rules.
    """
    if not check:
        return _parse_deployed(bpmn_xml, dmn or {})
    checked = check_document(bpmn_xml, dmn)
    if checked.problems:
        raise InvalidDefinition(checked.problems)
    assert checked.parsed is not None
    return checked.parsed


def validate(bpmn_xml: str, dmn: dict[str, str] | None = None) -> list[Problem]:
    return check_document(bpmn_xml, dmn).problems


def check_document(bpmn_xml: str, dmn: dict[str, str] | None = None) -> Checked:
    """Every problem of a document and its DMN files. Each rule runs whatever the others found, so a
    document with several problems gets all of them at once."""
    dmn = dmn or {}
    text = xmltext.utf8_declared(bpmn_xml)
    imported = dialects.Report()
    raw = text.encode()
    if len(raw) > MAX_XML_BYTES:
        return Checked(
            text,
            dmn,
            [Problem(None, "xml.too_large", f"BPMN 文件超过 {MAX_XML_BYTES // 1024} KB")],
            imported,
            None,
        )
    try:
        tree = etree.fromstring(raw, parser=_XML_PARSER)
    except etree.XMLSyntaxError as err:
        return Checked(text, dmn, [Problem(None, "xml.syntax", f"XML 格式错误：{err.msg}")], imported, None)
    if tree.tag != f"{{{BPMN_NS}}}definitions":
        return Checked(text, dmn, [_NOT_BPMN], imported, None)
    imported = dialects.translate(tree)
    if imported.changed:
        etree.indent(tree, space="  ")
        text = '<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(tree, encoding="unicode") + "\n"
    problems = [*imported.problems, *_schema_problems(tree)]
    main = _main_process(tree)
    if isinstance(main, Problem):
        problems.append(main)
    problems += _expression_problems(tree, imported.judged)
    problems += lint.structure_problems(tree)
    dangling = lint.dangling_references(tree)
    problems += dangling
    problems += lint.data_store_problems(tree)
    problems += lint.data_reference_problems(tree)
    dmn_trees, dmn_problems = _dmn(dmn)
    problems += dmn_problems
    decisions = {
        d.get("id") for dmn_tree in dmn_trees.values() for d in dmn_tree.iter() if local(d) == "decision"
    }
    problems += task_rules.problems(tree, origins=imported.origins, decisions=decisions, due_at=due_at)
    if not isinstance(main, Problem):
        problems += chain.problems(tree, key=main)
    parsed = None
    if not isinstance(main, Problem) and not dangling:  # the parser reports those confusingly
        parsed, failure = _parse_checked(tree, main, dmn_trees)
        if failure is not None and not any(
            (p.element_id, p.code) == (failure.element_id, failure.code) for p in problems
        ):
            problems.append(failure)
    problems = _unique(problems)
    return Checked(text, dmn, problems, imported, None if problems else parsed)


_NOT_BPMN = Problem(None, "xml.not_bpmn", "不是 BPMN 2.0 文档（根元素应为 bpmn:definitions）")


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _schema_problems(tree: etree._Element) -> list[Problem]:
    """Every way the document departs from the BPMN 2.0 schema, each at the element it concerns."""
    VALIDATOR.preprocess(tree)  # as SpiffWorkflow does: bpmn-js writes correlations the schema refuses
    with _SCHEMA_LOCK:  # the schema object keeps the last validation's errors: one validation at a time
        if VALIDATOR.validator.validate(tree):
            return []
        errors = list(VALIDATOR.validator.error_log)
    root = tree.getroottree()
    problems = []
    for error in errors:
        el = _node_at(root, error)
        message = _SCHEMA_NOISE.sub("", _NAMESPACE.sub("", error.message)).strip()
        where = lint.locate(el) if el is not None else None
        problems.append(Problem(where, "xml.schema", f"不符合 BPMN 2.0 规范：{message[:300]}"))
    return problems


_SCHEMA_LOCK = threading.Lock()
_NAMESPACE = re.compile(r"\{[^}]*\}")
_SCHEMA_NOISE = re.compile(r"\s*Expected is( one of)? \(.*\)\.?$", re.DOTALL)


def _node_at(root: etree._ElementTree, error: Any) -> etree._Element | None:
    prefixes = {p: ns for el in root.iter(etree.Element) for p, ns in (el.nsmap or {}).items() if p}
    try:
        found = root.xpath(error.path, namespaces=prefixes) if error.path else []
    except etree.XPathError:
        found = []
    if found and isinstance(found[0], etree._Element):
        return found[0]
    return next((el for el in root.iter(etree.Element) if el.sourceline == error.line), None)


def _dmn(dmn: dict[str, str]) -> tuple[dict[str, etree._Element], list[Problem]]:
    trees, problems = {}, []
    for name, text in dmn.items():
        try:
            trees[name] = etree.fromstring(xmltext.utf8_declared(text).encode(), parser=_XML_PARSER)
        except etree.XMLSyntaxError as err:
            problems.append(Problem(None, "dmn.syntax", f"{name} 的 DMN 格式错误：{err}"))
            continue
        problems += lint.dmn_problems(name, trees[name])
    return trees, problems


def _parse_checked(
    tree: etree._Element, main: str, dmn_trees: dict[str, etree._Element]
) -> tuple[Parsed | None, Problem | None]:
    """SpiffWorkflow's parse of the main process (the schema was checked above, so without it): the
    parsed process, or the first thing the parser stops at, located and explained."""
    parser = _CheckingParser(validator=None)
    try:
        parser.add_bpmn_xml(tree, filename="definition.bpmn")
        for name, dmn_tree in dmn_trees.items():
            parser.add_dmn_xml(dmn_tree, filename=name)
        spec = parser.get_spec(main)
        subprocess_specs = parser.get_subprocess_specs(main)
    except SpiffWorkflowException as err:
        return None, _explained(tree, err)
    except Exception as err:
        # A document from another modeler that this SpiffWorkflow version cannot handle in a way it
        # does not report as a validation error: a problem with the document, never a server error.
        log.warning("BPMN not parseable", exc_info=True)
        return None, Problem(
            lint.locate(tree), "bpmn.unsupported", f"canbao 无法解析该 BPMN（{type(err).__name__}）"
        )
    return Parsed(main, spec.description or main, spec, subprocess_specs), None


def _parse_deployed(bpmn_xml: str, dmn: dict[str, str]) -> Parsed:
    tree = etree.fromstring(bpmn_xml.encode(), parser=_XML_PARSER)
    main = _main_process(tree)
    assert isinstance(main, str), "a deployed version has one main process"
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_xml(tree, filename="definition.bpmn")
    for name, text in dmn.items():
        parser.add_dmn_xml(etree.fromstring(text.encode(), parser=_XML_PARSER), filename=name)
    spec = parser.get_spec(main)
    return Parsed(main, spec.description or main, spec, parser.get_subprocess_specs(main))


class _OptionalOperatorParser(ServiceTaskParser):
    """Parses a service task without a `spiffworkflow:serviceTaskOperator` (Camunda's `camunda:class`,
    say) instead of stopping the whole parse; the task rules report it with every other problem."""

    def create_task(self):
        if self.parse_extensions().get("serviceTaskOperator") is not None:
            return super().create_task()
        return self.spec_class(
            self.spec,
            self.bpmn_id,
            operation_name=None,
            operation_params={},
            result_variable=None,
            **self.bpmn_attributes,
        )


class _AnyDataStore(dict):
    """Lets the parser past data stores canbao does not implement (a rule reports them), so that it
    goes on to the rest of the document."""

    def __contains__(self, name: object) -> bool:
        return True

    def __missing__(self, name: str) -> type:
        return BpmnDataStoreSpecification


class _CheckingParser(SpiffBpmnParser):
    """The parser used for validation; it yields the same specs for every document that passes."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (_OptionalOperatorParser, ServiceTask),
    }
    DATA_STORE_CLASSES = _AnyDataStore()


def _main_process(tree: etree._Element) -> str | Problem:
    executable = lint.executable_processes(tree)
    if not executable:
        return Problem(
            None,
            "process.not_executable",
            '没有可执行的流程：这是一个描述性模型，canbao 只能部署标记为可执行（isExecutable="true"）的流程',
        )
    if any(not p.get("id") for p in executable):
        return Problem(None, "process.no_id", "可执行流程缺少 id 属性")
    called = {el.get("calledElement") for el in tree.iter(f"{{{BPMN_NS}}}callActivity")}
    roots = [p.get("id") for p in executable if p.get("id") not in called]
    if len(roots) != 1:
        return Problem(None, "process.ambiguous", f"应有且仅有一个主流程，实际为：{', '.join(roots) or '无'}")
    return roots[0]


def _explained(tree: etree._Element, err: SpiffWorkflowException) -> Problem:
    """A SpiffWorkflow parser error at the element it concerns, in Chinese where the message is known;
    the parser's own text (English, naming the construct) otherwise, never a Python repr."""
    element_id = getattr(err, "id", "") or None
    node = next((el for el in tree.iter(etree.Element) if element_id and el.get("id") == element_id), None)
    if node is None and isinstance(getattr(err, "line_number", None), int):
        node = next((el for el in tree.iter(etree.Element) if el.sourceline == err.line_number), None)
    where = lint.locate(node) if node is not None else lint.locate(tree)
    text = _REPR.sub(lambda m: m.group(1), next(iter(str(err).strip().splitlines()), ""))
    for pattern, code, message in _SPIFF_MESSAGES:
        match = pattern.search(text)
        if match:
            return Problem(where, code, message.format(*match.groups()))
    return Problem(where, "bpmn.invalid", f"流程结构无法执行：{text[:300]}")


_REPR = re.compile(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-fA-F]+>")
_SPIFF_MESSAGES = [
    (
        re.compile(r"There is no support implemented for this task type"),
        "bpmn.unsupported",
        "canbao 不支持这种元素",
    ),
    (re.compile(r"No start event found"), "process.no_start", "流程没有开始事件"),
    (
        re.compile(r"Non-default exclusive outgoing sequence flow without condition"),
        "gateway.condition_missing",
        "网关的这条出口顺序流既没有条件，也不是默认顺序流",
    ),
    (
        re.compile(r"Exactly one start event is required in a SubWorkflow Task; found (\d+)"),
        "subprocess.start",
        "子流程应有且仅有一个开始事件，实际有 {0} 个",
    ),
    (re.compile(r"A SubWorkflow Must contain an End event"), "subprocess.end", "子流程没有结束事件"),
    (re.compile(r'No "calledElement" attribute'), "call.unknown", "调用活动没有指定被调用的流程"),
    (
        re.compile(r"Unknown Time Specification"),
        "timer.missing",
        "定时器没有指定时间（timeDate、timeDuration 或 timeCycle）",
    ),
    (re.compile(r"Time Specification Error"), "timer.invalid", "定时器的时间无法解析"),
    (
        re.compile(r"Conditional event definition with missing condition"),
        "condition.missing",
        "条件事件没有条件",
    ),
    (re.compile(r"Invalid Script Task"), "script.missing", "脚本任务没有脚本"),
    (
        re.compile(r"Cannot resolve data(Input|Output)Association"),
        "data.unresolved",
        "数据关联引用了不存在的数据对象",
    ),
    (re.compile(r"Duplicate process ID: (.+)"), "process.duplicate_id", "流程 id 重复：{0}"),
    (re.compile(r"Process (.+) is not executable"), "call.not_executable", "被调用的流程 {0} 不是可执行流程"),
    (
        re.compile(r'No DMN Diagram available with id "([^"]*)"'),
        "dmn.decision_missing",
        "业务规则任务引用的决策“{0}”不存在",
    ),
    (re.compile(r"Could not find messageRef"), "message.missing", "消息事件没有引用消息（messageRef）"),
    (re.compile(r"The process '(.+)' was not found"), "call.unknown", "调用活动调用的流程 {0} 不存在"),
]


def _expression_problems(tree: etree._Element, judged: set[etree._Element]) -> Iterable[Problem]:
    """Scripts, conditions and timers of the executable processes under the sandbox (those the import
    already refused are reported there)."""
    checks = [
        (".//bpmn:script", "exec", "script.unsafe", "脚本"),
        (".//spiffworkflow:preScript", "exec", "script.unsafe", "前置脚本"),
        (".//spiffworkflow:postScript", "exec", "script.unsafe", "后置脚本"),
        (".//bpmn:conditionExpression", "eval", "condition.unsafe", "条件表达式"),
        (".//bpmn:timeDuration", "eval", "timer.unsafe", "定时器表达式"),
        (".//bpmn:timeDate", "eval", "timer.unsafe", "定时器表达式"),
        (".//bpmn:timeCycle", "eval", "timer.unsafe", "定时器表达式"),
    ]
    for process in lint.executable_processes(tree):
        for path, mode, code, what in checks:
            for el in process.iterfind(path, NS):
                source = (el.text or "").strip()
                if not source or el in judged:
                    continue
                why = sandbox.check(source, mode)
                if why is not None:
                    yield Problem(lint.locate(el), code, f"{what}不能在沙箱中编译：{why}")


class SpecCache:
    """Parsed specs per definition id: parsing costs more than running a transition, so it is done
    once per version per process. Specs are shared by every workflow loaded from them: read-only."""

    def __init__(self, maxsize: int = 256) -> None:
        self._specs: dict[int, Parsed] = {}
        self._maxsize = maxsize

    def get(self, definition_id: int, load: Callable[[], tuple[str, dict[str, str]]]) -> Parsed:
        """The parsed spec of a deployed version; `load` returns its (BPMN XML, DMN files) on a miss."""
        parsed = self._specs.get(definition_id)
        if parsed is None:
            bpmn_xml, dmn = load()
            parsed = parse(bpmn_xml, dmn, check=False)
            if len(self._specs) >= self._maxsize:
                self._specs.pop(next(iter(self._specs)))
            self._specs[definition_id] = parsed
        return parsed

    def clear(self) -> None:
        self._specs.clear()


SPECS = SpecCache()
