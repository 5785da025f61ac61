"""The HTTP API: routers under /api/v1, problem+json errors, capped request bodies.

The composition (`composition/app.py`) builds the served application from this one: it wires the
service-task operations, hands in the joins of registry and engine, and installs the web pages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from archive import store as archive_store
from canbao.config import Settings, get_settings
from canbao.db import make_engine, make_sessionmaker

from . import problems
from .auth.tokens import TokenService
from .routers import (
    audit,
    auth,
    authorizations,
    cases,
    definitions,
    divisions,
    documents,
    forms,
    health,
    own,
    persons,
    registry,
    reports,
    stats,
    tasks,
)

API = "/api/v1"
MAX_JSON_BODY = 1024 * 1024


class BodyLimit:
    """Refuses request bodies over `limit` bytes (413) before they are read into memory.

    Routes that stream large files (document uploads) enforce their own, larger cap.
    """

    def __init__(self, app: ASGIApp, limit: int, exempt: Callable[[str], bool]) -> None:
        self.app, self.limit, self.exempt = app, limit, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await problems.problem(413, "too_large", "请求体过大", f"请求体不能超过 {self.limit // 1024} KB")(
                scope, receive, send
            )
            return
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge(self.limit)
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await problems.problem(413, "too_large", "请求体过大", f"请求体不能超过 {self.limit // 1024} KB")(
                scope, receive, send
            )


class _TooLarge(StarletteHTTPException):
    """Raised from inside the body read: FastAPI passes HTTP exceptions through (anything else it would
    turn into a 400), so the problem handler answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"请求体不能超过 {limit // 1024} KB")


def create_app(
    settings: Settings | None = None,
    sessions: sessionmaker[Session] | None = None,
    *,
    open_survey_cases: Callable[..., Any],
    survey_ledger: Callable[..., Any],
) -> FastAPI:
    """The API alone; `open_survey_cases` and `survey_ledger` are the composition's joins of survey
    lists and cases."""
    settings = settings or get_settings()
    app = FastAPI(
        title="canbao 全民参保登记",
        version="1",
        description="全民参保登记经办：信息比对、入户调查、初审、审定、入库、变更、统计与归档。",
        openapi_url=f"{API}/openapi.json",
        docs_url=None,  # the web office serves /api/docs from vendored files (web/pages.py)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.sessions = sessions or make_sessionmaker(make_engine(settings.database_url))
    app.state.tokens = TokenService(settings)
    app.state.readiness = {}
    app.state.open_survey_cases = open_survey_cases
    app.state.survey_ledger = survey_ledger
    app.state.archive = archive_store.install(archive_store.from_settings(settings))
    app.state.readiness["object_store"] = app.state.archive.ping
    problems.install(app)
    for module in (
        auth,
        tasks,
        cases,
        persons,
        own,
        forms,
        definitions,
        authorizations,
        divisions,
        documents,
        registry,
        stats,
        reports,
        audit,
    ):
        app.include_router(module.router, prefix=API)
    app.include_router(health.router)
    app.add_middleware(BodyLimit, limit=MAX_JSON_BODY, exempt=lambda path: path.endswith("/documents"))
    if settings.trusted_proxies:
        # The client is the nearest address in X-Forwarded-For that is not a trusted proxy; from any
        # other peer the headers are ignored, whichever server runs the app.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    return app
