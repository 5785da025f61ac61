"""`canbao demo`: a working 济南 office in one command (design §4).

Divisions, the four processes, one user per role, a synthetic but valid population with planted
duplicates and gaps, a comparison run, a survey team, the city's authorization for 历下区, and survey
cases opened for the 解放路街道 survey list. Running it again adds nothing twice.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.auth import service as users
from canbao.actors import Actor
from canbao.config import Settings
from canbao.db import utcnow
from composition import demo_citizens
from composition.casework import open_survey_cases
from engine import definitions, grants
from engine.models import CountyAuthorization
from forms import divisions
from registry import comparison, demo, survey
from registry.models import SurveyTeam

DEMO = Actor(sub="demo", roles=("system",), area="", name="演示数据")
CITY = "3701"
COUNTY = "370102"  # 历下区
TOWNSHIP = "370102001"  # 解放路街道

# username: (name, roles, area)
USERS: dict[str, tuple[str, list[str], str]] = {
    "surveyor1": ("李调查", ["surveyor"], TOWNSHIP),
    "surveyor2": ("王调查", ["surveyor"], TOWNSHIP),
    "platform1": ("张平台", ["platform_reviewer"], TOWNSHIP),
    "county1": ("赵县级", ["county_approver"], COUNTY),
    "city1": ("刘市级", ["city_admin"], CITY),
    "hrss1": ("周人社", ["city_hrss"], CITY),
    "counter1": ("吴窗口", ["counter_clerk"], COUNTY),
    "counter2": ("郑窗口", ["counter_clerk"], COUNTY),
    "manager1": ("陈流程", ["process_manager"], ""),
    "auditor1": ("孙审计", ["auditor"], CITY),
}


@dataclass
class DemoReport:
    users: list[str]
    persons: int
    comparison: dict
    survey_cases: int


def run(
    sessions: sessionmaker[Session], settings: Settings, *, persons: int = 5000, cases: int = 60
) -> DemoReport:
    with sessions() as s, s.begin():
        divisions.import_dir(s, divisions.DATA_DIR, actor=DEMO)
        definitions.deploy_directory(s, actor=DEMO, directory=settings.bpmn_dir)
        created = [u for u in USERS if users.get_by_username(s, username=u) is None]
        for username in created:
            name, roles, area = USERS[username]
            users.create(
                s,
                actor=DEMO,
                username=username,
                name=name,
                password=settings.demo_password,
                roles=roles,
                area=area,
            )
    with sessions() as s, s.begin(), tempfile.TemporaryDirectory(prefix="canbao-demo-") as tmp:
        demo.load(s, actor=DEMO, generated=demo.generate(Path(tmp), persons=persons, area=COUNTY))
    with sessions() as s, s.begin():
        run_result = comparison.run(s, actor=DEMO, area=COUNTY).as_dict()
    with sessions() as s, s.begin():
        team_id = _team(s)
        _authorization(s)
        opened = open_survey_cases(
            s,
            actor=Actor(sub="platform1", roles=("platform_reviewer",), area=TOWNSHIP),
            area=TOWNSHIP,
            team_id=team_id,
            limit=cases,
        )
        created += demo_citizens.add(s, actor=DEMO, password=settings.demo_password, area=COUNTY)
    return DemoReport(
        users=created, persons=persons, comparison=run_result, survey_cases=len(opened.case_ids)
    )


def _team(session: Session) -> int:
    existing = session.scalar(select(SurveyTeam.id).where(SurveyTeam.area == TOWNSHIP, SurveyTeam.active))
    if existing is not None:
        return existing
    team = survey.create_team(
        session,
        actor=DEMO,
        name="解放路街道第一调查组",
        area=TOWNSHIP,
        members=[
            {"name": "李调查", "card_no": "JN-LX-0001", "user_sub": "surveyor1", "phone": "13805310001"},
            {"name": "王调查", "card_no": "JN-LX-0002", "user_sub": "surveyor2", "phone": "13805310002"},
        ],
    )
    return team["id"]


def _authorization(session: Session) -> None:
    """The city's two grants to 历下区: 审定 of survey data (第十九条) and of changes (第二十一条)."""
    grantors = {"survey": ("city1", "city_admin"), "change": ("hrss1", "city_hrss")}
    for kind, (sub, role) in grantors.items():
        granted = select(CountyAuthorization.id).where(
            CountyAuthorization.county == COUNTY, CountyAuthorization.kind == kind
        )
        if session.scalar(granted) is None:
            grants.grant(
                session,
                actor=Actor(sub=sub, roles=(role,), area=CITY),
                kind=kind,
                county=COUNTY,
                valid_from=utcnow() - timedelta(days=1),
                valid_to=None,
                note=f"演示：授权历下区{grants.KINDS[kind].title}",
            )
