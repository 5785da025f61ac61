"""Migrating running cases between versions: who moves, who stays and why, and what moving does."""

import pytest
from sqlalchemy import func, select

from canbao.audit.models import AuditEvent
from engine import cases, definitions, migration
from engine.change_models import MigrationItem
from engine.models import Case, CaseTask, CaseWakeup

from ..engine.office import APPROVE, MANAGER, PLATFORM1, SURVEYOR1, id_number, registration
from . import variants
from .variants import FIXTURES


def deploy(office, xml: str) -> int:
    with office.db.sessions() as s, s.begin():
        definition, created = definitions.deploy(s, actor=MANAGER, bpmn_xml=xml, comment="测试新版本")
        assert created
        return definition.version


def migrate(office, *, to: int, dry_run: bool = False, **filters) -> dict[int, MigrationItem]:
    with office.db.sessions() as s, s.begin():
        job = migration.request(
            s,
            actor=MANAGER,
            key="survey_registration",
            from_version=1,
            to_version=to,
            dry_run=dry_run,
            **filters,
        )
        job_id = job.id
    migration.run(office.db.sessions, job_id=job_id)
    with office.db.sessions() as s:
        return {i.case_id: i for i in s.scalars(select(MigrationItem).where(MigrationItem.job_id == job_id))}


def test_v2_with_a_task_before_initial_review_moves_waiting_cases_and_refuses_those_past_it(any_office):
    office = any_office
    person, other = id_number(seq="123"), id_number(seq="124")
    waiting = office.start(person=person)
    past = office.start(person=other)
    office.complete(SURVEYOR1, past, "survey", registration(other))
    survey_guid = office.task(waiting).task_guid
    to = deploy(office, variants.with_precheck())

    results = migrate(office, to=to)

    assert results[waiting].outcome == "migrated"
    assert results[waiting].report["at"] == [{"element": "survey", "name": "入户调查登记", "state": "ready"}]
    assert results[past].outcome == "refused"
    assert "入户调查登记（survey：outputs）" in results[past].reason
    assert office.case(waiting).definition_id != office.case(past).definition_id
    # The waiting survey keeps its inbox row; the new task comes next, then the old path resumes.
    assert office.task(waiting).task_guid == survey_guid
    office.complete(SURVEYOR1, waiting, "survey", registration(person))
    assert office.task(waiting).spec_name == "precheck"
    office.complete(PLATFORM1, waiting, "precheck", APPROVE)
    assert office.task(waiting).spec_name == "initial_review"
    # The refused case carries on, unchanged, on version 1.
    office.complete(PLATFORM1, past, "initial_review", APPROVE)
    assert office.task(past).spec_name == "final_review"
    [moved] = [e for e in office.events(waiting) if e.action == "case.migrate"]
    assert '"from":1' in moved.payload and f'"to":{to}' in moved.payload
    assert "case.migrate" not in office.actions(past)


def _snapshot(office) -> tuple:
    with office.db.sessions() as s:
        cases = s.execute(
            select(Case.id, Case.definition_id, Case.version, Case.state).order_by(Case.id)
        ).all()
        tasks = s.execute(
            select(CaseTask.task_guid, CaseTask.state, CaseTask.title).order_by(CaseTask.id)
        ).all()
        wakeups = s.execute(select(CaseWakeup.task_guid, CaseWakeup.due_at).order_by(CaseWakeup.id)).all()
        events = s.scalar(select(func.count()).where(AuditEvent.case_id.is_not(None)))
        return cases, tasks, wakeups, events


def test_dry_run_reports_per_case_and_changes_nothing(any_office):
    office = any_office
    person, other = id_number(seq="123"), id_number(seq="124")
    waiting = office.start(person=person)
    past = office.start(person=other)
    office.complete(SURVEYOR1, past, "survey", registration(other))
    to = deploy(office, variants.with_precheck())
    before = _snapshot(office)

    results = migrate(office, to=to, dry_run=True)

    assert _snapshot(office) == before
    assert results[waiting].outcome == "movable"
    assert results[waiting].report["will_be_at"] == [
        {"element": "survey", "name": "入户调查登记", "state": "ready"}
    ]
    assert (results[past].outcome, results[past].report["blockers"][0]["element"]) == ("refused", "survey")


def test_boundary_timer_restarts_and_is_reported(office):
    person = id_number()
    case_id = office.start(person=person)
    office.complete(SURVEYOR1, case_id, "survey", registration(person))
    with office.db.sessions() as s:
        [old_due] = s.scalars(select(CaseWakeup.due_at).where(CaseWakeup.case_id == case_id)).all()
    to = deploy(office, variants.with_final_review_renamed())

    [preview] = migrate(office, to=to, dry_run=True).values()
    [result] = migrate(office, to=to).values()

    assert [(t["event"], t["was"]) for t in preview.report["timers_restart"]] == [
        ("initial_review_timeout", old_due.isoformat())
    ]
    assert result.outcome == "migrated"
    [timer] = result.report["timers_restarted"]
    assert (timer["event"], timer["was"]) == ("initial_review_timeout", old_due.isoformat())
    with office.db.sessions() as s:
        [new_due] = s.scalars(select(CaseWakeup.due_at).where(CaseWakeup.case_id == case_id)).all()
    assert new_due.isoformat() == timer["now"] and new_due > old_due
    office.complete(PLATFORM1, case_id, "initial_review", APPROVE)
    assert office.task(case_id).title == "县级审定（复核）"


def test_a_waiting_task_that_changes_lane_moves_in_the_inbox_and_loses_its_claim(office):
    person = id_number()
    case_id = office.start(person=person)
    guid = office.task(case_id).task_guid
    with office.db.sessions() as s, s.begin():
        cases.claim(s, actor=SURVEYOR1, task_id=guid)
    to = deploy(office, variants.with_survey_at_the_platform())

    [result] = migrate(office, to=to).values()

    assert result.outcome == "migrated", result.reason
    task = office.task(case_id)
    assert (task.task_guid, task.role, task.title, task.assignee) == (
        guid,
        "platform_reviewer",
        "平台代为登记",
        None,
    )
    office.complete(PLATFORM1, case_id, "survey", registration(person))
    assert office.task(case_id).spec_name == "initial_review"


def test_a_case_whose_migration_fails_stays_where_it_was(office):
    person = id_number()
    failing = office.start(person=person)
    to = deploy(office, variants.with_survey_replaced_by_failing_script())
    before = _snapshot(office)

    [result] = migrate(office, to=to).values()

    assert result.outcome == "failed" and "division by zero" in result.reason
    assert _snapshot(office) == before
    office.complete(SURVEYOR1, failing, "survey", registration(person))
    assert office.task(failing).spec_name == "initial_review"


def test_cases_that_finish_or_move_after_the_request_are_skipped(office):
    first, second = office.start(person=id_number(seq="123")), office.start(person=id_number(seq="124"))
    to = deploy(office, variants.with_precheck())
    with office.db.sessions() as s, s.begin():
        job_id = migration.request(
            s, actor=MANAGER, key="survey_registration", from_version=1, to_version=to, dry_run=False
        ).id
        other = migration.request(
            s,
            actor=MANAGER,
            key="survey_registration",
            from_version=1,
            to_version=to,
            dry_run=False,
            case_ids=[second],
        ).id
    migration.run(office.db.sessions, job_id=other)
    migration.run(office.db.sessions, job_id=job_id)
    with office.db.sessions() as s:
        outcomes = dict(
            s.execute(
                select(MigrationItem.case_id, MigrationItem.outcome).where(MigrationItem.job_id == job_id)
            ).all()
        )
    assert outcomes == {first: "migrated", second: "skipped"}


def test_filters_choose_the_cases(office):
    person = id_number(seq="124")
    at_survey = office.start(person=id_number(seq="123"))
    at_review = office.start(person=person)
    office.complete(SURVEYOR1, at_review, "survey", registration(person))
    to = deploy(office, variants.with_final_review_renamed())

    assert set(migrate(office, to=to, dry_run=True, waiting_at=["initial_review"])) == {at_review}
    assert set(migrate(office, to=to, dry_run=True, case_ids=[at_survey])) == {at_survey}
    assert migrate(office, to=to, dry_run=True, area="370103") == {}


def test_a_case_inside_an_embedded_subprocess_moves(office):
    fixture = (FIXTURES / "embedded_subprocess.bpmn").read_text(encoding="utf-8")
    with office.db.sessions() as s, s.begin():
        definitions.deploy(s, actor=MANAGER, bpmn_xml=fixture)
    case_id = office.start("review_with_subprocess", person=id_number())
    assert office.task(case_id).spec_name == "check_identity"
    extra = (
        '<bpmn:userTask id="check_address" name="核验地址"><bpmn:extensionElements><spiffworkflow:properties>'
        '<spiffworkflow:property name="formKey" value="review_decision" />'
        "</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"
        '<bpmn:sequenceFlow id="cf4" sourceRef="check_note" targetRef="check_address" />'
    )
    v2 = fixture.replace(
        '<bpmn:sequenceFlow id="cf3" sourceRef="check_note" targetRef="check_end" />',
        extra + '<bpmn:sequenceFlow id="cf3" sourceRef="check_address" targetRef="check_end" />',
    )
    with office.db.sessions() as s, s.begin():
        definitions.deploy(s, actor=MANAGER, bpmn_xml=v2)
        job_id = migration.request(
            s, actor=MANAGER, key="review_with_subprocess", from_version=1, to_version=2, dry_run=False
        ).id
    migration.run(office.db.sessions, job_id=job_id)

    with office.db.sessions() as s:
        item = s.scalars(select(MigrationItem).where(MigrationItem.job_id == job_id)).one()
    assert item.outcome == "migrated", item.reason
    office.complete(PLATFORM1, case_id, "check_identity", APPROVE)
    assert office.task(case_id).spec_name == "check_address"
    office.complete(PLATFORM1, case_id, "check_address", APPROVE)
    assert office.case(case_id).status == "completed"


def test_a_version_an_unfinished_migration_needs_cannot_be_deleted(office):
    office.start(person=id_number())
    to = deploy(office, variants.with_precheck())
    with office.db.sessions() as s, s.begin():
        job_id = migration.request(
            s, actor=MANAGER, key="survey_registration", from_version=1, to_version=to, dry_run=True
        ).id
    with pytest.raises(definitions.VersionInUse), office.db.sessions() as s, s.begin():
        definitions.delete(s, actor=MANAGER, key="survey_registration", version=to)
    migration.run(office.db.sessions, job_id=job_id)
    with office.db.sessions() as s, s.begin():
        definitions.delete(s, actor=MANAGER, key="survey_registration", version=to)
    with office.db.sessions() as s:
        assert definitions.get_version(s, key="survey_registration", version=to) is None
