"""An API client against the real application on PostgreSQL, with one user per role in 历下区."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.auth.models import User
from api.auth.passwords import hash_password
from canbao.actors import Actor
from canbao.audit.models import AuditEvent
from canbao.config import PROJECT_ROOT, Settings
from canbao.db import utcnow
from composition.app import create_app
from engine import definitions, grants
from engine.models import CaseTask
from engine.specs import SPECS
from registry import imports, persons, survey

from ..engine.office import COUNTY, TOWNSHIP, VILLAGE
from ..registry.helpers import POP_HEADER, csv_bytes, pop_row

PASSWORD = "correct-horse-battery"
_HASH = hash_password(PASSWORD)
SECRET = "test-secret-0123456789abcdef0123456789abcdef"

USERS = {
    "surveyor1": (["surveyor"], TOWNSHIP),
    "surveyor2": (["surveyor"], TOWNSHIP),
    "platform1": (["platform_reviewer"], TOWNSHIP),
    "platform2": (["platform_reviewer"], TOWNSHIP),
    "platform9": (["platform_reviewer"], "370103001"),  # 市中区: another county
    "county1": (["county_approver"], COUNTY),
    "city1": (["city_admin"], "3701"),
    "hrss1": (["city_hrss"], "3701"),
    "counter1": (["counter_clerk"], COUNTY),
    "counter2": (["counter_clerk"], TOWNSHIP),
    "manager1": (["process_manager"], ""),
    "auditor1": (["auditor"], "3701"),
}
SYSTEM = Actor(sub="test", roles=("system",), area="")
CITY = Actor(sub="city1", roles=("city_admin",), area="3701")
HRSS = Actor(sub="hrss1", roles=("city_hrss",), area="3701")
GRANTORS = {"survey": CITY, "change": HRSS}  # 第十九条: 市级经办机构; 第二十一条: 市级人社部门


class Api:
    def __init__(self, client: TestClient, db) -> None:
        self.client, self.db = client, db
        self._tokens: dict[str, str] = {}

    @property
    def app(self):
        return self.client.app

    def mint(self, sub: str, roles: list[str], area: str, name: str = "") -> dict[str, str]:
        """Headers with a token issued by the app's own key, for a user who has no local account."""
        token, _ = self.app.state.tokens.issue(
            sub=sub, name=name or sub, roles=roles, area=area, generation=0
        )
        return {"Authorization": f"Bearer {token}"}

    def events(self, action: str | None = None) -> list[AuditEvent]:
        with self.db.sessions() as s:
            stmt = select(AuditEvent).order_by(AuditEvent.id)
            if action:
                stmt = stmt.where(AuditEvent.action == action)
            return list(s.scalars(stmt))

    def population(self, *numbers: str) -> None:
        population(self.db, *numbers)

    def start_survey(self, person: str | None, user: str = "platform1", team_id: int | None = 1) -> int:
        """A survey case for a person of the survey list (put into the registry first when unknown), or
        with no person, a case bound by its first 登记表."""
        if person is not None:
            population(self.db, person)
        r = self.post(
            "/cases",
            user,
            json={"process": "survey_registration", "person_id": person, "area": VILLAGE, "team_id": team_id},
        )
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def task_of(self, case_id: int) -> CaseTask:
        with self.db.sessions() as s:
            return s.scalars(
                select(CaseTask).where(CaseTask.case_id == case_id, CaseTask.state == "ready")
            ).one()

    def complete(self, user: str, case_id: int, data: dict) -> dict:
        task = self.task_of(case_id)
        version = self.get(f"/tasks/{task.task_guid}", user).json()["case_version"]
        r = self.post(
            f"/tasks/{task.task_guid}/complete", user, json=data, headers={"If-Match": str(version)}
        )
        assert r.status_code == 200, r.text
        return r.json()

    def token(self, username: str) -> str:
        if username not in self._tokens:
            r = self.client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            self._tokens[username] = r.json()["access_token"]
        return self._tokens[username]

    def as_(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}

    def get(self, path: str, user: str, **kw):
        return self.client.get(f"/api/v1{path}", headers=self.as_(user), **kw)

    def put(self, path: str, user: str, json=None, headers=None, **kw):
        return self.client.put(
            f"/api/v1{path}", headers={**self.as_(user), **(headers or {})}, json=json, **kw
        )

    def post(self, path: str, user: str, json=None, headers=None, **kw):
        return self.client.post(
            f"/api/v1{path}", headers={**self.as_(user), **(headers or {})}, json=json, **kw
        )

    def delete(self, path: str, user: str):
        return self.client.delete(f"/api/v1{path}", headers=self.as_(user))


def population(db, *numbers: str, division: str = VILLAGE) -> None:
    """Persons from the 公安 population file, as the comparison finds them before a survey; numbers the
    registry already holds are left as they are."""
    with db.sessions() as s:
        rows = [pop_row(n, "赵某", division=division) for n in numbers if persons.get(s, id_number=n) is None]
    if rows:
        with db.sessions() as s, s.begin():
            imports.import_file(
                s, actor=SYSTEM, kind="population", filename="p.csv", content=csv_bytes(POP_HEADER, rows)
            )


def seed_office(session, *, password_hash: str) -> None:
    """The users, the deployed processes, surveyor team 1 and the city's authorization of 历下区."""
    for username, (roles, area) in USERS.items():
        session.add(
            User(username=username, name=username, password_hash=password_hash, roles=roles, area=area)
        )
    definitions.deploy_directory(session, actor=SYSTEM, directory=PROJECT_ROOT / "bpmn")
    survey.create_team(
        session,
        actor=SYSTEM,
        name="解放路一组",
        area=TOWNSHIP,
        members=[
            {"name": "李四", "card_no": "DC0001", "user_sub": "surveyor1"},
            {"name": "王五", "card_no": "DC0002", "user_sub": "surveyor2"},
        ],
    )
    for kind, grantor in GRANTORS.items():
        grants.grant(
            session,
            actor=grantor,
            kind=kind,
            county=COUNTY,
            valid_from=utcnow() - timedelta(days=1),
            valid_to=None,
        )


def make_api(db, tmp_path) -> Api:
    """The app on `db` (emptied), with the office seeded."""
    SPECS.clear()
    settings = Settings(
        database_url=db.url, data_dir=tmp_path, bpmn_dir=PROJECT_ROOT / "bpmn", jwt_secret=SECRET
    )
    app = create_app(settings, sessions=db.sessions)
    with db.sessions() as s, s.begin():
        seed_office(s, password_hash=_HASH)
    return Api(TestClient(app), db)


@pytest.fixture
def api(db, tmp_path) -> Api:
    return make_api(db, tmp_path)
