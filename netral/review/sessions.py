"""Server-side web sessions: the browser's cookie holds only a random token, the database says
whether it is still good.

A signed cookie alone cannot be taken back: a copied cookie kept working after logout and after a
password change (issue 11, finding 5). Here every session is a row; logout revokes that row, and a
password change, a new setup link, a role change or deactivation revokes all of the user's rows.
Only the SHA-256 of the token is stored, so a database dump does not hand out live sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from netral.db.schema import User, WebSession
from netral.db.types import utcnow


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(session: Session, user: User, *, ip: str, hours: int, now: datetime | None = None) -> str:
    """A new session for ``user``; the plain token is returned for the cookie and never stored."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_sha256=_digest(token), user_id=user.id, created_at=now,
                           expires_at=now + timedelta(hours=hours), ip=ip[:64]))
    session.flush()
    return token


def user_for(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The active user of a live (unrevoked, unexpired) session, else None."""
    if not token or len(token) > 200:
        return None
    row = session.scalars(select(WebSession).where(WebSession.token_sha256 == _digest(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= (now or utcnow()):
        return None
    user = session.get(User, row.user_id)
    return user if user is not None and user.active else None


def revoke(session: Session, token: str, reason: str) -> None:
    session.execute(update(WebSession).where(WebSession.token_sha256 == _digest(token),
                                             WebSession.revoked_at.is_(None))
                    .values(revoked_at=utcnow(), revoked_reason=reason[:40]))


def revoke_all(session: Session, user_id: int, reason: str) -> int:
    """End every session of a user (password change, deactivation, role change); returns how many."""
    result = session.execute(update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
                             .values(revoked_at=utcnow(), revoked_reason=reason[:40])
                             .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


def live_count(session: Session, user_id: int) -> int:
    rows = session.scalars(select(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None),
                                                    WebSession.expires_at > utcnow())).all()
    return len(rows)
