"""Department files (issue 19): declared formats, per-row rejections, GBK and XLSX, the precedence table,
field history with source and time, idempotence, and nothing half-applied."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from canbao.actors import Actor
from canbao.audit.models import AuditEvent
from registry import departments, imports
from registry.imports import ImportFileError
from registry.models import DataImport, FieldChange, Person, PersonField, PersonVersion
from tests.registry.helpers import CLERK, POP_HEADER, csv_bytes, pid, pop_row

DEATH_HEADER = ["公民身份号码", "姓名", "死亡日期"]
ADMIN = Actor(sub="province1", roles=("province_admin",), area="37")


def _population(s, rows, actor=CLERK):
    return imports.import_file(
        s, actor=actor, kind="population", filename="p.csv", content=csv_bytes(POP_HEADER, rows)
    )


def _dept(s, kind, header, rows, *, filename=None, encoding="utf-8", actor=CLERK):
    content = csv_bytes(header, rows).decode().encode(encoding)
    return departments.import_file(
        s, actor=actor, kind=kind, filename=filename or f"{kind}.csv", content=content
    )


def _xlsx(header, rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _held(s, person_id, field):
    return s.get(PersonField, (person_id, field))


def test_each_kind_applies_and_keeps_source_and_time_in_the_history(any_db):
    a, b, c = pid(seq=1), pid(seq=2, birth="20080301"), pid(seq=3)
    with any_db.sessions() as s, s.begin():
        _population(s, [pop_row(a, "甲"), pop_row(b, "乙"), pop_row(c, "丙")])
        dead = _dept(s, "deaths_civil", DEATH_HEADER, [[a, "甲", "2026-03-01"]])
        _dept(
            s,
            "assistance",
            ["身份证号码", "救助类型", "救助状态", "认定日期"],
            [[b, "农村低保", "享受中", "2025-01-01"]],
        )
        _dept(
            s,
            "students",
            ["公民身份号码", "学校名称", "年级", "预计毕业日期", "学籍状态"],
            [[b, "济南第一中学", "高三", "2027-07-01", "在读"]],
        )
        _dept(
            s,
            "employment",
            ["公民身份号码", "就业状态", "就业单位", "统一社会信用代码", "登记日期"],
            [[c, "在职", "济南某某商贸有限公司", "91350100M000100Y43", "2024-05-01"]],
        )
        _dept(
            s,
            "cards",
            ["社会保障号码", "社会保障卡卡号", "卡状态", "发卡地区划", "发卡日期"],
            [[c, "A12345678", "正式挂失", "370100", "2020-01-02"]],
        )
        born = pid(seq=9, birth="20260105", female=True)
        birth = _dept(
            s,
            "births",
            ["新生儿公民身份号码", "新生儿姓名", "性别", "出生日期", "出生地区划"],
            [[born, "小丁", "女", "2026-01-05", "370102001002"]],
        )
        assert (dead.record.updated, dead.record.system, birth.record.inserted) == (1, "民政", 1)
        assert s.get(Person, a).status == "dead"
        assert _held(s, a, "/death_date").value == "2026-03-01"
        assert (_held(s, b, "/assistance/type").value, _held(s, b, "/assistance/status").value) == ("1", "1")
        assert _held(s, b, "/student/grade").value == "12"
        person_c = s.get(Person, c)
        assert (person_c.employment_status, person_c.employer) == ("11", "济南某某商贸有限公司")
        assert person_c.employment_source.startswith("import:")
        assert (_held(s, c, "/card/number").value, _held(s, c, "/card/status").value) == ("A12345678", "2")
        assert _held(s, c, "/card/place").source == "社保卡"
        newborn = s.get(Person, born)
        assert (newborn.name, newborn.sex, newborn.area, newborn.status) == (
            "小丁",
            "2",
            "370102001002",
            "normal",
        )
        assert s.scalar(select(func.count()).where(PersonVersion.person_id == born)) == 1
        # the field history names the department (through the import) and the time of every value
        history = s.execute(
            select(FieldChange.field, FieldChange.old, FieldChange.new, FieldChange.at, DataImport.system)
            .join(DataImport, DataImport.id == FieldChange.import_id)
            .where(FieldChange.person_id == a)
        ).all()
        assert {(f, o, n, sy) for f, o, n, _, sy in history} >= {
            ("/status", "normal", "dead", "民政"),
            ("/death_date", None, "2026-03-01", "民政"),
        }
        assert all(at is not None for *_, at, _ in history)
        versions = s.scalars(select(PersonVersion).where(PersonVersion.person_id == a)).all()
        assert sorted(v.status for v in versions) == ["dead", "normal"]
    with any_db.sessions() as s:
        event = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "import.apply", AuditEvent.object_id == str(birth.record.id)
            )
        ).one()
        assert event.payload_json["kind"] == "births" and event.payload_json["field_changes"] == 3


def test_gbk_csv_and_xlsx_files_are_read(any_db):
    a, b = pid(seq=1, birth="20070101"), pid(seq=2)
    header = ["公民身份号码", "姓名", "学校名称", "年级", "预计毕业日期", "学籍状态"]
    with any_db.sessions() as s, s.begin():
        _population(s, [pop_row(a, "甲"), pop_row(b, "乙")])
        gbk = _dept(
            s, "students", header, [[a, "甲", "历下实验中学", "高二", "2028-07-01", "在校"]], encoding="gbk"
        )
        assert (gbk.record.accepted, gbk.record.rejected) == (1, 0), gbk.rejections
        assert _held(s, a, "/student/school").value == "历下实验中学"
        xlsx = departments.import_file(
            s,
            actor=CLERK,
            kind="employment",
            filename="jy.xlsx",
            content=_xlsx(
                ["身份证号码", "姓名", "人员状态", "单位名称", "变动日期"],
                [[b, "乙", "灵活就业", "", date(2025, 3, 1)]],
            ),
        )
        assert (xlsx.record.accepted, xlsx.record.rejected) == (1, 0), xlsx.rejections
        assert s.get(Person, b).employment_status == "12"


def test_every_bad_row_is_rejected_with_its_reason(any_db, data_dir):
    a, b, outside = pid(seq=1), pid(seq=2), pid(seq=3, area="370103")
    bad_check = b[:17] + ("0" if b[17] != "0" else "1")
    with any_db.sessions() as s, s.begin():
        _population(s, [pop_row(a, "甲"), pop_row(b, "乙")])
        _population(s, [pop_row(outside, "外", division="370103002001")], actor=ADMIN)
        rows = [
            [a, "甲", "2026-03-01", ""],
            [bad_check, "乙", "2026-03-01", ""],
            [b, "乙", "2099-01-01", ""],
            [a, "甲", "2026-03-01", ""],
            [b, "乙", "2026-03-01", "备注"],
            [b, "乙", "1970-01-01", ""],
            [pid(seq=4), "无", "2026-03-01", ""],
            [outside, "外", "2026-03-01", ""],
            [b, "乙", "2026/13/01", ""],
            [b, "乙", "2026-03-01", "", "多余"],
        ]
        result = _dept(s, "deaths_civil", [*DEATH_HEADER, "备注"], rows)
        reasons = {r.row: [e.code for e in r.errors] for r in result.rejections}
        assert (result.record.total, result.record.accepted, result.record.rejected) == (10, 1, 9)
        assert reasons == {
            3: ["id_number.checksum"],
            4: ["death_date.future"],
            5: ["row.duplicate_in_file"],
            6: ["row.unknown_column"],
            7: ["death_date.before_birth"],
            8: ["person.unknown"],
            9: ["area.outside"],
            10: ["death_date.format"],
            11: ["row.extra_cells"],
        }
        assert s.get(Person, b).status == "normal"
        with open(result.record.rejection_file, encoding="utf-8-sig") as fh:
            written = list(csv.reader(fh))
        assert written[0] == ["行号", "id_number", "name", "death_date", "place", "备注", "原因代码", "原因"]
        assert written[4][4:6] == ["", "备注"] and "不在" in written[4][-1]

        other = _dept(
            s,
            "employment",
            ["公民身份号码", "就业状态", "统一社会信用代码", "登记日期"],
            [
                [a, "在职", "91350100M000100Y44", "2024-01-01"],
                [b, "打零工", "", "2024-01-01"],
            ],
        )
        assert {r.row: [e.code for e in r.errors] for r in other.rejections} == {
            2: ["uscc.checksum"],
            3: ["status.unknown"],
        }
        card = _dept(
            s,
            "cards",
            ["社会保障号码", "社会保障卡卡号", "卡状态", "发卡地区划", "发卡日期"],
            [[a, "A123", "正常", "370100", "2020-01-01"], [b, "A12345678", "正常", "379999", "2020-01-01"]],
        )
        assert {r.row: r.errors[0].code for r in card.rejections} == {
            2: "card_number.format",
            3: "division.unknown",
        }


def test_a_file_that_cannot_be_read_writes_nothing(any_db):
    a = pid(seq=1)
    with any_db.sessions() as s, s.begin():
        _population(s, [pop_row(a, "甲")])
    for content, code in [
        (csv_bytes(["公民身份号码", "姓名"], [[a, "甲"]]), "file.columns"),
        ("公民身份号码,死亡日期\n".encode() + b"\xff\xff\xff,2026-01-01\n", "file.encoding"),
        (b"", "file.empty"),
    ]:
        with any_db.sessions() as s, s.begin():
            with pytest.raises(ImportFileError) as info:
                departments.import_file(
                    s, actor=CLERK, kind="deaths_health", filename="d.csv", content=content
                )
            assert info.value.errors[0].code == code
    with any_db.sessions() as s, s.begin():
        assert (
            s.scalar(select(func.count()).select_from(DataImport).where(DataImport.kind != "population")) == 0
        )
        assert s.scalar(select(func.count()).select_from(PersonField)) == 0
        assert s.get(Person, a).status == "normal"


def test_the_same_file_again_changes_nothing(any_db):
    a = pid(seq=1)
    with any_db.sessions() as s, s.begin():
        _population(s, [pop_row(a, "甲")])
        first = _dept(s, "deaths_health", DEATH_HEADER, [[a, "甲", "2026-02-01"]])
        again = _dept(s, "deaths_health", DEATH_HEADER, [[a, "甲", "2026-02-01"]], filename="again.csv")
        assert again.repeated and again.record.id == first.record.id
        same = _dept(s, "deaths_health", [*DEATH_HEADER, "证明编号"], [[a, "甲", "2026-02-01", ""]])
        assert not same.repeated and (same.record.updated, same.record.unchanged) == (0, 1)
        assert (
            s.scalar(
                select(func.count()).where(FieldChange.person_id == a, FieldChange.import_id.is_not(None))
            )
            == 2
        )


def test_the_precedence_table_decides_which_record_wins(any_db):
    a, b = pid(seq=1), pid(seq=2)
    with any_db.sessions() as s, s.begin():
        _population(s, [pop_row(a, "甲"), pop_row(b, "乙")])
        _dept(s, "deaths_civil", DEATH_HEADER, [[a, "甲", "2026-03-01"]])
        # 卫健 outranks 民政 for the death date, whatever the dates
        health = _dept(s, "deaths_health", DEATH_HEADER, [[a, "甲", "2026-02-27"]])
        assert health.record.updated == 1
        assert (_held(s, a, "/death_date").value, _held(s, a, "/death_date").source) == ("2026-02-27", "卫健")
        # a newer record from the weaker 民政 changes nothing
        civil = _dept(s, "deaths_civil", DEATH_HEADER, [[a, "甲", "2026-03-05"]])
        assert (civil.record.updated, civil.outranked) == (0, 1)
        assert _held(s, a, "/death_date").value == "2026-02-27"
        # a 公安 file still listing the person as 正常 does not revive them (登记库 ranks below 卫健)
        _population(s, [pop_row(a, "甲改"), pop_row(b, "乙")])
        person = s.get(Person, a)
        assert (person.status, person.name) == ("dead", "甲改")

        # identity: 公安 (登记库) outranks 卫健's birth records
        born = pid(seq=7, birth="20260110")
        header = ["公民身份号码", "姓名", "性别", "出生日期", "出生地区划"]
        _dept(s, "births", header, [[born, "小明", "男", "2026-01-10", "370102001002"]])
        assert _held(s, born, "/name").source == "卫健"
        _population(s, [pop_row(born, "王小明")])
        later = _dept(s, "births", header, [[born, "李小明", "1", "20260110", "370102001002"]])
        assert later.outranked == 1 and s.get(Person, born).name == "王小明"
        existing = _dept(s, "births", header, [[b, "别名", "男", "1980-01-01", "370102001002"]])
        assert (existing.record.inserted, existing.outranked) == (0, 1)
        assert s.get(Person, b).name == "乙"

        # the same source: an older record does not replace a newer one
        job = ["公民身份号码", "就业状态", "就业单位", "登记日期"]
        _dept(s, "employment", job, [[b, "在职", "甲公司", "2025-06-01"]])
        older = _dept(s, "employment", job, [[b, "失业", "", "2025-01-01"]])
        assert older.outranked == 1 and s.get(Person, b).employment_status == "11"
        newer = _dept(s, "employment", job, [[b, "失业", "", "2025-09-01"]])
        assert newer.record.updated == 1 and s.get(Person, b).employment_status == "21"
        assert s.get(Person, b).employer == "甲公司"  # an empty cell changes nothing


def test_the_command_line_imports_a_gbk_file_and_shows_the_table(db, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from canbao.config import get_settings
    from composition.cli import app

    a = pid(seq=1)
    with db.sessions() as s, s.begin():
        _population(s, [pop_row(a, "甲")])
    path = tmp_path / "死亡.csv"
    path.write_bytes(csv_bytes(DEATH_HEADER, [[a, "甲", "2026-02-01"]]).decode().encode("gbk"))
    monkeypatch.setenv("DATABASE_URL", db.url)
    get_settings.cache_clear()
    runner = CliRunner()
    done = runner.invoke(app, ["import", "department", "deaths_health", str(path), "--as", "ops1"])
    assert done.exit_code == 0, done.output
    assert '"updated": 1' in done.stdout
    refused = runner.invoke(app, ["import", "department", "weather", str(path)])
    assert refused.exit_code == 1 and "import.kind" in refused.output
    shown = runner.invoke(app, ["import", "precedence"])
    assert '"/death_date"' in shown.stdout and "卫健" in shown.stdout
    with db.sessions() as s:
        assert s.get(Person, a).status == "dead"


def test_the_shipped_declaration_is_whole_and_a_broken_one_is_located():
    import copy

    from registry import precedence

    shipped = precedence.declared()
    assert departments.problems(shipped) == []
    broken = copy.deepcopy(shipped)
    broken["precedence"]["/status"].append("气象")
    broken["kinds"]["cards"]["columns"]["status"]["codes"] = "colours"
    broken["kinds"]["students"]["columns"]["grade"]["type"] = "float"
    broken["kinds"]["students"]["record_date"] = "semester"
    broken["kinds"]["employment"]["fields"]["/card/number"] = "employer"
    assert departments.problems(broken) == [
        "precedence./status: unknown source '气象'",
        "kinds.students.columns.grade.type: 'float' is not one of "
        "ss_number, resident_id, text, date, code, division, uscc, card_number",
        "kinds.students: no column 'semester'",
        "kinds.employment.fields./card/number: the precedence table does not let 就业 write it",
        "kinds.cards.columns.status.codes: no code list 'colours'",
    ]


def test_department_imports_running_at_once_take_turns(db):
    """A weaker source's import that starts while a stronger one's is not yet committed must weigh its
    records against what that one wrote, not against what was there before."""
    import threading
    import time

    a = pid(seq=1)
    with db.sessions() as s, s.begin():
        _population(s, [pop_row(a, "甲")])
    outcome: dict[str, object] = {}

    def civil() -> None:
        try:
            with db.sessions() as s, s.begin():
                result = _dept(s, "deaths_civil", DEATH_HEADER, [[a, "甲", "2026-03-05"]])
                outcome["civil"] = (result.record.updated, result.outranked)
        except Exception as exc:  # the failure is the finding
            outcome["civil"] = exc

    with db.sessions() as s, s.begin():
        _dept(s, "deaths_health", DEATH_HEADER, [[a, "甲", "2026-02-27"]])
        second = threading.Thread(target=civil)
        second.start()
        time.sleep(1.0)  # the second import runs while the first has not committed
    second.join(30)
    assert outcome["civil"] == (0, 1), outcome
    with db.sessions() as s:
        held = _held(s, a, "/death_date")
        assert (held.value, held.source) == ("2026-02-27", "卫健")


def test_a_population_file_running_beside_a_death_import_does_not_revive(db):
    import threading
    import time

    a = pid(seq=1)
    with db.sessions() as s, s.begin():
        _population(s, [pop_row(a, "甲")])
    outcome: dict[str, object] = {}

    def population() -> None:
        try:
            with db.sessions() as s, s.begin():
                outcome["population"] = _population(s, [pop_row(a, "甲乙")]).record.updated
        except Exception as exc:  # the failure is the finding
            outcome["population"] = exc

    with db.sessions() as s, s.begin():
        _dept(s, "deaths_health", DEATH_HEADER, [[a, "甲", "2026-02-27"]])
        second = threading.Thread(target=population)
        second.start()
        time.sleep(1.0)
    second.join(30)
    assert outcome["population"] == 1, outcome
    with db.sessions() as s:
        assert (s.get(Person, a).status, s.get(Person, a).name) == ("dead", "甲乙")


def test_a_case_correction_is_not_undone_by_the_same_record_sent_again(any_db):
    from registry import persons

    a = pid(seq=1)
    with any_db.sessions() as s, s.begin():
        _population(s, [pop_row(a, "甲")])
        _dept(s, "deaths_civil", DEATH_HEADER, [[a, "甲", "2026-03-01"]])
        persons.apply_change(
            s,
            actor=CLERK,
            case_id=77,
            case_area="370102",
            person_id=a,
            change_request={
                "id_number": a,
                "changes": [{"field": "/status", "old": "dead", "new": "normal"}],
                "reason": "民政误报死亡",
            },
        )
        again = _dept(s, "deaths_civil", [*DEATH_HEADER, "火化地区划"], [[a, "甲", "2026-03-01", ""]])
        assert (again.record.updated, again.outranked) == (0, 1)
        assert s.get(Person, a).status == "normal"
        # a newer death record is news, and is applied
        later = _dept(s, "deaths_civil", DEATH_HEADER, [[a, "甲", "2026-05-02"]])
        assert later.record.updated == 1 and s.get(Person, a).status == "dead"
