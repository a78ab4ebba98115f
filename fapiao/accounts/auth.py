"""Logging in (password, then TOTP when enabled), logging out, and authenticating session tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fapiao.accounts import audit, tokens
from fapiao.accounts.context import AccountsContext
from fapiao.accounts.exceptions import (
    AccountLocked,
    AccountsError,
    InvalidCredentials,
    InvalidInput,
    TokenInvalid,
    TotpInvalid,
)
from fapiao.accounts.models import Membership, RevokedSession, User
from fapiao.accounts.people import normalise_email
from fapiao.accounts.roles import Identity, user_identity
from fapiao.accounts.twofactor import matching_step, secret_context, use_recovery_code

MFA_TTL_SECONDS = 300


@dataclass(frozen=True)
class SessionToken:
    token: str
    expires_at: datetime
    org_id: str
    user_id: str


@dataclass(frozen=True)
class MfaChallenge:
    """The password was right; a TOTP or recovery code must follow with this short-lived token."""

    mfa_token: str
    expires_at: datetime


def login(
    ctx: AccountsContext, email: str, password: str, org_id: str | None = None, ip: str | None = None
) -> SessionToken | MfaChallenge:
    try:
        email = normalise_email(email)
    except InvalidInput as exc:
        raise InvalidCredentials() from exc
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        user = s.scalar(select(User).where(User.email == email))
        locked = _check_lock(ctx, s, user, now, ip, email)
        if locked is None:
            good = ctx.passwords.verify(user.password_hash if user else None, password)
            if user is None or not good or user.disabled_at is not None:
                if user is None:
                    ctx.strangers.failed(s, email, now)
                _failed(
                    ctx,
                    s,
                    user,
                    now,
                    ip,
                    "login.failure",
                    actor=user.id if user else audit.email_actor(email),
                )
                error: AccountsError = InvalidCredentials()
            else:
                if user.password_hash and ctx.passwords.needs_rehash(user.password_hash):
                    user.password_hash = ctx.passwords.hash(password)
                chosen = _organisation(s, user.id, org_id)
                if user.totp_enabled:
                    token, _, expires = tokens.issue(
                        ctx.secret, "mfa", user.id, chosen, user.session_version, MFA_TTL_SECONDS, now
                    )
                    audit.record(s, now, "login.password_ok", user.id, chosen, ip=ip)
                    return MfaChallenge(token, expires)
                return _session(ctx, s, user, chosen, now, ip)
        else:
            error = locked
    raise error


def login_second_factor(
    ctx: AccountsContext,
    mfa_token: str,
    code: str | None = None,
    recovery_code: str | None = None,
    ip: str | None = None,
) -> SessionToken:
    claims = tokens.decode(ctx.secret, mfa_token, "mfa")
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        user = s.get(User, claims["sub"])
        if (
            user is None
            or user.session_version != claims["sv"]
            or not user.totp_enabled
            or not user.totp_secret
        ):
            raise TokenInvalid()
        locked = _check_lock(ctx, s, user, now, ip)
        if locked is None:
            secret = ctx.keys.sm4.decrypt_text(user.totp_secret, secret_context(user.id))
            step = matching_step(secret, code, user.totp_last_step, now) if code else None
            if step is not None:
                user.totp_last_step = step
                return _session(ctx, s, user, claims["org"], now, ip)
            if recovery_code and use_recovery_code(s, user.id, recovery_code, now):
                audit.record(s, now, "totp.recovery_code_used", user.id, claims["org"], ip=ip)
                return _session(ctx, s, user, claims["org"], now, ip)
            _failed(ctx, s, user, now, ip, "login.totp_failure", actor=user.id)
            error: AccountsError = TotpInvalid()
        else:
            error = locked
    raise error


def logout(ctx: AccountsContext, token: str, ip: str | None = None) -> None:
    claims = tokens.decode(ctx.secret, token, "session")
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        s.execute(delete(RevokedSession).where(RevokedSession.expires_at < now))
        if s.get(RevokedSession, claims["jti"]) is None:
            s.add(
                RevokedSession(
                    jti=claims["jti"], expires_at=datetime.fromtimestamp(claims["exp"], now.tzinfo)
                )
            )
        audit.record(s, now, "logout", claims["sub"], claims["org"], ip=ip)


def authenticate_session(ctx: AccountsContext, token: str) -> Identity:
    """The caller behind a session token, as the store knows them now (role changes apply at once)."""
    claims = tokens.decode(ctx.secret, token, "session")
    with ctx.sessions() as s:
        row = s.execute(
            select(User, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(User.id == claims["sub"], Membership.org_id == claims["org"])
        ).first()
        if row is None:
            raise TokenInvalid()
        user, role = row
        if user.disabled_at is not None or user.session_version != claims["sv"]:
            raise TokenInvalid()
        if s.get(RevokedSession, claims["jti"]) is not None:
            raise TokenInvalid()
    return user_identity(claims["org"], user.id, role)


def _check_lock(
    ctx: AccountsContext, s: Session, user: User | None, now: datetime, ip: str | None, email: str = ""
) -> AccountLocked | None:
    if user is None:  # an email without an account locks the same way (no enumeration by 429 vs 401)
        wait = ctx.strangers.retry_after(s, email, now) if email else 0
        if wait:
            audit.record(
                s, now, "login.locked", audit.email_actor(email), None, "denied", ip, retry_after=wait
            )
        return AccountLocked(wait) if wait else None
    wait = ctx.lockout.retry_after(user.locked_until, now)
    if not wait:
        return None
    audit.record(s, now, "login.locked", user.id, _org_of(s, user.id), "denied", ip, retry_after=wait)
    return AccountLocked(wait)


def _failed(
    ctx: AccountsContext, s: Session, user: User | None, now: datetime, ip: str | None, kind: str, actor: str
) -> None:
    org_id = None
    if user is not None:
        user.failed_logins += 1
        user.locked_until = ctx.lockout.locked_until(user.failed_logins, now)
        org_id = _org_of(s, user.id)
    failures = user.failed_logins if user else None
    audit.record(s, now, kind, actor, org_id, "denied", ip, failures=failures)


def _org_of(s: Session, user_id: str) -> str | None:
    """Where a failure against this account is shown to admins (its first organisation)."""
    return s.scalar(
        select(Membership.org_id).where(Membership.user_id == user_id).order_by(Membership.created_at)
    )


def _organisation(s: Session, user_id: str, wanted: str | None) -> str:
    orgs = list(s.scalars(select(Membership.org_id).where(Membership.user_id == user_id)))
    if wanted is not None:
        if wanted not in orgs:
            raise InvalidCredentials()
        return wanted
    if not orgs:
        raise InvalidCredentials()
    if len(orgs) > 1:
        raise InvalidInput(
            f"this account belongs to several organisations: give org_id ({', '.join(sorted(orgs))})",
            f"该账户属于多个组织，请指定 org_id（{', '.join(sorted(orgs))}）",
        )
    return orgs[0]


def _session(
    ctx: AccountsContext, s: Session, user: User, org_id: str, now: datetime, ip: str | None
) -> SessionToken:
    user.failed_logins, user.locked_until = 0, None
    token, _, expires = tokens.issue(
        ctx.secret, "session", user.id, org_id, user.session_version, ctx.session_ttl, now
    )
    audit.record(s, now, "login.success", user.id, org_id, ip=ip)
    return SessionToken(token, expires, org_id, user.id)
