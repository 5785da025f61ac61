"""`canbao demo`: two counties with their platforms, clerks and approvers under the city's grants, two
citizens with their own records, a truthful summary, and nothing loaded twice."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from api.auth.models import User
from canbao.config import PROJECT_ROOT, Settings, get_settings
from composition import demo
from composition.app import create_app
from composition.cli import app, demo_command
from engine.models import Case, CountyAuthorization
from engine.specs import SPECS
from registry.models import DataImport, Person, SurveyTeam

PERSONS = 3000


@pytest.fixture
def loaded(db, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("CANBAO_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    SPECS.clear()
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--persons", str(PERSONS)])
    assert first.exit_code == 0, first.output
    yield runner, first.output
    get_settings.cache_clear()


def _count(db, model, *where) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_demo_builds_two_counties_and_says_what_it_made(loaded, db):
    _, output = loaded
    assert output.startswith("演示办公室已就绪（本次有新增）")
    assert "历下区 1500 人（本次新增 1500）" in output and "市中区 1500 人（本次新增 1500）" in output
    assert "{" not in output  # a summary, not a dict
    with db.sessions() as s:
        accounts = {u.username: (u.roles, u.area) for u in s.scalars(select(User))}
    citizens = {name for name, (roles, _) in accounts.items() if roles == ["citizen"]}
    assert len(citizens) == 2 and all(c in output for c in citizens)
    staff = {name: held for name, held in accounts.items() if name not in citizens}
    assert staff == {name: ([u.role], u.area) for name, u in demo.USERS.items()}
    roles_by_area = {}
    for user in demo.USERS.values():
        roles_by_area.setdefault(user.role, set()).add(user.area)
    assert roles_by_area["platform_reviewer"] == {"370102011", "370103019"}
    assert roles_by_area["county_approver"] == {"370102", "370103"}
    counters = [u.area for u in demo.USERS.values() if u.role == "counter_clerk"]
    assert sorted(counters) == ["370102", "370102", "370103", "370103"]  # a second clerk for 校核
    for county in ("370102", "370103"):
        assert _count(db, Person, Person.area.startswith(county)) >= 1500
        kinds = _count(db, CountyAuthorization, CountyAuthorization.county == county)
        assert kinds == 2  # 调查信息 (city_admin) and 变更信息 (city_hrss) 审定授权
    assert _count(db, SurveyTeam) == 2
    for township in ("370102011", "370103019"):
        opened = _count(db, Case, Case.process_key == "survey_registration", Case.area.startswith(township))
        default = demo_command.__defaults__[1].default  # --cases as its help states it
        assert opened == default == 10
        assert f"{default}" in CliRunner().invoke(app, ["demo", "--help"], terminal_width=200).output


def test_a_second_run_loads_nothing_and_says_so(loaded, db):
    runner, _ = loaded
    imports_before = _count(db, DataImport)
    persons_before = _count(db, Person)
    again = runner.invoke(app, ["demo", "--persons", str(PERSONS)])
    assert again.exit_code == 0, again.output
    assert again.output.startswith("演示办公室已存在，本次未作改动")
    assert "本次新增" not in again.output and "用户 20 名（已有）" in again.output
    assert (_count(db, DataImport), _count(db, Person)) == (imports_before, persons_before)

    more = runner.invoke(app, ["demo", "--persons", str(PERSONS), "--cases", "12"])
    assert "姚家街道 12 件（本次新增 2）" in more.output


def test_each_citizen_signs_in_and_reads_their_own_record_only(loaded, db, tmp_path):
    settings = Settings(database_url=db.url, data_dir=tmp_path / "var", bpmn_dir=PROJECT_ROOT / "bpmn")
    client = TestClient(create_app(settings, sessions=db.sessions))
    with db.sessions() as s:
        citizens = sorted(u.username for u in s.scalars(select(User)) if u.roles == ["citizen"])

    def login(username: str) -> dict[str, str]:
        r = client.post("/api/v1/auth/token", data={"username": username, "password": "canbao-demo"})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    first, second = citizens
    me = login(first)
    assert client.get(f"/api/v1/persons/{first}", headers=me).status_code == 200
    assert client.get(f"/api/v1/persons/{second}", headers=me).status_code in (403, 404)
    reminders = [client.get("/api/v1/me/registration", headers=login(c)).json()["items"] for c in citizens]
    uninsured = sorted(any(i["code"] == "uninsured" for i in items) for items in reminders)
    assert uninsured == [False, True]  # one is reminded to enroll (需调查登记), the other is not
    county2 = login("county2")  # 市中区 does not reach 历下区's citizens
    assert client.get(f"/api/v1/persons/{first}", headers=county2).status_code in (403, 404)
    assert client.get(f"/api/v1/persons/{first}", headers=login("county1")).status_code == 200
