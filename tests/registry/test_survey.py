"""Survey lists, teams, persons found in the field, the case-opening seam, and the printed documents."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from canbao.actors import Actor
from canbao.audit.models import AuditEvent
from canbao.errors import Invalid
from registry import comparison, documents, imports, survey
from registry.models import Flag
from tests.registry.helpers import (
    AS_OF,
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


def seed(s):
    a, b, c, d = pid(seq=1), pid(seq=2), pid(seq=3), pid(seq=4)
    imports.import_file(
        s,
        actor=CLERK,
        kind="population",
        filename="p.csv",
        content=csv_bytes(
            POP_HEADER,
            [
                pop_row(a, "甲一"),
                pop_row(b, "乙二"),
                pop_row(c, "丙三", division=VILLAGE2),
                pop_row(d, "丁四", status="死亡"),
            ],
        ),
    )
    imports.import_file(
        s,
        actor=CLERK,
        kind="enrollments",
        system="医保",
        filename="e.csv",
        content=csv_bytes(ENR_HEADER, [enr_row(b, "390"), enr_row(b, "170")]),
    )
    comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF)
    return a, b, c, d


def test_survey_list_by_village_with_counts(any_db):
    with any_db.sessions() as s, s.begin():
        a, _b, _c, _d = seed(s)
        counts = survey.list_counts(s, actor=CLERK, area="370102")
        listed = survey.list_persons(s, actor=CLERK, area="370102", village=VILLAGE)
    assert counts == [
        {
            "division": VILLAGE,
            "name": "解放桥社区居民委员会",
            "persons": 1,
            "needs_survey": 1,
            "inaccurate": 0,
        },
        {
            "division": VILLAGE2,
            "name": "历山路社区居民委员会",
            "persons": 1,
            "needs_survey": 1,
            "inaccurate": 0,
        },
    ]
    assert [p["id_number"] for p in listed] == [a]  # masked per role by the API (api/masking.py)
    assert listed[0]["flags"] == {"needs_survey": ["uninsured"]}
    with any_db.sessions() as s:  # each person shown lands in that person's access log
        reads = s.execute(
            select(AuditEvent.person_id, AuditEvent.payload).where(
                AuditEvent.action == "person.read", AuditEvent.actor_sub == CLERK.sub
            )
        ).all()
    assert [(pid, json.loads(payload)["purpose"]) for pid, payload in reads] == [(a, "survey_list")]


def test_candidates_skip_persons_with_an_open_case(any_db):
    with any_db.sessions() as s, s.begin():
        a, _b, c, _d = seed(s)
        opened = {c}
        found = [
            p["person_id"]
            for p in survey.candidates(
                s, area="370102", batch=1, has_open_case=lambda _s, ids: opened & set(ids)
            )
        ]
        assert found == [a]
        opened.add(a)
        assert (
            list(survey.candidates(s, area="370102", has_open_case=lambda _s, ids: opened & set(ids))) == []
        )


def test_teams_of_two_or_three_with_unique_cards(any_db):
    with any_db.sessions() as s, s.begin():
        team = survey.create_team(
            s,
            actor=CLERK,
            name="解放桥一组",
            area="370102001",
            members=[
                {"name": "调查员甲", "card_no": "DC-001", "user_sub": "surveyor1"},
                {"name": "调查员乙", "card_no": "DC-002"},
            ],
        )
        assert [m["card_no"] for m in team["members"]] == ["DC-001", "DC-002"]
        assert survey.teams_of(s, user_sub="surveyor1") == [team["id"]]
        with pytest.raises(Invalid) as err:
            survey.create_team(
                s, actor=CLERK, name="单人组", area="370102001", members=[{"name": "丙", "card_no": "X"}]
            )
        assert err.value.errors[0].code == "survey.team_size"
        with pytest.raises(survey.CardInUse):
            survey.create_team(
                s,
                actor=CLERK,
                name="二组",
                area="370102001",
                members=[{"name": "丙", "card_no": "DC-002"}, {"name": "丁", "card_no": "DC-003"}],
            )
        updated = survey.update_members(
            s,
            actor=CLERK,
            team_id=team["id"],
            members=[
                {"name": "调查员甲", "card_no": "DC-001"},
                {"name": "调查员乙", "card_no": "DC-002"},
                {"name": "调查员丙", "card_no": "DC-004"},
            ],
        )
        assert len(updated["members"]) == 3
        survey.delete(s, actor=CLERK, team_id=team["id"])
        assert survey.get_all(s, actor=CLERK, area="370102") == []


def test_a_surveyor_adds_a_person_found_in_the_field(any_db):
    surveyor = Actor(sub="surveyor1", roles=("surveyor",), area="370102001")
    found = pid("19950505", 9)
    with any_db.sessions() as s, s.begin():
        out = survey.add_found_person(
            s,
            actor=surveyor,
            id_number=found,
            name="新来人",
            residence_division=VILLAGE,
            residence_address="解放桥社区3号",
        )
        again = survey.add_found_person(
            s, actor=surveyor, id_number=found, name="新来人", residence_division=VILLAGE
        )
        assert out["created"] and not again["created"] and again["flag_id"] == out["flag_id"]
        listed = survey.list_persons(s, actor=surveyor, area="370102001")
        assert [(p["id_number"], p["flags"]) for p in listed] == [(found, {"needs_survey": ["field.new"]})]
        with pytest.raises(Invalid):
            survey.add_found_person(s, actor=surveyor, id_number="123", name="", residence_division="999")


def test_summary_xlsx_and_prefilled_pdf(any_db):
    with any_db.sessions() as s, s.begin():
        a, *_ = seed(s)
        xlsx = documents.summary_xlsx(s, actor=CLERK, village=VILLAGE, mask=lambda v: v)
        pdf = documents.registration_pdf(s, actor=CLERK, id_numbers=[a], mask=lambda v: v)
        assert s.scalar(select(Flag.status).where(Flag.person_id == a)) == "open"
    ws = load_workbook(io.BytesIO(xlsx)).active
    assert ws["A1"].value == "全民参保登记个人信息汇总表"
    assert [c.value for c in ws[3]][:3] == [
        "序号",
        "姓名",
        "社会保障号码",
    ]  # 规程第八条; a citizen's is their 公民身份号码
    assert [c.value for c in ws[4]][:3] == [1, "甲一", a]
    assert ws.max_row == 4
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert b"/STSong-Light" in pdf and b"/Count 1" in pdf
