"""Typed domain errors. Each carries its HTTP status, a machine code and a Chinese title, so the API
maps every one of them to an RFC 9457 problem without knowing the domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    """One bad field: a JSON pointer into the submitted document, a machine code, a Chinese message."""

    pointer: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "code": self.code, "message": self.message}


class CanbaoError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "请求有误"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail or self.title
        self.extra = extra
        super().__init__(self.detail)


class NotFound(CanbaoError):
    status = 404
    code = "not_found"
    title = "资源不存在"


class Forbidden(CanbaoError):
    status = 403
    code = "forbidden"
    title = "无权执行此操作"


class Conflict(CanbaoError):
    status = 409
    code = "conflict"
    title = "状态冲突"


class PreconditionFailed(CanbaoError):
    status = 412
    code = "stale_version"
    title = "数据已被他人修改，请刷新后重试"


class Unavailable(CanbaoError):
    status = 503
    code = "unavailable"
    title = "依赖的服务暂不可用"


class Invalid(CanbaoError):
    """Input that fails validation; names every bad field at once."""

    status = 422
    code = "validation_failed"
    title = "提交的数据未通过校验"

    def __init__(self, errors: list[FieldError], detail: str | None = None, **extra: Any) -> None:
        self.errors = errors
        super().__init__(detail or f"共有 {len(errors)} 处错误", **extra)
