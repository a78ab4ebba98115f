"""What every accounts use case needs: the database, the keys, the policies and a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from fapiao.accounts.attempts import SharedStrangerLockout
from fapiao.accounts.db import make_engine, session_factory
from fapiao.accounts.lockout import LockoutPolicy
from fapiao.accounts.passwords import Passwords
from fapiao.crypto.keys import CryptoKeys
from fapiao.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AccountsContext:
    sessions: sessionmaker[Session]
    keys: CryptoKeys
    secret: bytes = field(repr=False)
    passwords: Passwords
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    session_ttl: int = 900
    reset_ttl: int = 1800
    # reset/invite tokens also in API answers: only with FAPIAO_DEV_EXPOSE_TOKENS (local development and
    # the integration tests; refused in production). Otherwise they leave the server only by mail.
    expose_tokens: bool = False
    clock: Callable[[], datetime] = utc_now
    strangers: SharedStrangerLockout = field(init=False)  # failed logins of emails without an account

    def __post_init__(self) -> None:
        self.strangers = SharedStrangerLockout(self.lockout, self.keys.hmac_key)

    @classmethod
    def from_settings(
        cls, settings: Settings, keys: CryptoKeys | None = None, engine: Engine | None = None
    ) -> AccountsContext:
        return cls(
            sessions=session_factory(engine or make_engine(settings.accounts_url)),
            keys=keys or CryptoKeys.from_settings(settings),
            secret=settings.secret_key.get_secret_value().encode("utf-8"),
            passwords=Passwords(),
            session_ttl=settings.session_ttl_seconds,
            reset_ttl=settings.password_reset_ttl_seconds,
            expose_tokens=settings.dev_expose_tokens,
        )
