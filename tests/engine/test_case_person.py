"""A case changes only its own person (第十三、十九、二十一、二十三条): the person is fixed at start, or by
the first accepted 登记表 where it was not known, and every later submission naming another person is
refused at the task with nothing written."""

import pytest
from sqlalchemy import func, select

from canbao.actors import Actor
from canbao.errors import CanbaoError
from engine.errors import InvalidFormData
from engine.models import Case, CaseTask
from registry import persons
from registry.models import FieldChange, Person

from .office import (
    APPROVE,
    COUNTER1,
    COUNTER2,
    COUNTY1,
    PLATFORM1,
    PLATFORM2,
    RETURN,
    SURVEYOR1,
    VILLAGE,
    counter_form,
    id_number,
    registration,
)

OTHER_VILLAGE = "370103002001"  # 纬一路社区, 市中区


def _store(office, person: str, **overrides) -> None:
    with office.db.sessions() as s, s.begin():
        persons.store(
            s,
            actor=COUNTY1,
            case_id=0,
            case_area=VILLAGE,
            person_id=person,
            registration=registration(person, **overrides),
        )


def _snapshot(office, case_id: int) -> tuple:
    with office.db.sessions() as s:
        case = s.get(Case, case_id)
        return (
            case.version,
            case.person_id,
            s.scalar(select(func.count()).select_from(CaseTask).where(CaseTask.case_id == case_id)),
            s.scalar(select(func.count()).select_from(FieldChange)),
            s.scalar(select(func.count()).select_from(Person)),
        )


def _refused(err: pytest.ExceptionInfo) -> list[tuple[str, str]]:
    return [(e.pointer, e.code) for e in err.value.errors]


def test_a_survey_form_naming_another_person_is_refused_and_writes_nothing(office):
    """Found: a case opened for A accepted B's 登记表 and 入库 rewrote B while A stayed flagged."""
    a, b = id_number(seq="201"), id_number(seq="203")
    _store(office, a)
    _store(office, b, name="李四")
    case_id = office.start(person=a)
    before = _snapshot(office, case_id)
    with pytest.raises(InvalidFormData) as err:
        office.complete(SURVEYOR1, case_id, "survey", registration(b))
    assert _refused(err) == [("/id_number", "case.person_mismatch")]
    assert _snapshot(office, case_id) == before
    office.complete(SURVEYOR1, case_id, "survey", registration(a))
    office.complete(PLATFORM1, case_id, "initial_review", APPROVE)
    office.complete(COUNTY1, case_id, "final_review", APPROVE)
    with office.db.sessions() as s:
        assert persons.get(s, id_number=b).name == "李四"
        assert persons.get(s, id_number=a).registered_case_id == case_id


def test_the_same_person_in_another_spelling_is_the_same_person(office):
    """A lower-case x or full-width digits name the case's person: normalized before comparing."""
    person = id_number(seq="204")
    assert person.endswith("X")
    _store(office, person)
    case_id = office.start(person=person)
    spelled = person[:-1] + person[-1].lower()
    office.complete(SURVEYOR1, case_id, "survey", registration(person) | {"id_number": spelled})
    assert office.task(case_id).spec_name == "initial_review"


def test_a_change_request_for_another_person_is_refused(office):
    """Found: a 历下区 change_approval carrying a 市中区 number changed the 市中区 person."""
    here, there = id_number(seq="211"), "370103198505051239"
    _store(office, here)
    place = {"division": OTHER_VILLAGE, "address": "济南市市中区纬一路1号"}
    with office.db.sessions() as s, s.begin():
        persons.store(
            s,
            actor=COUNTY1,
            case_id=0,
            case_area=OTHER_VILLAGE,
            person_id=there,
            registration=registration(there, hukou={**place, "nature": "10"}, residence=place),
        )
    case_id = office.start("change_approval", person=here, team_id=None)
    change = {
        "id_number": there,
        "changes": [{"field": "/phone", "old": "13805310000", "new": "13900000000"}],
        "reason": "更换手机号码",
    }
    with pytest.raises(InvalidFormData) as err:
        office.complete(PLATFORM1, case_id, "collect_change", change)
    assert _refused(err) == [("/id_number", "case.person_mismatch")]
    with office.db.sessions() as s:
        assert persons.get(s, id_number=there).phone == "13805310000"


def test_a_citizen_corrects_only_their_own_record(office):
    me, other = id_number(seq="221"), id_number(seq="223")
    _store(office, me)
    _store(office, other)
    citizen = Actor(sub=me, roles=("citizen",), area="")
    case_id = office.start("self_service_update", actor=citizen, person=me, team_id=None)
    change = {
        "id_number": other,
        "changes": [{"field": "/phone", "old": "13805310000", "new": "13900000001"}],
        "reason": "手机号码变更",
    }
    with pytest.raises(InvalidFormData) as err:
        office.complete(citizen, case_id, "submit", change)
    assert _refused(err) == [("/id_number", "case.person_mismatch")]


def test_a_counter_case_without_a_person_is_bound_by_its_first_accepted_form(office):
    """第十三条: a person not yet in the registry is collected at the counter; the first 登记表 that
    passes validation fixes whose case it is, and a resubmission after a return cannot change that."""
    person, other = id_number(seq="231"), id_number(seq="233")
    case_id = office.start("counter_collection", actor=COUNTER1, person=None, team_id=None)
    with pytest.raises(InvalidFormData):  # refused forms bind nothing
        office.complete(COUNTER1, case_id, "collect", counter_form(other, name=""))
    assert office.case(case_id).person_id is None
    office.complete(COUNTER1, case_id, "collect", counter_form(person, name="王五"))
    case = office.case(case_id)
    assert (case.person_id, case.person_name) == (person, "王五")
    assert office.task(case_id).person_id == person
    office.complete(COUNTER2, case_id, "check", RETURN)
    with pytest.raises(InvalidFormData) as err:
        office.complete(COUNTER1, case_id, "collect", counter_form(other))
    assert _refused(err) == [("/id_number", "case.person_mismatch")]
    office.complete(COUNTER1, case_id, "collect", counter_form(person, name="王五"))
    office.complete(COUNTER2, case_id, "check", APPROVE)
    with office.db.sessions() as s:
        assert persons.get(s, id_number=person).registered_case_id == case_id
        assert persons.get(s, id_number=other) is None


def test_binding_to_a_person_managed_elsewhere_is_refused(office):
    there = "370103198505051239"
    place = {"division": OTHER_VILLAGE, "address": "济南市市中区纬一路1号"}
    with office.db.sessions() as s, s.begin():
        persons.store(
            s,
            actor=COUNTY1,
            case_id=0,
            case_area=OTHER_VILLAGE,
            person_id=there,
            registration=registration(there, hukou={**place, "nature": "10"}, residence=place),
        )
    case_id = office.start("counter_collection", actor=COUNTER1, person=None, team_id=None)
    before = _snapshot(office, case_id)
    with pytest.raises(InvalidFormData) as err:
        office.complete(COUNTER1, case_id, "collect", counter_form(there))
    assert _refused(err) == [("/id_number", "case.person_unavailable")]
    assert _snapshot(office, case_id) == before


def test_binding_to_a_person_with_another_open_case_is_refused(office):
    person = id_number(seq="241")
    first = office.start("counter_collection", actor=COUNTER1, person=None, team_id=None)
    office.complete(COUNTER1, first, "collect", counter_form(person))
    second = office.start("counter_collection", actor=COUNTER1, person=None, team_id=None)
    with pytest.raises(InvalidFormData) as err:
        office.complete(COUNTER1, second, "collect", counter_form(person))
    assert _refused(err) == [("/id_number", "case.person_unavailable")]
    assert office.case(second).person_id is None


def _correction(current: str, corrected: str) -> dict:
    return {
        "id_number": current,
        "new_id_number": corrected,
        "reason": "原登记时号码录入错误，以户口簿为准",
        "evidence": ["doc-1"],
    }


def test_a_wrong_number_is_corrected_by_its_own_path_and_the_record_follows(office):
    """The correction of a person's own 公民身份号码 is an explicit case with its own decisions and audit
    event (not a side effect of typing another number): the record, its history and the person's
    other cases move to the corrected number; the old number stays in the field history."""
    wrong, right = id_number(seq="251"), id_number(seq="253")
    _store(office, wrong, name="赵六")
    survey = office.start(person=wrong)
    case_id = office.start("id_correction", person=wrong, team_id=None)
    with pytest.raises(InvalidFormData) as err:  # the form names the case's person, nobody else
        office.complete(PLATFORM1, case_id, "collect", _correction(id_number(seq="255"), right))
    assert _refused(err) == [("/id_number", "case.person_mismatch")]
    office.complete(PLATFORM1, case_id, "collect", _correction(wrong, right))
    office.complete(PLATFORM2, case_id, "initial_review", APPROVE)
    office.complete(COUNTY1, case_id, "final_review", APPROVE)
    with office.db.sessions() as s:
        assert persons.get(s, id_number=wrong) is None
        moved = persons.get(s, id_number=right)
        assert (moved.name, moved.registered_case_id) == ("赵六", 0)
        history = persons.history(s, actor=COUNTY1, id_number=right)
        assert {"field": "/id_number", "old": wrong, "new": right} in [
            {k: h[k] for k in ("field", "old", "new")} for h in history
        ]
        assert s.get(Case, survey).person_id == right and s.get(Case, case_id).person_id == right
    [event] = [e for e in office.events(case_id) if e.action == "registry.id_correction"]
    assert (event.payload_json["old"], event.payload_json["new"], event.person_id) == (wrong, right, right)


def test_a_correction_onto_a_number_already_registered_changes_nothing(office):
    wrong, taken = id_number(seq="261"), id_number(seq="263")
    _store(office, wrong)
    _store(office, taken)
    case_id = office.start("id_correction", person=wrong, team_id=None)
    office.complete(PLATFORM1, case_id, "collect", _correction(wrong, taken))
    office.complete(PLATFORM2, case_id, "initial_review", APPROVE)
    with pytest.raises(CanbaoError) as err:
        office.complete(COUNTY1, case_id, "final_review", APPROVE)
    assert err.value.code == "registry.id_number_taken"
    assert office.task(case_id).spec_name == "final_review"
    with office.db.sessions() as s:
        assert persons.get(s, id_number=wrong) is not None
