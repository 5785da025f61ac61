"""The browser session: the API token in an HttpOnly, SameSite=Strict cookie, and a double-submit CSRF
token (cookie `canbao_csrf`, echoed by the pages' scripts in the `X-CSRF-Token` header, which
`api.deps` checks on every unsafe request; HTML forms echo it in a hidden field instead)."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from api.auth.tokens import Unauthenticated
from api.deps import CSRF_COOKIE, TOKEN_COOKIE, Db, current_actor
from canbao.actors import Actor


class LoginRequired(Exception):
    """A page was asked for without a valid session: the browser is sent to the login page."""

    def __init__(self, target: str, expired: bool) -> None:
        self.target, self.expired = target, expired


def page_actor(request: Request, db: Db) -> Actor:
    try:
        return current_actor(request, db, None)
    except Unauthenticated as err:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target, expired=TOKEN_COOKIE in request.cookies) from err


PageActor = Annotated[Actor, Depends(page_actor)]


def to_login(request: Request, err: LoginRequired) -> Response:
    query = f"?next={quote(err.target, safe='')}" + ("&expired=1" if err.expired else "")
    response = RedirectResponse(f"/login{query}", status_code=303)
    if err.expired:
        response.delete_cookie(TOKEN_COOKIE, path="/")
    return response


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(request: Request, submitted: str) -> bool:
    expected = request.cookies.get(CSRF_COOKIE)
    return bool(expected) and secrets.compare_digest(expected, submitted)


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def set_csrf(response: Response, request: Request, value: str) -> None:
    _cookie(response, request, CSRF_COOKIE, value, None)


def start(response: Response, request: Request, token: str, max_age: int) -> None:
    """Signed in: the token cookie, and a fresh CSRF token so one planted before login is worthless."""
    _cookie(response, request, TOKEN_COOKIE, token, max_age)
    set_csrf(response, request, new_csrf())


def end(response: Response) -> None:
    response.delete_cookie(TOKEN_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def safe_next(target: str | None) -> str:
    """Where to go after login: a path on this site only (never `//host` or an absolute URL)."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or target.startswith("/login")
    ):
        return "/"
    return target
