"""Request dependencies: the database session (one transaction per request, committed before the
response is sent) and the actor, who must hold a role allowed for the operation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from canbao.actors import ROLES, Actor
from canbao.errors import Forbidden

from .auth import service as users
from .auth.tokens import TokenService, Unauthenticated
from .policy import POLICY
from .problems import raises

TOKEN_COOKIE = "canbao_token"
CSRF_COOKIE = "canbao_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

bearer_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

# Row ids are 64-bit and version numbers 32-bit: a larger number in a path, query or body is bad input
# (422), not a database error (tests/api/test_integer_bounds.py holds every route to this).
MAX_ID = 2**63 - 1
MAX_VERSION = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
VersionNo = Annotated[int, Path(ge=1, le=MAX_VERSION)]


def get_db(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session, session.begin():
        yield session


Db = Annotated[Session, Depends(get_db, scope="function")]


def client_addr(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def token_from_request(request: Request, bearer: str | None) -> str:
    if bearer:
        return bearer
    cookie = request.cookies.get(TOKEN_COOKIE)
    if not cookie:
        raise Unauthenticated("请先登录")
    if request.method not in SAFE_METHODS:
        csrf = request.cookies.get(CSRF_COOKIE)
        if not csrf or request.headers.get(CSRF_HEADER) != csrf:
            raise Forbidden("跨站请求校验失败，请刷新页面后重试", reason="csrf")
    return cookie


@raises(401, unsafe=(403,))  # a cookie without its CSRF token: 403
def current_actor(request: Request, db: Db, bearer: Annotated[str | None, Depends(bearer_scheme)]) -> Actor:
    tokens: TokenService = request.app.state.tokens
    claims = tokens.verify(token_from_request(request, bearer))
    standing = users.standing(db, username=claims.sub, jti=claims.jti)
    if standing.revoked:
        raise Unauthenticated("登录凭证已注销，请重新登录")
    if standing.user is not None:
        disabled, roles, area, generation = standing.user
        if disabled:
            raise Unauthenticated("账号已停用")
        if (tuple(roles), area) != (claims.roles, claims.area) or claims.generation not in (None, generation):
            raise Unauthenticated("账号的岗位、区域、状态或密码已变更，请重新登录")
    teams = standing.teams if "surveyor" in claims.roles else ()
    actor = Actor(
        sub=claims.sub,
        roles=claims.roles,
        area=claims.area,
        name=claims.name,
        client_addr=client_addr(request),
        teams=teams,
    )
    request.state.actor = actor  # the response is masked for this actor's roles (masking.MaskingRoute)
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


class RoleNotAllowed(Forbidden):
    code = "auth.role_not_allowed"
    title = "您的岗位无权执行此操作"


def permit(operation: str) -> Callable[[Actor], Actor]:
    """The dependency that admits an actor holding a role allowed for `operation` (403 otherwise)."""
    what, roles = POLICY[operation]

    @raises(403)
    def check(actor: CurrentActor) -> Actor:
        if not roles.intersection(actor.roles):
            held = "、".join(ROLES.get(r, r) for r in actor.roles) or "无岗位"
            raise RoleNotAllowed(f"{held}岗位无权{what}", operation=operation, reason="role")
        return actor

    return check


def allowed(operation: str) -> type[Actor]:
    return Annotated[Actor, Depends(permit(operation))]
