"""Per-caller rate limits: a token bucket per API key (and per user session), in this process.

Why in-process: these are taken on every request, and the one store the API processes share is the
accounts database (SQLite or PostgreSQL), where a write per request would cost more than most requests
themselves (a commit; on SQLite a serialised, fsynced one); a bucket in memory costs nothing and needs no
new server. The catch, accepted: with N API processes behind a balancer a key gets up to N times its
rate. The attempt limits of the account routes, taken rarely and each beside an argon2id hash, are in
that store (fapiao/accounts/attempts.py). A shared in-memory store (Redis and the like) would carry
these too; the platform runs none.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from fastapi import HTTPException


class TokenBuckets:
    """`rate_per_minute` tokens refill evenly over a minute; a burst may spend a whole minute's worth."""

    def __init__(self, max_callers: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # caller -> (tokens, at)
        self._max = max_callers
        self._clock = clock

    def take(self, caller: str, rate_per_minute: int) -> float:
        """Spend one token: 0.0 when allowed, else the seconds until a token is back (Retry-After)."""
        now = self._clock()
        capacity = float(rate_per_minute)
        tokens, at = self._buckets.get(caller, (capacity, now))
        tokens = min(capacity, tokens + (now - at) * rate_per_minute / 60.0)
        if tokens >= 1.0:
            self._store(caller, tokens - 1.0, now)
            return 0.0
        self._store(caller, tokens, now)
        return (1.0 - tokens) * 60.0 / rate_per_minute

    def _store(self, caller: str, tokens: float, at: float) -> None:
        self._buckets[caller] = (tokens, at)
        self._buckets.move_to_end(caller)
        while len(self._buckets) > self._max:  # the longest idle bucket is the fullest: forget it
            self._buckets.popitem(last=False)


def too_many(wait: float, code: str, msg: str, msg_zh: str) -> HTTPException:
    """A 429 with Retry-After for a bucket's `wait`; `{s}` in the messages becomes the seconds."""
    seconds = max(1, int(wait + 0.999))
    return HTTPException(
        status_code=429,
        detail={"code": code, "msg": msg.format(s=seconds), "msg_zh": msg_zh.format(s=seconds)},
        headers={"Retry-After": str(seconds)},
    )
