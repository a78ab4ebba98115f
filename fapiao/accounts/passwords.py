"""Password policy (pure) and argon2id hashing.

Policy: at least 10 characters (at most 128, so hashing stays bounded), upper and lower case, a digit,
a symbol, and not a common password (`common_passwords.txt`, compared case-insensitively and also with
trailing digits and symbols removed, so `Password2024!` counts as `password`).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 128
_COMMON_FILE = Path(__file__).with_name("common_passwords.txt")
_TRAILING = re.compile(r"[\W\d_]+$")

# A hash of nothing anyone knows: verified against when the email is unknown, so both paths cost the same.
_DUMMY_PASSWORD = "not a password: timing equaliser"


@cache
def common_passwords() -> frozenset[str]:
    lines = _COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problems(password: str) -> list[tuple[str, str]]:
    """What is wrong with a new password, as (English, Chinese) messages; empty when acceptable."""
    problems: list[tuple[str, str]] = []
    if len(password) < MIN_LENGTH:
        problems.append((f"at least {MIN_LENGTH} characters", f"密码至少 {MIN_LENGTH} 个字符"))
    if len(password) > MAX_LENGTH:
        problems.append((f"at most {MAX_LENGTH} characters", f"密码最多 {MAX_LENGTH} 个字符"))
    if not any(c.isupper() for c in password):
        problems.append(("an upper-case letter", "需包含大写字母"))
    if not any(c.islower() for c in password):
        problems.append(("a lower-case letter", "需包含小写字母"))
    if not any(c.isdigit() for c in password):
        problems.append(("a digit", "需包含数字"))
    if all(c.isalnum() for c in password):
        problems.append(("a symbol such as !@#$%", "需包含符号，如 !@#$%"))
    lowered = password.lower()
    if lowered in common_passwords() or _TRAILING.sub("", lowered) in common_passwords():
        problems.append(("not a common password", "不能使用常见密码"))
    return problems


class Passwords:
    """argon2id hashing; cheaper parameters only in tests (`Passwords(fast=True)`)."""

    def __init__(self, fast: bool = False) -> None:
        self._hasher = (
            PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1) if fast else PasswordHasher()
        )
        self._dummy = self._hasher.hash(_DUMMY_PASSWORD)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """True when `password` matches `stored`; with no stored hash, spends the same time and says no."""
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)
