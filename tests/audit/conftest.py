import pytest

from ..api.conftest import api  # noqa: F401  (the real app on PostgreSQL, one user per role)
from ..conftest import Database


@pytest.fixture(params=["postgresql", "sqlite", "postgresql-gm", "sqlite-gm"])
def any_db(request: pytest.FixtureRequest) -> Database:
    """Each backend in turn, under the standard and under the national cryptography profile, emptied."""
    backend, _, gm = request.param.partition("-")
    name = f"{'gm_' if gm else ''}{'pg' if backend == 'postgresql' else 'sqlite'}_database"
    database: Database = request.getfixturevalue(name)
    database.reset()
    return database
