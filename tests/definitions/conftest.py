import pytest

from canbao.config import PROJECT_ROOT
from canbao.wiring import wire
from engine import definitions
from engine.specs import SPECS

from ..api.conftest import api  # noqa: F401  (the API client fixture, shared with tests/api)
from ..engine.office import MANAGER, Office


@pytest.fixture
def office(db) -> Office:
    """The processes of bpmn/ deployed (version 1 each) on an empty PostgreSQL database."""
    wire()
    SPECS.clear()
    with db.sessions() as s, s.begin():
        definitions.deploy_directory(s, actor=MANAGER, directory=PROJECT_ROOT / "bpmn")
    return Office(db)
