"""RFC 9457 problem details for every error: a machine `code`, a Chinese `title` and `detail`, and for
validation the list of bad fields. No stack trace or SQL ever reaches a client.

The OpenAPI document says so too (`document`): every operation lists, as `application/problem+json` with
the one `Problem` schema, each error status it can answer. Most are derived from what the route
declares — its dependencies (`raises` marks them: a signed-in actor 401, a role check 403), its path
parameters (404), its parameters and body (422, and 400 and 413 for a body), an `If-Match` header (412,
428) — and a route adds those of its own logic with `responses=answers(409, ...)`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa
from starlette.exceptions import HTTPException as StarletteHTTPException

from canbao.errors import CanbaoError, FieldError, Invalid

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://canbao.example/problems/"

# FastAPI's words for a JSON body it cannot decode (not UTF-8): a 400 that gets a Chinese detail.
UNREADABLE_BODY = "There was an error parsing the body"
_HTTP_TITLES = {
    400: ("bad_request", "请求有误"),
    401: ("unauthenticated", "请先登录"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not_found", "资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    406: ("not_acceptable", "无法提供所请求的格式"),
    409: ("conflict", "状态冲突"),
    413: ("too_large", "请求体过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("validation_failed", "提交的数据未通过校验"),
    412: ("stale_version", "数据已被他人修改，请刷新后重试"),
    428: ("precondition_required", "请在 If-Match 中提供案件版本"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
    503: ("unavailable", "依赖的服务暂不可用"),
}


class ProblemField(BaseModel):
    """One bad field."""

    pointer: str = Field(description="JSON 指针：请求体内的字段，或 /query/…、/path/…、/headers/… 的参数")
    code: str = Field(description="机器可读的错误代码，如 id_number.checksum")
    message: str = Field(description="中文说明")


class Problem(BaseModel):
    """An RFC 9457 problem; members beyond the standard ones appear where they apply."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str = Field(description="中文标题")
    status: int
    detail: str = Field(description="中文说明")
    code: str = Field(description="机器可读的错误代码")
    errors: list[ProblemField] | None = Field(None, description="校验失败时：每个有误的字段")
    reason: str | None = Field(None, description="拒绝的原因，如 role、area、csrf")
    operation: str | None = Field(None, description="岗位无权执行的操作")
    retry_after: int | None = Field(None, description="过多久（秒）可以重试")
    problems: list[dict[str, Any]] | None = Field(None, description="流程定义的问题，按元素定位")


PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_MARK = "__problem_statuses__"
F = TypeVar("F", bound=Callable[..., Any])


def answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route whose own logic answers these error statuses."""
    return {status: _response(status) for status in statuses}


def raises(*statuses: int, unsafe: tuple[int, ...] = ()) -> Callable[[F], F]:
    """Marks a dependency with the error statuses it answers (`unsafe`: only for methods that change
    something), so every route depending on it documents them."""

    def mark(call: F) -> F:
        setattr(call, _MARK, (frozenset(statuses), frozenset(unsafe)))
        return call

    return mark


_HEADERS = {
    401: {"WWW-Authenticate": {"description": 'Bearer realm="canbao"', "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "过多少秒可以重试", "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "过多少秒可以重试", "schema": {"type": "integer"}}},
}


def _response(status: int) -> dict[str, Any]:
    title = _HTTP_TITLES.get(status, ("error", "请求失败"))[1]
    response = {"description": title, "content": {MEDIA_TYPE: {"schema": PROBLEM_REF}}}
    return response | ({"headers": _HEADERS[status]} if status in _HEADERS else {})


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def _params(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.path_params
    yield from dependant.query_params
    yield from dependant.header_params
    yield from dependant.cookie_params
    for dep in dependant.dependencies:
        yield from _params(dep)


def derived(route: RouteContext, method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses `route` answers by what it declares."""
    safe = method.upper() in ("GET", "HEAD", "OPTIONS")
    statuses: set[int] = set()
    for call in _calls(route.dependant):
        always, unsafe = getattr(call, _MARK, ((), ()))
        statuses.update(always)
        if not safe:
            statuses.update(unsafe)
    params = list(_params(route.dependant))
    if params or route.body_field is not None or "requestBody" in operation:
        statuses.add(422)
    if route.body_field is not None or "requestBody" in operation:
        statuses.update((400, 413))  # a body that cannot be read at all; one over the limit
    if "{" in route.path_format:
        statuses.add(404)
    if any(p.alias.lower().replace("_", "-") == "if-match" for p in params):
        statuses.update((412, 428))
    if route.path_format.startswith("/api/"):
        statuses.add(503)  # shed under load, or the database unreachable (api/slots.py)
    return statuses


def document(app: FastAPI) -> None:
    """Serve an OpenAPI document whose every error is the problem it really is."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = FastAPI.openapi(app)
        for route in iter_route_contexts(app.routes):  # the routes of included routers, as mounted
            if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
                continue
            for method in route.methods:
                operation = doc["paths"].get(route.path_format, {}).get(method.lower())
                if operation is None:
                    continue
                responses = operation["responses"]
                for status in derived(route, method, operation):
                    responses[str(status)] = _response(status)
                # FastAPI's own 422 (HTTPValidationError) is not what the app sends
                if "HTTPValidationError" in str(responses.get("422", "")):
                    responses["422"] = _response(422)
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem_schema.pop("$defs", {}))
        schemas["Problem"] = problem_schema
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def problem(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def from_error(err: CanbaoError) -> JSONResponse:
    extra: dict[str, Any] = {k: v for k, v in err.extra.items() if isinstance(v, str | int | float | bool)}
    if isinstance(err, Invalid):
        extra["errors"] = [e.as_dict() for e in err.errors]
    problems = getattr(err, "problems", None)
    if problems is not None:
        extra["problems"] = [p.as_dict() for p in problems]
    # RFC 6750: a 401 names the scheme the client should authenticate with.
    headers = {"WWW-Authenticate": 'Bearer realm="canbao"'} if err.status == 401 else {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    return problem(err.status, err.code, err.title, err.detail, headers=headers, **extra)


# Body fields point into the submitted document (RFC 6901); parameters point into where they came from.
_PARAMETER_ROOTS = {"query": "/query", "path": "/path", "header": "/headers", "cookie": "/cookies"}


def _pointer(loc: tuple, kind: str) -> str:
    source = loc[0] if loc else "body"
    if kind == "json_invalid":
        return ""  # the body is not JSON at all; loc holds a character offset, not a field
    parts = [str(p) for p in loc[1:]] if source in ("body", *_PARAMETER_ROOTS) else [str(p) for p in loc]
    path = "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)
    return _PARAMETER_ROOTS.get(source, "") + path


_PYDANTIC_MESSAGES = {
    "missing": "必填项",
    "string_too_long": "内容过长",
    "string_too_short": "内容过短",
    "int_parsing": "应为整数",
    "bool_parsing": "应为布尔值",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "json_invalid": "不是合法的 JSON",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为数组",
    "string_type": "应为文本",
    "extra_forbidden": "不允许的字段",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "string_pattern_mismatch": "格式不正确",
}


def _request_errors(exc: RequestValidationError) -> list[FieldError]:
    errors = []
    for e in exc.errors():
        kind = e.get("type", "invalid")
        where = e.get("loc", ())
        source = where[0] if where else "body"
        message = _PYDANTIC_MESSAGES.get(kind, "取值无效")
        errors.append(FieldError(_pointer(tuple(where), kind), f"{source}.{kind}", message))
    return errors


RETRY_AFTER_S = 2


def _unavailable(code: str, detail: str) -> JSONResponse:
    return problem(
        503,
        code,
        "服务暂时不可用",
        detail,
        headers={"Retry-After": str(RETRY_AFTER_S)},
        retry_after=RETRY_AFTER_S,
    )


def install(app: FastAPI) -> None:
    document(app)

    @app.exception_handler(CanbaoError)
    async def _domain(_: Request, err: CanbaoError) -> JSONResponse:
        return from_error(err)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _request_errors(exc)
        return problem(
            422,
            "validation_failed",
            "提交的数据未通过校验",
            f"共有 {len(errors)} 处错误",
            errors=[e.as_dict() for e in errors],
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == UNREADABLE_BODY:
            return problem(400, "body.unreadable", "请求体无法解析", "请求体无法解析：应为 UTF-8 编码的 JSON")
        code, title = _HTTP_TITLES.get(exc.status_code, ("error", "请求失败"))
        detail = (
            exc.detail
            if isinstance(exc.detail, str) and exc.detail not in ("Not Found", "Method Not Allowed")
            else title
        )
        return problem(exc.status_code, code, title, detail, headers=getattr(exc, "headers", None))

    # The database is there but every connection is taken (api/slots.py should make that rare), or it
    # is not there (restarting, its connections dropped): the request did nothing; asking again later
    # may work. SQLAlchemy has already discarded the pool's dead connections, so the next request
    # opens fresh ones.
    @app.exception_handler(sa.TimeoutError)
    async def _pool_timeout(request: Request, exc: sa.TimeoutError) -> JSONResponse:
        log.warning("no database connection free for %s %s: %s", request.method, request.url.path, exc)
        return _unavailable("database.busy", "数据库连接繁忙，请稍后重试")

    @app.exception_handler(sa.OperationalError)
    @app.exception_handler(sa.InterfaceError)
    async def _database_gone(request: Request, exc: sa.DBAPIError) -> JSONResponse:
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
        return _unavailable("database.unavailable", "数据库暂时不可用，请稍后重试")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(
            500, "internal_error", "服务器内部错误", "服务器内部错误，已记录，请稍后重试或联系管理员"
        )
