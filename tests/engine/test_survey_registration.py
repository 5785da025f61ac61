"""survey_registration through every path (第十九条: 调查员 → 基层平台初审 → 县级审定 → 入库): approve,
return, reject, the return cap, and an overdue 初审, which raises 督办 and never skips the 初审."""

import time

import pytest

from engine import worker
from engine.errors import InvalidFormData, NotInTeam, WrongLane

from .office import (
    APPROVE,
    COUNTY1,
    OTHER_TEAM,
    PLATFORM1,
    REJECT,
    RETURN,
    SURVEYOR1,
    id_number,
    registration,
)


def test_starts_at_the_survey_with_due_date_and_team(office):
    case_id = office.start(person=id_number())
    [task] = office.ready(case_id)
    assert (task.spec_name, task.title, task.role, task.form_key) == (
        "survey",
        "入户调查登记",
        "surveyor",
        "registration",
    )
    assert task.team_id == 1 and task.area == "370102001002"
    assert (task.due_at - task.created_at).days == 10
    assert office.actions(case_id)[:2] == ["case.start", "task.ready"]


def test_return_then_reject(office):
    person = id_number()
    case_id = office.start(person=person)
    office.complete(SURVEYOR1, case_id, "survey", registration(person))
    office.complete(PLATFORM1, case_id, "initial_review", RETURN)
    assert office.task(case_id).spec_name == "survey"
    assert office.case(case_id).status == "running"
    office.complete(SURVEYOR1, case_id, "survey", registration(person, phone="13905310001"))
    office.complete(PLATFORM1, case_id, "initial_review", APPROVE)
    office.complete(COUNTY1, case_id, "final_review", REJECT)
    case = office.case(case_id)  # 第三十二条: the paperwork of 不予登记 is archived too
    assert (case.status, case.status_detail) == ("waiting", "等待归档")
    assert office.ready(case_id) == []
    actions = office.actions(case_id)
    assert actions.count("task.return") == 1 and "registry.store" not in actions
    returned = next(e for e in office.events(case_id) if e.action == "task.return")
    assert "联系电话与户籍信息不符" in returned.payload and returned.actor_sub == "platform1"


def test_county_return_goes_back_to_the_survey(office):
    person = id_number()
    case_id = office.start(person=person)
    office.complete(SURVEYOR1, case_id, "survey", registration(person))
    office.complete(PLATFORM1, case_id, "initial_review", APPROVE)
    office.complete(COUNTY1, case_id, "final_review", RETURN)
    assert office.task(case_id).spec_name == "survey"


def test_fifth_return_escalates_to_the_county(office):
    person = id_number()
    case_id = office.start(person=person)
    for _ in range(5):
        office.complete(SURVEYOR1, case_id, "survey", registration(person))
        office.complete(PLATFORM1, case_id, "initial_review", RETURN)
    task = office.task(case_id)
    assert (task.spec_name, task.role) == ("escalation_review", "county_approver")
    assert "case.escalate" in office.actions(case_id)
    with pytest.raises(InvalidFormData) as err:
        office.complete(COUNTY1, case_id, "escalation_review", RETURN)
    assert [e.pointer for e in err.value.errors] == ["/decision"]
    office.complete(COUNTY1, case_id, "escalation_review", REJECT)
    assert office.case(case_id).status_detail == "等待归档"


def test_an_overdue_initial_review_raises_supervision_and_stays_with_the_platform(office):
    """第十九条: 入库 always follows a 初审. Found: the 初审 timer sent the case to the county, which
    could approve 入库 with no 初审. Now the overdue task stays, marked 督办, until the platform decides."""
    person = id_number()
    case_id = office.start(person=person, data={"timeouts": {"initial_review": "PT1S"}})
    office.complete(SURVEYOR1, case_id, "survey", registration(person))
    overdue = office.task(case_id)
    assert overdue.spec_name == "initial_review" and overdue.supervised_at is None
    assert worker.run_due(office.db.sessions) == 0  # not due yet
    time.sleep(1.2)
    assert worker.run_due(office.db.sessions) == 1
    task = office.task(case_id)
    assert (task.spec_name, task.task_guid) == ("initial_review", overdue.task_guid)
    assert task.supervised_at is not None
    actions = office.actions(case_id)
    assert "timer.fire" in actions and "task.supervise" in actions
    assert "task.cancel" not in actions and "case.escalate" not in actions
    assert worker.run_due(office.db.sessions) == 0  # fired once only
    office.complete(PLATFORM1, case_id, "initial_review", APPROVE)
    assert office.task(case_id).spec_name == "final_review"


def test_lanes_and_teams_are_enforced(office):
    person = id_number()
    case_id = office.start(person=person)
    with pytest.raises(WrongLane):
        office.complete(PLATFORM1, case_id, "survey", registration(person))
    with pytest.raises(NotInTeam):
        office.complete(OTHER_TEAM, case_id, "survey", registration(person))
    assert office.task(case_id).spec_name == "survey"


def test_platform_cannot_reject(office):
    person = id_number()
    case_id = office.start(person=person)
    office.complete(SURVEYOR1, case_id, "survey", registration(person))
    with pytest.raises(InvalidFormData) as err:
        office.complete(PLATFORM1, case_id, "initial_review", REJECT)
    assert err.value.errors[0].code == "decision.not_allowed"
