"""Accounts use cases over a real SQLite file migrated by alembic, with a clock the tests move."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select

from fapiao.accounts import api_keys, auth, orgs, resets, twofactor
from fapiao.accounts.context import AccountsContext
from fapiao.accounts.db import alembic_config, make_engine, migrate, session_factory
from fapiao.accounts.demo import DEMO_ORG_ID, bootstrap_demo
from fapiao.accounts.exceptions import (
    AccountLocked,
    Conflict,
    Forbidden,
    InvalidCredentials,
    NotFound,
    ResetTokenExpired,
    ResetTokenInvalid,
    ResetTokenUsed,
    TokenInvalid,
    TotpInvalid,
    WeakPassword,
    WrongCode,
)
from fapiao.accounts.models import AuditEvent, Base, User
from fapiao.accounts.passwords import Passwords
from fapiao.cases import tables as _cases_tables  # noqa: F401  (the cases tables are on Base)
from fapiao.crypto.keys import CryptoKeys
from fapiao.reviews import tables as _review_tables  # noqa: F401
from fapiao.settings import Settings
from fapiao.webhooks import tables as _webhook_tables  # noqa: F401

PASSWORD = "Tr1cky-Lantern-47"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ctx(tmp_path: Path, clock: Clock) -> AccountsContext:
    engine = make_engine(f"sqlite:///{tmp_path}/accounts.db")
    migrate(engine)
    return AccountsContext(
        sessions=session_factory(engine),
        keys=CryptoKeys.from_settings(Settings(keys_dir=tmp_path / "keys")),
        secret=b"k" * 32,
        passwords=Passwords(fast=True),
        expose_tokens=True,
        clock=clock,
    )


def _register(ctx: AccountsContext, email: str = "ada@example.com") -> tuple[str, str]:
    return orgs.register(ctx, "示例科技 Example Co.", email, PASSWORD, "Ada")


def _kinds(ctx: AccountsContext) -> list[str]:
    with ctx.sessions() as s:
        return [e.kind for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_migrations_match_the_models_and_are_idempotent(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/m.db")
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert migrate(engine) == head
    assert migrate(engine) == head
    with engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []


def test_migrations_render_for_postgresql() -> None:
    """No SQLite-only SQL: the same migrations render for PostgreSQL (offline, no server needed)."""
    config = alembic_config("postgresql://fapiao@localhost/accounts")
    config.output_buffer = io.StringIO()
    command.upgrade(config, "head", sql=True)
    sql = config.output_buffer.getvalue()
    assert "CREATE TABLE users" in sql and "TIMESTAMP WITH TIME ZONE" in sql and "BIGSERIAL" in sql


def test_register_then_login(ctx: AccountsContext) -> None:
    org_id, user_id = _register(ctx)
    assert org_id.startswith("org-")
    session = auth.login(ctx, "ADA@example.com ", PASSWORD)
    assert isinstance(session, auth.SessionToken) and session.org_id == org_id
    identity = auth.authenticate_session(ctx, session.token)
    assert (identity.org_id, identity.subject, identity.kind) == (org_id, user_id, "user")
    assert "admin" in identity.roles and "submit" in identity.scopes
    assert _kinds(ctx) == ["org.registered", "login.success"]


def test_registration_refuses_weak_passwords_and_taken_emails(ctx: AccountsContext) -> None:
    with pytest.raises(WeakPassword) as weak:
        orgs.register(ctx, "x", "bob@example.com", "password")
    assert "常见密码" in weak.value.msg_zh
    _register(ctx)
    with pytest.raises(Conflict):
        _register(ctx)


def test_wrong_password_and_unknown_email_look_the_same(ctx: AccountsContext) -> None:
    _register(ctx)
    with pytest.raises(InvalidCredentials) as wrong:
        auth.login(ctx, "ada@example.com", PASSWORD + "x")
    with pytest.raises(InvalidCredentials) as unknown:
        auth.login(ctx, "nobody@example.com", PASSWORD)
    assert str(wrong.value) == str(unknown.value)


def test_lockout_with_back_off_then_success_resets(ctx: AccountsContext, clock: Clock) -> None:
    _register(ctx)
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            auth.login(ctx, "ada@example.com", "Wrong-password-1")
    with pytest.raises(AccountLocked) as locked:
        auth.login(ctx, "ada@example.com", PASSWORD)  # even the right password waits
    assert locked.value.retry_after == 30
    clock.advance(31)
    with pytest.raises(InvalidCredentials):
        auth.login(ctx, "ada@example.com", "Wrong-password-1")  # 6th failure: 60 s
    with pytest.raises(AccountLocked) as longer:
        auth.login(ctx, "ada@example.com", PASSWORD)
    assert longer.value.retry_after == 60
    clock.advance(61)
    assert isinstance(auth.login(ctx, "ada@example.com", PASSWORD), auth.SessionToken)
    with ctx.sessions() as s:
        user = s.scalar(select(User))
        assert user is not None and user.failed_logins == 0 and user.locked_until is None
    assert "login.locked" in _kinds(ctx)


def test_logout_revokes_the_token(ctx: AccountsContext) -> None:
    _register(ctx)
    session = auth.login(ctx, "ada@example.com", PASSWORD)
    assert isinstance(session, auth.SessionToken)
    auth.logout(ctx, session.token)
    with pytest.raises(TokenInvalid):
        auth.authenticate_session(ctx, session.token)


def test_reset_token_is_single_use_and_expires(ctx: AccountsContext, clock: Clock) -> None:
    _register(ctx)
    old_session = auth.login(ctx, "ada@example.com", PASSWORD)
    assert isinstance(old_session, auth.SessionToken)
    assert resets.request_reset(ctx, "nobody@example.com") is None
    token = resets.request_reset(ctx, "ada@example.com")
    assert token
    with pytest.raises(WeakPassword):
        resets.confirm_reset(ctx, token, "short")
    resets.confirm_reset(ctx, token, "New-Lantern-58")
    with pytest.raises(ResetTokenUsed):
        resets.confirm_reset(ctx, token, "Other-Lantern-69")
    with pytest.raises(TokenInvalid):  # a reset ends every session
        auth.authenticate_session(ctx, old_session.token)
    assert isinstance(auth.login(ctx, "ada@example.com", "New-Lantern-58"), auth.SessionToken)

    late = resets.request_reset(ctx, "ada@example.com")
    assert late
    clock.advance(ctx.reset_ttl + 1)
    with pytest.raises(ResetTokenExpired):
        resets.confirm_reset(ctx, late, "Other-Lantern-69")
    with pytest.raises(ResetTokenInvalid):
        resets.confirm_reset(ctx, "made-up-token", "Other-Lantern-69")


def _enable_totp(ctx: AccountsContext, user_id: str, clock: Clock) -> tuple[str, list[str]]:
    uri, png = twofactor.setup(ctx, user_id)
    assert uri.startswith("otpauth://totp/") and png
    secret = pyotp.parse_uri(uri).secret
    with pytest.raises(WrongCode):
        twofactor.enable(ctx, user_id, "000000" if pyotp.TOTP(secret).at(clock.now) != "000000" else "111111")
    codes = twofactor.enable(ctx, user_id, pyotp.TOTP(secret).at(clock.now))
    return secret, codes


def test_totp_login_wrong_code_replay_and_recovery(ctx: AccountsContext, clock: Clock) -> None:
    _, user_id = _register(ctx)
    secret, codes = _enable_totp(ctx, user_id, clock)
    assert len(codes) == 10 and len(set(codes)) == 10
    with ctx.sessions() as s:
        stored = s.get_one(User, user_id).totp_secret
    assert stored and stored.startswith("v1:") and secret not in stored  # SM4-GCM at rest

    challenge = auth.login(ctx, "ada@example.com", PASSWORD)
    assert isinstance(challenge, auth.MfaChallenge)
    with pytest.raises(TotpInvalid):
        auth.login_second_factor(ctx, challenge.mfa_token, code="12345x")
    with pytest.raises(TokenInvalid):  # an MFA token is not a session
        auth.authenticate_session(ctx, challenge.mfa_token)
    with pytest.raises(TotpInvalid):  # the code that enabled 2FA was spent then
        auth.login_second_factor(ctx, challenge.mfa_token, code=pyotp.TOTP(secret).at(clock.now))
    code = pyotp.TOTP(secret).at(clock.now + timedelta(seconds=30))  # next step, within the drift window
    session = auth.login_second_factor(ctx, challenge.mfa_token, code=code)
    assert auth.authenticate_session(ctx, session.token).subject == user_id
    with pytest.raises(TotpInvalid):  # the same code twice: replay
        auth.login_second_factor(ctx, challenge.mfa_token, code=code)

    by_recovery = auth.login_second_factor(ctx, challenge.mfa_token, recovery_code=codes[0].lower())
    assert by_recovery.user_id == user_id
    with pytest.raises(TotpInvalid):  # recovery codes are single-use
        auth.login_second_factor(ctx, challenge.mfa_token, recovery_code=codes[0])


def test_members_roles_and_the_last_admin(ctx: AccountsContext) -> None:
    org_id, admin_id = _register(ctx)
    invited = orgs.add_member(ctx, org_id, admin_id, "bo@example.com", "analyst", "Bo")
    member, invite = invited.member, invited.token
    assert member.invited and invite and invited.accepted_by == "password"
    with pytest.raises(InvalidCredentials):  # no password yet
        auth.login(ctx, "bo@example.com", "")
    resets.confirm_reset(ctx, invite, "Bo-Lantern-2026")
    session = auth.login(ctx, "bo@example.com", "Bo-Lantern-2026")
    assert isinstance(session, auth.SessionToken)
    assert auth.authenticate_session(ctx, session.token).roles == {"analyst"}
    orgs.change_role(ctx, org_id, admin_id, member.user_id, "submitter")
    assert auth.authenticate_session(ctx, session.token).roles == {"submitter"}  # at once
    with pytest.raises(Forbidden):
        orgs.change_role(ctx, org_id, admin_id, admin_id, "analyst")
    with pytest.raises(Forbidden):
        orgs.remove_member(ctx, org_id, admin_id, admin_id)
    orgs.remove_member(ctx, org_id, admin_id, member.user_id)
    with pytest.raises(TokenInvalid):
        auth.authenticate_session(ctx, session.token)
    other_org, _ = _register(ctx, "eve@example.com")
    with pytest.raises(NotFound):
        orgs.change_role(ctx, other_org, "x", admin_id, "submitter")


def test_an_existing_account_joins_only_when_its_owner_accepts(ctx: AccountsContext) -> None:
    """Issue 16: adding an existing account made it a member at once, without asking its owner."""
    org_a, admin_a = _register(ctx, "ann@example.com")
    org_b, admin_b = _register(ctx, "ben@example.com")
    invite = orgs.add_member(ctx, org_b, admin_b, "ann@example.com", "analyst")
    assert invite.accepted_by == "accept" and invite.member.invited
    assert "ann@example.com" not in [m.email for m in orgs.members(ctx, org_b)]  # not yet a member
    session = auth.login(ctx, "ann@example.com", PASSWORD)  # still one organisation: no org_id needed
    assert isinstance(session, auth.SessionToken) and session.org_id == org_a
    with pytest.raises(ResetTokenInvalid):  # someone else's account cannot use the token
        orgs.accept_invitation(ctx, admin_b, invite.token)
    joined = orgs.accept_invitation(ctx, admin_a, invite.token)
    assert joined.role == "analyst" and "ann@example.com" in [m.email for m in orgs.members(ctx, org_b)]
    with pytest.raises(ResetTokenUsed):
        orgs.accept_invitation(ctx, admin_a, invite.token)


def test_api_keys_scoped_shown_once_and_revocable(ctx: AccountsContext, clock: Clock) -> None:
    org_id, admin_id = _register(ctx)
    info, whole = api_keys.create(ctx, org_id, admin_id, "ERP", ["read", "submit"], rate_per_minute=5)
    assert whole.startswith(f"fsk_{info.id}_") and info.scopes == ["submit", "read"]
    identity = api_keys.authenticate(ctx, whole)
    assert (identity.org_id, identity.kind, identity.scopes) == (org_id, "api_key", {"submit", "read"})
    assert identity.rate_per_minute == 5
    api_keys.authenticate(ctx, whole)
    assert _kinds(ctx).count("api_key.used") == 1  # at most once a minute
    clock.advance(61)
    api_keys.authenticate(ctx, whole)
    assert _kinds(ctx).count("api_key.used") == 2
    with pytest.raises(TokenInvalid):
        api_keys.authenticate(ctx, whole[:-1] + ("A" if whole[-1] != "A" else "B"))
    other_org, other_admin = _register(ctx, "eve@example.com")
    with pytest.raises(NotFound):
        api_keys.revoke(ctx, other_org, other_admin, info.id)
    api_keys.revoke(ctx, org_id, admin_id, info.id)
    with pytest.raises(TokenInvalid):
        api_keys.authenticate(ctx, whole)
    assert [k.revoked_at is not None for k in api_keys.list_keys(ctx, org_id)] == [True]
    assert api_keys.list_keys(ctx, other_org) == []


def test_demo_bootstrap_is_idempotent(ctx: AccountsContext, tmp_path: Path) -> None:
    path = tmp_path / "demo.json"
    first = bootstrap_demo(ctx, path)
    assert first["org_id"] == DEMO_ORG_ID and path.stat().st_mode & 0o777 == 0o600
    assert bootstrap_demo(ctx, path) == first
    assert api_keys.authenticate(ctx, first["api_key"]).org_id == DEMO_ORG_ID
    assert isinstance(auth.login(ctx, first["email"], first["password"]), auth.SessionToken)
    api_keys.revoke(ctx, DEMO_ORG_ID, "x", api_keys.list_keys(ctx, DEMO_ORG_ID)[0].id)
    again = bootstrap_demo(ctx, path)
    assert again["api_key"] != first["api_key"] and again["password"] == first["password"]


def test_a_retried_result_holds_its_follow_up_back_until_it_is_delivered(
    ctx: AccountsContext, clock: Clock
) -> None:
    from fapiao.webhooks import policy, store

    org, user = _register(ctx)
    store.create(ctx, org, user, "url", "https://erp.example.com/hook", ["result", "follow_up"])
    [target] = store.targets(ctx)

    def event(kind: policy.EventType, event_id: str) -> policy.Event:
        return policy.Event(kind, org, event_id, clock(), {"n": event_id})

    made = store.enqueue(
        ctx,
        [
            (target, event("result", "c1:1")),
            (target, event("follow_up", "c1:2")),
            (target, event("result", "c2:1")),
        ],
    )
    assert made == 3
    first = store.due(ctx, clock(), 50)
    assert [d.event_id for d in first] == ["c1:1", "c2:1"]  # c1's follow-up waits for its result
    by_id = {d.event_id: d.id for d in first}
    store.record(ctx, by_id["c2:1"], True, 200, "ok", None)
    store.record(ctx, by_id["c1:1"], False, 503, "busy", None)  # retried later
    clock.advance(60)
    assert [d.event_id for d in store.due(ctx, clock(), 50)] == ["c1:1"]  # still held behind the retry
    store.record(ctx, by_id["c1:1"], True, 200, "ok", None)
    assert [d.event_id for d in store.due(ctx, clock(), 50)] == ["c1:2"]
