"""The 规程's chain of responsibility on every process graph (engine/chain.py).

第十九条: 调查员 → 基层平台审核 → 县级经办机构审定（经市级经办机构授权）→ 入库.
第二十一条: 调查员、基层平台采集、初审 → 县级人力资源社会保障部门审定（经市级人力资源社会保障部门授权）.
第十三条: 窗口采集，录入校核后更新. 第二十三条: 经办机构确认后更新. 第三十二条: 做好归档管理.

Every shipped process keeps the chain; a manager's edit that lets data into the registry without the
decisions its article requires, or ends a case without 归档, is refused at deploy with the element to fix.
"""

from pathlib import Path

import pytest
from lxml import etree

from canbao.config import PROJECT_ROOT
from composition.wiring import wire
from engine import chain, specs

SHIPPED = sorted((PROJECT_ROOT / "bpmn").glob("*.bpmn"))
APPROVED_TO = '<bpmn:sequenceFlow id="f_initial_approve" name="同意" sourceRef="gw_initial" targetRef='
TIMEOUT_TO = '<bpmn:sequenceFlow id="f_timeout" name="督办" sourceRef="initial_review_timeout" targetRef='
REJECTED_TO = '<bpmn:sequenceFlow id="f_final_reject" name="不予登记" sourceRef="gw_final" targetRef='
MOVED = "<bpmn:flowNodeRef>initial_review</bpmn:flowNodeRef>"


def _xml(name: str) -> str:
    return (PROJECT_ROOT / "bpmn" / f"{name}.bpmn").read_text(encoding="utf-8")


def _edit(xml: str, *replacements: tuple[str, str]) -> str:
    for old, new in replacements:
        assert xml.count(old) == 1, old
        xml = xml.replace(old, new)
    return xml


def _chain_problems(xml: str) -> list[tuple[str | None, str]]:
    wire()
    return [(p.element_id, p.code) for p in specs.validate(xml) if p.code.startswith(("chain.", "duty."))]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_process_keeps_its_articles_chain(path: Path):
    tree = etree.fromstring(path.read_bytes())
    key = tree.find("{*}process").get("id")
    assert chain.problems(tree, key=key) == []
    writes = any((el.get("id") or "").startswith("registry.") for el in tree.iter("{*}serviceTaskOperator"))
    assert writes and key in chain.CHAINS  # each shipped process writes the registry under its article


def test_a_survey_that_skips_the_county_is_refused_at_its_registry_write():
    """A manager deletes 县级审定: the platform's approval leads straight to 入库 (第十九条)."""
    xml = _edit(
        _xml("survey_registration"),
        (
            APPROVED_TO + '"final_review">',
            APPROVED_TO + '"store">',
        ),
    )
    found = _chain_problems(xml)
    assert ("store", "chain.skips_duty") in found
    [message] = [p.message for p in specs.validate(xml) if p.code == "chain.skips_duty"]
    assert "县级审定" in message and "第十九条" in message and "基层平台初审 → 初审结论 → 入库" in message


def test_an_overdue_review_that_hands_the_case_to_the_county_is_refused():
    """The old shape: the 初审 timer interrupts 初审 and the county's escalation can approve 入库."""
    xml = _edit(
        _xml("survey_registration"),
        (
            'attachedToRef="initial_review" cancelActivity="false"',
            'attachedToRef="initial_review" cancelActivity="true"',
        ),
        (
            TIMEOUT_TO + '"end_supervised" />',
            TIMEOUT_TO + '"escalation_review" />',
        ),
    )
    assert ("store", "chain.skips_duty") in _chain_problems(xml)
    message = next(p.message for p in specs.validate(xml) if p.code == "chain.skips_duty")
    assert "基层平台初审" in message and "初审超时督办" in message


def test_a_rejection_that_is_not_archived_is_refused():
    """第三十二条: 不予登记 has paperwork too."""
    xml = _edit(
        _xml("survey_registration"),
        (
            REJECTED_TO + '"seal" />',
            REJECTED_TO + '"end_rejected" />',
        ),
    )
    assert ("end_rejected", "chain.no_archive") in _chain_problems(xml)


def test_a_change_is_reviewed_under_the_grant_for_changes():
    """第二十一条: the county's 审定 of a change needs the 市级人社部门's grant, not the agency's."""
    xml = _edit(
        _xml("change_approval"),
        (
            '<spiffworkflow:property name="authorization" value="change" />\n'
            "        </spiffworkflow:properties>\n      </bpmn:extensionElements>\n"
            "      <bpmn:incoming>f_initial_approve</bpmn:incoming>",
            '<spiffworkflow:property name="authorization" value="survey" />\n'
            "        </spiffworkflow:properties>\n      </bpmn:extensionElements>\n"
            "      <bpmn:incoming>f_initial_approve</bpmn:incoming>",
        ),
    )
    assert _chain_problems(xml) == [("final_review", "duty.authorization")]


def test_a_duty_outside_its_roles_lane_is_refused():
    """The 县级审定 moved into the platform's lane is no 县级审定."""
    xml = _xml("survey_registration")
    xml = xml.replace("        <bpmn:flowNodeRef>final_review</bpmn:flowNodeRef>\n", "")
    xml = _edit(
        xml,
        (
            MOVED,
            MOVED + "<bpmn:flowNodeRef>final_review</bpmn:flowNodeRef>",
        ),
    )
    assert ("final_review", "duty.lane") in _chain_problems(xml)


def test_the_counters_check_is_by_a_second_clerk():
    """第十三条: 录入校核 — the clerk who collected does not check."""
    xml = _edit(
        _xml("counter_collection"), ('<spiffworkflow:property name="separateFrom" value="collect" />', "")
    )
    assert _chain_problems(xml) == [("check", "duty.separation")]
