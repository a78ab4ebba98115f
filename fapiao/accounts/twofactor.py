"""TOTP two-factor authentication (RFC 6238, pyotp) with single-use recovery codes.

The TOTP secret is stored SM4-GCM encrypted, bound to its user id; a code is accepted once (the
matched time step is remembered) within one step of clock drift either way. Recovery codes are shown
once and stored as SM3 digests.
"""

from __future__ import annotations

import base64
import hmac
import io
from datetime import datetime

import pyotp
import qrcode
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fapiao.accounts import audit
from fapiao.accounts.context import AccountsContext
from fapiao.accounts.exceptions import Conflict, WrongCode
from fapiao.accounts.models import RecoveryCode, User
from fapiao.accounts.tokens import digest, new_recovery_code, normalise_recovery_code

ISSUER = "Fapiao Sentinel"
RECOVERY_CODES = 10
STEP_SECONDS = 30


def secret_context(user_id: str) -> str:
    return f"totp:{user_id}"


def matching_step(secret: str, code: str, last_step: int | None, now: datetime) -> int | None:
    """The time step `code` is valid for (now ± 1 step, newer than `last_step`), or None."""
    code = code.strip()
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def use_recovery_code(s: Session, user_id: str, code: str, now: datetime) -> bool:
    row = s.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == digest(normalise_recovery_code(code)),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return False
    row.used_at = now
    return True


def qr_png_base64(uri: str) -> str:
    buffer = io.BytesIO()
    qrcode.make(uri, box_size=6, border=2).save(buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def setup(ctx: AccountsContext, user_id: str, ip: str | None = None) -> tuple[str, str]:
    """Start enrolment: a new secret (pending until `enable`). (otpauth URI, QR code PNG in base64)."""
    secret = pyotp.random_base32()
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        user = s.get_one(User, user_id)
        if user.totp_enabled:
            raise Conflict("two-factor authentication is already on", "已启用双因素认证")
        user.totp_secret = ctx.keys.sm4.encrypt_text(secret, secret_context(user_id))
        user.totp_last_step = None
        audit.record(s, now, "totp.setup", user_id, ip=ip)
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return uri, qr_png_base64(uri)


def enable(ctx: AccountsContext, user_id: str, code: str, ip: str | None = None) -> list[str]:
    """Turn 2FA on with a first code from the app; returns the recovery codes (shown once)."""
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        user = s.get_one(User, user_id)
        if user.totp_enabled:
            raise Conflict("two-factor authentication is already on", "已启用双因素认证")
        if user.totp_secret is None:
            raise Conflict("start with /v1/auth/2fa/setup", "请先调用 /v1/auth/2fa/setup")
        step = matching_step(
            ctx.keys.sm4.decrypt_text(user.totp_secret, secret_context(user_id)), code, None, now
        )
        if step is None:
            raise WrongCode()
        user.totp_enabled, user.totp_last_step = True, step
        codes = _replace_recovery_codes(s, user_id)
        audit.record(s, now, "totp.enabled", user_id, ip=ip)
        return codes


def regenerate_recovery_codes(
    ctx: AccountsContext, user_id: str, code: str, ip: str | None = None
) -> list[str]:
    """New recovery codes (the old ones stop working), confirmed with a current TOTP code."""
    now = ctx.clock()
    with ctx.sessions.begin() as s:
        user = s.get_one(User, user_id)
        if not user.totp_enabled or user.totp_secret is None:
            raise Conflict("two-factor authentication is off", "未启用双因素认证")
        secret = ctx.keys.sm4.decrypt_text(user.totp_secret, secret_context(user_id))
        step = matching_step(secret, code, user.totp_last_step, now)
        if step is None:
            raise WrongCode()
        user.totp_last_step = step
        codes = _replace_recovery_codes(s, user_id)
        audit.record(s, now, "totp.recovery_codes_regenerated", user_id, ip=ip)
        return codes


def _replace_recovery_codes(s: Session, user_id: str) -> list[str]:
    s.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    s.add_all(RecoveryCode(user_id=user_id, code_hash=digest(normalise_recovery_code(c))) for c in codes)
    return codes
