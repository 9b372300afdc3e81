"""Password policy: long enough, not a common password, not the username, not one repeated pattern.

Length matters most (NIST SP 800-63B); composition rules mostly make people write passwords down, so
there are none. What is refused instead is what guessing lists try first: the list in
``data/security/common-passwords.txt`` (matched case-insensitively after removing digits and symbols
at both ends, so ``Password12!`` counts as ``password``), passwords made of a few distinct characters,
digits only, and the username itself.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from pathlib import Path

from netral.review.errors import ReviewError
from netral.settings import REPO_ROOT

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 256  # Argon2 takes any length; this only bounds the work an attacker can ask for
MIN_DISTINCT_CHARS = 5
COMMON_PASSWORDS_FILE = REPO_ROOT / "data" / "security" / "common-passwords.txt"
_EDGE = string.digits + string.punctuation + " "


@lru_cache(maxsize=4)
def common_passwords(path: Path = COMMON_PASSWORDS_FILE) -> frozenset[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _forms(password: str) -> set[str]:
    low = password.lower()
    core = low.strip(_EDGE)
    return {low, core, re.sub(r"[^0-9a-z]", "", core), re.sub(r"[^0-9a-z]", "", low)}


def check_password(password: str, username: str = "") -> None:
    """Raise ``ReviewError`` (in Indonesian, for the person choosing it) unless the password is acceptable."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise ReviewError(f"kata sandi minimal {MIN_PASSWORD_CHARS} karakter", "invalid")
    if len(password) > MAX_PASSWORD_CHARS:
        raise ReviewError(f"kata sandi maksimal {MAX_PASSWORD_CHARS} karakter", "invalid")
    if len(set(password)) < MIN_DISTINCT_CHARS:
        raise ReviewError("kata sandi terlalu berulang; gunakan frasa yang lebih beragam", "invalid")
    if password.isdigit():
        raise ReviewError("kata sandi tidak boleh hanya angka", "invalid")
    if _forms(password) & common_passwords():
        raise ReviewError("kata sandi ini terlalu umum dan ada di daftar tebakan; pilih yang lain", "invalid")
    name = username.strip().lower()
    if len(name) >= 3 and name in password.lower():
        raise ReviewError("kata sandi tidak boleh memuat nama pengguna", "invalid")
