"""`canbao demo`: a working 济南 office in one command (design §4).

Two counties (历下区, 市中区), each with a platform township, its survey team, counter clerks and a county
approver under both of the city's grants; the city, province and ministry above them; a synthetic but
valid population with planted duplicates and gaps in each county, a comparison run, two citizens of it
with accounts (`demo_citizens`), and survey cases opened for each platform township's survey list.

Running it again adds nothing twice and reloads nothing: a county whose population is there is not
generated again. `Report` tells what was there and what this run added.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.auth import service as users
from api.auth.models import User
from canbao.actors import ROLES, Actor
from canbao.config import Settings
from canbao.db import area_within, utcnow
from composition import demo_citizens
from composition.casework import SURVEY, open_survey_cases
from engine import definitions, grants
from engine.models import Case, CountyAuthorization
from forms import divisions
from registry import comparison, demo, survey
from registry.models import Person, SurveyTeam

DEMO = Actor(sub="demo", roles=("system",), area="", name="演示数据")
CITY = "3701"
PROVINCE = "37"


@dataclass(frozen=True)
class County:
    code: str
    name: str
    township: str  # the platform's 街道, where the survey team works
    township_name: str
    seed: int


COUNTIES = (
    County("370102", "历下区", "370102011", "姚家街道", 1),
    County("370103", "市中区", "370103019", "十六里河街道", 2),
)
LIXIA, SHIZHONG = COUNTIES


@dataclass(frozen=True)
class DemoUser:
    name: str
    role: str
    area: str
    try_first: str


USERS: dict[str, DemoUser] = {
    "surveyor1": DemoUser("李调查", "surveyor", LIXIA.township, "待办：认领入户调查，填写登记表提交"),
    "surveyor2": DemoUser("王调查", "surveyor", LIXIA.township, "与 surveyor1 同组，看同组的调查案件"),
    "surveyor3": DemoUser("钱调查", "surveyor", SHIZHONG.township, "市中区的调查：看不到历下区的案件"),
    "surveyor4": DemoUser("冯调查", "surveyor", SHIZHONG.township, "与 surveyor3 同组"),
    "platform1": DemoUser("张平台", "platform_reviewer", LIXIA.township, "初审 surveyor1 提交的登记表"),
    "platform2": DemoUser("何平台", "platform_reviewer", SHIZHONG.township, "初审；调查名单与调查小组"),
    "counter1": DemoUser("吴窗口", "counter_clerk", LIXIA.code, "窗口采集：新建窗口业务经办采集案件"),
    "counter2": DemoUser(
        "郑窗口", "counter_clerk", LIXIA.code, "校核 counter1 录入的登记表（不能校核自己的）"
    ),
    "counter3": DemoUser("蒋窗口", "counter_clerk", SHIZHONG.code, "市中区的窗口采集"),
    "counter4": DemoUser("沈窗口", "counter_clerk", SHIZHONG.code, "校核 counter3 录入的登记表"),
    "county1": DemoUser("赵县级", "county_approver", LIXIA.code, "审定初审通过的登记表；督办超期初审"),
    "county2": DemoUser("韩县级", "county_approver", SHIZHONG.code, "审定市中区的登记表"),
    "city1": DemoUser("刘市级", "city_admin", CITY, "授权：撤销或授予县级调查信息审定授权"),
    "hrss1": DemoUser("周人社", "city_hrss", CITY, "授权：变更信息审定授权；统计与交换"),
    "province1": DemoUser("黄省级", "province_admin", PROVINCE, "统计；与市级交换登记信息"),
    "ministry1": DemoUser("曹部级", "ministry", "", "全国统计；取回跨省参保信息"),
    "manager1": DemoUser("陈流程", "process_manager", "", "流程：查看、校验与发布流程版本"),
    "auditor1": DemoUser("孙审计", "auditor", CITY, "审计日志：核验链与个人信息访问记录"),
}

TEAMS = {
    LIXIA.township: [
        {"name": "李调查", "card_no": "JN-LX-0001", "user_sub": "surveyor1", "phone": "13805310001"},
        {"name": "王调查", "card_no": "JN-LX-0002", "user_sub": "surveyor2", "phone": "13805310002"},
    ],
    SHIZHONG.township: [
        {"name": "钱调查", "card_no": "JN-SZ-0001", "user_sub": "surveyor3", "phone": "13805310003"},
        {"name": "冯调查", "card_no": "JN-SZ-0002", "user_sub": "surveyor4", "phone": "13805310004"},
    ],
}


@dataclass
class Part:
    """One part of the office: how many there are now, and how many of them this run added."""

    total: int
    added: int

    def show(self, unit: str) -> str:
        return (
            f"{self.total} {unit}（本次新增 {self.added}）" if self.added else f"{self.total} {unit}（已有）"
        )


@dataclass
class Report:
    divisions: Part
    processes: Part
    users: Part
    persons: dict[str, Part]  # county name → persons
    comparison: dict | None  # the summary of this run's comparison, None when nothing was loaded
    grants: Part
    teams: Part
    survey_cases: dict[str, Part]  # township name → open survey cases
    citizens: list[str]  # the citizens' usernames (their 公民身份号码)
    notes: list[str] = field(default_factory=list)

    def lines(self, password_hint: str) -> list[str]:
        added = any(
            p.added
            for p in (
                self.divisions,
                self.processes,
                self.users,
                self.grants,
                self.teams,
                *self.persons.values(),
                *self.survey_cases.values(),
            )
        )
        head = "演示办公室已就绪（本次有新增）" if added else "演示办公室已存在，本次未作改动"
        out = [
            head,
            f"  区划 {self.divisions.show('个')}，流程 {self.processes.show('个')}，"
            f"用户 {self.users.show('名')}",
            "  人口：" + "，".join(f"{name} {part.show('人')}" for name, part in self.persons.items()),
        ]
        if self.comparison is not None:
            counts = self.comparison.get("counts") or {}
            by_class = counts.get("by_class", {})
            out.append(
                f"  信息比对（本次）：{counts.get('persons', 0)} 人，需调查登记 "
                f"{by_class.get('uninsured', 0) + by_class.get('partial', 0)} 人，"
                f"重复参保 {by_class.get('duplicate', 0)} 人，信息不准 {by_class.get('inaccurate', 0)} 人"
            )
        out.append(f"  市级授权（两区各两种）{self.grants.show('项')}，调查小组 {self.teams.show('个')}")
        out.append(
            "  办理中的入户调查案件："
            + "，".join(f"{name} {part.show('件')}" for name, part in self.survey_cases.items())
        )
        out.extend(f"  {note}" for note in self.notes)
        out.append(f"用户（密码：{password_hint}；岗位与先试什么见 README「演示办公室」）：")
        out.append("  " + "、".join(f"{u}（{ROLES[d.role]}）" for u, d in USERS.items()))
        if self.citizens:
            out.append(f"  单位或个人（以公民身份号码登录）：{'、'.join(self.citizens)}")
        return out


def run(
    sessions: sessionmaker[Session], settings: Settings, *, persons: int = 5000, cases: int = 10
) -> Report:
    """Make the demo office exist: `persons` synthetic persons split between the two counties, and up to
    `cases` open survey cases in each platform township (fewer when its survey list is shorter)."""
    with sessions() as s, s.begin():
        before = s.scalar(select(func.count()).select_from(divisions.Division))
        if before == 0:  # loaded once; `canbao divisions import` brings later editions
            divisions.import_dir(s, divisions.DATA_DIR, actor=DEMO)
        after = s.scalar(select(func.count()).select_from(divisions.Division))
        deployed = definitions.deploy_directory(s, actor=DEMO, directory=settings.bpmn_dir)
        created = _users(s, settings)
    loaded: dict[str, Part] = {}
    for index, county in enumerate(COUNTIES):
        share = persons // len(COUNTIES) + (1 if index < persons % len(COUNTIES) else 0)
        loaded[county.name] = _population(sessions, county, share)
    summary = None
    if any(p.added for p in loaded.values()):
        with sessions() as s, s.begin():
            summary = comparison.run(s, actor=DEMO, area=CITY).as_dict()
    with sessions() as s, s.begin():  # after the comparison: one of them is flagged 需调查登记
        created += demo_citizens.add(s, actor=DEMO, password=settings.demo_password, area=LIXIA.code)
        citizens = sorted(u.username for u in s.scalars(select(User)) if "citizen" in (u.roles or []))
    with sessions() as s, s.begin():
        granted = _grants(s)
        teams_added = 0
        opened = {}
        for county in COUNTIES:
            team_id, new_team = _team(s, county)
            teams_added += new_team
            opened[county.township_name] = _survey_cases(s, county, team_id, cases)
    notes = [
        f"{name}调查名单上的人员已全部开案，共 {part.total} 件，不足 {cases} 件"
        for name, part in opened.items()
        if part.total < cases
    ]
    return Report(
        divisions=Part(after, after - before),
        processes=Part(len(deployed), sum(1 for _, new in deployed if new)),
        users=Part(len(USERS) + len(citizens), len(created)),
        persons=loaded,
        comparison=summary,
        grants=Part(len(COUNTIES) * len(grants.KINDS), granted),
        teams=Part(len(COUNTIES), teams_added),
        survey_cases=opened,
        citizens=citizens,
        notes=notes,
    )


def _users(session: Session, settings: Settings) -> list[str]:
    created = [u for u in USERS if users.get_by_username(session, username=u) is None]
    for username in created:
        user = USERS[username]
        users.create(
            session,
            actor=DEMO,
            username=username,
            name=user.name,
            password=settings.demo_password,
            roles=[user.role],
            area=user.area,
        )
    return created


def _county_persons(session: Session, county: County) -> int:
    return session.scalar(
        select(func.count()).select_from(Person).where(area_within(Person.area, county.code))
    )


def _population(sessions: sessionmaker[Session], county: County, persons: int) -> Part:
    """The county's synthetic population, generated and imported only when the county has none yet."""
    with sessions() as s, s.begin():
        there = _county_persons(s, county)
    if there > 0 or persons <= 0:
        return Part(there, 0)
    with sessions() as s, s.begin(), tempfile.TemporaryDirectory(prefix="canbao-demo-") as tmp:
        generated = demo.generate(Path(tmp), persons=persons, area=county.code, seed=county.seed)
        demo.load(s, actor=DEMO, generated=generated)
    return Part(persons, persons)


def _team(session: Session, county: County) -> tuple[int, bool]:
    existing = session.scalar(
        select(SurveyTeam.id).where(SurveyTeam.area == county.township, SurveyTeam.active)
    )
    if existing is not None:
        return existing, False
    team = survey.create_team(
        session,
        actor=DEMO,
        name=f"{county.township_name}第一调查组",
        area=county.township,
        members=TEAMS[county.township],
    )
    return team["id"], True


def _open_survey_cases(session: Session, township: str) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Case)
        .where(
            Case.process_key == SURVEY,
            Case.status.in_(("running", "waiting")),
            area_within(Case.area, township),
        )
    )


def _survey_cases(session: Session, county: County, team_id: int, cases: int) -> Part:
    """Up to `cases` open survey cases in the township (fewer only when its survey list is shorter)."""
    there = _open_survey_cases(session, county.township)
    platform = next(
        u for u, d in USERS.items() if d.role == "platform_reviewer" and d.area == county.township
    )
    actor = Actor(sub=platform, roles=("platform_reviewer",), area=county.township)
    opened = open_survey_cases(
        session, actor=actor, area=county.township, team_id=team_id, limit=max(cases - there, 0)
    )
    return Part(there + len(opened.case_ids), len(opened.case_ids))


def _grants(session: Session) -> int:
    """The city's two grants to each county: 审定 of survey data (第十九条, granted by the 市级经办机构)
    and of changes (第二十一条, by the 市级人社部门)."""
    grantors = {
        kind: next(u for u, d in USERS.items() if d.role == grants.KINDS[kind].grantor_role)
        for kind in grants.KINDS
    }
    added = 0
    for county in COUNTIES:
        for kind, sub in grantors.items():
            granted = select(CountyAuthorization.id).where(
                CountyAuthorization.county == county.code, CountyAuthorization.kind == kind
            )
            if session.scalar(granted) is None:
                grants.grant(
                    session,
                    actor=Actor(sub=sub, roles=(grants.KINDS[kind].grantor_role,), area=CITY),
                    kind=kind,
                    county=county.code,
                    valid_from=utcnow() - timedelta(days=1),
                    valid_to=None,
                    note=f"演示：授权{county.name}{grants.KINDS[kind].title}",
                )
                added += 1
    return added
