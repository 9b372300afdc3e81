"""Local user accounts, password hashing and API tokens.

Passwords are hashed with Argon2id; API tokens and setup links are random strings of which only the
SHA-256 is kept, so a stolen database gives neither. Creating users, changing roles and issuing
tokens are audited because they decide who can verify a case against a civil servant.

An administrator never chooses or learns another person's password (issue 11, finding 3): ``invite``
creates the account without a usable password and returns a one-time setup link that the new user
opens to choose their own. Only the local operator (``actor=None``, who holds the database anyway)
may set a password directly, for the first administrator and for automation.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from netral import audit
from netral.db.schema import ApiToken, User
from netral.db.types import utcnow
from netral.review import sessions
from netral.review.errors import ReviewError
from netral.review.passwords import check_password
from netral.review.roles import MANAGE_USERS, ROLES, require_role
from netral.vocabulary import Role

TOKEN_PREFIX = "ntr_"
SETUP_PREFIX = "nts_"
SETUP_HOURS = 72
# Not an Argon2 hash, so ``verify_password`` is always False: the account cannot sign in until its
# owner sets a password through the setup link.
NO_PASSWORD = "!setup-pending"
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,79}")
_hasher = PasswordHasher()
# Verifying against a fixed hash when the user does not exist keeps the response time the same, so
# login timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("netral-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _actor_name(actor: User | None) -> str:
    return actor.username if actor is not None else "cli"


def _check_admin(actor: User | None) -> None:
    """``None`` is the local operator at the CLI, who already has the database in hand."""
    if actor is not None:
        require_role(actor, MANAGE_USERS, "mengelola pengguna")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ReviewError(f"peran tidak dikenal: {role!r} (pilihan: {', '.join(ROLES)})", "invalid")


def get_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username.strip().lower())).first()


def _new_user(session: Session, *, username: str, role: str, full_name: str, password_hash: str,
              actor: User | None, setup: bool) -> User:
    _check_admin(actor)
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise ReviewError("nama pengguna 3–80 karakter: huruf kecil, angka, titik, garis bawah, tanda hubung",
                          "invalid")
    _check_role(role)
    if get_user(session, name) is not None:
        raise ReviewError(f"nama pengguna {name!r} sudah dipakai", "conflict")
    user = User(username=name, full_name=full_name.strip()[:200], password_hash=password_hash, role=role,
                active=True)
    session.add(user)
    session.flush()
    audit.append(session, actor=_actor_name(actor), action="user.create", entity="user", entity_id=user.id,
                 after={"username": name, "role": role, "full_name": user.full_name, "active": True,
                        "password": "setup link" if setup else "set by the local operator"})
    return user


def create_user(session: Session, *, username: str, role: str, password: str, full_name: str = "",
                actor: User | None = None) -> User:
    """A user with a password chosen by the local operator (CLI ``--password-stdin``, tests, demo).

    Refused for a signed-in administrator: on the web an admin invites (``invite``) instead.
    """
    if actor is not None:
        raise ReviewError("administrator tidak menetapkan kata sandi orang lain; gunakan tautan penyiapan",
                          "forbidden")
    check_password(password, username)
    return _new_user(session, username=username, role=role, full_name=full_name,
                     password_hash=hash_password(password), actor=None, setup=False)


def _setup_token(user: User, now: datetime, hours: int) -> str:
    plain = SETUP_PREFIX + secrets.token_urlsafe(32)
    user.setup_token_sha256 = token_digest(plain)
    user.setup_expires_at = now + timedelta(hours=hours)
    return plain


def invite(session: Session, *, username: str, role: str, full_name: str = "", actor: User | None = None,
           hours: int = SETUP_HOURS) -> tuple[User, str]:
    """Create a user without a usable password; return it with the one-time setup token (shown once)."""
    user = _new_user(session, username=username, role=role, full_name=full_name, password_hash=NO_PASSWORD,
                     actor=actor, setup=True)
    plain = _setup_token(user, utcnow(), hours)
    session.flush()
    return user, plain


def reset_password(session: Session, user: User, *, actor: User | None, reason: str = "",
                   hours: int = SETUP_HOURS) -> str:
    """Forgotten password: the old one stops working, every session ends, a new setup link is returned."""
    _check_admin(actor)
    user.password_hash = NO_PASSWORD
    plain = _setup_token(user, utcnow(), hours)
    ended = sessions.revoke_all(session, user.id, "password reset")
    session.flush()
    audit.append(session, actor=_actor_name(actor), action="user.password_reset", entity="user", entity_id=user.id,
                 after={"username": user.username, "sessions_ended": ended}, reason=reason)
    return plain


def user_for_setup(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The active user a live setup link belongs to, else None."""
    if not token.startswith(SETUP_PREFIX) or len(token) > 200:
        return None
    user = session.scalars(select(User).where(User.setup_token_sha256 == token_digest(token))).first()
    if user is None or not user.active or user.setup_expires_at is None or user.setup_expires_at <= (now or utcnow()):
        return None
    return user


def complete_setup(session: Session, token: str, password: str) -> User:
    """The owner of a setup link chooses their password; the link then stops working."""
    user = user_for_setup(session, token)
    if user is None:
        raise ReviewError("tautan penyiapan tidak valid, sudah dipakai, atau kedaluwarsa; minta tautan baru "
                          "kepada administrator", "not_found")
    check_password(password, user.username)
    user.password_hash = hash_password(password)
    user.setup_token_sha256 = None
    user.setup_expires_at = None
    user.password_changed_at = utcnow()
    sessions.revoke_all(session, user.id, "password set")
    session.flush()
    audit.append(session, actor=user.username, action="user.password_setup", entity="user", entity_id=user.id,
                 after={"username": user.username, "role": user.role})
    return user


def _active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.active)) or 0


def set_role(session: Session, user: User, role: str, *, actor: User | None, reason: str = "") -> User:
    _check_admin(actor)
    _check_role(role)
    if role == user.role:
        return user
    if user.role == Role.ADMIN and user.active and _active_admins(session) <= 1:
        raise ReviewError("administrator aktif terakhir tidak boleh diubah perannya", "conflict")
    before = {"role": user.role}
    user.role = role
    # Open sessions were granted under the old role; the user signs in again under the new one.
    ended = sessions.revoke_all(session, user.id, "role change")
    session.flush()
    audit.append(session, actor=_actor_name(actor), action="user.role_change", entity="user", entity_id=user.id,
                 before=before, after={"role": role, "username": user.username, "sessions_ended": ended},
                 reason=reason)
    return user


def set_active(session: Session, user: User, active: bool, *, actor: User | None, reason: str = "") -> User:
    _check_admin(actor)
    if active == user.active:
        return user
    if not active and user.role == Role.ADMIN and _active_admins(session) <= 1:
        raise ReviewError("administrator aktif terakhir tidak boleh dinonaktifkan", "conflict")
    before = {"active": user.active}
    user.active = active
    if not active:
        sessions.revoke_all(session, user.id, "deactivated")
    session.flush()
    audit.append(session, actor=_actor_name(actor), action="user.activate" if active else "user.deactivate",
                 entity="user", entity_id=user.id, before=before, after={"active": active}, reason=reason)
    return user


def set_password(session: Session, user: User, password: str, *, actor: User | None) -> None:
    """The local operator sets a password (CLI); on the web people change their own (``change_password``)."""
    if actor is not None:
        raise ReviewError("administrator tidak menetapkan kata sandi orang lain; gunakan tautan penyiapan",
                          "forbidden")
    check_password(password, user.username)
    user.password_hash = hash_password(password)
    user.setup_token_sha256 = None
    user.setup_expires_at = None
    user.password_changed_at = utcnow()
    ended = sessions.revoke_all(session, user.id, "password change")
    session.flush()
    audit.append(session, actor=_actor_name(actor), action="user.password_change", entity="user", entity_id=user.id,
                 after={"sessions_ended": ended})


def change_password(session: Session, user: User, *, current: str, new: str) -> None:
    """Self-service change: the current password proves it is the owner; every session then ends
    (the caller starts a fresh one for the browser that made the change)."""
    if not verify_password(user.password_hash, current):
        raise ReviewError("kata sandi saat ini salah", "invalid")
    if current == new:
        raise ReviewError("kata sandi baru harus berbeda dari yang lama", "invalid")
    check_password(new, user.username)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    ended = sessions.revoke_all(session, user.id, "password change")
    session.flush()
    audit.append(session, actor=user.username, action="user.password_change", entity="user", entity_id=user.id,
                 after={"sessions_ended": ended})


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, else None (same work either way)."""
    user = get_user(session, username)
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(session: Session, user: User, name: str, *, actor: User | None) -> tuple[ApiToken, str]:
    """Issue a token; the plain value is returned once and never stored."""
    _check_admin(actor)
    label = name.strip()
    if not label:
        raise ReviewError("nama token wajib diisi", "invalid")
    if not user.active:
        raise ReviewError("pengguna nonaktif tidak dapat diberi token", "invalid")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=label[:120], token_sha256=token_digest(plain))
    session.add(token)
    session.flush()
    audit.append(session, actor=_actor_name(actor), action="token.create", entity="api_token", entity_id=token.id,
                 after={"user": user.username, "name": token.name})
    return token, plain


def revoke_api_token(session: Session, token_id: int, *, actor: User | None, reason: str = "") -> ApiToken:
    _check_admin(actor)
    token = session.get(ApiToken, token_id)
    if token is None:
        raise ReviewError("token tidak ditemukan", "not_found")
    if not token.revoked:
        token.revoked = True
        session.flush()
        audit.append(session, actor=_actor_name(actor), action="token.revoke", entity="api_token",
                     entity_id=token.id, before={"revoked": False}, after={"revoked": True}, reason=reason)
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The active owner of a valid, unrevoked token."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalars(select(ApiToken).where(ApiToken.token_sha256 == token_digest(token))).first()
    if row is None or row.revoked or not row.user.active:
        return None
    return row.user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))
