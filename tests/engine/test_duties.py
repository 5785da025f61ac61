"""Who may decide (第十八、十九、二十一条): the 调查证 on a 登记表 belong to the case's survey team, and a
county's 审定 needs the city's grant of the kind the 审定 is about — checked in the engine's completion
path, whoever calls it."""

import pytest

from canbao.actors import Actor
from engine import grants
from engine.errors import InvalidFormData
from registry import persons, survey

from .conftest import GRANTORS
from .office import (
    APPROVE,
    COUNTY1,
    PLATFORM1,
    PLATFORM2,
    SURVEYOR1,
    SURVEYOR2,
    VILLAGE,
    id_number,
    registration,
)


def _surveyors(*cards: tuple[str, str]) -> dict:
    return {
        "channel": "survey",
        "team": "JFL-01",
        "surveyors": [{"name": name, "card_no": card} for name, card in cards],
        "date": "2026-11-20",
        "signed": True,
    }


def _refused(err) -> list[tuple[str, str]]:
    return [(e.pointer, e.code) for e in err.value.errors]


def test_the_cards_on_the_form_are_the_teams_and_the_submitter_is_among_them(office):
    """第十八条: a team of 2–3 surveyors wearing the 调查证. Found: a form naming cards of no team went all
    the way to 入库."""
    person = id_number(seq="701")
    case_id = office.start(person=person)
    stranger = registration(person, survey=_surveyors(("李四", "DC0001"), ("赵九", "DC0099")))
    with pytest.raises(InvalidFormData) as err:
        office.complete(SURVEYOR1, case_id, "survey", stranger)
    assert _refused(err) == [("/survey/surveyors/1/card_no", "survey.card_not_in_team")]
    not_me = registration(person, survey=_surveyors(("王五", "DC0002"), ("赵六", "DC0003")))
    with pytest.raises(InvalidFormData) as err:
        office.complete(SURVEYOR1, case_id, "survey", not_me)
    assert _refused(err) == [("/survey/surveyors", "survey.submitter_not_listed")]
    office.complete(SURVEYOR2, case_id, "survey", not_me)
    assert office.task(case_id).spec_name == "initial_review"


def test_a_disbanded_teams_cards_no_longer_count(office):
    person = id_number(seq="703")
    case_id = office.start(person=person)
    with office.db.sessions() as s, s.begin():
        survey.delete(s, actor=PLATFORM1, team_id=1)
    with pytest.raises(InvalidFormData) as err:
        office.complete(SURVEYOR1, case_id, "survey", registration(person))
    assert {code for _, code in _refused(err)} == {"survey.card_not_in_team", "survey.submitter_not_listed"}


def _to_final_review(office, process: str, person: str) -> int:
    with office.db.sessions() as s, s.begin():
        persons.store(
            s,
            actor=COUNTY1,
            case_id=0,
            case_area=VILLAGE,
            person_id=person,
            registration=registration(person),
        )
    case_id = office.start(process, person=person, team_id=None)
    change = {
        "id_number": person,
        "changes": [{"field": "/phone", "old": "13805310000", "new": "13905310009"}],
        "reason": "更换手机号码",
    }
    office.complete(PLATFORM1, case_id, "collect_change", change)
    office.complete(PLATFORM2, case_id, "initial_review", APPROVE)
    return case_id


def _revoke(office, kind: str) -> None:
    with office.db.sessions() as s, s.begin():
        for row in grants.get_all(s, actor=GRANTORS[kind]):
            if row.kind == kind:
                grants.revoke(s, actor=GRANTORS[kind], authorization_id=row.id)


def test_a_change_is_approved_only_under_the_grant_for_changes(office):
    """第二十一条: 经市级人力资源社会保障部门授权. Found: one city grant covered surveys and changes alike."""
    person = id_number(seq="705")
    case_id = _to_final_review(office, "change_approval", person)
    _revoke(office, "change")
    with pytest.raises(grants.NotAuthorized) as err:  # the survey grant, still in force, does not count
        office.complete(COUNTY1, case_id, "final_review", APPROVE)
    assert "变更信息审定授权" in err.value.detail and "第二十一条" in err.value.detail
    assert office.task(case_id).spec_name == "final_review"


def test_each_grant_is_given_by_its_own_city_body(office):
    with office.db.sessions() as s, s.begin(), pytest.raises(grants.NotGrantor) as err:
        grants.grant(
            s,
            actor=GRANTORS["survey"],
            kind="change",
            county="370102",
            valid_from=grants.utcnow(),
            valid_to=None,
        )
    assert "市级人社部门" in err.value.detail
    with office.db.sessions() as s, s.begin(), pytest.raises(grants.NotGrantor):
        grants.grant(
            s,
            actor=GRANTORS["change"],
            kind="survey",
            county="370102",
            valid_from=grants.utcnow(),
            valid_to=None,
        )
    county = Actor(sub="county9", roles=("county_approver",), area="370102")
    with office.db.sessions() as s, s.begin(), pytest.raises(grants.NotGrantor):
        grants.grant(
            s, actor=county, kind="survey", county="370102", valid_from=grants.utcnow(), valid_to=None
        )
