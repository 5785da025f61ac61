from datetime import timedelta

import pytest

from archive import store as archive_store
from archive.store import LocalStore
from canbao.actors import Actor
from canbao.config import PROJECT_ROOT
from canbao.db import utcnow
from composition.wiring import wire
from engine import definitions, grants
from engine.specs import SPECS
from registry import survey

from .office import COUNTY, MANAGER, TOWNSHIP, Office

GRANTORS = {
    "survey": Actor(sub="city1", roles=("city_admin",), area="3701"),
    "change": Actor(sub="hrss1", roles=("city_hrss",), area="3701"),
}


def _office(db, archive_dir) -> Office:
    """The processes of bpmn/ deployed, survey team 1 (surveyor1 and surveyor2 with their 调查证), the
    city's two authorizations of 历下区 (第十九、二十一条) and an archive directory for 归档."""
    wire()
    archive_store.install(LocalStore(archive_dir))
    SPECS.clear()
    with db.sessions() as s, s.begin():
        definitions.deploy_directory(s, actor=MANAGER, directory=PROJECT_ROOT / "bpmn")
        survey.create_team(
            s,
            actor=MANAGER,
            name="解放路一组",
            area=TOWNSHIP,
            members=[
                {"name": "李四", "card_no": "DC0001", "user_sub": "surveyor1"},
                {"name": "王五", "card_no": "DC0002", "user_sub": "surveyor2"},
                {"name": "赵六", "card_no": "DC0003", "user_sub": "surveyor3"},
            ],
        )
        for kind, city in GRANTORS.items():
            grants.grant(
                s,
                actor=city,
                kind=kind,
                county=COUNTY,
                valid_from=utcnow() - timedelta(days=1),
                valid_to=None,
            )
    return Office(db)


@pytest.fixture
def office(any_db, tmp_path) -> Office:
    """On each backend in turn."""
    return _office(any_db, tmp_path / "archive")


@pytest.fixture
def pg_office(db, tmp_path) -> Office:
    return _office(db, tmp_path / "archive")
