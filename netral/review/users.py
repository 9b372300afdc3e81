"""Local user accounts, password hashing and API tokens.

Passwords are hashed with Argon2id; API tokens are random strings of which only the SHA-256 is kept,
so a stolen database gives neither. Creating users, changing roles and issuing tokens are audited
because they decide who can verify a case against a civil servant.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from netral import audit
from netral.db.schema import ApiToken, User
from netral.review.errors import ReviewError
from netral.review.roles import MANAGE_USERS, ROLES, require_role
from netral.vocabulary import Role

MIN_PASSWORD_CHARS = 10
TOKEN_PREFIX = "ntr_"
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


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise ReviewError(f"kata sandi minimal {MIN_PASSWORD_CHARS} karakter", "invalid")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ReviewError(f"peran tidak dikenal: {role!r} (pilihan: {', '.join(ROLES)})", "invalid")


def get_user(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username.strip().lower())).first()


def create_user(session: Session, *, username: str, role: str, password: str, full_name: str = "",
                actor: User | None = None) -> User:
    _check_admin(actor)
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise ReviewError("nama pengguna 3–80 karakter: huruf kecil, angka, titik, garis bawah, tanda hubung",
                          "invalid")
    _check_role(role)
    _check_password(password)
    if get_user(session, name) is not None:
        raise ReviewError(f"nama pengguna {name!r} sudah dipakai", "conflict")
    user = User(username=name, full_name=full_name.strip()[:200], password_hash=hash_password(password), role=role,
                active=True)
    session.add(user)
    session.flush()
    audit.append(session, actor=_actor_name(actor), action="user.create", entity="user", entity_id=user.id,
                 after={"username": name, "role": role, "full_name": user.full_name, "active": True})
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
    session.flush()
    audit.append(session, actor=_actor_name(actor), action="user.role_change", entity="user", entity_id=user.id,
                 before=before, after={"role": role}, reason=reason)
    return user


def set_active(session: Session, user: User, active: bool, *, actor: User | None, reason: str = "") -> User:
    _check_admin(actor)
    if active == user.active:
        return user
    if not active and user.role == Role.ADMIN and _active_admins(session) <= 1:
        raise ReviewError("administrator aktif terakhir tidak boleh dinonaktifkan", "conflict")
    before = {"active": user.active}
    user.active = active
    session.flush()
    audit.append(session, actor=_actor_name(actor), action="user.activate" if active else "user.deactivate",
                 entity="user", entity_id=user.id, before=before, after={"active": active}, reason=reason)
    return user


def set_password(session: Session, user: User, password: str, *, actor: User | None) -> None:
    if actor is not None and actor.id != user.id:
        _check_admin(actor)
    _check_password(password)
    user.password_hash = hash_password(password)
    session.flush()
    audit.append(session, actor=_actor_name(actor), action="user.password_change", entity="user", entity_id=user.id)


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
