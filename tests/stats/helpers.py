"""A small hand-checked office for the statistics tests: who is who, and what every figure must be.

Phase 1 (recorded, then moved 45 days into the past): population and enrollment imports, a 信息比对
run, 未参保原因 and 异地参保 recorded by change cases, one person registered through a case.
Phase 2 (today): one person registered through a case, one dies, one gets an enrollment.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from canbao.actors import Actor
from registry import comparison, imports, persons
from registry.stats import queries
from tests.registry.helpers import (
    ENR_HEADER,
    POP_HEADER,
    VILLAGE,
    VILLAGE2,
    csv_bytes,
    enr_row,
    pid,
    pop_row,
    registration,
)

CITY = Actor(sub="city1", roles=("city_admin",), area="3701", name="市级")
COUNTY = Actor(sub="county1", roles=("county_approver",), area="370102", name="县级")
DAYS_BACK = 45  # more than a month: the figures cross a month-start checkpoint

ADULT, CHILD = "19800101", "20150101"
P = {
    "A": pid(ADULT, 1),  # 310 + 110 + 410 in 370102: local, employee
    "B": pid(ADULT, 2, female=True),  # 390 + 170 local; dies in phase 2
    "C": pid(CHILD, 3),  # child, 390 only
    "D": pid(ADULT, 4),  # nothing; reason 01; registered with 390 in phase 2
    "E": pid(ADULT, 5),  # 310 + 390 + 110: duplicate medical
    "F": pid(ADULT, 6),  # dead, still 310
    "G": pid(ADULT, 7),  # 390 + 170 in 370103: insured elsewhere
    "H": pid(ADULT, 8, area="370103"),  # lives in 370103: 310 + 110 there
    "I": pid(ADULT, 9),  # nothing here, declared insured elsewhere; gets 390 in phase 2
    "K": pid(ADULT, 10),  # 390 in 370102 and in 370103 + 170: duplicate place
    "J": pid("19900101", 11, area="370202"),  # 常住非户籍: hukou in Qingdao, registered through a case
}
NAME = dict(zip("ABCDEFGHIKJ", "甲乙丙丁戊己庚辛壬癸子", strict=True))
WHERE = {"A": VILLAGE, "B": VILLAGE, "C": VILLAGE, "D": VILLAGE2, "E": VILLAGE2, "F": VILLAGE2, "G": VILLAGE2}
WHERE |= {"H": "370103002001", "I": VILLAGE, "K": VILLAGE2}


def _enrollments() -> list[list[object]]:
    rows = []
    for who, schemes in {
        "A": [("310", "370102"), ("110", "370102"), ("410", "370102")],
        "B": [("390", "370102"), ("170", "370102")],
        "C": [("390", "370102")],
        "E": [("310", "370102"), ("390", "370102"), ("110", "370102")],
        "F": [("310", "370102")],
        "G": [("390", "370103"), ("170", "370103")],
        "H": [("310", "370103"), ("110", "370103")],
        "K": [("390", "370102"), ("390", "370103"), ("170", "370102")],
        "J": [("390", "370102")],  # the business system holds what J's 登记表 says (第二十二条)
    }.items():
        rows += [enr_row(P[who], scheme, place=place) for scheme, place in schemes]
    return rows


def shift_history(s, days: int) -> None:
    """Move every recorded time of the registry and the engine `days` into the past (the office's history)."""
    columns = {
        "person_version": ("valid_from", "valid_to"),
        "enrollment": ("recorded_at", "superseded_at"),
        "flag": ("raised_at", "cleared_at"),
        "field_change": ("at",),
        "person": ("registered_at", "created_at", "updated_at"),
        "cases": ("created_at", "updated_at", "completed_at"),
        "case_task": ("created_at", "due_at", "completed_at", "claimed_at"),
        "survey_team": ("created_at",),
    }
    postgres = s.get_bind().dialect.name == "postgresql"
    for table, cols in columns.items():
        sets = ", ".join(
            f"{c} = {c} - INTERVAL '{days} days'"
            if postgres
            else f"{c} = strftime('%Y-%m-%d %H:%M:%f', {c}, '-{days} days')"
            for c in cols
        )
        s.execute(text(f"UPDATE {table} SET {sets}"))


def change(s, who: str, field: str, old, new, case_id: int) -> None:
    persons.apply_change(
        s,
        actor=COUNTY,
        case_id=case_id,
        case_area=WHERE[who],
        person_id=P[who],
        change_request={"id_number": P[who], "changes": [{"field": field, "old": old, "new": new}]},
    )


def phase1(s) -> None:
    population = [pop_row(P[k], f"人员{NAME[k]}", division=WHERE[k]) for k in P if k != "J"]
    population[list(P).index("F")] = pop_row(P["F"], "人员己", division=WHERE["F"], status="死亡")
    imports.import_file(
        s, actor=COUNTY, kind="population", filename="p.csv", content=csv_bytes(POP_HEADER, population)
    )
    imports.import_file(
        s,
        actor=COUNTY,
        kind="enrollments",
        system="社保",
        filename="e.csv",
        content=csv_bytes(ENR_HEADER, _enrollments()),
    )
    comparison.run(s, actor=CITY, area="3701", as_of=queries.today())
    change(s, "D", "/uninsured_reason/code", None, "01", 901)
    change(s, "I", "/insured_elsewhere", None, True, 902)
    reg = registration(
        P["J"],
        name="人员子",
        hukou={"division": "370202001001", "address": "青岛市市南区某路1号", "nature": "10"},
        residence={"division": VILLAGE, "address": "历下区解放桥社区2号"},
        insurance=[{"scheme": "390", "status": "1", "place": "370102", "first_date": "2020-01-01"}],
    )
    persons.store(s, actor=COUNTY, case_id=903, case_area=VILLAGE, person_id=P["J"], registration=reg)


def phase2(s) -> None:
    reg = registration(
        P["D"],
        name="人员丁",
        hukou={"division": VILLAGE2, "address": "历下区某街1号", "nature": "10"},
        residence={"division": VILLAGE2, "address": "历下区某街1号"},
        insurance=[{"scheme": "390", "status": "1", "place": "370102", "first_date": "2026-01-01"}],
    )
    persons.store(s, actor=COUNTY, case_id=904, case_area=VILLAGE2, person_id=P["D"], registration=reg)
    imports.import_file(
        s,
        actor=COUNTY,
        kind="population",
        filename="p2.csv",
        content=csv_bytes(POP_HEADER, [pop_row(P["B"], "人员乙", division=VILLAGE, status="死亡")]),
    )
    imports.import_file(
        s,
        actor=COUNTY,
        kind="enrollments",
        system="医保",
        filename="e2.csv",
        content=csv_bytes(
            ENR_HEADER,
            [enr_row(P["I"], "390", place="370102"), enr_row(P["D"], "390", start="2026-01-01")],
        ),
    )


def who(*keys: str) -> set[str]:
    return {P[k] for k in keys}


# The hand count: for each indicator, exactly who is in it (phase 1 as of its day; phase 2 today).
PHASE1 = {
    "persons": who(*P),
    "excluded_dead": who("F"),
    "excluded_cancelled": set(),
    "excluded_moved_out": set(),
    "target": who("A", "B", "C", "D", "E", "G", "H", "I", "K", "J"),
    "target_hukou": who("A", "B", "C", "D", "E", "G", "H", "I", "K"),
    "target_resident": who("J"),
    "registered": who("A", "B", "C", "E", "G", "H", "K", "J"),
    "registered_case": who("J"),
    "registered_confirmed": who("A", "B", "C", "E", "G", "H", "K"),
    "insured": who("A", "B", "C", "E", "G", "H", "I", "K", "J"),
    "insured_local": who("A", "B", "C", "E", "H", "K"),
    "insured_away": who("G", "I", "J"),
    "uninsured": who("D"),
    "pension_eligible": who("A", "B", "D", "E", "G", "H", "I", "K", "J"),
    "pension_insured": who("A", "B", "E", "G", "H", "K"),
    "medical_eligible": who("A", "B", "C", "D", "E", "G", "H", "I", "K", "J"),
    "medical_insured": who("A", "B", "C", "E", "G", "H", "K", "J"),
    "employees": who("A", "E", "H"),
    "scheme_110": who("A", "E", "H"),
    "scheme_120": set(),
    "scheme_170": who("B", "G", "K"),
    "scheme_310": who("A", "E", "H"),
    "scheme_390": who("B", "C", "E", "G", "K", "J"),
    "scheme_210": set(),
    "scheme_410": who("A"),
    "scheme_510": set(),
    "duplicate": who("E", "K"),
    "duplicate_medical": who("E"),
    "duplicate_pension": set(),
    "duplicate_place": who("K"),
    "survey_open": who("D", "I"),
    "survey_closed": set(),
    "reason:01": who("D"),
}
PHASE2 = {
    **PHASE1,
    "excluded_dead": who("F", "B"),
    "target": who("A", "C", "D", "E", "G", "H", "I", "K", "J"),
    "target_hukou": who("A", "C", "D", "E", "G", "H", "I", "K"),
    "registered": who("A", "C", "D", "E", "G", "H", "K", "J"),
    "registered_case": who("D", "J"),
    # I has an enrollment now but the comparison's 需调查 flag is still open: not confirmed yet.
    "registered_confirmed": who("A", "C", "E", "G", "H", "K"),
    "insured": who("A", "C", "D", "E", "G", "H", "I", "K", "J"),
    "insured_local": who("A", "C", "D", "E", "H", "I", "K"),
    "insured_away": who("G", "J"),
    "uninsured": set(),
    "pension_eligible": who("A", "D", "E", "G", "H", "I", "K", "J"),
    "pension_insured": who("A", "E", "G", "H", "K"),
    "medical_eligible": who("A", "C", "D", "E", "G", "H", "I", "K", "J"),
    "medical_insured": who("A", "C", "D", "E", "G", "H", "I", "K", "J"),
    "scheme_170": who("G", "K"),
    "scheme_390": who("C", "D", "E", "G", "I", "K", "J"),
    "survey_open": who("I"),
    "survey_closed": who("D"),
    "reason:01": set(),
}


def phase1_day():
    return queries.today() - timedelta(days=DAYS_BACK)
