"""Roles and what each may do, in one place so the web, CLI and services agree."""

from __future__ import annotations

from netral.db.schema import User
from netral.review.errors import ReviewError

ROLES: dict[str, str] = {
    "reviewer": "Peninjau",
    "supervisor": "Supervisor",
    "analyst": "Analis",
    "admin": "Administrator",
}

FIRST_REVIEW = frozenset({"reviewer", "supervisor"})
SECOND_REVIEW = frozenset({"supervisor"})
ISSUE_REPORT = frozenset({"supervisor"})
READ_REPORTS = frozenset({"supervisor", "admin"})
READ_AUDIT = frozenset({"supervisor", "admin"})
DASHBOARD = frozenset(ROLES)
TRAINING = frozenset({"analyst", "admin"})
PUSH_POSTS = frozenset({"analyst", "admin"})
MANAGE_USERS = frozenset({"admin"})


def require_role(user: User, allowed: frozenset[str], what: str) -> None:
    """Refuse unless the user is active and holds one of the allowed roles."""
    if not user.active:
        raise ReviewError("akun pengguna ini dinonaktifkan", "forbidden")
    if user.role not in allowed:
        names = ", ".join(ROLES[r] for r in sorted(allowed))
        raise ReviewError(f"peran {ROLES.get(user.role, user.role)} tidak boleh {what} (hanya: {names})", "forbidden")
