"""Bad input and faults: each a distinct typed error, and the database unchanged."""

import threading

import pytest
from sqlalchemy import func, select

from canbao.audit.models import AuditEvent
from engine import cases, definitions
from engine.errors import (
    CaseAlreadyOpen,
    InvalidFormData,
    ScriptFailed,
    StaleCaseVersion,
    TaskAlreadyCompleted,
    TaskNotFound,
    UnknownProcess,
)
from engine.models import Case

from . import samples
from .office import APPROVE, MANAGER, PLATFORM1, SURVEYOR1, SURVEYOR2, id_number, registration


def _snapshot(db, case_id):
    with db.sessions() as s:
        case = s.get(Case, case_id)
        return case.version, case.state, s.scalar(select(func.count()).select_from(AuditEvent))


def test_unknown_process(office):
    with pytest.raises(UnknownProcess), office.db.sessions() as s, s.begin():
        cases.start(s, actor=PLATFORM1, process_key="no_such_process", area="370102001002")
    with office.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0


def test_one_open_case_per_person_and_process(office):
    person = id_number()
    first = office.start(person=person)
    with pytest.raises(CaseAlreadyOpen):
        office.start(person=person)
    office.start("counter_collection", person=person, team_id=None)  # another process may run alongside
    with office.db.sessions() as s:
        assert (
            s.scalar(select(func.count()).select_from(Case).where(Case.process_key == "survey_registration"))
            == 1
        )
    assert office.case(first).status == "running"


def test_unknown_and_completed_tasks(office):
    person = id_number()
    case_id = office.start(person=person)
    guid = office.task(case_id).task_guid
    with pytest.raises(TaskNotFound), office.db.sessions() as s, s.begin():
        cases.complete(s, actor=SURVEYOR1, task_id="00000000-0000-0000-0000-000000000000", data={})
    office.complete(SURVEYOR1, case_id, "survey", registration(person))
    before = _snapshot(office.db, case_id)
    with pytest.raises(TaskAlreadyCompleted), office.db.sessions() as s, s.begin():
        cases.complete(s, actor=SURVEYOR1, task_id=guid, data=registration(person))
    assert _snapshot(office.db, case_id) == before


def test_stale_version(office):
    person = id_number()
    case_id = office.start(person=person)
    version = office.case(case_id).version
    office.complete(SURVEYOR1, case_id, "survey", registration(person), expected_version=version)
    before = _snapshot(office.db, case_id)
    with pytest.raises(StaleCaseVersion):
        office.complete(PLATFORM1, case_id, "initial_review", APPROVE, expected_version=version)
    assert _snapshot(office.db, case_id) == before


@pytest.mark.parametrize(
    "data", [["not", "an", "object"], "text", {"decision": float("nan")}, {"when": object()}]
)
def test_form_data_that_is_not_json(office, data):
    case_id = office.start(person=id_number())
    before = _snapshot(office.db, case_id)
    with pytest.raises(InvalidFormData) as err:
        office.complete(SURVEYOR1, case_id, "survey", data)
    assert err.value.errors[0].code in ("form.not_object", "form.not_json")
    assert _snapshot(office.db, case_id) == before


def test_invalid_form_names_every_field_and_writes_nothing(office):
    person = id_number()
    case_id = office.start(person=person)
    before = _snapshot(office.db, case_id)
    bad = registration(person, id_number=person[:17] + ("0" if person[17] != "0" else "1"), phone="12345")
    with pytest.raises(InvalidFormData) as err:
        office.complete(SURVEYOR1, case_id, "survey", bad)
    pointers = {e.pointer for e in err.value.errors}
    assert {"/id_number", "/phone"} <= pointers
    assert _snapshot(office.db, case_id) == before


def test_failing_script_rolls_back_and_names_task_and_line(office):
    xml = samples.process(samples.task_then_script("a = 1\nb = a / 0"), refs=("start", "work", "boom", "end"))
    with office.db.sessions() as s, s.begin():
        definitions.deploy(s, actor=MANAGER, bpmn_xml=xml)
    with office.db.sessions() as s, s.begin():
        case_id = cases.start(s, actor=PLATFORM1, process_key="sample", area="370102001002").id
    before = _snapshot(office.db, case_id)
    with pytest.raises(ScriptFailed) as err:
        office.complete(PLATFORM1, case_id, "work", APPROVE)
    assert (err.value.task, err.value.line) == ("boom", 2)
    assert "ZeroDivisionError" in err.value.detail
    assert _snapshot(office.db, case_id) == before
    assert office.task(case_id).spec_name == "work"


def test_concurrent_completions_exactly_one_wins(pg_office):
    person = id_number()
    case_id = pg_office.start(person=person)
    guid = pg_office.task(case_id).task_guid
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit(actor):
        barrier.wait()
        try:
            with pg_office.db.sessions() as s, s.begin():
                cases.complete(s, actor=actor, task_id=guid, data=registration(person))
            outcomes.append("won")
        except TaskAlreadyCompleted:
            outcomes.append("already_completed")

    threads = [threading.Thread(target=submit, args=(a,)) for a in (SURVEYOR1, SURVEYOR2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already_completed", "won"]
    assert pg_office.task(case_id).spec_name == "initial_review"
    assert pg_office.actions(case_id).count("task.complete") == 1
