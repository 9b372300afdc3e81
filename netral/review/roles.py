"""Roles and what each may do, in one place so the web, CLI and services agree."""

from __future__ import annotations

from netral.db.schema import User
from netral.review.errors import ReviewError
from netral.vocabulary import CaseStep, Role

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
# The roster: analysts import it and supervisors read it; taking someone out of monitoring (deactivation)
# is an administrator's decision, because it could also be used to shield a person.
READ_ROSTER = frozenset({Role.ANALYST, Role.SUPERVISOR, Role.ADMIN})
MANAGE_ROSTER = frozenset({Role.ADMIN})
# Complaints (pengaduan) are recorded by the staff who work cases; the flag then follows the usual review.
RECORD_COMPLAINT = frozenset({Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN})

# Cases after the report. Everyone who works the queue may read a case (reviewers record responses and
# BAPs in it); the admin reads but decides nothing, because that role creates accounts and a decision
# of record should not come from the account that can make accounts.
READ_CASES = frozenset({Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN})
_SUPERVISORS = frozenset({Role.SUPERVISOR})
_CASE_WORKERS = frozenset({Role.REVIEWER, Role.SUPERVISOR})
# Who may record which step: decisions that commit the institution (forwarding letters, accepting a
# recommendation, a sanction decree, closing) are the supervisors'; recording what arrived (an
# invitation sent, the ASN's written response, a signed BAP) is clerical work reviewers do too.
CASE_STEP_ROLES: dict[str, frozenset[str]] = {
    CaseStep.FORWARDED_BAWASLU: _SUPERVISORS,
    CaseStep.FORWARDED_DISCIPLINE: _SUPERVISORS,
    CaseStep.HANDLING_EXTENDED: _SUPERVISORS,
    CaseStep.CLARIFICATION_INVITED: _CASE_WORKERS,
    CaseStep.ASN_RESPONSE: _CASE_WORKERS,
    CaseStep.EXAMINATION: _CASE_WORKERS,
    CaseStep.RECOMMENDATION: _SUPERVISORS,
    CaseStep.SANCTION: _SUPERVISORS,
    CaseStep.CLOSED_PROVEN: _SUPERVISORS,
    CaseStep.CLOSED_NOT_PROVEN: _SUPERVISORS,
}


def require_role(user: User, allowed: frozenset[str], what: str) -> None:
    """Refuse unless the user is active and holds one of the allowed roles."""
    if not user.active:
        raise ReviewError("akun pengguna ini dinonaktifkan", "forbidden")
    if user.role not in allowed:
        names = ", ".join(ROLES[r] for r in sorted(allowed))
        raise ReviewError(f"peran {ROLES.get(user.role, user.role)} tidak boleh {what} (hanya: {names})", "forbidden")
