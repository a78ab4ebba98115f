"""Lockout with exponential back-off after repeated failed logins (pure).

The first `threshold - 1` failures cost nothing; then each further failure locks the account for
`base * 2^(failures - threshold)` seconds, capped. A success resets the count. While locked, attempts are
refused without checking the password (so guessing stops) and do not extend the lock (so a stranger
cannot keep someone locked out for longer than the current step).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int = 5
    base_seconds: float = 30.0
    max_seconds: float = 3600.0

    def lock_seconds(self, failures: int) -> float:
        if failures < self.threshold:
            return 0.0
        return min(self.max_seconds, self.base_seconds * 2 ** min(failures - self.threshold, 32))

    def locked_until(self, failures: int, failed_at: datetime) -> datetime | None:
        seconds = self.lock_seconds(failures)
        return failed_at + timedelta(seconds=seconds) if seconds else None

    @staticmethod
    def retry_after(locked_until: datetime | None, now: datetime) -> int:
        """Whole seconds until the lock ends (0: not locked)."""
        if locked_until is None or locked_until <= now:
            return 0
        return int((locked_until - now).total_seconds() + 0.999)
