"""Who the registry holds and what counts as 参保.

在本地参保的非本地户籍人员 become persons (第三条); 参保 written on a 登记表 is 自报, verified against
the 社会保险业务库 and never counted as 参保 (第二十二条)."""

from __future__ import annotations

from sqlalchemy import select

from registry import comparison, imports, persons
from registry.models import Flag, Person, PersonVersion
from registry.stats import queries
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

QINGDAO = "370202"  # a 公民身份号码 issued in 青岛市市南区: 户籍 elsewhere


def _enrollments(s, rows, filename="e.csv", system="社保"):
    return imports.import_file(
        s,
        actor=CLERK,
        kind="enrollments",
        system=system,
        filename=filename,
        content=csv_bytes(ENR_HEADER, rows),
    )


def _open_flags(s, person_id: str) -> dict[str, str]:
    found = s.scalars(select(Flag).where(Flag.person_id == person_id, Flag.status == "open"))
    return {f.kind: f.reasons for f in found}


def test_a_person_insured_here_but_absent_from_the_public_security_file_becomes_a_person(any_db):
    """第三条: 全民参保登记的对象包括……在本地参保的非本地户籍人员."""
    local, migrant, ended, nameless = (
        pid(seq=1),
        pid("19900315", seq=2, area=QINGDAO, female=True),
        pid(seq=3, area=QINGDAO),
        pid(seq=4, area=QINGDAO),
    )
    with any_db.sessions() as s, s.begin():
        imports.import_file(
            s,
            actor=CLERK,
            kind="population",
            filename="p.csv",
            content=csv_bytes(POP_HEADER, [pop_row(local, "甲")]),
        )
        result = _enrollments(
            s,
            [
                enr_row(local, "310", name="甲"),
                enr_row(local, "110", name="甲"),
                enr_row(migrant, "310", name="王芳", place="370102"),
                enr_row(migrant, "110", name="王芳", place="370102"),
                enr_row(ended, "310", name="李四", status="4", end="2025-01-01"),  # no longer insured here
                enr_row(nameless, "310"),  # the system holds no name: nobody to register
            ],
        )
        assert result.persons_added == 1 and result.as_dict()["persons_added"] == 1
        person = s.get(Person, migrant)
        assert (person.name, person.sex, person.birth_date.isoformat()) == ("王芳", "2", "1990-03-15")
        assert (person.area, person.hukou_division, person.id_type, person.status) == (
            "370102",
            None,
            "01",
            "normal",
        )
        assert person.identity_source == f"import:{result.record.id}"
        assert s.scalar(select(PersonVersion.area).where(PersonVersion.person_id == migrant)) == "370102"
        assert s.get(Person, ended) is None and s.get(Person, nameless) is None

        run = comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF).run
        assert run.counts["persons"] == 2  # counted in 应登记 where they are insured
        assert run.counts["by_class"] == {"insured": 2}
        stats = queries.coverage(s, sc=queries.scope(CLERK, area="370102", as_of=None, by=None))
        assert stats["total"]["target"] == 2 and stats["total"]["target_resident"] == 1

        # The same file again adds nobody; a later 公安 file that holds the person takes them over.
        assert _enrollments(s, [enr_row(migrant, "310", name="王芳")], filename="e2.csv").persons_added == 0
        imports.import_file(
            s,
            actor=CLERK,
            kind="population",
            filename="p2.csv",
            content=csv_bytes(POP_HEADER, [pop_row(migrant, "王芳", division=VILLAGE)]),
        )
        s.expire_all()
        assert (s.get(Person, migrant).area, s.get(Person, migrant).hukou_division) == (VILLAGE, VILLAGE)


def test_self_reported_insurance_is_verified_not_counted(any_db):
    """第二十二条: 参保人员信息……由社会保险业务库及时归入全民参保登记库 — what a person says on the 登记表 is
    kept as 自报, counted apart, and checked against the next enrollment import."""
    person = pid(seq=5)
    with any_db.sessions() as s, s.begin():
        imports.import_file(
            s,
            actor=CLERK,
            kind="population",
            filename="p.csv",
            content=csv_bytes(POP_HEADER, [pop_row(person, "人员乙")]),
        )
        first = comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF).run
        assert first.counts["by_class"] == {"uninsured": 1}
        stored = persons.store(
            s,
            actor=CLERK,
            case_id=7,
            case_area=VILLAGE,
            person_id=person,
            registration=registration(person, "人员乙"),
        )
        assert stored["enrollments"] == 2  # 110 and 310, as the 登记表 says
        assert _open_flags(s, person) == {"verify": "self_reported.110 self_reported.310"}

        again = comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF).run
        assert again.counts["by_class"] == {"uninsured": 1}  # 自报 is not 参保
        assert again.diff["new"]["needs_survey"] == 0  # surveyed already: the 核实 is what is open
        figures = queries.coverage(s, sc=queries.scope(CLERK, area="370102", as_of=None, by=None))["total"]
        assert (figures["insured"], figures["uninsured"], figures["self_reported"]) == (0, 1, 1)

        # The business system confirms one 险种: the other stays to be verified.
        _enrollments(s, [enr_row(person, "310")], filename="e1.csv", system="医保")
        assert _open_flags(s, person) == {"verify": "self_reported.110"}
        _enrollments(s, [enr_row(person, "110")], filename="e2.csv", system="养老")
        assert _open_flags(s, person) == {}
        figures = queries.coverage(s, sc=queries.scope(CLERK, area="370102", as_of=None, by=None))["total"]
        assert (figures["insured"], figures["self_reported"]) == (1, 0)
        assert comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF).run.counts["by_class"] == {
            "insured": 1
        }
