"""What the API holds open for accounts: the store (migrated at start-up), the keys, the rate limits."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import Engine

from fapiao.accounts.attempts import SharedBuckets
from fapiao.accounts.context import AccountsContext
from fapiao.accounts.db import make_engine, migrate
from fapiao.crypto.keys import CryptoKeys
from fapiao.mail import Mailer
from fapiao.settings import Settings
from services.api.auth_limits import AuthLimits
from services.api.key_cache import IdentityCache
from services.api.rate_limit import TokenBuckets


@dataclass
class AccountsState:
    ctx: AccountsContext
    engine: Engine
    buckets: TokenBuckets
    default_rate_per_minute: int
    key_cache: IdentityCache
    mailer: Mailer  # resets and invitations (fapiao.mail)
    public_url: str  # where the links in the mails point
    auth_limits: AuthLimits  # login, registration and resets: per IP, per email, hashing bound

    @classmethod
    async def open(cls, settings: Settings) -> AccountsState:
        """Apply the accounts migrations and load (or create) the receipt key pair, off the event loop."""
        engine = make_engine(settings.accounts_url)
        await asyncio.to_thread(migrate, engine)
        keys = CryptoKeys.from_settings(settings)
        await asyncio.to_thread(lambda: keys.receipt_keys)
        ctx = AccountsContext.from_settings(settings, keys=keys, engine=engine)
        return cls(
            ctx,
            engine,
            TokenBuckets(),
            settings.api_key_rate_per_minute,
            IdentityCache(settings.api_key_cache_seconds),
            Mailer.from_settings(settings),
            settings.public_url,
            AuthLimits(
                SharedBuckets(engine),
                keys.hmac_key,
                settings.auth_rate_per_ip_per_minute,
                settings.auth_rate_per_email_per_minute,
                settings.auth_hash_concurrency,
            ),
        )

    def close(self) -> None:
        self.engine.dispose()
