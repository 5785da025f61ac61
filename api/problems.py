"""RFC 9457 problem details for every error: a machine `code`, a Chinese `title` and `detail`, and for
validation the list of bad fields. No stack trace or SQL ever reaches a client."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa
from starlette.exceptions import HTTPException as StarletteHTTPException

from canbao.errors import CanbaoError, FieldError, Invalid

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://canbao.example/problems/"

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
    428: ("precondition_required", "请在 If-Match 中提供案件版本"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
}


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
