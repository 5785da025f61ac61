"""Who can be registered (规程第三、八条): a survey or counter case for a holder of any 证件类型 the 登记表
offers ends with the person stored (入库) under their 社会保障号码, with the document kept beside it."""

import pytest

from engine.errors import InvalidFormData
from forms import codes
from registry import persons
from registry.models import Person

from ..holders import ASSIGNED, HOLDERS
from .office import APPROVE, COUNTER1, COUNTER2, COUNTY1, PLATFORM1, SURVEYOR1

OFFERED = sorted(codes.get("id_type").values())


def _stored(office, key: str) -> Person:
    with office.db.sessions() as s:
        person = s.get(Person, key)
        assert person is not None, key
        s.expunge(person)
        return person


@pytest.mark.parametrize("id_type", OFFERED)
def test_a_survey_case_stores_a_holder_of_every_offered_id_type(office, id_type):
    holder = HOLDERS[id_type]
    case_id = office.start(person=None)
    office.complete(SURVEYOR1, case_id, "survey", holder.form())
    assert office.case(case_id).person_id == holder.key  # bound by its first 登记表
    office.complete(PLATFORM1, case_id, "initial_review", APPROVE)
    office.complete(COUNTY1, case_id, "final_review", APPROVE)
    case = office.case(case_id)
    assert (case.status, case.status_detail) == ("waiting", "等待归档")
    person = _stored(office, holder.key)
    assert (person.id_type, person.document_number, person.name) == (id_type, holder.document, holder.name)
    assert person.registered_case_id == case_id and person.area == "370102001002"
    with office.db.sessions() as s:
        assert [p.id for p in persons.find(s, id_type=id_type, document_number=holder.document)] == [
            holder.key
        ]
        record = persons.as_registration(s, person)
    assert (record["id_type"], record["id_number"]) == (id_type, holder.document)
    assert record.get("ss_number", holder.key) == holder.key


@pytest.mark.parametrize("id_type", ["04", "08", "09"])
def test_a_counter_case_stores_a_holder_of_another_document(office, id_type):
    holder = HOLDERS[id_type]
    case_id = office.start("counter_collection", actor=COUNTER1, person=None, team_id=None)
    counter = {"survey": {"channel": "counter", "date": "2026-11-28", "signed": True}}
    office.complete(COUNTER1, case_id, "collect", holder.form() | counter)
    office.complete(COUNTER2, case_id, "check", APPROVE)
    assert office.case(case_id).status_detail == "等待归档"
    assert _stored(office, holder.key).registered_case_id == case_id


def test_a_case_started_for_a_registered_holder_is_theirs(office):
    """A later case names the holder by their 社会保障号码: another holder's form, or their own under another
    证件类型, is refused at the task."""
    holder = HOLDERS["08"]
    first = office.start(person=None)
    office.complete(SURVEYOR1, first, "survey", holder.form())
    office.complete(PLATFORM1, first, "initial_review", APPROVE)
    office.complete(COUNTY1, first, "final_review", APPROVE)
    again = office.start("counter_collection", actor=COUNTER1, person=holder.key, team_id=None)
    counter = {"survey": {"channel": "counter", "date": "2026-11-28", "signed": True}}
    with pytest.raises(InvalidFormData) as err:
        office.complete(COUNTER1, again, "collect", HOLDERS["11"].form() | counter)
    assert [(e.pointer, e.code) for e in err.value.errors] == [("/id_number", "case.person_mismatch")]
    with pytest.raises(InvalidFormData) as err:
        office.complete(COUNTER1, again, "collect", holder.form(id_type="11") | counter)
    assert [(e.pointer, e.code) for e in err.value.errors] == [("/id_type", "case.person_mismatch")]
    office.complete(COUNTER1, again, "collect", holder.form(phone="13905319999") | counter)
    office.complete(COUNTER2, again, "check", APPROVE)
    assert _stored(office, ASSIGNED[0]).phone == "13905319999"
