"""Users and token revocation (signing in is login.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, literal, select
from sqlalchemy.orm import Session

from canbao import audit
from canbao.actors import ROLES, Actor
from canbao.db import utcnow
from canbao.errors import Conflict, FieldError, Invalid, NotFound
from registry.models import SurveyTeam, SurveyTeamMember

from . import passwords
from .models import RevokedToken, User

# Roles whose reach may be the whole country (an empty area): citizens reach only their own record.
NATIONAL_ROLES = {"ministry", "process_manager", "citizen"}


def get_by_username(session: Session, *, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def get_or_raise(session: Session, *, username: str) -> User:
    user = get_by_username(session, username=username)
    if user is None:
        raise NotFound(f"用户 {username} 不存在")
    return user


def create(
    session: Session, *, actor: Actor, username: str, name: str, password: str, roles: list[str], area: str
) -> User:
    errors = _user_errors(username=username, password=password, roles=roles, area=area)
    if errors:
        raise Invalid(errors)
    if get_by_username(session, username=username) is not None:
        raise Conflict(f"用户 {username} 已存在")
    user = User(
        username=username, name=name, password_hash=passwords.hash_password(password), roles=roles, area=area
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=username,
        payload={"name": name, "roles": roles, "area": area},
        area=area,
    )
    return user


def set_password(session: Session, *, actor: Actor, username: str, password: str) -> User:
    if len(password) < passwords.MIN_LENGTH:
        raise Invalid([FieldError("/password", "password.too_short", f"密码至少 {passwords.MIN_LENGTH} 位")])
    user = get_or_raise(session, username=username)
    user.password_hash, user.updated_at = passwords.hash_password(password), utcnow()
    user.token_generation += 1
    audit.record(
        session,
        actor=actor,
        action="user.set_password",
        object_type="user",
        object_id=username,
        area=user.area,
    )
    return user


def set_disabled(session: Session, *, actor: Actor, username: str, disabled: bool) -> User:
    user = get_or_raise(session, username=username)
    user.disabled, user.updated_at = disabled, utcnow()
    user.token_generation += 1
    audit.record(
        session,
        actor=actor,
        action="user.disable" if disabled else "user.enable",
        object_type="user",
        object_id=username,
        area=user.area,
    )
    return user


def set_roles(session: Session, *, actor: Actor, username: str, roles: list[str], area: str) -> User:
    """Change a user's roles and area; tokens issued before the change stop working, even once it is
    undone (deps compares the token's generation)."""
    errors = _role_errors(roles=roles, area=area)
    if errors:
        raise Invalid(errors)
    user = get_or_raise(session, username=username)
    old = {"roles": list(user.roles), "area": user.area}
    user.roles, user.area, user.updated_at = roles, area, utcnow()
    user.token_generation += 1
    audit.record(
        session,
        actor=actor,
        action="user.set_roles",
        object_type="user",
        object_id=username,
        payload={"old": old, "new": {"roles": roles, "area": area}},
        area=area,
    )
    return user


def revoke(session: Session, *, actor: Actor, jti: str, expires_at: datetime) -> None:
    if session.get(RevokedToken, jti) is None:
        session.add(RevokedToken(jti=jti, expires_at=expires_at))
    audit.record(session, actor=actor, action="auth.logout", object_type="user", object_id=actor.sub)


def is_revoked(session: Session, *, jti: str) -> bool:
    return session.get(RevokedToken, jti) is not None


@dataclass(frozen=True)
class Standing:
    """What a request needs to know of a token's holder: whether the token was revoked, the user's
    row as it is now (None for a subject without a local account), and the active survey teams."""

    revoked: bool
    user: tuple[bool, list[str], str, int] | None  # disabled, roles, area, token generation
    teams: tuple[int, ...]


_ONE = select(literal(1).label("one")).subquery("one")
_ACTIVE_TEAMS = (
    select(SurveyTeamMember.user_sub, SurveyTeam.id.label("team_id"))
    .join(SurveyTeam, SurveyTeam.id == SurveyTeamMember.team_id)
    .where(SurveyTeam.active.is_(True))
    .subquery("active_team")
)


# Built once (a statement built per request would have its cache key recomputed every time).
_STANDING = (
    select(
        select(RevokedToken.jti).where(RevokedToken.jti == bindparam("jti")).exists().label("revoked"),
        User.id,
        User.disabled,
        User.roles,
        User.area,
        User.token_generation,
    )
    .add_columns(_ACTIVE_TEAMS.c.team_id)
    .select_from(_ONE)
    .outerjoin(User, User.username == bindparam("username"))
    .outerjoin(_ACTIVE_TEAMS, _ACTIVE_TEAMS.c.user_sub == bindparam("username"))
    .order_by(_ACTIVE_TEAMS.c.team_id)
)


def standing(session: Session, *, username: str, jti: str) -> Standing:
    """One statement for every authenticated request: revocation, user row and teams, left-joined
    onto a single row so that each part may be missing. On the connection: a column query needs
    none of the ORM's per-statement work."""
    rows = session.connection().execute(_STANDING, {"username": username, "jti": jti}).all()
    first = rows[0]
    return Standing(
        revoked=bool(first.revoked),
        user=None
        if first.id is None
        else (first.disabled, list(first.roles), first.area, first.token_generation),
        teams=tuple(r.team_id for r in rows if r.team_id is not None),
    )


def _user_errors(*, username: str, password: str, roles: list[str], area: str) -> list[FieldError]:
    errors = []
    if not username or len(username) > 64 or not username.replace("_", "").replace("-", "").isalnum():
        errors.append(
            FieldError("/username", "username.invalid", "用户名只能包含字母、数字、-、_，且不超过64位")
        )
    if len(password) < passwords.MIN_LENGTH:
        errors.append(FieldError("/password", "password.too_short", f"密码至少 {passwords.MIN_LENGTH} 位"))
    return errors + _role_errors(roles=roles, area=area)


def _role_errors(*, roles: list[str], area: str) -> list[FieldError]:
    errors = []
    unknown = [r for r in roles if r not in ROLES]
    if not roles or unknown:
        valid = "、".join(f"{code}（{title}）" for code, title in ROLES.items())
        errors.append(
            FieldError(
                "/roles", "roles.unknown", f"岗位无效：{'、'.join(unknown) or '未指定'}；可用的岗位：{valid}"
            )
        )
    national = area == "" and set(roles) <= NATIONAL_ROLES
    if not national and not (area.isdigit() and 2 <= len(area) <= 12):
        errors.append(FieldError("/area", "area.invalid", "区域应为2至12位行政区划代码"))
    return errors
