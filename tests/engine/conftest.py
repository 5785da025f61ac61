import pytest

from canbao.config import PROJECT_ROOT
from composition.wiring import wire
from engine import definitions
from engine.specs import SPECS

from .office import MANAGER, Office


@pytest.fixture
def office(any_db) -> Office:
    """The processes of bpmn/ deployed on an empty database (each backend in turn)."""
    wire()
    SPECS.clear()
    with any_db.sessions() as s, s.begin():
        definitions.deploy_directory(s, actor=MANAGER, directory=PROJECT_ROOT / "bpmn")
    return Office(any_db)


@pytest.fixture
def pg_office(db) -> Office:
    wire()
    SPECS.clear()
    with db.sessions() as s, s.begin():
        definitions.deploy_directory(s, actor=MANAGER, directory=PROJECT_ROOT / "bpmn")
    return Office(db)
