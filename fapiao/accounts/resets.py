"""Password reset (and invitation) by single-use, expiring tokens; only their SM3 digest is stored."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fapiao.accounts import audit
from fapiao.accounts.context import AccountsContext
from fapiao.accounts.exceptions import ResetTokenExpired, ResetTokenInvalid, ResetTokenUsed, WeakPassword
from fapiao.accounts.models import PasswordResetToken, User
from fapiao.accounts.passwords import password_problems
from fapiao.accounts.people import normalise_email
from fapiao.accounts.tokens import digest, new_token

INVITE_TTL_SECONDS = 72 * 3600


def issue_token(s: Session, user_id: str, purpose: str, ttl: int, now: datetime) -> str:
    token = new_token()
    s.add(
        PasswordResetToken(
            user_id=user_id,
            token_hash=digest(token),
            purpose=purpose,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl),
        )
    )
    return token


def request_reset(ctx: AccountsContext, email: str, ip: str | None = None) -> str | None:
    """A reset token for the account with this email, or None when there is none (the API answers the
    same either way, so nobody learns which emails have accounts)."""
    email = normalise_email(email)
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        user = s.scalar(select(User).where(User.email == email))
        if user is None or user.disabled_at is not None:
            audit.record(
                s, now, "password_reset.requested", audit.email_actor(email), outcome="denied", ip=ip
            )
            return None
        token = issue_token(s, user.id, "reset", ctx.reset_ttl, now)
        audit.record(s, now, "password_reset.requested", user.id, ip=ip)
        return token


def confirm_reset(ctx: AccountsContext, token: str, new_password: str, ip: str | None = None) -> str:
    """Set the password with a reset or invitation token: the user id. Ends every session of the user,
    clears the lockout, and spends this and every other open token of the user."""
    if problems := password_problems(new_password):
        raise WeakPassword(problems)
    password_hash = ctx.passwords.hash(new_password)
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        row = s.scalar(select(PasswordResetToken).where(PasswordResetToken.token_hash == digest(token)))
        if row is None:
            raise ResetTokenInvalid()
        if row.used_at is not None:
            raise ResetTokenUsed()
        if row.expires_at <= now:
            raise ResetTokenExpired()
        user = s.get_one(User, row.user_id)
        user.password_hash = password_hash
        user.session_version += 1
        user.failed_logins = 0
        user.locked_until = None
        s.execute(
            update(PasswordResetToken)
            .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
            .values(used_at=now)
        )
        audit.record(
            s,
            now,
            f"password_reset.{'completed' if row.purpose == 'reset' else 'invite_accepted'}",
            user.id,
            ip=ip,
        )
        return user.id
