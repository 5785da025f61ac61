"""counter_collection, self_service_update and change_approval through their paths."""

import pytest
from sqlalchemy import select

from canbao.actors import Actor
from canbao.errors import CanbaoError
from engine.errors import SeparationOfDuties, TaskNotFound
from registry import persons
from registry.models import FieldChange

from .office import (
    APPROVE,
    COUNTY1,
    PLATFORM1,
    PLATFORM2,
    REJECT,
    RETURN,
    VILLAGE,
    id_number,
    registration,
)


def _registered(office, person: str) -> None:
    """Put a person in the registry the way a finished survey case does."""
    with office.db.sessions() as s, s.begin():
        persons.store(
            s,
            actor=COUNTY1,
            case_id=0,
            case_area=VILLAGE,
            person_id=person,
            registration=registration(person),
        )


def _change(person: str, old: str = "13805310000", new: str = "13905319999") -> dict:
    return {
        "id_number": person,
        "changes": [{"field": "/phone", "old": old, "new": new}],
        "reason": "本人更换了手机号码",
        "evidence": [],
    }


def _phone(office, person: str) -> str:
    with office.db.sessions() as s:
        return persons.get(s, id_number=person).phone


def test_counter_collection_needs_a_second_clerk(office):
    person = id_number(seq="135")
    case_id = office.start("counter_collection", person=person, team_id=None)
    assert office.task(case_id).spec_name == "collect"
    office.complete(
        PLATFORM1,
        case_id,
        "collect",
        registration(person, survey=None)
        | {"survey": {"channel": "counter", "date": "2026-11-28", "signed": True}},
    )
    with pytest.raises(SeparationOfDuties):
        office.complete(PLATFORM1, case_id, "check", APPROVE)
    office.complete(PLATFORM2, case_id, "check", APPROVE)
    case = office.case(case_id)
    assert (case.status, case.status_detail) == ("waiting", "等待归档")
    with office.db.sessions() as s:
        assert persons.get(s, id_number=person).registered_at is not None


def test_counter_collection_returns_then_escalates(office):
    person = id_number(seq="137")
    case_id = office.start("counter_collection", person=person, team_id=None)
    counter = {"survey": {"channel": "counter", "date": "2026-11-28", "signed": True}}
    for _ in range(5):
        office.complete(PLATFORM1, case_id, "collect", registration(person) | counter)
        office.complete(PLATFORM2, case_id, "check", RETURN)
    assert office.task(case_id).spec_name == "escalation_review"
    office.complete(COUNTY1, case_id, "escalation_review", REJECT)
    assert office.case(case_id).outcome == "不予登记"


def test_self_service_correction_confirmed_by_the_office(office):
    person = id_number(seq="139")
    _registered(office, person)
    citizen = Actor(sub=person, roles=("citizen",), area="")
    case_id = office.start("self_service_update", actor=citizen, person=person, team_id=None)
    task = office.task(case_id)
    assert (task.spec_name, task.role) == ("submit", "citizen")
    office.complete(citizen, case_id, "submit", _change(person))
    office.complete(PLATFORM1, case_id, "confirm", RETURN)
    office.complete(citizen, case_id, "submit", _change(person))
    office.complete(PLATFORM1, case_id, "confirm", APPROVE)
    assert _phone(office, person) == "13905319999"
    assert office.case(case_id).status == "waiting"
    with office.db.sessions() as s:
        change = s.scalars(
            select(FieldChange).where(FieldChange.person_id == person, FieldChange.case_id == case_id)
        ).one()
        assert (change.old, change.new) == ("13805310000", "13905319999")


def test_self_service_other_citizen_cannot_work_the_task(office):
    person = id_number(seq="141")
    _registered(office, person)
    citizen = Actor(sub=person, roles=("citizen",), area="")
    stranger = Actor(sub=id_number(seq="143"), roles=("citizen",), area="")
    case_id = office.start("self_service_update", actor=citizen, person=person, team_id=None)
    with pytest.raises(TaskNotFound):
        office.complete(stranger, case_id, "submit", _change(person))


def test_change_approval_rejected_by_the_county_changes_nothing(office):
    person = id_number(seq="145")
    _registered(office, person)
    case_id = office.start("change_approval", person=person, team_id=None)
    office.complete(PLATFORM1, case_id, "collect_change", _change(person))
    office.complete(PLATFORM2, case_id, "initial_review", APPROVE)
    office.complete(COUNTY1, case_id, "final_review", REJECT)
    assert office.case(case_id).outcome == "不予变更"
    assert _phone(office, person) == "13805310000"


def test_change_approval_approved_and_stale_old_value_refused(office):
    person = id_number(seq="147")
    _registered(office, person)
    stale = office.start("change_approval", person=person, team_id=None)
    office.complete(PLATFORM1, stale, "collect_change", _change(person, old="13800000000"))
    office.complete(PLATFORM2, stale, "initial_review", APPROVE)
    with pytest.raises(CanbaoError) as err:
        office.complete(COUNTY1, stale, "final_review", APPROVE)
    assert err.value.status in (409, 422)
    assert office.task(stale).spec_name == "final_review"  # rolled back: still waiting for the county
    office.complete(COUNTY1, stale, "final_review", REJECT)
    case_id = office.start("change_approval", person=person, team_id=None)
    office.complete(PLATFORM1, case_id, "collect_change", _change(person))
    office.complete(PLATFORM1, case_id, "initial_review", RETURN)
    office.complete(PLATFORM1, case_id, "collect_change", _change(person))
    office.complete(PLATFORM2, case_id, "initial_review", APPROVE)
    office.complete(COUNTY1, case_id, "final_review", APPROVE)
    assert _phone(office, person) == "13905319999"
    assert office.case(case_id).status == "waiting"
