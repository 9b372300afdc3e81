"""Login throttling in the database (issue 11, item 3): shared by workers, per address and per account,
growing delays instead of a lock a stranger can trigger, trusted proxies, expiry."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from webutil import factory_for, login, seed_basic, settings_for, sqlite_url

from netral.db.schema import AuditRecord, LoginThrottle
from netral.db.types import utcnow
from netral.review import throttle
from netral.serve.app import create_app

POLICY = throttle.Policy(account_free=3, ip_free=10, base_delay_seconds=1, max_delay_seconds=60, window_seconds=900)


def test_delays_grow_then_stop_at_the_cap() -> None:
    delays = [throttle.delay_after(n, 3, POLICY) for n in range(1, 12)]
    assert delays == [0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]


def test_counts_are_shared_per_account_and_address_and_expire(factory: sessionmaker[Session]) -> None:
    """Runs on SQLite and on PostgreSQL (conftest ``db_url``): the upsert adds up across sessions."""
    now = utcnow()
    for i in range(4):
        with factory() as s:  # a new session each time, as separate workers would be
            out = throttle.record_failure(s, "rina", f"10.0.0.{i}", POLICY, now=now)
            s.commit()
    assert out.account_failures == 4 and out.ip_failures == 1 and out.delay_started
    with factory() as s:
        assert throttle.wait_seconds(s, "rina", "10.0.0.99", now=now) >= 1  # the account is delayed
        assert throttle.wait_seconds(s, "rudi", "10.0.0.99", now=now) == 0  # others are not
        assert throttle.wait_seconds(s, "rina", "10.0.0.99", now=now + timedelta(seconds=5)) == 0  # short delay
        # Many usernames from one address: their rows expire with the window.
        for i in range(50):
            throttle.record_failure(s, f"tebak{i}", "10.9.9.9", POLICY, now=now)
        s.commit()
        assert throttle.wait_seconds(s, "siapa-saja", "10.9.9.9", now=now) > 0  # the address is delayed
        assert s.scalar(select(func.count()).select_from(LoginThrottle)) == 4 + 1 + 50 + 1
        later = now + timedelta(seconds=POLICY.window_seconds + 1)
        throttle.record_failure(s, "x", "10.1.1.1", POLICY, now=later)
        s.commit()
        assert s.scalar(select(func.count()).select_from(LoginThrottle)) == 2  # only the new failure's keys
        throttle.record_success(s, "x")
        s.commit()
        assert s.scalars(select(LoginThrottle.key)).all() == ["ip:10.1.1.1"]


@pytest.mark.parametrize(("peer", "header", "trusted", "expected"), [
    ("203.0.113.5", None, [], "203.0.113.5"),
    ("203.0.113.5", "1.2.3.4", [], "203.0.113.5"),  # an untrusted peer cannot choose its address
    ("127.0.0.1", "198.51.100.7", ["127.0.0.1"], "198.51.100.7"),
    ("127.0.0.1", "6.6.6.6, 198.51.100.7", ["127.0.0.1"], "198.51.100.7"),  # client-written hops ignored
    ("10.0.0.2", "198.51.100.7, 10.0.0.1", ["10.0.0.0/8"], "198.51.100.7"),
    ("127.0.0.1", "bukan-alamat", ["127.0.0.1"], "127.0.0.1"),
])
def test_client_ip_trusts_only_configured_proxies(peer: str, header: str | None, trusted: list[str],
                                                  expected: str) -> None:
    assert throttle.client_ip(peer, header, trusted) == expected


def _client(tmp_path: Path, **overrides: object) -> tuple[TestClient, sessionmaker[Session]]:
    url = sqlite_url(tmp_path)
    factory = factory_for(url)
    seed_basic(factory)
    values: dict[str, object] = {"login_max_attempts": 3, "login_ip_max_attempts": 100,
                                 "login_base_delay_seconds": 30, **overrides}
    settings = settings_for(url, tmp_path, **values)
    return TestClient(create_app(settings), client=("127.0.0.1", 50000)), factory


def test_web_login_delays_after_free_failures_and_audits_once(tmp_path: Path) -> None:
    client, factory = _client(tmp_path)
    codes = [login(client, "rina", f"tebakan-salah-{i}").status_code for i in range(4)]
    assert codes == [401, 401, 401, 401]  # the fourth failure starts a delay
    r = login(client, "rina")  # right password, but delayed: refused without checking it
    assert r.status_code == 429 and "Coba lagi dalam" in r.text
    assert login(client, "rudi").status_code == 303  # another account from the same address is fine
    with factory() as s:
        events = s.scalars(select(AuditRecord).where(AuditRecord.action == "auth.throttle")).all()
        assert len(events) == 1 and events[0].entity_id == "rina"
        # The delay is temporary: move it into the past and the right password works again.
        for row in s.scalars(select(LoginThrottle)):
            if row.blocked_until is not None:
                row.blocked_until = utcnow() - timedelta(seconds=1)
        s.commit()
    assert login(client, "rina").status_code == 303
    with factory() as s:
        assert s.get(LoginThrottle, "user:rina") is None  # success resets the account's count


def test_behind_a_trusted_proxy_each_client_has_its_own_address_key(tmp_path: Path) -> None:
    client, factory = _client(tmp_path, trusted_proxies=["127.0.0.1"], login_ip_max_attempts=2,
                              login_max_attempts=100)
    for i in range(3):
        client.headers["x-forwarded-for"] = "198.51.100.7"
        assert login(client, f"tebak{i}", "salah-salah-salah").status_code == 401
    assert login(client, "rina").status_code == 429  # that client's address is delayed ...
    client.headers["x-forwarded-for"] = "198.51.100.8"
    assert login(client, "rina").status_code == 303  # ... another client behind the proxy is not
    with factory() as s:
        keys = set(s.scalars(select(LoginThrottle.key)))
        assert "ip:198.51.100.7" in keys and "ip:127.0.0.1" not in keys
