"""The registry's declared rules for numbers other than a 居民身份证's (规程第八、九条): the 公安 population
file holds 公民身份号码 of 户籍人员 only; an insurance system's enrollments are keyed by 社会保障号码 of
any scheme; every other number is a rejected row with its reason, never an error of the import."""

from sqlalchemy import select

from registry import imports, persons
from registry.models import Enrollment

from ..holders import ASSIGNED, HONG_KONG, PERMANENT_RESIDENT
from .helpers import CLERK, ENR_HEADER, POP_HEADER, csv_bytes, enr_row, pid, pop_row


def _import(db, kind: str, header: list[str], rows: list[list[object]]):
    system = "城乡居保" if kind == "enrollments" else None
    with db.sessions() as s, s.begin():
        result = imports.import_file(
            s, actor=CLERK, kind=kind, filename="f.csv", content=csv_bytes(header, rows), system=system
        )
        return result.record, {r.row: [(e.pointer, e.code) for e in r.errors] for r in result.rejections}


def test_the_population_file_holds_resident_id_numbers_only(any_db):
    rows = [
        pop_row(pid(seq=1), "王一"),
        pop_row(HONG_KONG, "陈美玲"),
        pop_row(PERMANENT_RESIDENT, "ALHARBI SAAD"),
    ]
    record, rejected = _import(any_db, "population", POP_HEADER, rows)
    assert (record.accepted, record.rejected) == (1, 2)
    assert rejected == {
        3: [("/id_number", "id_number.hmt_permit")],
        4: [("/id_number", "id_number.prc_card")],
    }


def test_enrollments_are_keyed_by_social_security_numbers_of_any_scheme(any_db):
    rows = [
        enr_row(pid(seq=1), "310"),
        enr_row(PERMANENT_RESIDENT, "110"),
        enr_row(ASSIGNED[0].lower(), "110"),
        enr_row(HONG_KONG, "310"),
        enr_row(PERMANENT_RESIDENT[:17] + "8", "110"),
        enr_row("E12345678", "110"),
    ]
    record, rejected = _import(any_db, "enrollments", ENR_HEADER, rows)
    assert (record.accepted, record.rejected) == (4, 2)
    assert rejected == {6: [("/id_number", "prc_id.checksum")], 7: [("/id_number", "ss_number.format")]}
    with any_db.sessions() as s:
        keyed = set(s.scalars(select(Enrollment.person_id)))
        assert {PERMANENT_RESIDENT, ASSIGNED[0], HONG_KONG} < keyed
        assert persons.get(s, id_number="E12345678") is None  # not a 社会保障号码: nobody, no error
