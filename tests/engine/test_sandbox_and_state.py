"""The script sandbox at run time, and the lean per-case state."""

import json

import pytest
from sqlalchemy import func, select

from engine import serializer
from engine.models import Case
from engine.runner import parsed_for
from engine.sandbox import ENVIRONMENT

from .office import APPROVE, PLATFORM1, RETURN, SURVEYOR1, id_number, registration


@pytest.mark.parametrize(
    ("script", "error"),
    [
        ("import os", ImportError),
        ("x = open('/etc/passwd')", NameError),
        ("x = getattr(len, '__self__')", NameError),
        ("x = ().__class__.__base__.__subclasses__()", SyntaxError),
        ("x = __import__('os')", SyntaxError),
    ],
)
def test_sandbox_refuses_at_run_time_too(script, error):
    with pytest.raises(error):
        ENVIRONMENT.execute(script, {}, {})


def test_sandbox_allows_ordinary_scripts():
    data = {"returns": 2, "items": [1, 2, 3]}
    ENVIRONMENT.execute(
        "returns = returns + 1\ntotal = sum(items)\nnames = {'a': 1}\nnames['b'] = 2", data, {}
    )
    assert (data["returns"], data["total"], data["names"]) == (3, 6, {"a": 1, "b": 2})


def test_state_is_lean_and_round_trips(office):
    person = id_number(seq="401")
    case_id = office.start(person=person)
    office.complete(SURVEYOR1, case_id, "survey", registration(person))
    office.complete(PLATFORM1, case_id, "initial_review", RETURN)
    office.complete(SURVEYOR1, case_id, "survey", registration(person))
    with office.db.sessions() as s:
        case = s.get(Case, case_id)
        state = json.loads(case.state)
        assert "spec" not in state and "subprocess_specs" not in state
        assert state["definition_id"] == case.definition_id and len(case.state) < 20_000
        workflow = serializer.loads(case.state, parsed_for(s, case.definition_id))
        assert serializer.dumps(workflow) == case.state
        assert s.scalar(select(func.count()).select_from(Case)) == 1
    office.complete(PLATFORM1, case_id, "initial_review", APPROVE)
    assert office.task(case_id).spec_name == "final_review"
