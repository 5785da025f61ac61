"""Login, logout and who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import Field

from canbao.actors import ROLES
from canbao.errors import FieldError, Invalid

from ..auth import login
from ..auth import service as users
from ..auth.tokens import TokenService
from ..bodies import Body
from ..deps import CurrentActor, Db, bearer_scheme, client_addr, token_from_request
from ..inputs import has_control
from ..masking import MaskingRoute
from ..problems import answers

router = APIRouter(tags=["auth 登录"], route_class=MaskingRoute)


class SignedInUser(Body):
    sub: str
    name: str
    roles: list[str]
    area: str


class Token(Body):
    access_token: str
    token_type: str = Field(description="bearer")
    expires_in: int = Field(description="有效期（秒）")
    user: SignedInUser


class Me(Body):
    sub: str
    name: str
    roles: list[str]
    role_names: list[str]
    area: str
    teams: list[int] = Field(description="调查员所在的调查小组")


@router.post(
    "/auth/token",
    summary="登录，换取访问令牌（OAuth2 密码模式）",
    response_model=Token,
    responses=answers(400, 401, 429),
)
def issue_token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> dict:
    bad = [f"/{name}" for name in ("username", "password") if has_control(getattr(form, name))]
    if bad:
        raise Invalid([FieldError(pointer, "text.control_character", "不能包含控制字符") for pointer in bad])
    user = login.sign_in(
        request.app.state.sessions,
        username=form.username,
        password=form.password,
        client_addr=client_addr(request),
    )
    name, roles, area = user.name, list(user.roles), user.area
    tokens: TokenService = request.app.state.tokens
    token, _ = tokens.issue(
        sub=form.username, name=name, roles=roles, area=area, generation=user.token_generation
    )
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": int(tokens.ttl.total_seconds()),
        "user": {"sub": form.username, "name": name, "roles": roles, "area": area},
    }


@router.post("/auth/logout", summary="注销当前令牌", status_code=204)
def logout(
    request: Request, actor: CurrentActor, db: Db, bearer: Annotated[str | None, Depends(bearer_scheme)]
) -> None:
    claims = request.app.state.tokens.verify(token_from_request(request, bearer))
    users.revoke(db, actor=actor, jti=claims.jti, expires_at=claims.expires_at)


@router.get("/me", summary="当前用户", response_model=Me)
def me(actor: CurrentActor) -> dict:
    return {
        "sub": actor.sub,
        "name": actor.name,
        "roles": list(actor.roles),
        "role_names": [ROLES.get(r, r) for r in actor.roles],
        "area": actor.area,
        "teams": list(actor.teams),
    }
