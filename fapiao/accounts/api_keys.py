"""API keys for systems: created and revoked by admins, shown once, stored as an SM3 digest, scoped.

A key reads `fsk_<id>_<secret>`: the 12-hex-digit id is public (lists, logs, audit), the secret is 256
random bits. Use is recorded (last_used_at and an audit event) at most once a minute per key, so the
audit log stays readable and a busy key does not write on every request.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from fapiao.accounts import audit
from fapiao.accounts.context import AccountsContext
from fapiao.accounts.exceptions import InvalidInput, NotFound, TokenInvalid
from fapiao.accounts.models import SCOPES, ApiKey
from fapiao.accounts.roles import Identity, parse_scopes
from fapiao.accounts.tokens import digest, new_token

PREFIX = "fsk"
_KEY = re.compile(r"^fsk_([0-9a-f]{12})_[A-Za-z0-9_-]{20,100}$")
USE_RECORD_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class ApiKeyInfo:
    id: str
    name: str
    scopes: list[str]
    rate_per_minute: int | None
    created_by: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def hint(self) -> str:
        return f"{PREFIX}_{self.id}_…"


def create(
    ctx: AccountsContext,
    org_id: str,
    actor: str | None,
    name: str,
    scopes: list[str],
    rate_per_minute: int | None = None,
    ip: str | None = None,
) -> tuple[ApiKeyInfo, str]:
    """A new key: (its description, the whole key: shown this once, never again)."""
    if not scopes or not set(scopes) <= set(SCOPES):
        raise InvalidInput(
            f"scopes: one or more of {', '.join(SCOPES)}", f"权限范围须为 {', '.join(SCOPES)} 之一或多项"
        )
    key_id = secrets.token_hex(6)
    whole = f"{PREFIX}_{key_id}_{new_token(32)}"
    now = ctx.clock()
    ordered = ",".join(s for s in SCOPES if s in scopes)
    with ctx.sessions.begin() as s:
        row = ApiKey(
            id=key_id,
            org_id=org_id,
            name=name,
            secret_hash=digest(whole),
            scopes=ordered,
            rate_per_minute=rate_per_minute,
            created_by=actor,
            created_at=now,
        )
        s.add(row)
        audit.record(
            s, now, "api_key.created", actor or "system", org_id, ip=ip, key_id=key_id, scopes=ordered
        )
        return _info(row), whole


def list_keys(ctx: AccountsContext, org_id: str) -> list[ApiKeyInfo]:
    with ctx.sessions() as s:
        rows = s.scalars(select(ApiKey).where(ApiKey.org_id == org_id).order_by(ApiKey.created_at))
        return [_info(row) for row in rows]


def revoke(ctx: AccountsContext, org_id: str, actor: str, key_id: str, ip: str | None = None) -> ApiKeyInfo:
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        row = s.get(ApiKey, key_id)
        if row is None or row.org_id != org_id:  # another organisation's key does not exist for you
            raise NotFound("no such API key", "无此 API 密钥")
        if row.revoked_at is None:
            row.revoked_at = now
            audit.record(s, now, "api_key.revoked", actor, org_id, ip=ip, key_id=key_id)
        return _info(row)


def authenticate(ctx: AccountsContext, presented: str, ip: str | None = None) -> Identity:
    match = _KEY.match(presented.strip())
    if match is None:
        raise TokenInvalid()
    now = ctx.clock()
    with ctx.sessions() as s:
        row = s.get(ApiKey, match.group(1))
        good = row is not None and hmac.compare_digest(row.secret_hash, digest(presented.strip()))
        if row is None or not good or row.revoked_at is not None:
            if row is not None:
                reason = "revoked" if good else "wrong secret"
                audit.record(s, now, "api_key.rejected", row.id, row.org_id, "denied", ip, reason=reason)
                s.commit()
            raise TokenInvalid()
        if row.last_used_at is None or now - row.last_used_at >= USE_RECORD_INTERVAL:
            row.last_used_at = now
            audit.record(s, now, "api_key.used", row.id, row.org_id, ip=ip)
            s.commit()
        return Identity(
            row.org_id, row.id, "api_key", frozenset(), parse_scopes(row.scopes), row.rate_per_minute
        )


def _info(row: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        name=row.name,
        scopes=row.scopes.split(","),
        rate_per_minute=row.rate_per_minute,
        created_by=row.created_by,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )
