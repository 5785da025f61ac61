"""Every figure and every drill-down list equals the hand count of the small office in `helpers`, as of
a past day and today; the past figure is reproduced after later changes; children add up to parents;
the incremental refresh equals a full rebuild; areas outside the caller's are refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from canbao.db import utcnow
from canbao.errors import Invalid
from registry.common import AreaForbidden
from registry.stats import build, queries, rules

from .helpers import (
    CITY,
    COUNTY,
    DAYS_BACK,
    PHASE1,
    PHASE2,
    WHERE,
    P,
    phase1,
    phase1_day,
    phase2,
    shift_history,
)

COUNTIES = ("370102", "370103")


def area_of(person: str) -> str:
    key = next(k for k, v in P.items() if v == person)
    return WHERE.get(key, "370102001002")


def setup_office(db) -> None:
    with db.sessions() as s, s.begin():
        phase1(s)
    with db.sessions() as s, s.begin():
        shift_history(s, DAYS_BACK)
        build.refresh(s, full=True)


def figures(db, day, area="3701", by="county", actor=CITY) -> dict:
    with db.sessions() as s, s.begin():
        return queries.coverage(s, sc=queries.scope(actor, area=area, as_of=day, by=by))


def drill(db, day, indicator, area="3701") -> set[str]:
    found: set[str] = set()
    offset = 0
    with db.sessions() as s, s.begin():
        sc = queries.scope(CITY, area=area, as_of=day, by=None)
        while True:
            page = queries.persons(s, actor=CITY, sc=sc, indicator=indicator, limit=3, offset=offset)
            found |= {item["id_number"] for item in page["items"]}
            assert page["total"] == len(found) or page["next_offset"] is not None
            offset = page["next_offset"]
            if offset is None:
                return found


def check(db, day, expected: dict[str, set[str]]) -> dict:
    table = figures(db, day)
    rows = {r["code"]: r for r in table["rows"]}
    assert table["rule_version"] == rules.RULE_VERSION and table["as_of"] == day.isoformat()
    for key, people in expected.items():
        if key.startswith("reason:"):
            continue
        assert table["total"][key] == len(people), key
        for county in COUNTIES:
            assert rows[county][key] == len({p for p in people if area_of(p).startswith(county)}), (
                key,
                county,
            )
        assert drill(db, day, key) == people, key
    target = len(expected["target"])
    assert table["total"]["registration_rate"] == round(len(expected["registered"]) / target, 6)
    assert table["total"]["pension_rate"] == round(
        len(expected["pension_insured"]) / len(expected["pension_eligible"]), 6
    )
    assert drill(db, day, "reason:01") == expected["reason:01"]
    return table


def test_every_indicator_and_drilldown_is_the_hand_count_and_the_past_stays(any_db):
    setup_office(any_db)
    past = phase1_day()
    before = check(any_db, past, PHASE1)
    assert check(any_db, queries.today(), PHASE1)["total"] == before["total"]  # nothing changed since

    with any_db.sessions() as s, s.begin():
        phase2(s)
        assert not build.is_current(s)  # the triggers queued the changed persons
    assert figures(any_db, past) == {**before, "data_through": figures(any_db, past)["data_through"]}
    check(any_db, past, PHASE1)
    check(any_db, queries.today(), PHASE2)
    later = figures(any_db, past + timedelta(days=20))  # across a month-start checkpoint, no change
    assert later["total"] == before["total"]
    # The day before the office existed shows nobody.
    assert figures(any_db, past - timedelta(days=1))["total"]["persons"] == 0


def test_incremental_refresh_equals_a_full_rebuild_and_the_direct_count(any_db):
    setup_office(any_db)
    with any_db.sessions() as s, s.begin():
        phase2(s)
        # A fact committed long after the time it carries (as a slow import across midnight would):
        # it changes days that checkpoints already sum up.
        s.execute(
            text(
                "INSERT INTO enrollment (person_id, scheme, status, place, source, elsewhere, recorded_at) "
                "VALUES (:p, '510', '1', '370102', 'late', :f, :at)"
            ),
            {"p": P["A"], "f": False, "at": utcnow() - timedelta(days=DAYS_BACK - 2)},
        )

    def aggregate(s) -> tuple:
        return tuple(
            sorted(tuple(str(v) for v in r) for r in s.execute(text(f"SELECT * FROM {table} WHERE n <> 0")))
            for table in ("stats_delta", "stats_checkpoint")
        )

    with any_db.sessions() as s, s.begin():
        assert build.refresh(s).mode == "incremental"
        incremental = aggregate(s)
        spans = s.execute(text("SELECT * FROM stats_span ORDER BY person_id, day_from")).all()
        assert incremental[1], "the office's history crosses a month start"
    with any_db.sessions() as s, s.begin():
        assert build.refresh(s, full=True).mode == "full"
        assert aggregate(s) == incremental
        assert s.execute(text("SELECT * FROM stats_span ORDER BY person_id, day_from")).all() == spans
        for day in (phase1_day(), phase1_day() + timedelta(days=5), queries.today()):
            direct = queries.profile_counts_direct(s, area="3701", as_of=day, length=6)
            table = queries.coverage(s, sc=queries.scope(CITY, area="3701", as_of=day, by="county"))
            for row in table["rows"]:
                for key in direct.get(row["code"], {}):
                    assert row[key] == direct[row["code"]][key], (day, row["code"], key)
            assert table["total"]["scheme_510"] == (day >= phase1_day() + timedelta(days=2))


def test_children_add_up_to_their_parent_at_every_level(any_db):
    setup_office(any_db)
    with any_db.sessions() as s, s.begin():
        phase2(s)
    day = queries.today()
    counts = [c.key for c in rules.COUNTS]
    province = figures(any_db, day, area="37", by="city", actor=CITY.__class__("m", ("ministry",), ""))
    city = figures(any_db, day, area="3701", by="county")
    by_village = figures(any_db, day, area="3701", by="village")
    county = figures(any_db, day, area="370102", by="township", actor=COUNTY)
    jinan = next(r for r in province["rows"] if r["code"] == "3701")
    lixia = next(r for r in city["rows"] if r["code"] == "370102")
    for key in counts:
        assert sum(r[key] for r in province["rows"]) == province["total"][key]
        assert jinan[key] == city["total"][key] == by_village["total"][key], key
        assert sum(r[key] for r in city["rows"]) == city["total"][key]
        assert sum(r[key] for r in by_village["rows"]) == by_village["total"][key]
        assert lixia[key] == county["total"][key] == sum(r[key] for r in county["rows"]), key
    assert {r["code"] for r in province["rows"]} >= {"3701", "3702"}  # every city listed, zero or not
    assert len(by_village["rows"]) > 1000  # every village of 济南市 (the loaded village table)


def test_unenrolled_reasons_by_code(any_db):
    setup_office(any_db)
    with any_db.sessions() as s, s.begin():
        table = queries.unenrolled_reasons(
            s, sc=queries.scope(CITY, area="3701", as_of=phase1_day(), by="county")
        )
    rows = {r["code"]: r for r in table["rows"]}
    assert rows["370102"]["reasons"]["01"] == 1 and rows["370102"]["uninsured"] == 1
    assert rows["370103"]["uninsured"] == 0
    assert table["total"]["uninsured"] == len(PHASE1["uninsured"])
    assert [c["key"] for c in table["reasons"]][-1] == ""  # 未填写 last
    assert table["reasons"][0] == {"key": "01", "label": "经济困难，无力缴费"}


def test_the_area_and_day_are_checked(any_db):
    with pytest.raises(AreaForbidden):
        queries.scope(COUNTY, area="370103", as_of=None, by=None)
    with pytest.raises(AreaForbidden):
        queries.scope(COUNTY, area="3701", as_of=None, by=None)
    with pytest.raises(Invalid) as err:
        queries.scope(COUNTY, area="37010", as_of=queries.today() + timedelta(days=1), by="town")
    assert {e.pointer for e in err.value.errors} == {"/area", "/as_of", "/by"}
    with pytest.raises(Invalid) as err:
        queries.scope(COUNTY, area="370102", as_of=None, by="city")
    assert [e.code for e in err.value.errors] == ["by.not_below"]
    assert queries.scope(COUNTY, area=None, as_of=None, by=None).by == "township"
    with any_db.sessions() as s, s.begin(), pytest.raises(Invalid):
        queries.persons(
            s, actor=COUNTY, sc=queries.scope(COUNTY, area=None, as_of=None, by=None), indicator="x"
        )


def test_triggers_queue_only_changes_that_can_move_a_figure(any_db):
    setup_office(any_db)

    def queued(statement: str) -> set[str]:
        with any_db.sessions() as s, s.begin():
            s.execute(text(statement))
            found = set(s.scalars(text("SELECT person_id FROM stats_dirty")))
            s.execute(text("DELETE FROM stats_dirty"))
            return found

    assert queued("UPDATE flag SET last_seen_run_id = 99, reasons = reasons") == set()
    assert queued(f"UPDATE flag SET status = 'cleared' WHERE person_id = '{P['D']}'") == {P["D"]}
    assert queued(f"UPDATE enrollment SET superseded_at = recorded_at WHERE person_id = '{P['A']}'") == {
        P["A"]
    }
    phone = "INSERT INTO field_change (person_id, field, old, new, at, source, actor_sub) VALUES "
    assert queued(phone + f"('{P['C']}', '/phone', NULL, '1', '2026-01-01', 'case', 't')") == set()
    assert queued(
        phone + f"('{P['C']}', '/uninsured_reason/code', NULL, '01', '2026-01-01', 'case', 't')"
    ) == {P["C"]}


def test_a_reader_does_not_queue_behind_a_refresh_in_progress(db):
    """Under load, readers of statistics waited on each other's refreshes (issue 23): while another
    transaction refreshes, a reader gets the figures last refreshed at once, dated by `data_through`."""
    setup_office(db)
    day = queries.today()
    before = figures(db, day)
    with db.sessions() as s, s.begin():
        phase2(s)  # queued for the next refresh
    with db.engine.connect() as refreshing, refreshing.begin():
        refreshing.execute(
            text("SELECT id FROM stats_state WHERE id = :id FOR UPDATE"), {"id": build.STATE_ID}
        )
        with db.sessions() as s, s.begin():
            s.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting would fail the test
            busy = queries.coverage(s, sc=queries.scope(CITY, area="3701", as_of=day, by="county"))
        assert busy["total"] == before["total"] and busy["data_through"] == before["data_through"]
    after = figures(db, day)
    assert after["data_through"] > before["data_through"]
    assert after["total"]["excluded_dead"] == len(PHASE2["excluded_dead"])
