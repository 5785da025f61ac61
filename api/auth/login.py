"""Signing in with a password, under the login limit (throttle.py).

Three steps, and the only service here that owns its transactions: the attempt is counted (or refused)
and committed first, so that attempts arriving together are counted one by one; the password is then
checked outside any transaction (argon2 takes tens of milliseconds, and holds neither a row lock nor a
pooled connection meanwhile); the outcome is recorded in a second transaction. A refusal is recorded
before it is raised.

Every refusal after the check looks the same: a wrong password, an unknown user and a disabled account
(whether or not its password was right) get the same status and body, cost the same argon2 check and
count the same towards the limit. Only the audit log tells them apart.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from canbao import audit
from canbao.actors import Actor
from canbao.db import transaction, utcnow
from canbao.errors import CanbaoError

from . import passwords, throttle
from .models import User

log = logging.getLogger(__name__)


class LoginFailed(CanbaoError):
    status = 401
    code = "auth.login_failed"
    title = "用户名或密码错误"


class TooManyAttempts(CanbaoError):
    status = 429
    code = "auth.too_many_attempts"
    title = "登录失败次数过多，请稍后再试"


def sign_in(sessions: sessionmaker[Session], *, username: str, password: str, client_addr: str) -> User:
    """The user whose password this is, or LoginFailed / TooManyAttempts."""
    account, address = username[:64], client_addr[:64]
    with transaction(sessions) as s:
        refusal = throttle.admit(s, account=account, address=address, now=utcnow())
        if refusal is not None:
            _record(s, account, address, reason="rate_limited", limit=refusal.scope)
        else:
            user = s.scalar(select(User).where(User.username == username))
    if refusal is not None:
        wait = refusal.retry_after
        when = f"{wait} 秒" if wait < 60 else f"{-(-wait // 60)} 分钟"
        raise TooManyAttempts(f"登录失败次数过多，请 {when}后再试", retry_after=wait)
    right = passwords.verify(user.password_hash if user else None, password)
    reason = "bad_credentials" if not right else "disabled" if user.disabled else None
    with transaction(sessions) as s:
        locked = throttle.settle(s, account=account, address=address, ok=reason is None, now=utcnow())
        _record(s, account, address, reason=reason, user=user if reason is None else None)
        if locked is not None:
            minutes = int(throttle.ACCOUNT.max_delay.total_seconds() // 60)
            audit.record(
                s,
                actor=Actor(sub=account, roles=(), area="", client_addr=address),
                action="auth.account_locked",
                object_type="user",
                object_id=account,
                payload={"failures": locked, "minutes": minutes},
            )
            log.warning("account %r locked for %d minutes after %d failed sign-ins", account, minutes, locked)
    if reason is not None:
        raise LoginFailed()
    return user


def _record(
    session: Session,
    account: str,
    address: str,
    *,
    reason: str | None,
    limit: str | None = None,
    user: User | None = None,
) -> None:
    actor = Actor(
        sub=account,
        roles=tuple(user.roles) if user else (),
        area=user.area if user else "",
        client_addr=address,
    )
    payload = {"reason": reason} if reason else {}
    audit.record(
        session,
        actor=actor,
        action="auth.login" if reason is None else "auth.login_failed",
        object_type="user",
        object_id=account,
        payload=payload | ({"limit": limit} if limit else {}),
    )
