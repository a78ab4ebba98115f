"""Random secrets and their stored form, and signed session tokens (PyJWT, HS256).

Reset tokens, invitation tokens, API keys and recovery codes are high-entropy random strings, so a
plain SM3 digest is a safe stored form (no salt or stretching needed: nothing to guess). Session
tokens are short-lived JWTs; the accounts store is still asked on every request (revocation on
logout, `session_version` bumped by a password reset, membership and role current).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt

from fapiao.accounts.exceptions import TokenInvalid
from fapiao.crypto.sm3 import sm3_hex

ISSUER = "fapiao-sentinel"
ALGORITHM = "HS256"
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(token: str) -> str:
    return sm3_hex(token.encode("utf-8"))


def new_recovery_code() -> str:
    """16 characters (80 bits) in groups of four: `ABCD-EFGH-JKLM-NPQR`."""
    chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def normalise_recovery_code(code: str) -> str:
    return "".join(c for c in code.upper() if c.isalnum())


def issue(
    secret: bytes, kind: str, subject: str, org_id: str, version: int, ttl: int, now: datetime
) -> tuple[str, str, datetime]:
    """(token, jti, expiry) of a `kind` ("session" or "mfa") token."""
    jti = str(uuid.uuid4())
    expires = now + timedelta(seconds=ttl)
    claims = {
        "iss": ISSUER,
        "typ": kind,
        "sub": subject,
        "org": org_id,
        "sv": version,
        "jti": jti,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), jti, expires


def decode(secret: bytes, token: str, kind: str) -> dict[str, Any]:
    """The claims of a valid, unexpired token of this kind; TokenInvalid otherwise."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "jti", "typ", "org", "sv"]},
        )
    except jwt.PyJWTError as exc:
        raise TokenInvalid() from exc
    if claims.get("typ") != kind:
        raise TokenInvalid()
    return claims
