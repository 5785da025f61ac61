"""Recorded imports: per-row rejection reasons, bulk apply with field history, idempotent re-import."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from sqlalchemy import func, select

from canbao.audit.models import AuditEvent
from registry import imports
from registry.models import DataImport, Enrollment, FieldChange, Person, PersonVersion
from tests.registry.helpers import (
    CLERK,
    ENR_HEADER,
    POP_HEADER,
    VILLAGE,
    VILLAGE2,
    csv_bytes,
    enr_row,
    pid,
    pop_row,
)


def test_rejected_rows_carry_their_reasons(any_db):
    good, other = pid(seq=1), pid(seq=2)
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    rows = [
        pop_row(good, "王一"),
        pop_row(bad_check, "王二"),
        [other, "", "1", "1980-01-01", VILLAGE, "", "正常"],
        [pid(seq=3), "王三", "2", "1980-01-01", VILLAGE, "", "正常"],  # male number, sex 女
        [pid(seq=4), "王四", "1", "1980-01-02", VILLAGE, "", "正常"],
        [pid(seq=5), "王五", "1", "1980-01-01", "370102999999", "", "正常"],
        [pid(seq=6), "王六", "1", "1980-01-01", VILLAGE, "", "失踪"],
        pop_row(good, "王一"),
    ]
    with any_db.sessions() as s, s.begin():
        result = imports.import_file(
            s, actor=CLERK, kind="population", filename="p.csv", content=csv_bytes(POP_HEADER, rows)
        )
        record = result.record
        reasons = {r.row: [e.code for e in r.errors] for r in result.rejections}
        assert (record.total, record.accepted, record.rejected, record.inserted) == (8, 1, 7, 1)
        with open(record.rejection_file, encoding="utf-8-sig") as fh:
            written = list(csv.reader(fh))
    assert reasons == {
        3: ["id_number.checksum"],
        4: ["name.required"],
        5: ["sex.mismatch"],
        6: ["birth_date.mismatch"],
        7: ["division.unknown"],
        8: ["status.unknown"],
        9: ["row.duplicate_in_file"],
    }
    assert written[0][0] == "行号" and written[0][-2:] == ["原因代码", "原因"]
    assert [w[0] for w in written[1:]] == ["3", "4", "5", "6", "7", "8", "9"]
    assert "校验码" in written[1][-1]


def test_enrollment_rows_rejected_with_reasons(any_db):
    a = pid(seq=1)
    rows = [
        enr_row(a, "310"),
        enr_row(a, "999"),
        enr_row(a, "390", status="7"),
        enr_row(a, "110", start="2020-01-01", end="2019-01-01"),
        enr_row(a, "170", start="2020-13-01"),
        enr_row(a, "310"),
    ]
    with any_db.sessions() as s, s.begin():
        result = imports.import_file(
            s,
            actor=CLERK,
            kind="enrollments",
            system="社保",
            filename="e.csv",
            content=csv_bytes(ENR_HEADER, rows),
        )
    assert {r.row: [e.code for e in r.errors] for r in result.rejections} == {
        3: ["scheme.unknown"],
        4: ["status.unknown"],
        5: ["end_date.before_start"],
        6: ["start_date.format"],
        7: ["row.duplicate_in_file"],
    }


def test_reimport_is_idempotent_and_changes_are_history(any_db):
    a, b = pid(seq=1), pid(seq=2)
    first = csv_bytes(POP_HEADER, [pop_row(a, "李一"), pop_row(b, "李二")])
    same_content_other_bytes = first + b"\n"
    with any_db.sessions() as s, s.begin():
        r1 = imports.import_file(s, actor=CLERK, kind="population", filename="p.csv", content=first)
        r2 = imports.import_file(s, actor=CLERK, kind="population", filename="p-again.csv", content=first)
        r3 = imports.import_file(
            s, actor=CLERK, kind="population", filename="p2.csv", content=same_content_other_bytes
        )
        assert r2.repeated and r2.record.id == r1.record.id
        assert not r3.repeated and (r3.record.inserted, r3.record.updated, r3.record.unchanged) == (0, 0, 2)
        assert s.scalar(select(func.count()).select_from(FieldChange)) == 0
        assert s.scalar(select(func.count()).select_from(PersonVersion)) == 2
        # public security reports b dead and a moved to another community
        r4 = imports.import_file(
            s,
            actor=CLERK,
            kind="population",
            filename="p3.csv",
            content=csv_bytes(
                POP_HEADER, [pop_row(a, "李一", division=VILLAGE2), pop_row(b, "李二", status="死亡")]
            ),
        )
        assert (r4.record.inserted, r4.record.updated) == (0, 2)
        changes = {(c.person_id, c.field, c.old, c.new, c.import_id) for c in s.scalars(select(FieldChange))}
        assert changes == {
            (a, "/hukou/division", VILLAGE, VILLAGE2, r4.record.id),
            (b, "/status", "normal", "dead", r4.record.id),
        }
        assert s.get(Person, a).area == VILLAGE2  # the managing area follows the hukou
        versions = s.execute(
            select(
                PersonVersion.person_id,
                PersonVersion.status,
                PersonVersion.area,
                PersonVersion.valid_to.is_(None),
            ).order_by(PersonVersion.id)
        ).all()
        assert versions == [
            (a, "normal", VILLAGE, False),
            (b, "normal", VILLAGE, False),
            (a, "normal", VILLAGE2, True),
            (b, "dead", VILLAGE, True),
        ]
        assert s.scalar(select(func.count()).select_from(DataImport)) == 3
    with any_db.sessions() as s:  # the import's event pins down the field history it wrote
        applied = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "import.apply", AuditEvent.object_id == str(r4.record.id)
            )
        ).one()
        pinned = (applied.payload_json["field_changes"], applied.payload_json["field_changes_sha256"])
        assert pinned == imports._field_change_digest(s, r4.record.id) and pinned[0] == 2


def test_enrollment_facts_supersede_never_rewrite(any_db):
    a = pid(seq=1)
    with any_db.sessions() as s, s.begin():
        imports.import_file(
            s,
            actor=CLERK,
            kind="enrollments",
            system="医保",
            filename="e1.csv",
            content=csv_bytes(ENR_HEADER, [enr_row(a, "390")]),
        )
        again = imports.import_file(
            s,
            actor=CLERK,
            kind="enrollments",
            system="医保",
            filename="e2.csv",
            content=csv_bytes(ENR_HEADER, [enr_row(a, "390"), enr_row(a, "310")]),
        )
        assert (again.record.inserted, again.record.updated, again.record.unchanged) == (1, 0, 1)
        ended = imports.import_file(
            s,
            actor=CLERK,
            kind="enrollments",
            system="医保",
            filename="e3.csv",
            content=csv_bytes(ENR_HEADER, [enr_row(a, "390", status="4", end="2026-01-01")]),
        )
        assert (ended.record.inserted, ended.record.updated) == (0, 1)
        rows = s.execute(
            select(Enrollment.scheme, Enrollment.status, Enrollment.superseded_at.is_(None)).order_by(
                Enrollment.id
            )
        ).all()
    assert rows == [("390", "1", False), ("310", "1", True), ("390", "4", True)]


def test_xlsx_with_chinese_headings(any_db):
    wb = Workbook()
    ws = wb.active
    ws.append(POP_HEADER)
    ws.append(pop_row(pid(seq=1), "赵一"))
    ws.append(["", "", "", "", "", "", ""])
    buf = io.BytesIO()
    wb.save(buf)
    with any_db.sessions() as s, s.begin():
        result = imports.import_file(
            s, actor=CLERK, kind="population", filename="人口.xlsx", content=buf.getvalue()
        )
    assert (result.record.total, result.record.inserted) == (1, 1)
