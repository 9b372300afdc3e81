"""The roster as people work with it: find an account, read it, take it out of monitoring or back in.

The rules (who may deactivate, a written reason, one audited record per change) are here so the web page
and ``netral roster deactivate`` behave the same; ``netral.pipeline.roster`` does the change itself.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from netral.db.schema import Account, User
from netral.pipeline.roster import find_accounts, list_accounts, set_active
from netral.review.errors import ReviewError
from netral.review.roles import MANAGE_ROSTER, READ_ROSTER, require_role
from netral.vocabulary import EmploymentType

MIN_REASON_CHARS = 10
MAX_REF_CHARS = 64


def resolve(session: Session, ref: str) -> Account:
    """The one account whose NIP / NI PPPK or staff number is ``ref``, or a refusal saying why not."""
    if len(ref) > MAX_REF_CHARS or "\x00" in ref or any("\ud800" <= ch <= "\udfff" for ch in ref):
        # Not a number anyone has; PostgreSQL would refuse the NUL in the query itself.
        raise ReviewError("NIP/nomor pegawai tidak valid", "not_found")
    found = find_accounts(session, ref)
    if not found:
        raise ReviewError(f"{ref.strip()!r} tidak ada di daftar ASN (cari dengan NIP, NI PPPK, atau nomor pegawai "
                          "non-ASN)", "not_found")
    if len(found) > 1:
        raise ReviewError(f"{ref.strip()!r} cocok dengan lebih dari satu akun (NIP satu orang sama dengan nomor "
                          "pegawai orang lain); perbaiki daftar ASN", "conflict")
    return found[0]


def get(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise ReviewError(f"akun #{account_id} di daftar ASN tidak ditemukan", "not_found")
    return account


def roster(session: Session, user: User, *, unit: str | None = None) -> list[Account]:
    require_role(user, READ_ROSTER, "melihat daftar ASN")
    return list_accounts(session, unit)


def superiors(session: Session, accounts: list[Account]) -> dict[str, Account]:
    """The roster accounts of the listed accounts' direct superiors, by number (those on the roster)."""
    wanted = sorted({a.superior_nip for a in accounts if a.superior_nip})
    found: dict[str, Account] = {}
    for start in range(0, len(wanted), 500):  # bounded IN lists
        for account in session.scalars(select(Account).where(Account.nip.in_(wanted[start:start + 500]))):
            found[account.nip or ""] = account
    return found


def _change(session: Session, account: Account, active: bool, *, reason: str, actor: User | None) -> bool:
    """``actor=None`` is the local operator at the console (``netral roster``), who holds the database anyway."""
    if actor is not None:
        require_role(actor, MANAGE_ROSTER, "menonaktifkan atau mengaktifkan akun di daftar ASN")
    text = (reason or "").strip()
    if len(text) < MIN_REASON_CHARS:
        raise ReviewError(f"alasan tertulis wajib diisi (minimal {MIN_REASON_CHARS} karakter)", "invalid")
    return set_active(session, account, active, reason=text, actor=actor.username if actor else "cli")


def deactivate(session: Session, account: Account, *, reason: str, actor: User | None) -> bool:
    """Out of monitoring from now on (new posts refused, no new complaints); stored posts are kept.
    False if it was already deactivated. The caller commits."""
    return _change(session, account, False, reason=reason, actor=actor)


def reactivate(session: Session, account: Account, *, reason: str, actor: User | None) -> bool:
    return _change(session, account, True, reason=reason, actor=actor)


def describe(account: Account) -> dict[str, str]:
    """The account's identity as pages, the CLI and the report show it (Indonesian labels, "—" if empty)."""
    number_label = "NI PPPK" if account.employment_type == EmploymentType.PPPK else "NIP"
    return {
        "number_label": number_label if account.nip else "Nomor pegawai",
        "number": account.nip or account.employee_number or "—",
        "employment_type": EmploymentType.label_of(account.employment_type),
        "employee_number": account.employee_number or "—",
        "rank_grade": account.rank_grade or "—",
        "superior_nip": account.superior_nip or "—",
        "ppk": account.ppk or "—",
        "status": "Aktif" if account.active else "Nonaktif",
    }
