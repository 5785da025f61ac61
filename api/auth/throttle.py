"""The login limit. Failed sign-ins are counted under three keys, each with an allowance and a delay
that grows with every failure past it:

- one account from one address (`pair`): 5 failures, then 1, 2, 4, 8 and at most 15 minutes between
  attempts, counted over 24 hours; the owner signing in from there clears it and takes its failures
  off the address's and the account's counts (they were the owner's own mistakes);
- one address, whatever the account (`address`): 20 failures in 15 minutes, then 2 s doubling to at
  most 60 s, so that the others behind an office's one NAT address wait seconds while someone there
  guesses;
- one account, whatever the address (`account`): 50 failures in 15 minutes lock it for 5 minutes —
  the one account-wide measure, against guessing spread over many addresses, audited and logged each
  time. One address cannot get there (its pair delays allow 9 failures in 15 minutes), so an attacker
  at one address cannot lock the owner out elsewhere.

An attempt is counted as a failure *before* its password is checked, with the key rows locked, so
that attempts arriving together are counted one by one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .models import LoginThrottle

T = LoginThrottle.__table__


@dataclass(frozen=True)
class Rule:
    scope: str
    free: int  # failures allowed before the delays start
    first_delay: timedelta
    max_delay: timedelta
    window: timedelta  # counted from a key's first failure; after it the key starts over

    def delay(self, failures: int) -> timedelta | None:
        """How long after the last failure the next attempt must wait, once `failures` were counted."""
        if failures < self.free:
            return None
        return min(self.first_delay * 2 ** min(failures - self.free, 16), self.max_delay)


PAIR = Rule("pair", 5, timedelta(minutes=1), timedelta(minutes=15), timedelta(hours=24))
ADDRESS = Rule("address", 20, timedelta(seconds=2), timedelta(seconds=60), timedelta(minutes=15))
ACCOUNT = Rule("account", 50, timedelta(minutes=5), timedelta(minutes=5), timedelta(minutes=15))
RULES = {rule.scope: rule for rule in (PAIR, ADDRESS, ACCOUNT)}
# Past the longest window a key holds nothing worth keeping.
FORGET_AFTER = max(rule.window for rule in RULES.values())


@dataclass(frozen=True)
class Refusal:
    scope: str
    retry_after: int  # seconds


def _keys(account: str, address: str) -> list[dict[str, str]]:
    keys = [
        {"scope": "pair", "account": account, "address": address},
        {"scope": "address", "account": "", "address": address},
        {"scope": "account", "account": account, "address": ""},
    ]
    # Rows are locked in primary-key order, so two sign-ins sharing keys never wait on each other in a ring.
    return sorted(keys, key=lambda k: (k["scope"], k["account"], k["address"]))


def _lock(session: Session, keys: list[dict[str, str]], now: datetime) -> list:
    """The keys' rows, created when missing and locked until the transaction ends: an upsert whose
    update changes nothing, so it locks an existing row in the same statement that would insert it."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(T).values(
        [{**k, "failures": 0, "window_start": now, "last_failure_at": now} for k in keys]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[T.c.scope, T.c.account, T.c.address], set_={"failures": T.c.failures}
    )
    return list(session.execute(stmt.returning(T)))


def _counted(row, now: datetime) -> int:
    return 0 if now >= row.window_start + RULES[row.scope].window else row.failures


def admit(session: Session, *, account: str, address: str, now: datetime) -> Refusal | None:
    """Count an attempt as a failure before its password is checked, or refuse it (nothing counted)
    while a key still waits out its delay. The caller commits at once, before checking the password."""
    rows = _lock(session, _keys(account, address), now)
    waits = []
    for row in rows:
        delay = RULES[row.scope].delay(_counted(row, now))
        if delay is not None and now < row.last_failure_at + delay:
            waits.append(((row.last_failure_at + delay - now).total_seconds(), row.scope))
    if waits:
        seconds, scope = max(waits)
        return Refusal(scope=scope, retry_after=math.ceil(seconds))
    for row in rows:
        fresh = now >= row.window_start + RULES[row.scope].window
        session.execute(
            update(T)
            .where(*_is(row))
            .values(
                failures=1 if fresh else T.c.failures + 1,
                window_start=now if fresh else T.c.window_start,
                last_failure_at=now,
            )
        )
    return None


def settle(session: Session, *, account: str, address: str, ok: bool, now: datetime) -> int | None:
    """After the password check. A failure stays counted; returns the account's failures when it leaves
    the account locked, else None. A success clears the pair and forgives its failures (the owner's
    own mistakes at this address, this attempt included) on the address and the account too."""
    rows = {row.scope: row for row in _lock(session, _keys(account, address), now)}
    if not ok:
        for row in rows.values():  # the delays run from when the failure was known
            session.execute(update(T).where(*_is(row)).values(last_failure_at=now))
        failures = _counted(rows["account"], now)
        return failures if ACCOUNT.delay(failures) is not None else None
    forgiven = rows["pair"].failures
    session.execute(delete(T).where(*_is(rows["pair"])))
    for scope in ("address", "account"):
        row = rows[scope]
        session.execute(update(T).where(*_is(row)).values(failures=max(row.failures - forgiven, 0)))
    _forget_stale(session, now)
    return None


def _is(row) -> tuple:
    return T.c.scope == row.scope, T.c.account == row.account, T.c.address == row.address


def _forget_stale(session: Session, now: datetime) -> None:
    """Drop keys idle past every window; rows another sign-in holds are skipped, never waited for."""
    stale = (
        select(T.c.scope, T.c.account, T.c.address)
        .where(T.c.last_failure_at < now - FORGET_AFTER)
        .limit(100)
        .with_for_update(skip_locked=True)
    )
    session.execute(delete(T).where(tuple_(T.c.scope, T.c.account, T.c.address).in_(stale)))
