"""信息比对 with the departments' data (issue 19), through comparison runs on PostgreSQL: 在校学生 owe no
pension, employees owe 失业 and 工伤, and deaths and moves end the flags."""

from __future__ import annotations

from sqlalchemy import select

from registry import comparison, departments, imports
from registry.models import Flag
from tests.registry.helpers import AS_OF, CLERK, ENR_HEADER, POP_HEADER, csv_bytes, enr_row, pid, pop_row

STUDENTS = ["公民身份号码", "学校名称", "年级", "预计毕业日期", "学籍状态"]
JOBS = ["公民身份号码", "就业状态", "就业单位", "登记日期"]


def _load(s, population, enrollments):
    imports.import_file(
        s, actor=CLERK, kind="population", filename="p.csv", content=csv_bytes(POP_HEADER, population)
    )
    imports.import_file(
        s,
        actor=CLERK,
        kind="enrollments",
        system="社保",
        filename="e.csv",
        content=csv_bytes(ENR_HEADER, enrollments),
    )


def _dept(s, kind, header, rows):
    result = departments.import_file(
        s, actor=CLERK, kind=kind, filename=f"{kind}.csv", content=csv_bytes(header, rows)
    )
    assert result.record.rejected == 0, result.rejections
    return result


def _open(s) -> dict[str, str]:
    return {
        f.person_id: f.reasons
        for f in s.scalars(select(Flag).where(Flag.status == "open", Flag.kind == "needs_survey"))
    }


def test_students_owe_no_pension(db):
    student, graduate, other = pid("20070101", 1), pid("20050101", 2), pid("20070101", 3)
    with db.sessions() as s, s.begin():
        _load(
            s,
            [pop_row(student, "学生"), pop_row(graduate, "毕业生"), pop_row(other, "青年")],
            [enr_row(student, "390"), enr_row(graduate, "390"), enr_row(other, "390")],
        )
        first = comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF).run
        assert _open(s) == {p: "missing.pension" for p in (student, graduate, other)}
        _dept(
            s,
            "students",
            STUDENTS,
            [
                [student, "济南第一中学", "高三", "2027-07-01", "在读"],
                [graduate, "山东大学", "大四", "2026-06-01", "在读"],  # graduated before the day compared
            ],
        )
        second = comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF).run
        assert _open(s) == {graduate: "missing.pension", other: "missing.pension"}
        assert second.diff["resolved"]["needs_survey"] == 1
        assert second.counts["by_class"]["partial"] == first.counts["by_class"]["partial"] - 1


def test_employees_missing_unemployment_or_injury_insurance_are_partial(db):
    employee, covered, flexible, unknown = (pid("19800101", n) for n in (1, 2, 3, 4))
    basic = [("310", {}), ("110", {})]
    enrollments = [enr_row(p, scheme) for p in (employee, covered, flexible, unknown) for scheme, _ in basic]
    enrollments += [enr_row(covered, "210"), enr_row(covered, "410"), enr_row(employee, "410")]
    with db.sessions() as s, s.begin():
        _load(
            s,
            [pop_row(p, f"人{i}") for i, p in enumerate((employee, covered, flexible, unknown))],
            enrollments,
        )
        comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF)
        assert _open(s) == {}
        _dept(
            s,
            "employment",
            JOBS,
            [
                [employee, "在职", "甲公司", "2024-01-01"],
                [covered, "单位就业", "乙公司", "2024-01-01"],
                [flexible, "灵活就业", "", "2024-01-01"],
            ],
        )
        run = comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF).run
        assert _open(s) == {employee: "missing.unemployment"}
        assert run.counts["by_class"] == {"insured": 3, "partial": 1}
        # no longer employed: the flag ends with the next run
        _dept(s, "employment", JOBS, [[employee, "失业", "", "2026-05-01"]])
        comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF)
        assert _open(s) == {}


def test_deaths_and_moves_end_flags(db):
    dead, moved, stays, away = (pid("19800101", n) for n in (1, 2, 3, 4))
    with db.sessions() as s, s.begin():
        _load(
            s,
            [pop_row(dead, "甲"), pop_row(moved, "乙"), pop_row(stays, "丙"), pop_row(away, "丁")],
            [enr_row(stays, "390")],
        )
        comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF)
        assert set(_open(s)) == {dead, moved, stays, away}
        _dept(s, "deaths_health", ["公民身份号码", "姓名", "死亡日期"], [[dead, "甲", "2026-04-01"]])
        imports.import_file(
            s,
            actor=CLERK,
            kind="population",
            filename="p2.csv",
            content=csv_bytes(
                POP_HEADER,
                [
                    pop_row(moved, "乙", status="迁出"),
                    pop_row(dead, "甲"),  # 公安 still lists 正常: 卫健's death stands
                    pop_row(away, "丁", division="370103002001"),  # the 户口 moved to 市中区
                ],
            ),
        )
        run = comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF).run
        assert _open(s) == {stays: "missing.pension"}
        ended = s.scalars(select(Flag).where(Flag.cleared_by_run_id == run.id)).all()
        assert {f.person_id for f in ended} == {dead, moved, away}
        assert run.counts["by_class"] == {"excluded.dead": 1, "excluded.moved_out": 1, "partial": 1}
