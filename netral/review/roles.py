"""Roles and what each may do, in one place so the web, CLI and services agree."""

from __future__ import annotations

from netral.db.schema import User
from netral.review.errors import ReviewError
from netral.vocabulary import Role

ROLES: dict[str, str] = Role.labels()

FIRST_REVIEW = frozenset({Role.REVIEWER, Role.SUPERVISOR})
SECOND_REVIEW = frozenset({Role.SUPERVISOR})
ISSUE_REPORT = frozenset({Role.SUPERVISOR})
READ_REPORTS = frozenset({Role.SUPERVISOR, Role.ADMIN})
READ_AUDIT = frozenset({Role.SUPERVISOR, Role.ADMIN})
# Recap files carry names, NIPs and post texts out of the system: the people who answer for reports.
EXPORT = frozenset({Role.SUPERVISOR, Role.ADMIN})
DASHBOARD = frozenset(Role)
TRAINING = frozenset({Role.ANALYST, Role.ADMIN})
PUSH_POSTS = frozenset({Role.ANALYST, Role.ADMIN})
MANAGE_USERS = frozenset({Role.ADMIN})
# Exporting everything held about one ASN, and deleting posts past retention: admins only (UU PDP).
PRIVACY = frozenset({Role.ADMIN})
MANAGE_ELECTIONS = frozenset({Role.ADMIN})  # the election configs page (the files are edited on the server)


def require_role(user: User, allowed: frozenset[str], what: str) -> None:
    """Refuse unless the user is active and holds one of the allowed roles."""
    if not user.active:
        raise ReviewError("akun pengguna ini dinonaktifkan", "forbidden")
    if user.role not in allowed:
        names = ", ".join(ROLES[r] for r in sorted(allowed))
        raise ReviewError(f"peran {ROLES.get(user.role, user.role)} tidak boleh {what} (hanya: {names})", "forbidden")
