from sqlalchemy import select

from canbao import audit
from canbao.actors import Actor
from canbao.audit.chain import FIELDS, GENESIS, event_hash
from canbao.audit.models import AuditChainHead, AuditEvent

from .helpers import profile

CLERK = Actor(sub="platform1", roles=("platform_reviewer",), area="370102001", client_addr="10.0.0.7")


def test_events_are_chained_at_commit(any_db):
    with any_db.sessions() as s, s.begin():
        audit.record(
            s,
            actor=CLERK,
            action="person.read",
            object_type="person",
            object_id="370102199001011234",
            person_id="370102199001011234",
            payload={"fields": ["name", "phone"], "route": "/x"},
        )
        audit.record(s, actor=CLERK, action="case.start", object_type="case", object_id=7, case_id=7)
    with any_db.sessions() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == ["person.read", "case.start"]
        first, second = events
        assert first.chain == second.chain and (first.seq, second.seq) == (1, 2)
        assert first.prev_hash == GENESIS and second.prev_hash == first.hash
        assert first.payload == '{"fields":["name","phone"],"route":"/x"}'
        for e in events:
            assert event_hash(profile=profile(any_db), **{c: getattr(e, c) for c in FIELDS}) == e.hash
        head = s.get(AuditChainHead, first.chain)
        assert (head.seq, head.hash) == (2, second.hash)


def test_rolled_back_action_leaves_no_event(any_db):
    try:
        with any_db.sessions() as s, s.begin():
            audit.record(s, actor=CLERK, action="case.start", object_type="case", object_id=1)
            raise RuntimeError("the action failed")
    except RuntimeError:
        pass
    with any_db.sessions() as s, s.begin():
        audit.record(s, actor=CLERK, action="case.start", object_type="case", object_id=2)
    with any_db.sessions() as s:
        assert s.scalars(select(AuditEvent.object_id)).all() == ["2"]


def test_events_of_a_rolled_back_savepoint_are_dropped_with_it(any_db):
    with any_db.sessions() as s, s.begin():
        audit.record(s, actor=CLERK, action="case.start", object_type="case", object_id=1)
        try:
            with s.begin_nested():
                audit.record(s, actor=CLERK, action="case.start", object_type="case", object_id=2)
                raise RuntimeError("the inner step failed")
        except RuntimeError:
            pass
        with s.begin_nested():
            audit.record(s, actor=CLERK, action="case.start", object_type="case", object_id=3)
    with any_db.sessions() as s:
        assert s.scalars(select(AuditEvent.object_id).order_by(AuditEvent.id)).all() == ["1", "3"]


def test_text_the_database_would_refuse_is_made_safe_not_fatal(any_db):
    odd = Actor(sub="user\x00\x1fname", roles=("platform_reviewer",), area="370102001", client_addr=None)
    with any_db.sessions() as s, s.begin():
        audit.record(
            s,
            actor=odd,
            action="person.read",
            object_type="person",
            object_id="x\ud800",
            payload={"q": "\ud800é"},
        )
    with any_db.sessions() as s:
        e = s.scalars(select(AuditEvent)).one()
        assert e.actor_sub == "user\ufffd\ufffdname" and e.object_id == "x?"
        assert e.payload == '{"q":"\\ud800\\u00e9"}'
        fields = {c: getattr(e, c) for c in FIELDS}
        assert event_hash(profile=profile(any_db), **fields) == e.hash
