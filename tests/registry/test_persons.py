"""registry.store and registry.apply_change through the engine's operation context; 第十三条 missing items."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from canbao.actors import Actor
from canbao.audit.models import AuditEvent
from canbao.errors import Invalid
from engine.operations import OperationContext
from forms.idnumber import is_valid, normalize
from registry import comparison, imports, operations, persons
from registry.common import AreaForbidden, StaleValue
from registry.models import Enrollment, FieldChange, Flag, Person, PersonVersion
from tests.registry.helpers import (
    AS_OF,
    CLERK,
    ENR_HEADER,
    POP_HEADER,
    VILLAGE,
    csv_bytes,
    enr_row,
    pid,
    pop_row,
    registration,
)


def ctx(s, data, case_id=11):
    """The context of a case whose person its form names (as the engine binds it)."""
    [form] = data.values()
    number = form["id_number"]
    return OperationContext(
        session=s,
        actor=CLERK,
        case_id=case_id,
        case_area="370102",
        person_id=normalize(number) if is_valid(number) else number,
        process_key="survey_registration",
        data=data,
    )


def test_store_writes_person_enrollments_history_and_clears_flag(any_db):
    a = pid(seq=1)
    with any_db.sessions() as s, s.begin():
        imports.import_file(
            s,
            actor=CLERK,
            kind="population",
            filename="p.csv",
            content=csv_bytes(POP_HEADER, [pop_row(a, "孙一")]),
        )
        comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF)
        assert s.scalar(select(Flag.reasons).where(Flag.person_id == a)) == "uninsured"
    reg = registration(a, "孙一", phone="13912345678")
    with any_db.sessions() as s, s.begin():
        out = operations.store(ctx(s, {"registration": reg}))
    assert "/phone" in out["changed"] and out["flags_cleared"] and not out["created"]
    with any_db.sessions() as s, s.begin():
        person = s.get(Person, a)
        assert person.phone == "13912345678" and person.registered_case_id == 11
        assert person.contact_source == "case:11" and person.contact_confirmed_at is not None
        phone = s.scalar(select(FieldChange).where(FieldChange.person_id == a, FieldChange.field == "/phone"))
        assert (phone.old, phone.new, phone.case_id, phone.source) == (None, "13912345678", 11, "case")
        flag = s.scalar(select(Flag).where(Flag.person_id == a))
        assert (flag.status, flag.cleared_by_case_id) == ("cleared", 11)
        schemes = sorted(s.scalars(select(Enrollment.scheme).where(Enrollment.source == "registration")))
        assert schemes == ["110", "310"]
        current = s.scalar(
            select(PersonVersion).where(PersonVersion.person_id == a, PersonVersion.valid_to.is_(None))
        )
        assert current.registered is True
        events = s.execute(
            select(AuditEvent.action, AuditEvent.payload).where(AuditEvent.case_id == 11)
        ).all()
        field_events = [json.loads(p) for act, p in events if act == "registry.field_change"]
        assert {"field": "/phone", "old": None, "new": "13912345678"} in field_events
        assert any(act == "registry.store" for act, _ in events)
    # storing the same form again changes nothing and adds no history
    with any_db.sessions() as s, s.begin():
        before = s.scalar(select(func.count()).select_from(FieldChange))
        again = operations.store(ctx(s, {"registration": reg}, case_id=12))
        assert again["changed"] == [] and again["enrollments"] == 0
        assert s.scalar(select(func.count()).select_from(FieldChange)) == before


def test_store_creates_a_person_found_only_in_the_field(any_db):
    a = pid("19900101", 7)
    with any_db.sessions() as s, s.begin():
        out = operations.store(ctx(s, {"registration": registration(a, "新发现")}))
        person = s.get(Person, a)
        assert out["created"] and person.area == person.hukou_division
        assert s.scalar(select(func.count()).select_from(FieldChange).where(FieldChange.person_id == a)) > 10
        assert out["enrollments"] == 2
    # what the new person's store wrote without looking for earlier rows is what a later store finds
    with any_db.sessions() as s, s.begin():
        again = operations.store(ctx(s, {"registration": registration(a, "新发现")}, case_id=12))
        assert not again["created"] and again["changed"] == [] and again["enrollments"] == 0
        versions = s.scalars(select(PersonVersion.valid_to).where(PersonVersion.person_id == a)).all()
        assert versions == [None]
        current = select(func.count()).where(Enrollment.person_id == a, Enrollment.superseded_at.is_(None))
        assert s.scalar(current.select_from(Enrollment)) == 2


def test_store_refuses_an_invalid_form_and_writes_nothing(any_db):
    a = pid(seq=1)
    reg = registration(a, "钱一")
    reg["id_number"] = a[:17] + ("0" if a[17] != "0" else "1")
    with any_db.sessions() as s, s.begin(), pytest.raises(Invalid) as err:
        operations.store(ctx(s, {"registration": reg}))
    assert any(e.pointer == "/id_number" for e in err.value.errors)
    with any_db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 0


def test_apply_change_checks_old_values(any_db):
    a = pid(seq=1)
    with any_db.sessions() as s, s.begin():
        operations.store(ctx(s, {"registration": registration(a, "周一")}))
    request = {
        "id_number": a,
        "changes": [{"field": "/phone", "old": "13800000000", "new": "13900000000"}],
        "reason": "换号",
        "evidence": ["doc-1"],
    }
    with any_db.sessions() as s, s.begin():
        out = operations.apply_change(ctx(s, {"change_request": request}, case_id=20))
        assert out["changed"] == ["/phone"]
    with any_db.sessions() as s, s.begin(), pytest.raises(StaleValue) as err:
        operations.apply_change(ctx(s, {"change_request": request}, case_id=21))  # old is stale now
    assert err.value.extra["fields"] == ["/phone"]
    with any_db.sessions() as s, s.begin(), pytest.raises(Invalid) as bad:
        operations.apply_change(
            ctx(
                s,
                {
                    "change_request": {
                        "id_number": a,
                        "changes": [
                            {"field": "/nope", "old": None, "new": 1},
                            {"field": "/status", "old": "normal", "new": "zombie"},
                        ],
                    }
                },
            )
        )
    assert [e.code for e in bad.value.errors] == ["field.unknown", "status.unknown"]
    with any_db.sessions() as s:
        history = [
            (c.field, c.old, c.new, c.case_id)
            for c in s.scalars(select(FieldChange).where(FieldChange.case_id == 20))
        ]
        assert history == [("/phone", "13800000000", "13900000000", 20)]


def test_missing_lists_what_the_counter_must_collect(any_db):
    a = pid(seq=1)
    with any_db.sessions() as s, s.begin():
        imports.import_file(
            s,
            actor=CLERK,
            kind="population",
            filename="p.csv",
            content=csv_bytes(POP_HEADER, [pop_row(a, "吴一")]),
        )
        imports.import_file(
            s,
            actor=CLERK,
            kind="enrollments",
            system="医保",
            filename="e.csv",
            content=csv_bytes(ENR_HEADER, [enr_row(a, "390", name="吴壹")]),
        )
        comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF)
        result = persons.missing(s, actor=CLERK, id_number=a)
        outsider = Actor(sub="o", roles=("platform_reviewer",), area="370103001")
        with pytest.raises(AreaForbidden):
            persons.missing(s, actor=outsider, id_number=a)
    codes = {(i["pointer"], i["code"], i["kind"]) for i in result["items"]}
    assert ("/phone", "phone.missing", "missing") in codes
    assert ("/name", "mismatch.name", "wrong") in codes
    assert ("/insurance", "missing.pension", "missing") in codes
    assert {f["kind"] for f in result["flags"]} == {"inaccurate", "needs_survey"}
    assert VILLAGE.startswith(result["person_id"][:6])


def _case(s, person_id: str, data: dict, case_area: str = "370102") -> OperationContext:
    return OperationContext(
        session=s,
        actor=CLERK,
        case_id=31,
        case_area=case_area,
        person_id=person_id,
        process_key="change_approval",
        data=data,
    )


def test_a_case_writes_only_its_own_person_whatever_reached_the_operation(any_db):
    """Defence in depth (design §2): the registry checks again, under the row lock, that the form is the
    case's own person — even if a form naming someone else got past the task."""
    a, b = pid(seq=1), pid(seq=3)
    with any_db.sessions() as s, s.begin():
        operations.store(ctx(s, {"registration": registration(b, "吴二")}))
    with any_db.sessions() as s, s.begin(), pytest.raises(Invalid) as err:
        operations.store(_case(s, a, {"registration": registration(b, "冒名")}))
    assert [(e.pointer, e.code) for e in err.value.errors] == [("/id_number", "case.person_mismatch")]
    change = {"id_number": b, "changes": [{"field": "/name", "old": "吴二", "new": "冒名"}], "reason": "改名"}
    with any_db.sessions() as s, s.begin(), pytest.raises(Invalid) as err:
        operations.apply_change(_case(s, a, {"change_request": change}))
    assert [(e.pointer, e.code) for e in err.value.errors] == [("/id_number", "case.person_mismatch")]
    with any_db.sessions() as s:
        assert s.get(Person, b).name == "吴二" and s.get(Person, a) is None


def test_a_case_writes_only_persons_managed_within_its_county(any_db):
    """A 市中区 person is not written by a 历下区 case, even when the case is bound to them."""
    there = pid(seq=5, area="370103")
    place = {"division": "370103002001", "address": "济南市市中区纬一路1号"}
    reg = registration(there, "郑三", hukou={**place, "nature": "10"}, residence=place)
    with any_db.sessions() as s, s.begin():
        operations.store(_case(s, there, {"registration": reg}, case_area="370103002001"))
    change = {
        "id_number": there,
        "changes": [{"field": "/phone", "old": "13800000000", "new": "13900000000"}],
    }
    with any_db.sessions() as s, s.begin(), pytest.raises(Invalid) as err:
        operations.apply_change(_case(s, there, {"change_request": {**change, "reason": "换号"}}))
    assert err.value.errors[0].code == "case.person_outside_area"
    with any_db.sessions() as s, s.begin(), pytest.raises(Invalid) as err:
        operations.store(_case(s, there, {"registration": reg}))
    assert err.value.errors[0].code == "case.person_outside_area"
    newcomer = pid(seq=7, area="370103")
    far = registration(newcomer, "王四", hukou={**place, "nature": "10"}, residence=place)
    with any_db.sessions() as s, s.begin(), pytest.raises(Invalid) as err:
        operations.store(_case(s, newcomer, {"registration": far}))
    assert err.value.errors[0].code == "case.person_outside_area"
    with any_db.sessions() as s:
        assert s.get(Person, there).phone == "13800000000" and s.get(Person, newcomer) is None
