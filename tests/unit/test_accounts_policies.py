"""Pure policies: passwords, lockout back-off, tokens."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from fapiao.accounts import tokens
from fapiao.accounts.exceptions import TokenInvalid
from fapiao.accounts.lockout import LockoutPolicy
from fapiao.accounts.passwords import Passwords, common_passwords, password_problems
from fapiao.accounts.roles import ROLE_INCLUDES, ROLE_SCOPES

SECRET = b"s" * 32


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Sh0rt!", "at least 10 characters"),
        ("alllowercase1!", "an upper-case letter"),
        ("ALLUPPERCASE1!", "a lower-case letter"),
        ("NoDigitsHere!!", "a digit"),
        ("NoSymbols12345", "a symbol such as !@#$%"),
        ("Password123!", "not a common password"),
        ("P@ssw0rd2024!!", "not a common password"),  # decorated: trailing digits/symbols removed
        ("Admin@123", "not a common password"),
        ("A1!" + "x" * 130, "at most 128 characters"),
    ],
)
def test_password_policy_names_each_problem(password: str, problem: str) -> None:
    found = password_problems(password)
    assert problem in [en for en, _ in found]
    assert all(zh for _, zh in found)


@pytest.mark.parametrize("password", ["Tr1cky-Lantern-47", "发票Sentinel#2026x", "Zx9!qLm2#Wv8"])
def test_good_passwords_pass(password: str) -> None:
    assert password_problems(password) == []


def test_the_common_list_ships_and_is_lower_case() -> None:
    words = common_passwords()
    assert len(words) > 100 and "password" in words and "woaini1314" in words
    assert all(w == w.lower() for w in words)


def test_argon2_hashes_verify_and_refuse() -> None:
    passwords = Passwords(fast=True)
    stored = passwords.hash("Tr1cky-Lantern-47")
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "Tr1cky-Lantern-47")
    assert not passwords.verify(stored, "Tr1cky-Lantern-48")
    assert not passwords.verify(None, "anything")  # unknown user: same work, same answer
    assert not passwords.verify("garbage", "x")


def test_production_hasher_is_memory_hard() -> None:
    assert Passwords()._hasher.memory_cost >= 64 * 1024


def test_lockout_backs_off_exponentially_and_caps() -> None:
    policy = LockoutPolicy(threshold=5, base_seconds=30, max_seconds=3600)
    assert [policy.lock_seconds(n) for n in range(1, 10)] == [0, 0, 0, 0, 30, 60, 120, 240, 480]
    assert policy.lock_seconds(50) == 3600
    now = datetime(2026, 11, 28, tzinfo=UTC)
    assert policy.locked_until(4, now) is None
    assert policy.locked_until(6, now) == now + timedelta(seconds=60)
    assert policy.retry_after(now + timedelta(seconds=59.2), now) == 60
    assert policy.retry_after(now - timedelta(seconds=1), now) == 0
    assert policy.retry_after(None, now) == 0


def test_session_tokens_round_trip_and_refuse_forgery_and_expiry() -> None:
    now = datetime.now(UTC)
    token, jti, _ = tokens.issue(SECRET, "session", "u1", "org-1", 0, 60, now)
    claims = tokens.decode(SECRET, token, "session")
    assert (claims["sub"], claims["org"], claims["jti"]) == ("u1", "org-1", jti)
    with pytest.raises(TokenInvalid):
        tokens.decode(b"x" * 32, token, "session")  # another secret: forged
    with pytest.raises(TokenInvalid):
        tokens.decode(SECRET, token, "mfa")  # a session token is no MFA token, and vice versa
    old, _, _ = tokens.issue(SECRET, "session", "u1", "org-1", 0, 60, now - timedelta(seconds=120))
    with pytest.raises(TokenInvalid):
        tokens.decode(SECRET, old, "session")
    head, body, _sig = token.split(".")
    with pytest.raises(TokenInvalid):
        tokens.decode(SECRET, f"{head}.{body}.", "session")


def test_alg_none_tokens_are_refused() -> None:
    import jwt

    forged = jwt.encode(
        {
            "iss": tokens.ISSUER,
            "typ": "session",
            "sub": "u",
            "org": "o",
            "sv": 0,
            "jti": "j",
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
        },
        key=None,
        algorithm="none",
    )
    with pytest.raises(TokenInvalid):
        tokens.decode(SECRET, forged, "session")


def test_recovery_codes_are_80_bits_and_normalise() -> None:
    code = tokens.new_recovery_code()
    assert len(code) == 19 and code.count("-") == 3
    assert tokens.normalise_recovery_code(code.lower().replace("-", " ")) == code.replace("-", "")


def test_roles_grant_scopes() -> None:
    assert ROLE_SCOPES["submitter"] == {"submit", "read"}
    assert "submit" not in ROLE_SCOPES["analyst"]
    assert ROLE_INCLUDES["admin"] == {"admin", "analyst", "submitter"}
