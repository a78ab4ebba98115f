"""The delivery signature (pure): `X-Fapiao-Signature: t=<unix seconds>,v1=<hex HMAC-SM3>` over
`<t>.<raw body>`, keyed by the subscription's secret. The timestamp inside the MAC lets a receiver refuse
replays older than its tolerance (docs/webhooks.md has the Java and Python verification)."""

from __future__ import annotations

import hmac

from fapiao.crypto.sm3 import hmac_sm3

HEADER = "X-Fapiao-Signature"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac_sm3(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body).hex()


def header_value(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = TOLERANCE_SECONDS) -> bool:
    """What a receiver does: the MAC matches and the timestamp is within `tolerance` of now."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), parts.get("v1", ""))
