"""What the worker and the server log: an operator's events at INFO, SpiffWorkflow's chatter at DEBUG."""

import io
import logging
import time

import pytest

from canbao import logs
from engine import worker

from .office import COUNTY1, PLATFORM1, SURVEYOR1, id_number, registration


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("spiff").setLevel(logging.NOTSET)


def _run_a_case(office) -> int:
    person = id_number(seq="311")
    case_id = office.start(person=person, data={"timeouts": {"initial_review": "PT0.2S"}})
    office.complete(SURVEYOR1, case_id, "survey", registration(person))
    time.sleep(0.3)
    assert worker.run_due(office.db.sessions) == 1  # the 初审's supervision timer
    office.complete(PLATFORM1, case_id, "initial_review", {"decision": "approve"})
    office.complete(COUNTY1, case_id, "final_review", {"decision": "reject", "reason": "演示：不予登记"})
    worker.run_due(office.db.sessions)
    return case_id


def test_info_names_timers_tasks_and_case_ends_without_spiff_chatter(pg_office, restore_logging):
    out = io.StringIO()
    logs.configure("INFO", stream=out)
    case_id = _run_a_case(pg_office)
    lines = out.getvalue().splitlines()
    assert not [line for line in lines if "State changed" in line or " spiff." in line]
    assert any(f"case {case_id}: task survey" in line and "created for surveyor" in line for line in lines)
    assert any(f"case {case_id}: task initial_review" in line for line in lines)
    assert any(f"case {case_id}: timer" in line and "fired" in line for line in lines)
    assert any(f"case {case_id} (survey_registration" in line and "ended" in line for line in lines)
    assert all(" INFO " in line or " WARNING " in line or " ERROR " in line for line in lines)


def test_debug_shows_spiffs_state_changes(pg_office, restore_logging):
    out = io.StringIO()
    logs.configure("DEBUG", stream=out)
    _run_a_case(pg_office)
    assert "State changed" in out.getvalue()


def test_serve_config_keeps_uvicorn_and_quiets_spiff():
    import uvicorn

    config = logs.dict_config(uvicorn.config.LOGGING_CONFIG, "INFO")
    assert config["root"]["level"] == "INFO" and config["loggers"]["spiff"]["level"] == "WARNING"
    assert "uvicorn.access" in config["loggers"]
    assert logs.dict_config(uvicorn.config.LOGGING_CONFIG, "DEBUG")["loggers"]["spiff"]["level"] == "DEBUG"
