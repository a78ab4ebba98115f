"""Attempt limits kept in the accounts store, so that every API process shares them (issue 16, item 8):
the login/registration/reset token buckets per client IP and per email, and the lockout of emails that
have no account. In one process's memory, N API processes allowed N times each limit, a restart forgot
them, and an unknown email's lock (429) held on one process only, which told it apart from an account
(whose lock is in the store).

The store is the one the accounts already use (SQLite for one machine, PostgreSQL when API processes run
on several): each take is one `INSERT … ON CONFLICT DO UPDATE … RETURNING` statement, atomic on both
(SQLite serialises writers, PostgreSQL locks the row), evaluated on the row as it was — no read-then-write
race between processes. An attempt already costs an argon2id hash (tens of ms); one statement more is
noise. Times are the API hosts' clocks (epoch seconds): hosts must keep them synchronised (NTP).

Why not the per-key request limits too: they are taken on every API request, where a write to the
accounts store each time would cost more than the request itself (services/api/rate_limit.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fapiao.accounts.lockout import LockoutPolicy
from fapiao.accounts.models import AuthBucket, StrangerFailure
from fapiao.crypto.sm3 import hmac_sm3

PRUNE_EVERY = 500  # takes between two deletions of idle rows
STRANGERS_KEPT = timedelta(days=1)  # an unknown email's failures are forgotten a day after the last


def _upsert(dialect: str) -> Callable[..., Any]:
    """INSERT … ON CONFLICT of the store's dialect (the two the accounts run on)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


class SharedBuckets:
    """Token buckets in the `auth_buckets` table: `rate_per_minute` tokens that refill evenly over a
    minute, a burst spending up to a minute's worth (the rule of services.api.rate_limit.TokenBuckets)."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.time) -> None:
        self._engine = engine
        self._clock = clock
        self._insert = _upsert(engine.dialect.name)
        self._takes = 0

    def take(self, bucket: str, rate_per_minute: int) -> float:
        """Spend one token: 0.0 when allowed, else the seconds until a token is back (Retry-After)."""
        now, capacity = self._clock(), float(rate_per_minute)
        t = AuthBucket.__table__.c
        raw = t.tokens + (literal(now) - t.at) * literal(rate_per_minute / 60.0)
        refilled = case((raw > capacity, literal(capacity)), else_=raw)
        statement = (
            self._insert(AuthBucket)
            .values(bucket=bucket, tokens=capacity - 1.0, granted=True, at=now)
            .on_conflict_do_update(
                index_elements=[t.bucket],
                set_={
                    "tokens": case((refilled >= 1.0, refilled - 1.0), else_=refilled),
                    "granted": refilled >= 1.0,
                    "at": now,
                },
            )
            .returning(t.tokens, t.granted)
        )
        with self._engine.begin() as connection:
            tokens, granted = connection.execute(statement).one()
            self._takes += 1
            if self._takes % PRUNE_EVERY == 0:  # a bucket idle for a minute is full: its row says nothing
                connection.execute(delete(AuthBucket).where(t.at < now - 120))
        return 0.0 if granted else (1.0 - tokens) * 60.0 / rate_per_minute


class SharedStrangerLockout:
    """Failed logins of emails without an account (`stranger_failures`), locked by the accounts' policy;
    rows are written in the caller's login transaction. Emails are stored as HMAC-SM3 references."""

    def __init__(self, policy: LockoutPolicy, key: bytes) -> None:
        self._policy = policy
        self._key = key

    def _ref(self, email: str) -> str:
        return hmac_sm3(self._key, b"stranger\x00" + email.strip().lower().encode("utf-8")).hex()

    def retry_after(self, s: Session, email: str, now: datetime) -> int:
        row = s.get(StrangerFailure, self._ref(email))
        return self._policy.retry_after(row.locked_until if row else None, now)

    def failed(self, s: Session, email: str, now: datetime) -> None:
        """Count a failure (one upsert: two processes failing the same email at once both count), then
        lock by the new count."""
        ref, t = self._ref(email), StrangerFailure.__table__.c
        counted = (
            _upsert(s.get_bind().dialect.name)(StrangerFailure)
            .values(email_ref=ref, failures=1, locked_until=None, failed_at=now)
            .on_conflict_do_update(
                index_elements=[t.email_ref], set_={"failures": t.failures + 1, "failed_at": now}
            )
            .returning(t.failures)
        )
        failures = s.execute(counted).scalar_one()
        until = self._policy.locked_until(failures, now)
        if until is not None:
            s.execute(update(StrangerFailure).where(t.email_ref == ref).values(locked_until=until))
        if failures == 1:  # now and then: forget emails that stopped failing long ago
            s.execute(delete(StrangerFailure).where(t.failed_at < now - STRANGERS_KEPT))
