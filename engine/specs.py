"""Parsing and validating BPMN, caching parsed specs per definition version.

Validation answers with a list of problems located at element ids, so a modeler can point at them.
Scripts, conditions and timer expressions are checked in the XML itself (where the ids are), the
rest on the parsed task specs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

import forms
from canbao.actors import ROLES

from . import lint, operations, sandbox
from .errors import InvalidDefinition, Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
DECISIONS = {"approve", "return", "reject"}
DEFAULT_DUE = "P30D"  # for user tasks that name no `dueIn`
MAX_XML_BYTES = 2 * 1024 * 1024

# Lanes are named after roles, by code ("surveyor") or by their Chinese name ("调查员").
ROLE_BY_LANE = {code: code for code in ROLES} | {title: code for code, title in ROLES.items()}

log = logging.getLogger(__name__)
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False)


@dataclass(frozen=True)
class Parsed:
    key: str
    name: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]


def properties(task_spec: Any) -> dict[str, str]:
    return task_spec.extensions.get("properties", {}) if hasattr(task_spec, "extensions") else {}


def role_of(task_spec: Any) -> str | None:
    return ROLE_BY_LANE.get(task_spec.lane or "")


def due_at(duration: str, start: datetime) -> datetime:
    """`start` plus an ISO 8601 duration such as "P10D" (a user task's `dueIn`)."""
    return start + TimerEventDefinition.get_timedelta_from_start(
        TimerEventDefinition.parse_iso_duration(duration), start
    )


def parse(bpmn_xml: str, dmn: dict[str, str] | None = None, *, check: bool = True) -> Parsed:
    """The parsed main process of a BPMN document, or InvalidDefinition listing every problem.

    `check=False` skips the deploy-time rules (forms, lanes, operations) for versions already deployed.
    """
    parsed, problems = _parse(bpmn_xml, dmn or {}, check=check)
    if problems:
        raise InvalidDefinition(problems)
    assert parsed is not None
    return parsed


def validate(bpmn_xml: str, dmn: dict[str, str] | None = None) -> list[Problem]:
    return _parse(bpmn_xml, dmn or {})[1]


def _parse(bpmn_xml: str, dmn: dict[str, str], *, check: bool = True) -> tuple[Parsed | None, list[Problem]]:
    raw = bpmn_xml.encode() if isinstance(bpmn_xml, str) else bpmn_xml
    if len(raw) > MAX_XML_BYTES:
        return None, [Problem(None, "xml.too_large", f"BPMN 文件超过 {MAX_XML_BYTES // 1024} KB")]
    try:
        tree = etree.fromstring(raw, parser=_XML_PARSER)
    except etree.XMLSyntaxError as err:
        return None, [Problem(None, "xml.syntax", f"XML 格式错误：{err}")]
    if tree.tag != f"{{{BPMN_NS}}}definitions":
        return None, [Problem(None, "xml.not_bpmn", "不是 BPMN 2.0 文档（根元素应为 bpmn:definitions）")]
    problems = [*_expression_problems(tree), *lint.structure_problems(tree)] if check else []
    dangling = lint.dangling_references(tree)
    if dangling:
        return None, [*problems, *dangling]
    try:
        return _parse_tree(tree, dmn, problems, check=check)
    except Exception as err:
        # A document from another modeler that this SpiffWorkflow version cannot handle in a way it
        # does not report as a validation error: a problem with the document, never a server error.
        log.warning("BPMN not parseable", exc_info=True)
        return None, [*problems, Problem(None, "bpmn.unsupported", f"无法解析该 BPMN：{_first_line(err)}")]


def _parse_tree(
    tree: etree._Element, dmn: dict[str, str], problems: list[Problem], *, check: bool
) -> tuple[Parsed | None, list[Problem]]:
    parser = _CheckingParser(validator=VALIDATOR) if check else SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(tree, filename="definition.bpmn")
        for name, text in dmn.items():
            dmn_tree = etree.fromstring(text.encode(), parser=_XML_PARSER)
            if check:
                problems = [*problems, *lint.dmn_problems(name, dmn_tree)]
            parser.add_dmn_xml(dmn_tree, filename=name)
    except ValidationException as err:
        return None, [*problems, _located(tree, err, "xml.schema")]
    except etree.XMLSyntaxError as err:
        return None, [*problems, Problem(None, "dmn.syntax", f"DMN 格式错误：{err}")]

    main = _main_process(tree, parser.get_process_ids())
    if isinstance(main, Problem):
        return None, [*problems, main]
    try:
        spec = parser.get_spec(main)
        subprocess_specs = parser.get_subprocess_specs(main)
    except (ValidationException, SpiffWorkflowException) as err:
        return None, [*problems, _located(tree, err, "bpmn.invalid")]
    if check:
        problems = [*problems, *_task_problems([spec, *subprocess_specs.values()], tree)]
    name = spec.description or main
    return Parsed(main, name, spec, subprocess_specs), problems


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:200] if text else ''}"


class _OptionalOperatorParser(ServiceTaskParser):
    """Parses a service task without a `spiffworkflow:serviceTaskOperator` (Camunda's `camunda:class`,
    say) instead of stopping the whole parse, so validation reports it with every other problem."""

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


class _CheckingParser(SpiffBpmnParser):
    """The parser used for validation; it yields the same specs for every document that passes."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (_OptionalOperatorParser, ServiceTask),
    }


def _main_process(tree: etree._Element, executable: list[str]) -> str | Problem:
    if not executable:
        return Problem(None, "process.not_executable", '没有可执行的流程（isExecutable="true"）')
    if None in executable:
        return Problem(None, "process.no_id", "可执行流程缺少 id 属性")
    called = {el.get("calledElement") for el in tree.iter(f"{{{BPMN_NS}}}callActivity")}
    roots = [pid for pid in executable if pid not in called]
    if len(roots) != 1:
        return Problem(None, "process.ambiguous", f"应有且仅有一个主流程，实际为：{', '.join(roots) or '无'}")
    return roots[0]


def _located(tree: etree._Element, err: SpiffWorkflowException, code: str) -> Problem:
    element_id = getattr(err, "id", "") or None
    line = getattr(err, "line_number", None)
    if element_id is None and isinstance(line, int):
        element_id = next(
            (el.get("id") for el in tree.iter() if el.sourceline == line and el.get("id")), None
        )
    text = next(iter(str(err).strip().splitlines()), "")
    missing_decision = _MISSING_DECISION.match(text)
    if missing_decision:
        return Problem(
            element_id,
            "dmn.decision_missing",
            f"业务规则任务引用的决策“{missing_decision.group(1)}”不存在，请一并上传定义它的 DMN 文件",
        )
    return Problem(element_id, code, f"{_PARSER_LABELS[code]}：{text}")


# SpiffWorkflow's parser speaks English; its messages are kept (they name the construct) behind a label.
_PARSER_LABELS = {"xml.schema": "不符合 BPMN 2.0 规范", "bpmn.invalid": "流程结构无法执行"}
_MISSING_DECISION = re.compile(r'No DMN Diagram available with id "([^"]*)"')


def _owner_id(el: etree._Element) -> str | None:
    """The id of the diagram element holding `el` (an event definition has an id but no shape)."""
    while el is not None and (el.get("id") is None or etree.QName(el).localname.endswith("EventDefinition")):
        el = el.getparent()
    return None if el is None else el.get("id")


def _expression_problems(tree: etree._Element) -> Iterable[Problem]:
    checks = [
        (".//bpmn:script", "exec", "script.unsafe", "脚本"),
        (".//spiffworkflow:preScript", "exec", "script.unsafe", "前置脚本"),
        (".//spiffworkflow:postScript", "exec", "script.unsafe", "后置脚本"),
        (".//bpmn:conditionExpression", "eval", "condition.unsafe", "条件表达式"),
        (".//bpmn:timeDuration", "eval", "timer.unsafe", "定时器表达式"),
        (".//bpmn:timeDate", "eval", "timer.unsafe", "定时器表达式"),
        (".//bpmn:timeCycle", "eval", "timer.unsafe", "定时器表达式"),
    ]
    for path, mode, code, label in checks:
        for el in tree.iterfind(path, NS):
            source = (el.text or "").strip()
            if not source:
                continue
            why = sandbox.check(source, mode)
            if why is not None:
                yield Problem(_owner_id(el), code, f"{label}不能在沙箱中编译：{why}")


def _task_problems(specs: list[BpmnProcessSpec], tree: etree._Element) -> list[Problem]:
    problems: list[Problem] = []
    known_forms = set(forms.keys())
    foreign_forms = lint.foreign_forms(tree)
    foreign_operations = lint.foreign_operations(tree)
    for spec in specs:
        user_tasks = {name for name, ts in spec.task_specs.items() if ts.manual}
        for ts in spec.task_specs.values():
            element = getattr(ts, "bpmn_id", None)
            label = getattr(ts, "bpmn_name", None) or element
            if ts.manual:
                problems += _user_task_problems(ts, element, label, known_forms, user_tasks, foreign_forms)
            elif hasattr(ts, "operation_name"):
                if ts.operation_name is None:
                    how = foreign_operations.get(element)
                    problems.append(
                        Problem(
                            element,
                            "operation.missing",
                            f"服务任务“{label}”没有指定操作（spiffworkflow:serviceTaskOperator）"
                            + (f"；不支持 {how}" if how else ""),
                        )
                    )
                elif operations.get(ts.operation_name) is None:
                    problems.append(
                        Problem(
                            element,
                            "operation.unknown",
                            f"服务任务“{label}”调用了未登记的操作：{ts.operation_name}",
                        )
                    )
            elif isinstance(ts, SubWorkflowTask) and not ts.spec:
                problems.append(Problem(element, "call.unknown", f"调用活动“{label}”没有指定被调用的流程"))
    return problems


def _user_task_problems(
    ts: Any,
    element: str,
    label: str,
    known_forms: set[str],
    user_tasks: set[str],
    foreign_forms: dict[str, str],
) -> list[Problem]:
    problems = []
    props = properties(ts)
    if role_of(ts) is None:
        lane = ts.lane or "（无泳道）"
        problems.append(
            Problem(
                element,
                "lane.unknown_role",
                f"用户任务“{label}”所在泳道“{lane}”不是已知岗位：{'、'.join(ROLES.values())}",
            )
        )
    form_key = props.get("formKey")
    if not form_key:
        foreign = foreign_forms.get(element)
        hint = f"；不支持其他引擎的表单 {foreign}，请改用 spiffworkflow:property formKey" if foreign else ""
        problems.append(Problem(element, "form.missing", f"用户任务“{label}”没有指定表单（formKey）{hint}"))
    elif form_key not in known_forms:
        problems.append(Problem(element, "form.unknown", f"用户任务“{label}”的表单不存在：{form_key}"))
    if "dueIn" in props:
        try:
            due_at(props["dueIn"], datetime.now(UTC))
        except Exception:
            problems.append(
                Problem(
                    element, "due.invalid", f"用户任务“{label}”的办理时限不是 ISO 8601 时长：{props['dueIn']}"
                )
            )
    if "decisions" in props and not set(props["decisions"].split(",")) <= DECISIONS:
        problems.append(
            Problem(
                element,
                "decisions.invalid",
                f"用户任务“{label}”的审核结论只能是 approve、return、reject：{props['decisions']}",
            )
        )
    if "separateFrom" in props and props["separateFrom"] not in user_tasks:
        problems.append(
            Problem(
                element,
                "separate_from.unknown",
                f"用户任务“{label}”要求与不存在的任务分人办理：{props['separateFrom']}",
            )
        )
    return problems


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
