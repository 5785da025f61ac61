import pytest

from ..api.conftest import api  # noqa: F401  (the API client fixture, shared with tests/api)
from ..engine.conftest import _office
from ..engine.office import Office


@pytest.fixture
def office(db, tmp_path) -> Office:
    """The processes of bpmn/ deployed (version 1 each) on an empty PostgreSQL database, with the survey
    team and the city's authorizations of the engine tests."""
    return _office(db, tmp_path / "archive")


@pytest.fixture
def any_office(any_db, tmp_path) -> Office:
    """The same on PostgreSQL, then on SQLite."""
    return _office(any_db, tmp_path / "archive")
