"""信息比对: each classification rule on hand-made cases, planted findings recovered exactly, the diff
between runs, and the same rules over files in DuckDB."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text

from canbao.actors import Actor
from registry import comparison, demo, imports, persons
from registry.models import ComparisonRun, Flag
from registry.stats import build
from registry.stats import queue as stats_queue
from tests.registry.helpers import (
    AS_OF,
    CLERK,
    ENR_HEADER,
    POP_HEADER,
    csv_bytes,
    enr_row,
    pid,
    pop_row,
    registration,
)

ADULT = "19800101"
CHILD = "20150101"  # 11 on AS_OF: no pension requirement


def load(s, population, enrollments, system="社保"):
    imports.import_file(
        s, actor=CLERK, kind="population", filename="p.csv", content=csv_bytes(POP_HEADER, population)
    )
    if enrollments:
        imports.import_file(
            s,
            actor=CLERK,
            kind="enrollments",
            system=system,
            filename="e.csv",
            content=csv_bytes(ENR_HEADER, enrollments),
        )


def flags_of(s) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for f in s.scalars(select(Flag).where(Flag.status == "open")):
        found.setdefault(f.person_id, {})[f.kind] = f.reasons
    return found


CASES = {
    # name: (birth, status, enrollments as (scheme, kwargs), expected class, expected flags)
    "insured_adult": (ADULT, "正常", [("310", {}), ("110", {})], "insured", {}),
    "insured_child": (CHILD, "正常", [("390", {})], "insured", {}),
    "dup_medical": (
        ADULT,
        "正常",
        [("310", {}), ("390", {}), ("110", {})],
        "duplicate",
        {"duplicate": "dup.medical"},
    ),
    "dup_pension": (
        ADULT,
        "正常",
        [("310", {}), ("110", {}), ("170", {})],
        "duplicate",
        {"duplicate": "dup.pension"},
    ),
    "dup_place": (
        ADULT,
        "正常",
        [("390", {}), ("390", {"place": "370103"}), ("170", {})],
        "duplicate",
        {"duplicate": "dup.place.390"},
    ),
    "dup_place_one_ending_later": (
        ADULT,
        "正常",
        [("390", {}), ("390", {"place": "370103", "end": "2027-01-01"}), ("170", {})],
        "duplicate",
        {"duplicate": "dup.place.390"},
    ),
    "ended_not_dup": (
        ADULT,
        "正常",
        [("390", {"status": "4", "end": "2020-01-01"}), ("310", {}), ("110", {})],
        "insured",
        {},
    ),
    "future_end_active": (ADULT, "正常", [("310", {"end": "2027-01-01"}), ("110", {})], "insured", {}),
    "ended_before_as_of": (
        ADULT,
        "正常",
        [("310", {"end": "2026-06-30"}), ("110", {})],
        "partial",
        {"needs_survey": "missing.medical"},
    ),
    "suspended_is_not_active": (
        ADULT,
        "正常",
        [("310", {"status": "2"}), ("110", {})],
        "partial",
        {"needs_survey": "missing.medical"},
    ),
    "starts_later": (
        ADULT,
        "正常",
        [("310", {"start": "2026-07-01"}), ("110", {})],
        "partial",
        {"needs_survey": "missing.medical"},
    ),
    "uninsured": (ADULT, "正常", [], "uninsured", {"needs_survey": "uninsured"}),
    "uninsured_child": (CHILD, "正常", [], "uninsured", {"needs_survey": "uninsured"}),
    "missing_pension": (ADULT, "正常", [("390", {})], "partial", {"needs_survey": "missing.pension"}),
    "missing_medical": (ADULT, "正常", [("170", {})], "partial", {"needs_survey": "missing.medical"}),
    "name_mismatch": (
        ADULT,
        "正常",
        [("310", {"name": "别名"}), ("110", {})],
        "inaccurate",
        {"inaccurate": "mismatch.name"},
    ),
    "birth_mismatch": (
        ADULT,
        "正常",
        [("310", {"born": "1980-01-02"}), ("110", {})],
        "inaccurate",
        {"inaccurate": "mismatch.birth_date"},
    ),
    "dead": (ADULT, "死亡", [], "excluded.dead", {}),
    "dead_active": (ADULT, "死亡", [("310", {})], "excluded.dead", {"inaccurate": "status.dead_active"}),
    "cancelled": (ADULT, "注销", [("310", {"status": "4", "end": "2019-01-01"})], "excluded.cancelled", {}),
    "moved_out": (ADULT, "迁出", [("390", {})], "excluded.moved_out", {}),
    "dup_and_missing": (
        ADULT,
        "正常",
        [("310", {}), ("390", {})],
        "duplicate",
        {"duplicate": "dup.medical", "needs_survey": "missing.pension"},
    ),
}


def build_cases():
    population, enrollments, expected = [], [], {}
    for seq, (name, (birth, status, enrs, klass, flags)) in enumerate(CASES.items(), start=1):
        number = pid(birth, seq)
        population.append(
            pop_row(number, "测试" + "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥"[seq % 22], status=status)
        )
        for scheme, kw in enrs:
            row = enr_row(number, scheme, **kw)
            if "name" not in kw:
                row[1] = population[-1][1]
            enrollments.append(row)
        expected[number] = (name, klass, flags)
    return population, enrollments, expected


def test_each_rule_on_hand_made_cases(any_db):
    population, enrollments, expected = build_cases()
    with any_db.sessions() as s, s.begin():
        load(s, population, enrollments)
        result = comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF)
        found = flags_of(s)
        counts = result.run.counts["by_class"]
    for number, (name, _klass, flags) in expected.items():
        assert found.get(number, {}) == flags, name
    want: dict[str, int] = {}
    for _name, klass, _flags in expected.values():
        want[klass] = want.get(klass, 0) + 1
    assert counts == want
    assert result.run.counts["persons"] == len(expected)
    assert result.run.counts["scheme_exempt"]["pension_under_16"] == 2


def test_each_rule_on_hand_made_cases_over_files(any_db, tmp_path):
    """The same cases through DuckDB over extract files (their own reduction of the enrollments and
    small-integer schemes and statuses) give the same flags and classes."""
    population, enrollments, expected = build_cases()
    pop_file, enr_file = tmp_path / "population.csv", tmp_path / "enrollments.csv"
    # the extract headings in the order of POP_HEADER and ENR_HEADER
    pop_header = ["id_number", "name", "sex", "birth_date", "hukou_division", "hukou_address", "status"]
    enr_header = [
        "id_number",
        "name",
        "birth_date",
        "scheme",
        "status",
        "pay_status",
        "place",
        "start_date",
        "end_date",
    ]
    pop_file.write_bytes(csv_bytes(pop_header, population))
    enr_file.write_bytes(csv_bytes(enr_header, enrollments))
    with any_db.sessions() as s, s.begin():
        run = comparison.run_files(
            s, actor=CLERK, area="370102", population=pop_file, enrollments={"社保": enr_file}, as_of=AS_OF
        ).run
        found = flags_of(s)
    for number, (name, _klass, flags) in expected.items():
        assert found.get(number, {}) == flags, name
    want: dict[str, int] = {}
    for _name, klass, _flags in expected.values():
        want[klass] = want.get(klass, 0) + 1
    assert run.counts["by_class"] == want
    assert run.counts["scheme_exempt"]["pension_under_16"] == 2


def test_a_name_never_matches_and_15_digit_numbers_do(any_db):
    adult = pid(ADULT, 1)
    short = adult[:6] + adult[8:17]  # the legacy 15-digit form of the same number
    other = pid(ADULT, 2)
    with any_db.sessions() as s, s.begin():
        load(
            s,
            [pop_row(adult, "王伟"), pop_row(other, "王伟")],
            [enr_row(short, "310", name="王伟"), enr_row(short, "110", name="王伟")],
        )
        comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF)
        found = flags_of(s)
    assert adult not in found  # matched through the upgraded number
    assert found[other] == {"needs_survey": "uninsured"}  # same name, no match


def test_rerun_diffs_and_resolves_and_store_clears(any_db):
    a, b = pid(ADULT, 1), pid(ADULT, 2)
    with any_db.sessions() as s, s.begin():
        load(
            s,
            [pop_row(a, "张一"), pop_row(b, "张二")],
            [enr_row(a, "310"), enr_row(a, "390"), enr_row(a, "110")],
        )
        first = comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF).run
        assert first.diff["new"] == {"duplicate": 1, "needs_survey": 1, "inaccurate": 0}
        # the 居民医保 relationship ends; b is registered through a case
        imports.import_file(
            s,
            actor=CLERK,
            kind="enrollments",
            system="社保",
            filename="e2.csv",
            content=csv_bytes(ENR_HEADER, [enr_row(a, "390", status="4", end="2026-01-01")]),
        )
        persons.store(
            s, actor=CLERK, case_id=41, case_area="370102", person_id=b, registration=registration(b, "张二")
        )
        second = comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF).run
        assert second.previous_run_id == first.id
        assert second.diff["resolved"]["duplicate"] == 1
        # 第二十二条: b's 参保 on the 登记表 is 自报, not 参保信息 of the 社会保险业务库: b stays 未参保, and
        # what is open is its 核实 (registry.self_reported), not another survey.
        assert second.diff["new"] == {"duplicate": 0, "needs_survey": 0, "inaccurate": 0}
        assert second.diff["class_delta"]["duplicate"] == -1
        assert second.diff["class_delta"]["insured"] == 1
        cleared = s.scalar(select(Flag).where(Flag.person_id == b, Flag.kind == "needs_survey"))
        assert cleared.cleared_by_case_id == 41 and cleared.status == "cleared"
        check = s.scalar(select(Flag).where(Flag.person_id == b, Flag.kind == "verify"))
        assert (check.status, check.reasons) == ("open", "self_reported.110 self_reported.310")
        assert [f.person_id for f in comparison.changes(s, run_id=second.id, change="resolved")] == [a]
        by_county = comparison.counts_by_division(s, run_id=second.id, level=6)
        assert by_county == {"370102": {"insured": 1, "uninsured": 1}}


def test_duplicate_flag_names_both_enrollments(db):
    a = pid(ADULT, 1)
    with db.sessions() as s, s.begin():
        load(s, [pop_row(a, "李一")], [enr_row(a, "310"), enr_row(a, "390"), enr_row(a, "110")])
        comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF)
        flag = s.scalar(select(Flag).where(Flag.kind == "duplicate"))
        schemes = sorted(e["scheme"] for e in flag.details["enrollments"])
    assert schemes == ["110", "310", "390"]


def test_area_outside_the_actor_is_refused(any_db):
    outsider = Actor(sub="x", roles=("county_approver",), area="370103")
    with any_db.sessions() as s, s.begin(), pytest.raises(comparison.AreaForbiddenError):
        comparison.run(s, actor=outsider, area="370102", as_of=AS_OF)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return demo.generate(tmp_path_factory.mktemp("demo"), persons=6000, seed=7)


def _found(s) -> set[tuple[str, str, str]]:
    return {(f.person_id, f.kind, f.reasons) for f in s.scalars(select(Flag).where(Flag.status == "open"))}


def test_planted_findings_recovered_exactly_in_the_database(db, planted):
    truth = demo.truth_flags(planted.truth)
    assert len(truth) > 300
    with db.sessions() as s, s.begin():
        loaded = demo.load(
            s, actor=CLERK.__class__(sub="demo", roles=("province_admin",), area=""), generated=planted
        )
        assert loaded["population"]["rejected"] == 0 and loaded["医保"]["rejected"] == 0
        run = comparison.run(
            s, actor=Actor(sub="demo", roles=("city_admin",), area="3701"), area="3701", as_of=demo.AS_OF
        ).run
        found = _found(s)
    assert found == truth  # precision and recall 1.0
    assert run.counts["persons"] == planted.persons


def test_same_rules_over_files_in_duckdb(any_db, planted):
    truth = demo.truth_flags(planted.truth)
    with any_db.sessions() as s, s.begin():
        run = comparison.run_files(
            s,
            actor=Actor(sub="demo", roles=("city_admin",), area="3701"),
            area="3701",
            population=planted.population,
            enrollments=planted.enrollments,
            as_of=demo.AS_OF,
        ).run
        found = _found(s)
        stored = s.get(ComparisonRun, run.id)
    assert found == truth
    assert stored.mode == "files" and stored.inputs["population"]["sha256"]
    assert stored.inputs["population_invalid_ids"] == 0
    assert sum(stored.counts["by_class"].values()) == planted.persons


def test_as_of_moves_the_pension_age(any_db):
    turning = pid("20100701", 1)  # 16 on 2026-07-01
    with any_db.sessions() as s, s.begin():
        load(s, [pop_row(turning, "赵小")], [enr_row(turning, "390")])
        comparison.run(s, actor=CLERK, area="370102", as_of=date(2026, 6, 30))
        assert flags_of(s) == {}
        comparison.run(s, actor=CLERK, area="370102", as_of=date(2026, 7, 1))
        assert flags_of(s) == {turning: {"needs_survey": "missing.pension"}}


def test_over_files_invalid_and_outside_numbers_are_counted(any_db, tmp_path):
    def write(name: str, header: list[str], rows: list[list[str]]) -> str:
        path = tmp_path / name
        path.write_bytes(csv_bytes(header, rows))
        return str(path)

    a, b, outsider, old = pid(ADULT, 1), pid(ADULT, 2), pid(ADULT, 3), pid(ADULT, 4)
    wrong = b[:17] + ("0" if b[17] != "0" else "1")  # b with a wrong check character
    legacy = a[:6] + a[8:17]  # a's 15-digit form
    population = write(
        "population.csv",
        ["id_number", "name", "birth_date", "hukou_division", "status"],
        [[n, "张" + n[-2:], "", "370102001002", "正常"] for n in (a, b, wrong[:17] + "Y", old)]
        + [[wrong, "假号", "", "370102001002", "正常"]],
    )
    header = ["id_number", "name", "birth_date", "scheme", "status", "place", "start_date", "end_date"]
    rows = [
        [legacy, "", "", "310", "1", "370102", "2015-01-01", ""],  # a, through the upgraded number
        [a, "", "", "110", "1", "370102", "2015-01-01", ""],
        [b.lower(), "", "", "390", "1", "370102", "2015-01-01", ""],  # b, case-insensitive
        [wrong, "", "", "110", "1", "370102", "2015-01-01", ""],  # outside: no such valid number
        [outsider, "", "", "310", "1", "370102", "2015-01-01", ""],  # outside
        [outsider[:6] + outsider[8:17], "", "", "110", "1", "370102", "2015-01-01", ""],  # outside
        ["ABCDEFGHIJKLMNOPQR", "", "", "310", "1", "370102", "2015-01-01", ""],  # outside
        ["370102801301001", "", "", "310", "1", "370102", "2015-01-01", ""],  # no valid 18-character form
        ["12345", "", "", "310", "1", "370102", "2015-01-01", ""],  # no 18-character form
    ]
    enrollments = write("enrollments.csv", header, rows)
    with any_db.sessions() as s, s.begin():
        run = comparison.run_files(
            s,
            actor=CLERK,
            area="370102",
            population=population,
            enrollments={"社保": enrollments},
            as_of=AS_OF,
        ).run
        found = flags_of(s)
    assert run.inputs["population_invalid_ids"] == 2
    assert run.inputs["enrollments_outside_population"] == 4
    assert run.counts["persons"] == 3
    assert found == {
        b: {"needs_survey": "missing.pension"},
        old: {"needs_survey": "uninsured"},
    }


def _take_queue(s) -> set[str]:
    """The persons the next statistics refresh would take (and takes them off the queue)."""
    build._take_queue(s, build.dialect_of(s))
    return set(s.scalars(text("SELECT person_id FROM _stats_p")))


def test_the_statistics_queue_gets_the_persons_whose_flags_a_run_raises_or_clears(any_db, tmp_path):
    """On PostgreSQL the comparison queues its run, whose raised and cleared flags name the persons,
    while the flag triggers stand aside (registry.stats.queue); on SQLite the triggers queue them.
    Either way exactly they are taken by the refresh, and flag writes after the run are queued by the
    triggers again."""
    a, b, c = pid(ADULT, 1), pid(ADULT, 2), pid(ADULT, 3)
    with any_db.sessions() as s, s.begin():
        load(
            s,
            [pop_row(a, "张一"), pop_row(b, "张二"), pop_row(c, "张三")],
            [enr_row(a, "310"), enr_row(a, "390"), enr_row(a, "110"), enr_row(c, "310"), enr_row(c, "110")],
        )
        _take_queue(s)  # the import's own changes
        comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF)
        assert _take_queue(s) == {a, b}  # a duplicate, b uninsured; c insured
        comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF)
        assert _take_queue(s) == set()  # the same flags seen again
        imports.import_file(
            s,
            actor=CLERK,
            kind="enrollments",
            system="社保",
            filename="e2.csv",
            content=csv_bytes(ENR_HEADER, [enr_row(a, "390", status="4", end="2026-01-01")]),
        )
        _take_queue(s)
        comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF)
        assert _take_queue(s) == {a}  # a's duplicate flag cleared
        # the flag triggers mark again after the run, in the same transaction
        s.execute(
            text(
                "INSERT INTO flag (person_id, kind, reasons, area, status, raised_at) "
                f"VALUES ('{c}', 'needs_survey', 'x', '370102001002', 'open', '2026-07-01')"
            )
        )
        assert _take_queue(s) == {c}
        s.execute(text(f"UPDATE flag SET status = 'cleared' WHERE person_id = '{b}'"))
        assert _take_queue(s) == {b}
    # over files: a and b have no enrollment there (new 需调查 flags), c's open flag is cleared
    population = tmp_path / "population.csv"
    population.write_bytes(
        csv_bytes(
            ["id_number", "name", "birth_date", "hukou_division", "status"],
            [[n, "张" + n[-2:], "", "370102001002", "正常"] for n in (a, b, c)],
        )
    )
    enrollments = tmp_path / "enrollments.csv"
    enrollments.write_bytes(
        csv_bytes(
            ["id_number", "name", "birth_date", "scheme", "status", "place", "start_date", "end_date"],
            [[c, "", "", s, "1", "370102", "2015-01-01", ""] for s in ("310", "110")],
        )
    )
    with any_db.sessions() as s, s.begin():
        _take_queue(s)
        comparison.run_files(
            s,
            actor=CLERK,
            area="370102",
            population=population,
            enrollments={"社保": enrollments},
            as_of=AS_OF,
        )
        assert _take_queue(s) == {a, b, c}


def test_flag_triggers_stand_aside_only_while_the_writer_marks(db):
    """Migration 0008: with `canbao.stats_flag_marks` = 'writer' (transaction-local) the flag triggers
    queue nobody; unset or anything else, they queue as before."""
    a = pid(ADULT, 1)
    insert_flag = text(
        "INSERT INTO flag (person_id, kind, reasons, area, status, raised_at) "
        f"VALUES ('{a}', 'needs_survey', 'x', '370102001002', 'open', '2026-07-01')"
    )
    clear = text(f"UPDATE flag SET status = 'cleared' WHERE person_id = '{a}'")
    with db.sessions() as s, s.begin():
        with stats_queue.writer_marks_flags(s, 99):
            s.execute(insert_flag)
            s.execute(clear)
            assert _take_queue(s) == set()
        s.execute(insert_flag)
        assert _take_queue(s) == {a}
        s.execute(clear)
        assert _take_queue(s) == {a}
    with db.sessions() as s, s.begin():
        s.execute(text("SELECT set_config('canbao.stats_flag_marks', 'writer', true)"))
        s.execute(insert_flag)
        s.execute(clear)
        assert _take_queue(s) == set()
    with db.sessions() as s, s.begin():  # transaction-local: gone with the transaction
        s.execute(insert_flag)
        assert _take_queue(s) == {a}
