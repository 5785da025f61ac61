"""On PostgreSQL the log is append-only for everyone, and the application's role can only append."""

from types import SimpleNamespace

import psycopg
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from canbao import audit
from canbao.audit.models import AuditChainHead, AuditEvent
from canbao.db import make_engine, make_sessionmaker

from ..engine.conftest import _office
from ..engine.office import APPROVE, COUNTY1, PLATFORM1, SURVEYOR1, Office, id_number, registration
from .helpers import CLERK, run, write


def _refused(db, sql: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught, db.engine.begin() as conn:
        conn.execute(text(sql))
    return caught.value


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_event SET payload = '{}'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
        "DELETE FROM audit_chain_head",
        "TRUNCATE audit_chain_head CASCADE",
        "UPDATE audit_chain_head SET seq = 0",
    ],
)
def test_the_owner_cannot_change_or_remove_events(db, sql):
    write(db, transactions=2, per_transaction=3)
    err = _refused(db, sql)
    assert isinstance(err.orig, psycopg.errors.InsufficientPrivilege)
    assert "append-only" in str(err.orig) or "only moves forward" in str(err.orig)
    assert run(db).ok and run(db).events == 6


@pytest.fixture
def app_engine(db):
    """Connections that act as `canbao_app`, the role production connects as."""
    engine = make_engine(db.url)

    @event.listens_for(engine, "connect")
    def as_app(dbapi_conn, _record):
        with dbapi_conn.cursor() as cur:
            cur.execute("SET ROLE canbao_app")
        dbapi_conn.commit()

    yield engine
    engine.dispose()


def test_the_application_role_appends_and_reads_but_cannot_alter(db, app_engine):
    sessions = make_sessionmaker(app_engine)
    with sessions() as s, s.begin():
        audit.record(s, actor=CLERK, action="person.read", object_type="person", object_id="x")
    with sessions() as s:
        assert s.scalars(select(AuditEvent.action)).all() == ["person.read"]
        assert sum(s.scalars(select(AuditChainHead.seq))) == 1
    for sql in ("UPDATE audit_event SET area = '11'", "DELETE FROM audit_event", "TRUNCATE audit_event"):
        with pytest.raises(ProgrammingError) as caught, app_engine.begin() as conn:
            conn.execute(text(sql))
        assert isinstance(caught.value.orig, psycopg.errors.InsufficientPrivilege)
        assert "permission denied" in str(caught.value.orig)
    with pytest.raises(ProgrammingError), app_engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_chain_head (chain, seq, hash) VALUES (99, 0, 'x')"))


def test_a_whole_case_runs_as_the_application_role(db, app_engine, tmp_path):
    _office(db, tmp_path / "archive")  # deployed with the survey team and the city's grants, as the owner
    office = Office(SimpleNamespace(sessions=make_sessionmaker(app_engine)))
    person = id_number()
    case_id = office.start(person=person)
    office.complete(SURVEYOR1, case_id, "survey", registration(person))
    office.complete(PLATFORM1, case_id, "initial_review", APPROVE)
    office.complete(COUNTY1, case_id, "final_review", APPROVE)
    assert "registry.store" in office.actions(case_id)
    assert run(db).ok
