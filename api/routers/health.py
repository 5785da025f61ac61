"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import text

from ..bodies import Body
from ..masking import MaskingRoute

router = APIRouter(tags=["health 运行状态"], route_class=MaskingRoute)


class Alive(Body):
    status: str


class Readiness(Body):
    status: str = Field(description="ok，或 unavailable（503）")
    checks: dict[str, str] = Field(description="各项检查：ok，或 error: 错误类型")


@router.get("/healthz", summary="进程存活", response_model=Alive)
def healthz() -> dict:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="数据库与对象存储可用",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "数据库或对象存储不可用"}},
)
def readyz(request: Request) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        with request.app.state.sessions() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as err:  # readiness reports any failure instead of raising it
        checks["database"] = f"error: {type(err).__name__}"
    for name, probe in request.app.state.readiness.items():
        try:
            probe()
            checks[name] = "ok"
        except Exception as err:
            checks[name] = f"error: {type(err).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )
