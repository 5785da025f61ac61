"""JWTs carrying role and area (python-jose).

Local tokens are HS256 with a secret from the environment (generated into the data directory with mode
0600 on first run when none is given). Tokens from the organisation's identity provider are RS256,
checked with a configured public key or JWKS file. The key is chosen by the token's algorithm and each
algorithm has exactly one kind of key, so an RS256 public key can never verify an HS256 token, and
`alg: none` is refused. An RS256 token naming a `kid` is checked with that JWKS key only; a `kid` no
configured key has is refused.

Every token must carry a `jti` (logout revokes it). Tokens canbao issues also carry the user's token
generation (`gen`), which the request checks against the user's row.
"""

from __future__ import annotations

import json
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jose import jwt
from jose.exceptions import ExpiredSignatureError, JOSEError

from canbao.config import Settings
from canbao.db import utcnow
from canbao.errors import CanbaoError

ISSUER = "canbao"


class Unauthenticated(CanbaoError):
    status = 401
    code = "auth.invalid_token"
    title = "登录凭证无效"


class TokenExpired(Unauthenticated):
    code = "auth.token_expired"
    title = "登录已过期，请重新登录"


@dataclass(frozen=True)
class Claims:
    sub: str
    name: str
    roles: tuple[str, ...]
    area: str
    jti: str
    expires_at: datetime
    generation: int | None = None  # None: from the identity provider, which knows no generations


def _local_secret(settings: Settings) -> str:
    if settings.jwt_secret:
        return settings.jwt_secret
    path = settings.data_dir / "jwt-secret"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class TokenService:
    def __init__(self, settings: Settings) -> None:
        self.ttl = timedelta(minutes=settings.jwt_ttl_minutes)
        self._secret = _local_secret(settings)
        self._rsa: dict[str | None, Any] = {}
        if settings.jwt_public_key_file:
            self._rsa[None] = Path(settings.jwt_public_key_file).read_text()
        if settings.jwt_jwks_file:
            for key in json.loads(Path(settings.jwt_jwks_file).read_text()).get("keys", []):
                if key.get("kty") == "RSA":
                    self._rsa[key.get("kid")] = key

    def issue(
        self, *, sub: str, name: str, roles: list[str], area: str, generation: int
    ) -> tuple[str, Claims]:
        now = utcnow()
        claims = Claims(
            sub=sub,
            name=name,
            roles=tuple(roles),
            area=area,
            jti=uuid.uuid4().hex,
            expires_at=now + self.ttl,
            generation=generation,
        )
        token = jwt.encode(
            {
                "sub": sub,
                "name": name,
                "roles": list(roles),
                "area": area,
                "iat": int(now.timestamp()),
                "exp": int(claims.expires_at.timestamp()),
                "jti": claims.jti,
                "gen": generation,
                "iss": ISSUER,
            },
            self._secret,
            algorithm="HS256",
        )
        return token, claims

    def verify(self, token: str) -> Claims:
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError as err:
            raise Unauthenticated("登录凭证格式错误") from err
        alg = header.get("alg")
        if alg == "HS256":
            key: Any = self._secret
        elif alg == "RS256" and self._rsa:
            key = self._rsa.get(header.get("kid"))
            if key is None:
                raise Unauthenticated("登录凭证的签名密钥未知")
        else:
            raise Unauthenticated(f"不接受的签名算法：{alg}")
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[alg],
                options={"require_exp": True, "require_sub": True, "verify_aud": False},
            )
        except ExpiredSignatureError as err:
            raise TokenExpired() from err
        except JOSEError as err:
            raise Unauthenticated("登录凭证签名无效") from err
        roles = payload.get("roles")
        area = payload.get("area")
        if (
            not isinstance(roles, list)
            or not all(isinstance(r, str) for r in roles)
            or not isinstance(area, str)
        ):
            raise Unauthenticated("登录凭证缺少岗位或区域")
        jti = payload.get("jti")
        if not isinstance(jti, str) or not jti:
            raise Unauthenticated("登录凭证缺少编号（jti），无法注销，不予接受")
        generation = payload.get("gen")
        if alg == "HS256" and (not isinstance(generation, int) or isinstance(generation, bool)):
            raise Unauthenticated("登录凭证版本过旧，请重新登录")
        return Claims(
            sub=str(payload["sub"]),
            name=str(payload.get("name", "")),
            roles=tuple(roles),
            area=area,
            jti=jti,
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
            generation=generation if alg == "HS256" else None,
        )
