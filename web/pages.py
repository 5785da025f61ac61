"""The web office: server-rendered page shells in Chinese, served under `/` by the API's own app.

The shells carry the signed-in user's name, role and area and the page's navigation, and no personal
data: their scripts read and change everything through the JSON API (`/api/v1`) with the session
cookie and the CSRF header. Authorization, masking and the audit of every read of personal data
therefore live in one place, the API, and what a page shows is exactly what the API allows.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import OAuth2PasswordRequestForm
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from api import reach
from api.auth import service as users
from api.auth.tokens import Unauthenticated
from api.deps import CSRF_COOKIE, TOKEN_COOKIE, Db, client_addr
from api.policy import POLICY
from api.routers import auth
from archive import documents
from canbao.actors import ROLES, Actor
from canbao.errors import CanbaoError
from forms import divisions

from . import session
from .session import PageActor

HERE = FilePath(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)

# (key, label, href, the API operation the page needs)
NAV = [
    ("own", "我的参保登记", "/me", "own.read"),
    ("tasks", "待办", "/tasks", "tasks.read"),
    ("counter", "窗口办理", "/counter", "counter.work"),
    ("cases", "案件", "/cases", "cases.read"),
    ("survey", "入户调查", "/survey", "survey.read"),
    ("imports", "数据导入", "/imports", "registry.import"),
    ("stats", "统计", "/stats", "stats.read"),
    ("audit", "审计", "/audit", "audit.read"),
    ("processes", "流程管理", "/processes", "definitions.write"),
]

# Everything from this origin only: no inline scripts or styles (bpmn-js styles its elements through the
# CSSOM, which the policy allows), no frames, forms posting elsewhere or plugins.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def may(actor: Actor, operation: str) -> bool:
    return bool(POLICY[operation][1].intersection(actor.roles))


def area_name(area: str) -> str:
    return divisions.index().path(area) if area else "全国"


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def render(
    request: Request,
    actor: Actor,
    template: str,
    *,
    page: str,
    need: str,
    **context: Any,
) -> Response:
    """A page for a signed-in user, or the refusal page when their role may not use it."""
    status = 200
    if not may(actor, need):
        template, status, context = "forbidden.html", 403, {"what": POLICY[need][0]}
    csrf = request.cookies.get(CSRF_COOKIE) or session.new_csrf()
    response = templates.TemplateResponse(
        request,
        template,
        {
            "actor": actor,
            "role_names": "、".join(ROLES.get(r, r) for r in actor.roles),
            "area_name": area_name(actor.area),
            "nav": [(key, label, href) for key, label, href, op in NAV if may(actor, op)],
            "can": [op for op in POLICY if may(actor, op)],
            "page": page,
            "csrf": csrf,
            **context,
        },
        status_code=status,
    )
    if CSRF_COOKIE not in request.cookies:
        session.set_csrf(response, request, csrf)
    return _secure(response)


def _login_page(request: Request, *, status: int = 200, error: str | None = None, **context: Any) -> Response:
    csrf = request.cookies.get(CSRF_COOKIE) or session.new_csrf()
    response = templates.TemplateResponse(
        request, "login.html", {"csrf": csrf, "error": error, **context}, status_code=status
    )
    if CSRF_COOKIE not in request.cookies:
        session.set_csrf(response, request, csrf)
    return _secure(response)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", expired: bool = False) -> Response:
    notice = "登录已过期或已注销，请重新登录" if expired else None
    return _login_page(request, next=session.safe_next(next), notice=notice, username="")


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=1000)] = "/",
) -> Response:
    target = session.safe_next(next)
    if not session.csrf_matches(request, csrf):
        return _login_page(
            request, status=403, error="页面已过期，请重新登录", next=target, username=username
        )
    if not username or not password:
        return _login_page(request, status=422, error="请输入用户名和密码", next=target, username=username)
    try:
        issued = auth.issue_token(request, OAuth2PasswordRequestForm(username=username, password=password))
    except CanbaoError as err:
        return _login_page(request, status=err.status, error=err.detail, next=target, username=username)
    response = RedirectResponse(target, status_code=303)
    session.start(response, request, issued["access_token"], issued["expires_in"])
    return response


@router.post("/logout")
def logout(request: Request, db: Db, csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    if not session.csrf_matches(request, csrf):
        return _login_page(request, status=403, error="页面已过期，请重新操作", next="/", username="")
    token = request.cookies.get(TOKEN_COOKIE)
    if token:
        try:
            claims = request.app.state.tokens.verify(token)
        except Unauthenticated:
            claims = None  # expired or forged: nothing to revoke
        if claims is not None and not users.is_revoked(db, jti=claims.jti):
            actor = Actor(
                sub=claims.sub,
                roles=claims.roles,
                area=claims.area,
                name=claims.name,
                client_addr=client_addr(request),
            )
            users.revoke(db, actor=actor, jti=claims.jti, expires_at=claims.expires_at)
    response = RedirectResponse("/login", status_code=303)
    session.end(response)
    return response


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> Response:
    """Swagger UI from the vendored swagger-ui-dist, under the pages' CSP (FastAPI's own page loads it
    from a CDN and starts it with an inline script)."""
    csrf = request.cookies.get(CSRF_COOKIE) or session.new_csrf()
    response = templates.TemplateResponse(
        request, "docs.html", {"csrf": csrf, "openapi_url": request.app.openapi_url}
    )
    if CSRF_COOKIE not in request.cookies:
        session.set_csrf(response, request, csrf)
    return _secure(response)


@router.get("/")
def home(actor: PageActor) -> Response:
    first = next((href for _, _, href, op in NAV if may(actor, op)), None)
    return RedirectResponse(first or "/login", status_code=303)


@router.get("/tasks", response_class=HTMLResponse)
def inbox(request: Request, actor: PageActor) -> Response:
    led = sorted(reach.led_roles(actor) - set(actor.roles))
    lanes = [(role, ROLES.get(role, role)) for role in led]
    return render(
        request, actor, "inbox.html", page="tasks", need="tasks.read", title="待办任务", lanes=lanes
    )


@router.get("/tasks/{task_id}", response_class=HTMLResponse)
def task(request: Request, actor: PageActor, task_id: Annotated[str, Path(max_length=64)]) -> Response:
    return render(
        request,
        actor,
        "task.html",
        page="tasks",
        need="tasks.work",
        title="办理任务",
        task_id=task_id,
        kinds=documents.KINDS,
        max_upload=request.app.state.settings.max_upload_bytes,
    )


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, actor: PageActor) -> Response:
    return render(request, actor, "cases.html", page="cases", need="cases.read", title="案件")


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case(request: Request, actor: PageActor, case_id: Annotated[int, Path(ge=1)]) -> Response:
    return render(
        request,
        actor,
        "case.html",
        page="cases",
        need="cases.read",
        title=f"案件 {case_id}",
        case_id=case_id,
        kinds=documents.KINDS,
    )


@router.get("/processes", response_class=HTMLResponse)
def processes(request: Request, actor: PageActor) -> Response:
    return render(
        request, actor, "processes.html", page="processes", need="definitions.write", title="流程管理"
    )


@router.get("/processes/{key}/diff", response_class=HTMLResponse)
def process_diff(request: Request, actor: PageActor, key: Annotated[str, Path(max_length=100)]) -> Response:
    return render(
        request, actor, "diff.html", page="processes", need="definitions.write", title="版本对比", key=key
    )


@router.get("/survey", response_class=HTMLResponse)
def survey(request: Request, actor: PageActor) -> Response:
    return render(request, actor, "survey.html", page="survey", need="survey.read", title="入户调查")


@router.get("/imports", response_class=HTMLResponse)
def imports(request: Request, actor: PageActor) -> Response:
    return render(request, actor, "imports.html", page="imports", need="registry.import", title="数据导入")


@router.get("/stats", response_class=HTMLResponse)
def stats(request: Request, actor: PageActor) -> Response:
    return render(request, actor, "stats.html", page="stats", need="stats.read", title="统计分析")


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, actor: PageActor) -> Response:
    return render(request, actor, "audit.html", page="audit", need="audit.read", title="审计")


@router.get("/counter", response_class=HTMLResponse)
def counter(request: Request, actor: PageActor) -> Response:
    return render(request, actor, "counter.html", page="counter", need="counter.work", title="窗口办理")


@router.get("/me", response_class=HTMLResponse)
def own(request: Request, actor: PageActor) -> Response:
    return render(
        request,
        actor,
        "own.html",
        page="own",
        need="own.read",
        title="我的参保登记",
        kinds={k: documents.KINDS[k] for k in ("change_evidence", "id_card_front", "hukou_book", "other")},
        max_upload=request.app.state.settings.max_upload_bytes,
    )


def install(app: FastAPI) -> None:
    """Serve the pages under `/` and the static files (with the vendored bundles) under `/static`."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_exception_handler(session.LoginRequired, session.to_login)
