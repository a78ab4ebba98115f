"""The accounts store on a real PostgreSQL server (docker-compose runs it there; SQLite is the default):
alembic migrations, then registration, login, lockout, password reset, API keys and the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, select, text

from fapiao.accounts import api_keys, audit, auth, orgs, resets
from fapiao.accounts.attempts import SharedBuckets
from fapiao.accounts.context import AccountsContext
from fapiao.accounts.db import alembic_config, make_engine, migrate, session_factory
from fapiao.accounts.exceptions import AccountLocked, Conflict, InvalidCredentials, TokenInvalid
from fapiao.accounts.models import AuditEvent, Base, User
from fapiao.accounts.passwords import Passwords
from fapiao.crypto.keys import CryptoKeys
from fapiao.settings import Settings
from tests.integration.postgres_server import postgres_server

PASSWORD = "Tr1cky-Lantern-47"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with postgres_server() as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture(scope="module")
def ctx(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> AccountsContext:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert migrate(engine) == head
    return AccountsContext(
        sessions=session_factory(engine),
        keys=CryptoKeys.from_settings(Settings(keys_dir=tmp_path_factory.mktemp("keys"))),
        secret=b"k" * 32,
        passwords=Passwords(fast=True),
        expose_tokens=True,
        clock=Clock(),
    )


def test_migrations_run_on_postgresql_and_match_the_models(engine: Engine, ctx: AccountsContext) -> None:
    assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert migrate(engine) == head  # idempotent
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version()")).scalar_one().startswith("PostgreSQL")
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []


def test_accounts_keys_and_audit_on_postgresql(ctx: AccountsContext, tmp_path: Path) -> None:
    org_id, admin_id = orgs.register(ctx, "示例科技 Example Co.", "ada@example.com", PASSWORD, "Ada")
    with pytest.raises(Conflict):  # the unique e-mail, enforced by PostgreSQL
        orgs.register(ctx, "Other", "ADA@example.com", PASSWORD, "Ada 2")

    session = auth.login(ctx, "Ada@Example.com", PASSWORD)
    assert isinstance(session, auth.SessionToken) and session.org_id == org_id
    assert auth.authenticate_session(ctx, session.token).subject == admin_id
    auth.logout(ctx, session.token)
    with pytest.raises(TokenInvalid):
        auth.authenticate_session(ctx, session.token)

    # lockout state (timestamps with time zone) round-trips through PostgreSQL
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            auth.login(ctx, "ada@example.com", "Wrong-password-1")
    with pytest.raises(AccountLocked):
        auth.login(ctx, "ada@example.com", PASSWORD)
    ctx.clock.now += timedelta(seconds=31)  # type: ignore[attr-defined]

    token = resets.request_reset(ctx, "ada@example.com")
    assert token is not None
    resets.confirm_reset(ctx, token, "New-Lantern-58")
    assert isinstance(auth.login(ctx, "ada@example.com", "New-Lantern-58"), auth.SessionToken)

    info, whole = api_keys.create(ctx, org_id, admin_id, "ERP", ["read", "submit"], rate_per_minute=5)
    identity = api_keys.authenticate(ctx, whole)
    assert (identity.org_id, identity.kind, set(identity.scopes)) == (org_id, "api_key", {"read", "submit"})
    assert [k.id for k in api_keys.list_keys(ctx, org_id)] == [info.id]
    api_keys.revoke(ctx, org_id, admin_id, info.id)
    with pytest.raises(TokenInvalid):
        api_keys.authenticate(ctx, whole)

    with ctx.sessions() as s:
        kinds = [e.kind for e in reversed(audit.events(s, org_id, limit=50))]
        every_kind = set(s.scalars(select(AuditEvent.kind)))
        user = s.scalars(select(User).where(User.id == admin_id)).one()
    assert kinds[:3] == ["org.registered", "login.success", "logout"]
    for kind in ("login.failure", "login.locked", "api_key.created", "api_key.used", "api_key.revoked"):
        assert kind in kinds, kinds
    assert {"password_reset.requested", "password_reset.completed"} <= every_kind
    assert user.password_hash and user.password_hash.startswith("$argon2")


def test_attempt_limits_and_unknown_email_locks_on_postgresql(engine: Engine, ctx: AccountsContext) -> None:
    """The shared attempt limits (fapiao/accounts/attempts.py) through PostgreSQL's upserts: one bucket
    for two API processes (two engines, as two processes hold), and an unknown email locked by logins."""
    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        now = 2_000_000.0
        a, b = SharedBuckets(engine, clock=lambda: now), SharedBuckets(other, clock=lambda: now)
        assert [(a, b)[i % 2].take("ip:10.0.0.1", 4) for i in range(4)] == [0.0] * 4
        assert b.take("ip:10.0.0.1", 4) == pytest.approx(15.0) == a.take("ip:10.0.0.1", 4)
    finally:
        other.dispose()
    nobody = "nobody-pg@example.com"
    for _ in range(ctx.lockout.threshold):
        with pytest.raises(InvalidCredentials):
            auth.login(ctx, nobody, "Wrong-Lantern-11")
    with pytest.raises(AccountLocked):
        auth.login(ctx, nobody, "Wrong-Lantern-11")
