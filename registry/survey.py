"""Survey planning (第十七–十九条): survey lists per village/community, survey teams, persons newly
found in the field, and the seam through which the engine opens `survey_registration` cases.

A person is on the survey list while they have an open 需调查登记 or 信息不准 flag and their
生存/户籍管理状态 is 正常. The list is grouped by the 常住所在地 village (the 户口所在地 when the
residence is unknown): that is where the team knocks.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from canbao import audit
from canbao.actors import Actor
from canbao.db import area_within, utcnow
from canbao.errors import Conflict, FieldError, Invalid, NotFound
from forms import ssnumber
from forms.idnumber import IdNumberError

from . import checks
from .common import check_area, require_reach
from .models import Flag, Person, PersonVersion, SurveyTeam, SurveyTeamMember
from .persons import SURVEY_KINDS, _record_change

TEAM_MIN, TEAM_MAX = 2, 3


@dataclass(frozen=True)
class Surveyed:
    """One household survey as the village's 统一登记台账 lists it (第十九条): the 登记表 as collected, the
    team that collected it, and where the case stands (已入库, 不予登记：理由, 办理中：环节). The cases are
    the engine's: the composition reads them and hands these in."""

    case_id: int
    person_id: str
    registration: dict[str, Any]
    team: str | None
    result: str


class TeamNotFound(NotFound):
    code = "survey.team_not_found"
    title = "调查小组不存在"


class CardInUse(Conflict):
    code = "survey.card_in_use"
    title = "调查证号已被使用"


def _village():
    return func.coalesce(Person.residence_division, Person.hukou_division)


def _on_list():
    return and_(Flag.kind.in_(SURVEY_KINDS), Flag.status == "open", Person.status == "normal")


def list_counts(session: Session, *, actor: Actor, area: str) -> list[dict[str, Any]]:
    """Survey-list counts per village/community within `area` (persons, and per flag kind)."""
    check_area(area)
    require_reach(actor, area)
    village = _village()
    rows = session.execute(
        select(
            village,
            func.count(func.distinct(Person.id)),
            func.sum(case((Flag.kind == "needs_survey", 1), else_=0)),
            func.sum(case((Flag.kind == "inaccurate", 1), else_=0)),
        )
        .join(Flag, Flag.person_id == Person.id)
        .where(_on_list(), area_within(Person.area, area))
        .group_by(village)
        .order_by(village)
    ).all()
    return [
        {
            "division": d,
            "name": checks.division_name(d),
            "persons": int(n),
            "needs_survey": int(a or 0),
            "inaccurate": int(b or 0),
        }
        for d, n, a, b in rows
    ]


def list_persons(
    session: Session,
    *,
    actor: Actor,
    area: str,
    village: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The survey list (调查对象名单) of `area` (optionally one village), persons with their flag reasons.
    Audited as a read of personal data."""
    check_area(area)
    require_reach(actor, area)
    village_col = _village()
    query = (
        select(Person, Flag.kind, Flag.reasons)
        .join(Flag, Flag.person_id == Person.id)
        .where(_on_list(), area_within(Person.area, area))
        .order_by(village_col, Person.id, Flag.kind)
    )
    if village:
        query = query.where(village_col == village)
    persons: dict[str, dict[str, Any]] = {}
    areas: dict[str, str] = {}
    for person, kind, reasons in session.execute(query):
        entry = persons.get(person.id)
        if entry is None:
            if len(persons) >= offset + limit:
                break
            areas[person.id] = person.area
            entry = persons[person.id] = {
                "id_number": person.id,
                "name": person.name,
                "sex": person.sex,
                "birth_date": person.birth_date.isoformat(),
                "village": person.residence_division or person.hukou_division,
                "address": person.residence_address or person.hukou_address,
                "phone": person.phone,
                "flags": {},
            }
        entry["flags"][kind] = reasons.split()
    shown = list(persons)[offset : offset + limit]
    audit.record_reads(
        session, actor=actor, shown=((pid, areas[pid], None) for pid in shown), purpose="survey_list"
    )
    return [persons[pid] for pid in shown]


def candidates(
    session: Session, *, area: str, has_open_case: Callable[[Session, list[str]], set[str]], batch: int = 500
) -> Iterator[dict[str, Any]]:
    """The persons of `area` for whom a `survey_registration` case should be opened: on the survey
    list and without an open case. `has_open_case(session, ids)` is the engine's answer (the lead
    wires it to the case table), so calling this twice opens nothing twice."""
    check_area(area)
    last = ""
    while True:
        ids = list(
            session.scalars(
                select(Person.id)
                .join(Flag, Flag.person_id == Person.id)
                .where(_on_list(), area_within(Person.area, area), Person.id > last)
                .group_by(Person.id)
                .order_by(Person.id)
                .limit(batch)
            )
        )
        if not ids:
            return
        busy = has_open_case(session, ids)
        rows = session.execute(
            select(Person.id, Person.name, Person.area, _village())
            .where(Person.id.in_(ids))
            .order_by(Person.id)
        ).all()
        for pid, name, person_area, village in rows:
            if pid not in busy:
                yield {"person_id": pid, "name": name, "area": person_area, "village": village}
        last = ids[-1]


def add_found_person(
    session: Session,
    *,
    actor: Actor,
    id_number: str,
    name: str,
    residence_division: str,
    residence_address: str | None = None,
    phone: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """第十八条: a surveyor adds a person found in the field to the survey list (a 需调查登记 flag with
    reason `field.new`); the person's record is created provisionally (not 入库) when unknown. The list
    names 户籍人员 by the 公民身份号码 on their 居民身份证; a holder of another document is registered by a
    case whose 登记表 names them (forms/ssnumber.py)."""
    errors: list[FieldError] = []
    try:
        pid = ssnumber.resident_id(id_number).number
    except IdNumberError as exc:
        errors.append(FieldError("/id_number", exc.code, exc.message))
        pid = ""
    if not (name or "").strip():
        errors.append(FieldError("/name", "name.required", "请填写姓名"))
    problem = checks.division_problem(residence_division or "", levels=("village",))
    if problem:
        errors.append(FieldError("/residence_division", *problem))
    if errors:
        raise Invalid(errors)
    require_reach(actor, residence_division)
    at = utcnow()
    origin = f"survey:{actor.sub}"[:32]
    person = session.get(Person, pid, with_for_update=True)
    created = person is None
    if created:
        born = f"{pid[6:10]}-{pid[10:12]}-{pid[12:14]}"
        from .common import parse_date

        person = Person(
            id=pid,
            id_type="01",
            document_number=pid,
            name=name.strip(),
            sex="1" if int(pid[16]) % 2 else "2",
            birth_date=parse_date(born),
            residence_division=residence_division,
            residence_address=residence_address,
            phone=phone,
            status="normal",
            area=residence_division,
            identity_source=origin,
            identity_confirmed_at=at,
            residence_source=origin,
            residence_confirmed_at=at,
            created_at=at,
            updated_at=at,
        )
        session.add(person)
        session.flush()
        for pointer, value in (
            ("/name", person.name),
            ("/residence/division", residence_division),
            ("/residence/address", residence_address),
            ("/phone", phone),
        ):
            if value:
                _record_change(
                    session,
                    person_id=pid,
                    pointer=pointer,
                    old=None,
                    new=value,
                    at=at,
                    source="survey",
                    actor=actor,
                )
        session.add(
            PersonVersion(
                person_id=pid,
                valid_from=at,
                area=person.area,
                hukou_division=None,
                residence_division=residence_division,
                status="normal",
                sex=person.sex,
                birth_date=person.birth_date,
                registered=False,
                insured_elsewhere=None,
                source=origin,
            )
        )
    existing = session.scalar(
        select(Flag).where(Flag.person_id == pid, Flag.kind == "needs_survey", Flag.status == "open")
    )
    if existing is None:
        existing = Flag(
            person_id=pid,
            kind="needs_survey",
            reasons="field.new",
            area=person.area,
            status="open",
            raised_at=at,
            raised_by_sub=actor.sub,
            details={"note": note} if note else None,
        )
        session.add(existing)
        session.flush()
    audit.record(
        session,
        actor=actor,
        action="survey.add_person",
        object_type="person",
        object_id=pid,
        payload={"created": created, "flag_id": existing.id, "note": note},
        area=person.area,
        person_id=pid,
    )
    return {"person_id": pid, "created": created, "flag_id": existing.id}


# ---------------------------------------------------------------------------------------------------------
# Teams


def _check_members(members: list[dict[str, Any]]) -> list[FieldError]:
    errors = []
    if not TEAM_MIN <= len(members) <= TEAM_MAX:
        errors.append(FieldError("/members", "survey.team_size", "入户调查一般以2–3人为一组"))
    cards = [str(m.get("card_no") or "").strip() for m in members]
    for i, m in enumerate(members):
        if not str(m.get("name") or "").strip():
            errors.append(FieldError(f"/members/{i}/name", "name.required", "请填写调查员姓名"))
        if not cards[i]:
            errors.append(
                FieldError(f"/members/{i}/card_no", "card_no.required", "请填写全民参保登记调查证号")
            )
    if len(set(cards)) != len(cards):
        errors.append(FieldError("/members", "card_no.duplicate", "同一调查证号出现多次"))
    return errors


def _team_dict(session: Session, team: SurveyTeam) -> dict[str, Any]:
    members = session.scalars(
        select(SurveyTeamMember).where(SurveyTeamMember.team_id == team.id).order_by(SurveyTeamMember.id)
    ).all()
    return {
        "id": team.id,
        "name": team.name,
        "area": team.area,
        "active": team.active,
        "members": [
            {"name": m.name, "card_no": m.card_no, "user_sub": m.user_sub, "phone": m.phone} for m in members
        ],
    }


def _add_members(session: Session, team_id: int, members: list[dict[str, Any]]) -> None:
    for m in members:
        session.add(
            SurveyTeamMember(
                team_id=team_id,
                name=str(m["name"]).strip(),
                card_no=str(m["card_no"]).strip(),
                user_sub=m.get("user_sub"),
                phone=m.get("phone"),
            )
        )
    session.flush()


def create_team(
    session: Session, *, actor: Actor, name: str, area: str, members: list[dict[str, Any]]
) -> dict[str, Any]:
    errors = _check_members(members)
    if not (name or "").strip():
        errors.append(FieldError("/name", "name.required", "请填写小组名称"))
    try:
        check_area(area)
    except Invalid as exc:
        errors.extend(exc.errors)
    if errors:
        raise Invalid(errors)
    require_reach(actor, area)
    cards = [str(m["card_no"]).strip() for m in members]
    taken = list(session.scalars(select(SurveyTeamMember.card_no).where(SurveyTeamMember.card_no.in_(cards))))
    if taken:
        raise CardInUse(f"调查证号已在其他小组使用：{'、'.join(taken)}")
    team = SurveyTeam(name=name.strip(), area=area, active=True, created_by=actor.sub, created_at=utcnow())
    session.add(team)
    session.flush()
    _add_members(session, team.id, members)
    result = _team_dict(session, team)
    audit.record(
        session,
        actor=actor,
        action="survey_team.create",
        object_type="survey_team",
        object_id=team.id,
        payload=result,
        area=area,
    )
    return result


def registered_by(session: Session, *, person_ids: Collection[str]) -> dict[str, int | None]:
    """The case each of these persons was last stored (入库) by, for those in the registry."""
    found = select(Person.id, Person.registered_case_id).where(Person.id.in_(set(person_ids)))
    return {person_id: case_id for person_id, case_id in session.execute(found)}


def team_names(session: Session, *, team_ids: Collection[int]) -> dict[int, str]:
    found = select(SurveyTeam.id, SurveyTeam.name).where(SurveyTeam.id.in_(set(team_ids)))
    return {team_id: name for team_id, name in session.execute(found)}


def get_or_raise(session: Session, *, team_id: int) -> SurveyTeam:
    team = session.get(SurveyTeam, team_id)
    if team is None:
        raise TeamNotFound(f"调查小组 {team_id} 不存在")
    return team


def get(session: Session, *, actor: Actor, team_id: int) -> dict[str, Any]:
    team = get_or_raise(session, team_id=team_id)
    require_reach(actor, team.area)
    return _team_dict(session, team)


def get_all(
    session: Session, *, actor: Actor, area: str, include_inactive: bool = False
) -> list[dict[str, Any]]:
    query = select(SurveyTeam).where(area_within(SurveyTeam.area, area or actor.area)).order_by(SurveyTeam.id)
    require_reach(actor, area or actor.area)
    if not include_inactive:
        query = query.where(SurveyTeam.active.is_(True))
    return [_team_dict(session, t) for t in session.scalars(query)]


def update_members(
    session: Session, *, actor: Actor, team_id: int, members: list[dict[str, Any]]
) -> dict[str, Any]:
    team = get_or_raise(session, team_id=team_id)
    require_reach(actor, team.area)
    errors = _check_members(members)
    if errors:
        raise Invalid(errors)
    cards = [str(m["card_no"]).strip() for m in members]
    taken = list(
        session.scalars(
            select(SurveyTeamMember.card_no).where(
                SurveyTeamMember.card_no.in_(cards), SurveyTeamMember.team_id != team.id
            )
        )
    )
    if taken:
        raise CardInUse(f"调查证号已在其他小组使用：{'、'.join(taken)}")
    before = _team_dict(session, team)
    for m in session.scalars(select(SurveyTeamMember).where(SurveyTeamMember.team_id == team.id)):
        session.delete(m)
    session.flush()
    _add_members(session, team.id, members)
    after = _team_dict(session, team)
    audit.record(
        session,
        actor=actor,
        action="survey_team.update",
        object_type="survey_team",
        object_id=team.id,
        payload={"before": before["members"], "after": after["members"]},
        area=team.area,
    )
    return after


def delete(session: Session, *, actor: Actor, team_id: int) -> None:
    """Deactivate a team (kept for the history of the cases it worked on)."""
    team = get_or_raise(session, team_id=team_id)
    require_reach(actor, team.area)
    team.active = False
    audit.record(
        session,
        actor=actor,
        action="survey_team.deactivate",
        object_type="survey_team",
        object_id=team.id,
        payload={},
        area=team.area,
    )


def check_surveyors(
    session: Session, *, actor: Actor, case_area: str, team_id: int | None, data: dict[str, Any]
) -> list[FieldError]:
    """第十八条: a household survey is made by a team of 2–3 surveyors wearing the 调查证. The 调查证
    numbers on a surveyed 登记表 must belong to members of the case's team (or, for a case with no
    team, of one team of the submitting surveyor), and the surveyor who submits must be one of them."""
    survey_part = data.get("survey") or {}
    if survey_part.get("channel") != "survey":
        return []
    team_ids = [team_id] if team_id is not None else teams_of(session, user_sub=actor.sub)
    members = session.execute(
        select(SurveyTeamMember.team_id, SurveyTeamMember.card_no, SurveyTeamMember.user_sub)
        .join(SurveyTeam, SurveyTeam.id == SurveyTeamMember.team_id)
        .where(SurveyTeamMember.team_id.in_(team_ids), SurveyTeam.active.is_(True))
    ).all()
    teams_of_card = {m.card_no: m.team_id for m in members}
    errors: list[FieldError] = []
    listed = [s.get("card_no") for s in survey_part.get("surveyors") or () if isinstance(s, dict)]
    for i, card in enumerate(listed):
        if card not in teams_of_card:
            errors.append(
                FieldError(
                    f"/survey/surveyors/{i}/card_no",
                    "survey.card_not_in_team",
                    f"调查证 {card} 不属于本案件的调查小组（或该小组已停用）",
                )
            )
    if len({teams_of_card[card] for card in listed if card in teams_of_card}) > 1:
        errors.append(
            FieldError("/survey/surveyors", "survey.mixed_teams", "登记表所列调查员应属于同一调查小组")
        )
    users = {m.user_sub for m in members if m.card_no in listed}
    if actor.has_role("surveyor") and actor.sub not in users:
        errors.append(
            FieldError(
                "/survey/surveyors",
                "survey.submitter_not_listed",
                "提交登记表的调查员本人应列在调查员中（持调查证）",
            )
        )
    return errors


def teams_of(session: Session, *, user_sub: str) -> list[int]:
    """The active teams a surveyor belongs to (for `Actor.teams`)."""
    return list(
        session.scalars(
            select(SurveyTeam.id)
            .join(SurveyTeamMember, SurveyTeamMember.team_id == SurveyTeam.id)
            .where(SurveyTeamMember.user_sub == user_sub, SurveyTeam.active.is_(True))
            .order_by(SurveyTeam.id)
        )
    )
