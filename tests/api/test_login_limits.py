"""Login limiting through the API: attempts are counted one by one even when they arrive together, an
attacker at one address cannot lock the owner out from another, and delays grow instead of locking."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from api.auth import service as users
from api.auth.models import LoginThrottle
from canbao.db import utcnow

from .conftest import PASSWORD, SYSTEM

TOKEN = "/api/v1/auth/token"


def _login(client: TestClient, username: str, password: str = PASSWORD):
    return client.post(TOKEN, data={"username": username, "password": password})


def _at(api, address: str) -> TestClient:
    return TestClient(api.app, client=(address, 40000))


def _reasons(api) -> list[tuple[str, str, str]]:
    return [(e.object_id, e.client_addr, e.payload_json["reason"]) for e in api.events("auth.login_failed")]


def _wait(response, expected: int) -> int:
    """The Retry-After of a refusal: `expected` seconds less the moments the requests themselves took."""
    wait = int(response.headers["retry-after"])
    assert response.json()["retry_after"] == wait
    assert expected - 5 < wait <= expected, (wait, expected)
    return wait


def _last_failure(api):
    with api.db.sessions() as s:
        return s.scalar(select(func.max(LoginThrottle.last_failure_at)))


def _wait_out(api, seconds: float) -> None:
    """Let `seconds` pass for the limiter: every recorded failure moves that far into the past (or,
    given a negative number, up to the present)."""
    with api.db.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE login_throttle SET last_failure_at = last_failure_at - :d, "
                "window_start = window_start - :d"
            ),
            {"d": timedelta(seconds=seconds)},
        )


def test_thirty_wrong_passwords_sent_at_once_get_five_checked(api):
    """15 threads send 30 wrong passwords for one account from one address at the same moment: exactly
    the 5 free attempts are checked; every other one is refused without looking at the password."""
    client = _at(api, "203.0.113.50")
    with ThreadPoolExecutor(max_workers=15) as pool:
        statuses = list(
            pool.map(lambda _: _login(client, "county1", "wrong-password-x").status_code, range(30))
        )
    assert sorted(statuses) == [401] * 5 + [429] * 25, statuses
    reasons = [reason for _, _, reason in _reasons(api)]
    assert reasons.count("bad_credentials") == 5 and reasons.count("rate_limited") == 25


def test_an_attacker_at_one_address_does_not_lock_the_owner_out_from_another(api):
    attacker, office = _at(api, "203.0.113.9"), _at(api, "10.1.2.3")
    for _ in range(5):
        assert _login(attacker, "county1", "wrong-password-x").status_code == 401
    limited = _login(attacker, "county1")  # the right password, but from the attacker's address
    assert limited.status_code == 429 and limited.json()["code"] == "auth.too_many_attempts"
    _wait(limited, 60)
    assert _login(office, "county1").status_code == 200
    assert _login(attacker, "platform1").status_code == 200  # another account from that address
    assert _reasons(api) == [("county1", "203.0.113.9", "bad_credentials")] * 5 + [
        ("county1", "203.0.113.9", "rate_limited")
    ]
    assert api.events("auth.login_failed")[-1].payload_json["limit"] == "pair"


def test_delays_for_one_account_at_one_address_grow_and_are_then_waited_out(api):
    attacker = _at(api, "203.0.113.9")
    for _ in range(5):
        _login(attacker, "county1", "wrong-password-x")
    for expected in (60, 120, 240, 480, 900, 900):
        refused = _login(attacker, "county1", "wrong-password-x")
        assert refused.status_code == 429
        _wait_out(api, _wait(refused, expected))
        assert _login(attacker, "county1", "wrong-password-x").status_code == 401  # checked again
    _wait_out(api, 900)
    assert _login(attacker, "county1").status_code == 200  # the owner at that address, after the wait


def test_failures_from_one_address_delay_its_other_users_by_seconds_not_minutes(api):
    shared = _at(api, "198.51.100.7")  # an office behind one NAT address
    for i in range(20):
        assert _login(shared, f"guess{i}", "wrong-password-x").status_code == 401
    _wait_out(api, -(utcnow() - _last_failure(api)).total_seconds())  # however slowly this machine runs
    delayed = _login(shared, "county1")
    assert delayed.status_code == 429 and delayed.json()["code"] == "auth.too_many_attempts"
    _wait(delayed, 2)
    assert api.events("auth.login_failed")[-1].payload_json["limit"] == "address"
    _wait_out(api, 2)
    assert _login(shared, "county1").status_code == 200
    assert _login(_at(api, "10.1.2.3"), "platform1").status_code == 200  # other addresses never waited


def test_a_distributed_guess_locks_the_account_briefly_and_says_so(api):
    for n in range(10):
        bot = _at(api, f"192.0.2.{n + 1}")
        for _ in range(5):
            assert _login(bot, "county1", "wrong-password-x").status_code == 401
    owner = _login(_at(api, "10.1.2.3"), "county1")
    assert owner.status_code == 429
    _wait(owner, 300)
    assert api.events("auth.login_failed")[-1].payload_json["limit"] == "account"
    [locked] = api.events("auth.account_locked")
    assert locked.object_id == "county1" and locked.payload_json == {"failures": 50, "minutes": 5}
    _wait_out(api, 300)
    assert _login(_at(api, "10.1.2.3"), "county1").status_code == 200


def test_a_disabled_account_answers_exactly_as_a_wrong_password_does(api):
    with api.db.sessions() as s, s.begin():
        users.set_disabled(s, actor=SYSTEM, username="platform2", disabled=True)
    client = _at(api, "10.1.2.3")
    right, wrong = _login(client, "platform2"), _login(client, "platform2", "wrong-password-x")
    assert right.status_code == wrong.status_code == 401
    assert right.json() == wrong.json() and right.json()["code"] == "auth.login_failed"
    assert {k: v for k, v in right.headers.items() if k != "date"} == {
        k: v for k, v in wrong.headers.items() if k != "date"
    }
    for _ in range(3):  # the right password counts towards the limit like any failure
        assert _login(client, "platform2").status_code == 401
    assert _login(client, "platform2").status_code == 429
    reasons = [reason for _, _, reason in _reasons(api)]
    assert reasons == ["disabled", "bad_credentials", "disabled", "disabled", "disabled", "rate_limited"]
