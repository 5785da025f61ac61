"""The throw-away PostgreSQL database each benchmark runs in: created on the admin URL, dropped at the end.

The admin URL comes from CANBAO_BENCH_PG (a database the user may `CREATE DATABASE` from).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

PG_ADMIN = os.environ.get("CANBAO_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def scratch_database(
    prefix: str = "canbao_bench", *, admin_url: str = PG_ADMIN, keep: bool = False
) -> Iterator[str]:
    """Create a database named `<prefix>_<random>` and yield its SQLAlchemy URL; drop it afterwards
    (WITH (FORCE): connections still open are closed), even when the body fails. With `keep`, the
    database is left in place and its URL printed."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    # No pool: no idle admin connection is held (or inherited by forked workers) during the run.
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url
        finally:
            if keep:
                print(f"kept: {url}", flush=True)
            else:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def deploy_processes(url: str) -> None:
    """Bring the database at `url` to the newest schema and deploy the processes of `bpmn/`, with the
    service-task operations wired, as `canbao demo` would."""
    from canbao import migrate
    from canbao.actors import SYSTEM
    from canbao.config import PROJECT_ROOT
    from canbao.db import make_engine, make_sessionmaker
    from composition.wiring import wire
    from engine import definitions

    migrate.upgrade(url)
    wire()
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s, s.begin():
        definitions.deploy_directory(s, actor=SYSTEM, directory=PROJECT_ROOT / "bpmn")
    engine.dispose()  # callers may fork: no connection of this engine must be shared


def seed_office(url: str, *, township: str, county: str) -> int:
    """What a survey case needs beyond its process (规程第十八、十九条): survey team 1 of `township`
    with surveyor1 (调查证 DC0001) and surveyor2 (DC0002), and the city's grants to `county`.
    Returns the team's id."""
    from datetime import timedelta

    from canbao.actors import Actor
    from canbao.db import make_engine, make_sessionmaker, utcnow
    from engine import grants
    from registry import survey

    manager = Actor(sub="bench", roles=("platform_reviewer",), area=township)
    grantors = {
        "survey": Actor(sub="city1", roles=("city_admin",), area=county[:4]),
        "change": Actor(sub="hrss1", roles=("city_hrss",), area=county[:4]),
    }
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s, s.begin():
        team = survey.create_team(
            s,
            actor=manager,
            name="解放路一组",
            area=township,
            members=[
                {"name": "李四", "card_no": "DC0001", "user_sub": "surveyor1"},
                {"name": "王五", "card_no": "DC0002", "user_sub": "surveyor2"},
            ],
        )
        for kind, city in grantors.items():
            since = utcnow() - timedelta(days=1)
            grants.grant(s, actor=city, kind=kind, county=county, valid_from=since, valid_to=None)
        team_id = team["id"]
    engine.dispose()
    return team_id
