"""Exchange with the upper level between two databases: the county (SQLite) and the province (PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import func, select

from canbao.actors import Actor
from registry import exchange, imports, persons
from registry.models import Enrollment, ExchangeBatch, Person
from tests.registry.helpers import (
    CLERK,
    ENR_HEADER,
    POP_HEADER,
    csv_bytes,
    enr_row,
    pid,
    pop_row,
    registration,
)

PROVINCE = Actor(sub="province1", roles=("province_admin",), area="37")


def test_round_trip_between_two_registries(db, sqlite_database):
    county, province = sqlite_database, db
    county.reset()
    a, b = pid(seq=1), pid(seq=2)
    with county.sessions() as s, s.begin():
        imports.import_file(
            s,
            actor=CLERK,
            kind="population",
            filename="p.csv",
            content=csv_bytes(POP_HEADER, [pop_row(a, "郑一"), pop_row(b, "郑二")]),
        )
        imports.import_file(
            s,
            actor=CLERK,
            kind="enrollments",
            system="医保",
            filename="e.csv",
            content=csv_bytes(ENR_HEADER, [enr_row(a, "390")]),
        )
        first, batch = exchange.export_changes(s, actor=CLERK, area="370102")
        assert batch.origin_batch == 1 and batch.counts == {"persons": 2, "enrollments": 1}
        assert exchange.export_changes(s, actor=CLERK, area="370102") is None  # nothing new

    with province.sessions() as s, s.begin():
        out = exchange.import_changes(s, actor=PROVINCE, content=first)
        assert (out["persons_created"], out["enrollments_inserted"], out["repeated"]) == (2, 1, False)
        assert exchange.import_changes(s, actor=PROVINCE, content=first)["repeated"] is True
        assert s.scalar(select(func.count()).select_from(Person)) == 2
        # the province knows b is insured in another province (from another registry's exchange)
        imports.import_file(
            s,
            actor=PROVINCE,
            kind="enrollments",
            system="外省",
            filename="x.csv",
            content=csv_bytes(
                ENR_HEADER, [enr_row(b, "310", place="110101"), enr_row(b, "110", place="110101")]
            ),
        )
        down, _ = exchange.export_elsewhere(s, actor=PROVINCE, origin="37", for_area="370102")

    with county.sessions() as s, s.begin():
        persons.store(
            s,
            actor=CLERK,
            case_id=5,
            case_area="370102",
            person_id=a,
            registration=registration(a, "郑一", phone="13700000001"),
        )
        result = exchange.import_elsewhere(s, actor=CLERK, content=down)
        assert (result["enrollments_inserted"], result["persons_marked"]) == (2, 1)
        assert exchange.import_elsewhere(s, actor=CLERK, content=down)["repeated"] is True
        assert s.get(Person, b).insured_elsewhere is True
        elsewhere = s.execute(
            select(Enrollment.scheme, Enrollment.place)
            .where(Enrollment.elsewhere.is_(True))
            .order_by(Enrollment.scheme)
        ).all()
        assert elsewhere == [("110", "110101"), ("310", "110101")]
        second, batch2 = exchange.export_changes(s, actor=CLERK, area="370102")
        assert batch2.origin_batch == 2

    with province.sessions() as s, s.begin():
        out = exchange.import_changes(s, actor=PROVINCE, content=second)
        assert out["persons_changed"] >= 1 and not out["repeated"]
        assert s.get(Person, a).phone == "13700000001"
        # the elsewhere facts did not travel back up as new relationships
        assert s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.person_id == b)) == 2
        assert (
            s.scalar(
                select(func.count()).select_from(ExchangeBatch).where(ExchangeBatch.direction == "import")
            )
            == 2
        )
