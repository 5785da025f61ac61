"""Demo citizens (单位或个人, 第十四、二十三条) who sign in locally with their 公民身份号码 and the demo
password: one person of the demo population flagged 需调查登记 (the self-service page has missing
items to remind them of, the counter has something to collect) and one without open flags. In
production citizens come from an external identity provider (RS256/JWKS); these accounts exist for
the demo only."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from api.auth import service as users
from api.auth.models import User
from canbao.actors import Actor
from registry.models import Flag, Person


def add(session: Session, *, actor: Actor, password: str, area: str) -> list[str]:
    """Create the two citizens' accounts unless the demo already has citizens; their usernames."""
    if any("citizen" in (u.roles or []) for u in session.scalars(select(User))):
        return []
    flagged = exists().where(Flag.person_id == Person.id, Flag.status == "open")
    in_area = (
        select(Person).where(Person.area.startswith(area), Person.status == "normal").order_by(Person.id)
    )
    chosen = [
        session.scalars(in_area.where(flagged, Person.id_type == "01").limit(1)).first(),
        session.scalars(in_area.where(~flagged, Person.id_type == "01").limit(1)).first(),
    ]
    created = []
    for person in chosen:
        if person is None or users.get_by_username(session, username=person.id) is not None:
            continue
        users.create(
            session,
            actor=actor,
            username=person.id,
            name=person.name,
            password=password,
            roles=["citizen"],
            area="",
        )
        created.append(person.id)
    return created
