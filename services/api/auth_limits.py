"""Limits on the unauthenticated account routes (login, 2FA, registration, resets): per client IP and
per email, and a bound on concurrent password hashing (issue 16: 24 concurrent logins for unknown
emails slowed every other caller's `/me` to 1.6 s, since each spends an argon2id hash of 64 MiB).

The buckets are in the accounts store, shared by every API process (fapiao/accounts/attempts.py): N
processes allow each limit once, and a restart keeps them. The hashing bound is per process (it bounds
this process's threads and cores). The client IP is the TCP peer: behind a reverse proxy, that is the
proxy, so limit there too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from fapiao.accounts.attempts import SharedBuckets
from fapiao.crypto.sm3 import hmac_sm3
from services.api.rate_limit import too_many

T = TypeVar("T")


class AuthLimits:
    def __init__(
        self,
        buckets: SharedBuckets,
        key: bytes,
        per_ip_per_minute: int,
        per_email_per_minute: int,
        hash_concurrency: int,
    ) -> None:
        self.per_ip = per_ip_per_minute
        self.per_email = per_email_per_minute
        self.buckets = buckets
        self._key = key  # emails are stored as HMAC-SM3 references, never as typed
        self._hashing = asyncio.Semaphore(hash_concurrency)

    def _take(self, ip: str, email: str | None) -> float:
        wait = self.buckets.take(f"ip:{ip}", self.per_ip)
        if not wait and email is not None:
            ref = hmac_sm3(self._key, b"attempts\x00" + email.strip().lower().encode("utf-8")).hex()[:40]
            wait = self.buckets.take(f"email:{ref}", self.per_email)
        return wait

    async def check(self, request: Request, email: str | None = None) -> None:
        """Spend one attempt of the caller's IP (and of the email, when the route names one): 429 with
        Retry-After when either is used up. The answer is the same whether the email has an account."""
        ip = request.client.host if request.client else "unknown"
        wait = await run_in_threadpool(self._take, ip, email)
        if wait > 0:
            raise too_many(
                wait,
                "too_many_attempts",
                "too many attempts: retry in {s} s",
                "尝试次数过多，请 {s} 秒后重试",
            )

    async def hashing(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)` in the thread pool, at most `hash_concurrency` at once: password work waits its
        turn instead of taking every thread and core from the other requests."""
        async with self._hashing:
            return await run_in_threadpool(fn, *args)
