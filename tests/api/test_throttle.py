"""The login limit's counting, on both backends, with the clock in the test's hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from api.auth import throttle
from api.auth.models import LoginThrottle

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _admit(db, now: datetime, account: str = "county1", address: str = "10.0.0.1"):
    with db.sessions() as s, s.begin():
        return throttle.admit(s, account=account, address=address, now=now)


def _settle(db, now: datetime, ok: bool, account: str = "county1", address: str = "10.0.0.1"):
    with db.sessions() as s, s.begin():
        return throttle.settle(s, account=account, address=address, ok=ok, now=now)


def _fail(db, now: datetime, **key) -> None:
    assert _admit(db, now, **key) is None
    _settle(db, now, False, **key)


def _rows(db) -> dict[tuple[str, str, str], int]:
    with db.sessions() as s:
        return {(r.scope, r.account, r.address): r.failures for r in s.scalars(select(LoginThrottle))}


def test_the_delay_doubles_past_the_allowance_up_to_its_cap():
    assert [throttle.PAIR.delay(n) for n in (0, 4)] == [None, None]
    assert [throttle.PAIR.delay(n).total_seconds() for n in range(5, 11)] == [60, 120, 240, 480, 900, 900]
    assert [throttle.ADDRESS.delay(n).total_seconds() for n in (20, 21, 24, 25, 10_000)] == [2, 4, 32, 60, 60]
    assert throttle.ACCOUNT.delay(49) is None and throttle.ACCOUNT.delay(50) == timedelta(minutes=5)


def test_one_account_at_one_address_waits_longer_after_each_failure(any_db):
    for i in range(5):
        _fail(any_db, T0 + timedelta(seconds=i))
    last = T0 + timedelta(seconds=4)
    refusal = _admit(any_db, last + timedelta(seconds=59))
    assert refusal == throttle.Refusal(scope="pair", retry_after=1)
    assert _rows(any_db)[("pair", "county1", "10.0.0.1")] == 5  # a refusal counts nothing
    _fail(any_db, last + timedelta(seconds=60))
    assert _admit(any_db, last + timedelta(seconds=60 + 119)).retry_after == 1
    assert _admit(any_db, last + timedelta(seconds=60 + 120)) is None
    # the same account from another address, and another account from this one, go through
    assert _admit(any_db, last + timedelta(seconds=61), address="10.0.0.2") is None
    assert _admit(any_db, last + timedelta(seconds=61), account="platform1") is None


def test_a_success_clears_the_pair_and_forgives_its_failures_elsewhere(any_db):
    for i in range(3):
        _fail(any_db, T0 + timedelta(seconds=i))  # the owner's typos
    _fail(any_db, T0, account="guess1")  # someone else's guess from the same address
    _fail(any_db, T0, address="192.0.2.1")  # and a guess at the owner's account from elsewhere
    assert _admit(any_db, T0 + timedelta(seconds=10)) is None
    _settle(any_db, T0 + timedelta(seconds=10), True)
    assert _rows(any_db) == {
        ("address", "", "10.0.0.1"): 1,
        ("account", "county1", ""): 1,
        ("pair", "guess1", "10.0.0.1"): 1,
        ("account", "guess1", ""): 1,
        ("pair", "county1", "192.0.2.1"): 1,
        ("address", "", "192.0.2.1"): 1,
    }


def test_counts_start_over_when_their_window_is_past(any_db):
    for i in range(20):
        _fail(any_db, T0, account=f"guess{i}")
    assert _admit(any_db, T0 + timedelta(seconds=1)).scope == "address"
    assert _admit(any_db, T0 + timedelta(minutes=15)) is None  # the address window is over
    assert _rows(any_db)[("address", "", "10.0.0.1")] == 1
    for _ in range(5):
        _fail(any_db, T0 + timedelta(minutes=20), account="platform1")
    assert (
        _admit(any_db, T0 + timedelta(hours=20), account="platform1") is None
    )  # past the delay, within 24 h
    _settle(any_db, T0 + timedelta(hours=20), False, account="platform1")
    assert _rows(any_db)[("pair", "platform1", "10.0.0.1")] == 6
    assert _admit(any_db, T0 + timedelta(hours=20, minutes=1), account="platform1").retry_after == 60
    assert _admit(any_db, T0 + timedelta(hours=44, minutes=21), account="platform1") is None
    assert _rows(any_db)[("pair", "platform1", "10.0.0.1")] == 1


def test_the_account_locks_at_fifty_failures_from_any_addresses(any_db):
    for n in range(50):
        assert _admit(any_db, T0, address=f"192.0.2.{n}") is None
        locked = _settle(any_db, T0, False, address=f"192.0.2.{n}")
    assert locked == 50
    assert _admit(any_db, T0 + timedelta(seconds=1), address="10.9.9.9") == throttle.Refusal("account", 299)
    assert _admit(any_db, T0 + timedelta(minutes=5), address="10.9.9.9") is None


def test_keys_idle_past_every_window_are_forgotten(any_db):
    _fail(any_db, T0, account="guess1", address="192.0.2.1")
    _fail(any_db, T0 + timedelta(hours=23), account="guess2", address="192.0.2.2")
    assert _admit(any_db, T0 + timedelta(hours=25)) is None
    _settle(any_db, T0 + timedelta(hours=25), True)
    assert sorted(_rows(any_db)) == [
        ("account", "county1", ""),
        ("account", "guess2", ""),
        ("address", "", "10.0.0.1"),
        ("address", "", "192.0.2.2"),
        ("pair", "guess2", "192.0.2.2"),
    ]
