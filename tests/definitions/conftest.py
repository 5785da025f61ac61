import pytest

from canbao.config import PROJECT_ROOT
from composition.wiring import wire
from engine import definitions
from engine.specs import SPECS

from ..api.conftest import api  # noqa: F401  (the API client fixture, shared with tests/api)
from ..engine.office import MANAGER, Office


def _office(database) -> Office:
    wire()
    SPECS.clear()
    with database.sessions() as s, s.begin():
        definitions.deploy_directory(s, actor=MANAGER, directory=PROJECT_ROOT / "bpmn")
    return Office(database)


@pytest.fixture
def office(db) -> Office:
    """The processes of bpmn/ deployed (version 1 each) on an empty PostgreSQL database."""
    return _office(db)


@pytest.fixture
def any_office(any_db) -> Office:
    """The same on PostgreSQL, then on SQLite."""
    return _office(any_db)
