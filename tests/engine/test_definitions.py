"""Deploying: immutable versions, no-op redeploys, and every problem located at its element."""

import pytest
from sqlalchemy import func, select

from canbao.actors import ROLE_BY_NAME
from canbao.audit.models import AuditEvent
from canbao.config import PROJECT_ROOT
from engine import definitions
from engine.errors import InvalidDefinition
from engine.models import ProcessDefinition

from . import samples
from .office import MANAGER, SURVEYOR1, id_number, registration

PROCESSES = {
    "survey_registration",
    "counter_collection",
    "self_service_update",
    "change_approval",
    "id_correction",
}


def _deploy(db, xml: str, **kw):
    with db.sessions() as s, s.begin():
        definition, created = definitions.deploy(s, actor=MANAGER, bpmn_xml=xml, **kw)
        return definition.key, definition.version, created


def _problems(db, xml: str) -> list[tuple]:
    with pytest.raises(InvalidDefinition) as err, db.sessions() as s, s.begin():
        definitions.deploy(s, actor=MANAGER, bpmn_xml=xml)
    return [(p.element_id, p.code) for p in err.value.problems]


def test_all_processes_deploy_once(office):
    with office.db.sessions() as s:
        rows = s.execute(select(ProcessDefinition.key, ProcessDefinition.version)).all()
        assert {r.key for r in rows} == PROCESSES and {r.version for r in rows} == {1}
    with office.db.sessions() as s, s.begin():
        again = definitions.deploy_directory(s, actor=MANAGER, directory=PROJECT_ROOT / "bpmn")
    assert [created for _, created in again] == [False] * len(PROCESSES)
    with office.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ProcessDefinition)) == len(PROCESSES)
        deploys = s.scalars(select(AuditEvent.payload).where(AuditEvent.action == "definition.deploy")).all()
        assert len(deploys) == len(PROCESSES)


def test_changed_xml_is_the_next_version_and_running_cases_stay(office):
    person = id_number()
    old_case = office.start(person=person)
    xml = (PROJECT_ROOT / "bpmn" / "survey_registration.bpmn").read_text()
    assert _deploy(office.db, xml.replace("入户调查登记", "入户调查登记（新）"), comment="改名") == (
        "survey_registration",
        2,
        True,
    )
    new_case = office.start(person=id_number(seq="125"))
    assert office.task(new_case).title == "入户调查登记（新）"
    assert office.task(old_case).title == "入户调查登记"
    office.complete(SURVEYOR1, old_case, "survey", registration(person))
    assert office.task(old_case).spec_name == "initial_review"
    assert office.case(old_case).definition_id != office.case(new_case).definition_id


def test_unknown_lane_form_and_operation_are_located(any_db):
    assert _problems(any_db, samples.process(samples.user_task(), lane="门卫")) == [
        ("work", "lane.unknown_role")
    ]
    assert _problems(any_db, samples.process(samples.user_task(form="no_such_form"))) == [
        ("work", "form.unknown")
    ]
    assert _problems(
        any_db, samples.process(samples.service_task("ledger.drop_all"), lane="县级经办机构")
    ) == [("work", "operation.unknown")]
    bad_due = samples.user_task(extra_props='<spiffworkflow:property name="dueIn" value="ten days"/>')
    assert _problems(any_db, samples.process(bad_due)) == [("work", "due.invalid")]


@pytest.mark.parametrize(
    "script",
    [
        "import os",
        "x = open('/etc/passwd').read()",
        "x = ().__class__.__base__.__subclasses__()",
        "x = getattr(len, '__self__')",
        "exec('import os')",
    ],
)
def test_unsafe_scripts_are_refused_at_deploy(any_db, script):
    problems = _problems(
        any_db, samples.process(samples.script_then_task(script), refs=("start", "boom", "work", "end"))
    )
    assert problems == [("boom", "script.unsafe")]


def test_not_executable_and_not_bpmn(any_db):
    assert _problems(any_db, samples.process(samples.user_task(), executable=False)) == [
        (None, "process.not_executable")
    ]
    assert _problems(any_db, "<html><body>not bpmn</body></html>") == [(None, "xml.not_bpmn")]
    assert _problems(any_db, "<bpmn:definitions") == [(None, "xml.syntax")]
    with any_db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ProcessDefinition)) == 0


def test_lanes_use_the_procedure_s_role_names_and_the_old_ones_still_parse(any_db):
    """The self-service user is 单位或个人 (第二十三条); versions deployed while the lane read 参保人 (and
    the province and ministry 省级/部级经办机构) keep resolving to the same roles."""
    lanes = ("单位或个人", "参保人", "省级人力资源社会保障部门", "省级经办机构", "人力资源社会保障部")
    for i, lane in enumerate(lanes):
        assert _deploy(any_db, samples.process(samples.user_task(), key=f"named_{i}", lane=lane))[2], lane
    names = ("单位或个人", "参保人", "部级经办机构")
    assert [ROLE_BY_NAME[n] for n in names] == ["citizen", "citizen", "ministry"]


def test_lane_may_be_named_by_role_code(any_db):
    assert _deploy(any_db, samples.process(samples.user_task(), lane="platform_reviewer")) == (
        "sample",
        1,
        True,
    )
