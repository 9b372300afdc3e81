"""Login throttling kept in the database, so every worker and process shares it.

Two keys are counted for each failed login: the client address and the account name. Each key gets a
few free failures, then a delay that doubles with every further failure up to a cap: guessing slows
to a crawl, but nobody can lock someone else out for good (the old in-memory lock let a stranger
block any account with five wrong passwords). While a key is delayed, logins on it are answered
"wait N seconds" without checking the password, so the delay cannot be used to keep guessing.
Rows expire ``window`` seconds after the last failure; every failure deletes expired rows, so the
table stays as small as the recent attack (issue 11, finding 6).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from netral.db.schema import LoginThrottle
from netral.db.types import utcnow


@dataclass(frozen=True)
class Policy:
    account_free: int = 5
    ip_free: int = 20
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 300.0
    window_seconds: int = 900


def delay_after(failures: int, free: int, policy: Policy) -> float:
    """Seconds to wait after ``failures`` failures: 0 within the free ones, then 1, 2, 4 ... up to the cap."""
    if failures <= free:
        return 0.0
    return float(min(policy.max_delay_seconds, policy.base_delay_seconds * 2 ** min(failures - free - 1, 30)))


def keys_for(username: str, ip: str) -> dict[str, str]:
    return {"account": f"user:{username.strip().lower()[:80]}", "ip": f"ip:{ip[:64]}"}


def wait_seconds(session: Session, username: str, ip: str, *, now: datetime | None = None) -> int:
    """How long this login must wait (0: go ahead), the larger of the account's and the address's delay."""
    now = now or utcnow()
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys_for(username, ip).values())))
    waits = [(row.blocked_until - now).total_seconds() for row in rows if row.blocked_until is not None]
    longest = max(waits, default=0.0)
    return int(longest) + 1 if longest > 0 else 0


@dataclass(frozen=True)
class FailureOutcome:
    account_failures: int
    ip_failures: int
    delay_seconds: int
    delay_started: bool  # this failure is the first to cost a delay on one of the keys (audit it)


def _upsert(session: Session, key: str, now: datetime, window: timedelta) -> int:
    """Count one failure on ``key`` atomically (concurrent workers add up, never overwrite)."""
    values = {"key": key, "failures": 1, "first_at": now, "last_at": now, "blocked_until": None}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(LoginThrottle).values(**values)
    stmt = stmt.on_conflict_do_update(index_elements=["key"],
                                      set_={"failures": LoginThrottle.failures + 1, "last_at": now})
    session.execute(stmt)
    return int(session.scalar(select(LoginThrottle.failures).where(LoginThrottle.key == key)) or 0)


def record_failure(session: Session, username: str, ip: str, policy: Policy, *,
                   now: datetime | None = None) -> FailureOutcome:
    now = now or utcnow()
    window = timedelta(seconds=policy.window_seconds)
    session.execute(delete(LoginThrottle).where(LoginThrottle.last_at < now - window))
    keys = keys_for(username, ip)
    counts: dict[str, int] = {}
    delays: dict[str, float] = {}
    for kind, key in keys.items():
        counts[kind] = _upsert(session, key, now, window)
        free = policy.account_free if kind == "account" else policy.ip_free
        delays[kind] = delay_after(counts[kind], free, policy)
        if delays[kind] > 0:
            session.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                            .values(blocked_until=now + timedelta(seconds=delays[kind])))
    started = counts["account"] == policy.account_free + 1 or counts["ip"] == policy.ip_free + 1
    return FailureOutcome(counts["account"], counts["ip"], int(max(delays.values())), started)


def record_success(session: Session, username: str) -> None:
    """The account's count starts again; the address's does not (one's own login must not wash away
    the failures one caused guessing other accounts)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == keys_for(username, "")["account"]))


def client_ip(peer: str | None, forwarded_for: str | None, trusted_proxies: list[str]) -> str:
    """The client's address: the TCP peer, unless the peer is a trusted proxy, in which case the
    right-most address in ``X-Forwarded-For`` that is not itself a trusted proxy.

    Without a trusted-proxy list every client behind a reverse proxy would share its address (one IP
    key for everybody); trusting the header from anyone would let a client choose its own key.
    """
    networks = []
    for entry in trusted_proxies:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            continue

    def trusted(addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return False
        return any(ip in net for net in networks)

    peer = peer or "unknown"
    if not forwarded_for or not trusted(peer):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a garbled header from behind the proxy: fall back to the proxy itself
    return peer
