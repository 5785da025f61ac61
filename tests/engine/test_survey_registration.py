"""survey_registration through every path: approve, return, reject, the return cap, the review timeout."""

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
    SURVEYOR2,
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
    office.complete(SURVEYOR2, case_id, "survey", registration(person, phone="13905310001"))
    office.complete(PLATFORM1, case_id, "initial_review", APPROVE)
    office.complete(COUNTY1, case_id, "final_review", REJECT)
    case = office.case(case_id)
    assert (case.status, case.outcome) == ("completed", "不予登记")
    assert office.ready(case_id) == []
    actions = office.actions(case_id)
    assert actions.count("task.return") == 1 and actions[-1] == "case.complete"
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
    assert office.case(case_id).outcome == "不予登记"


def test_review_timeout_escalates_through_the_worker(office):
    person = id_number()
    case_id = office.start(person=person, data={"timeouts": {"initial_review": "PT1S"}})
    office.complete(SURVEYOR1, case_id, "survey", registration(person))
    assert office.task(case_id).spec_name == "initial_review"
    assert worker.run_due(office.db.sessions) == 0  # not due yet
    time.sleep(1.2)
    assert worker.run_due(office.db.sessions) == 1
    task = office.task(case_id)
    assert task.spec_name == "escalation_review"
    actions = office.actions(case_id)
    assert "timer.fire" in actions and "task.cancel" in actions and "case.escalate" in actions
    assert worker.run_due(office.db.sessions) == 0  # fired once only


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
