"""Errors of the accounts package, each with an English and a Chinese message and a `kind` that the
API maps to an HTTP status (the package itself knows nothing of HTTP)."""

from __future__ import annotations

from typing import ClassVar, Literal

Kind = Literal["invalid", "unauthorized", "forbidden", "not_found", "conflict", "locked"]


class AccountsError(Exception):
    kind: ClassVar[Kind] = "invalid"
    code: ClassVar[str] = "accounts_error"
    message_en: ClassVar[str] = "account error"
    message_zh: ClassVar[str] = "账户错误"

    def __init__(self, message_en: str | None = None, message_zh: str | None = None) -> None:
        self.msg_en = message_en or self.message_en
        self.msg_zh = message_zh or self.message_zh
        super().__init__(self.msg_en)


class InvalidCredentials(AccountsError):
    kind = "unauthorized"
    code = "invalid_credentials"
    message_en = "wrong email or password"
    message_zh = "邮箱或密码错误"


class AccountLocked(AccountsError):
    kind = "locked"
    code = "account_locked"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(
            f"too many failed attempts: the account is locked, try again in {self.retry_after} s",
            f"失败次数过多，账户已临时锁定，请 {self.retry_after} 秒后再试",
        )


class TokenInvalid(AccountsError):
    kind = "unauthorized"
    code = "invalid_token"
    message_en = "missing, invalid, expired or revoked credentials"
    message_zh = "凭证缺失、无效、已过期或已吊销"


class TotpInvalid(AccountsError):
    kind = "unauthorized"
    code = "invalid_totp"
    message_en = "wrong or already used verification code"
    message_zh = "动态验证码错误或已使用"


class ResetTokenInvalid(AccountsError):
    code = "invalid_reset_token"
    message_en = "unknown password reset token"
    message_zh = "重置令牌无效"


class ResetTokenUsed(AccountsError):
    code = "reset_token_used"
    message_en = "this password reset token has already been used"
    message_zh = "该重置令牌已被使用"


class ResetTokenExpired(AccountsError):
    code = "reset_token_expired"
    message_en = "this password reset token has expired: request a new one"
    message_zh = "该重置令牌已过期，请重新申请"


class WeakPassword(AccountsError):
    code = "weak_password"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(en for en, _ in problems), "；".join(zh for _, zh in problems))


class Conflict(AccountsError):
    kind = "conflict"
    code = "conflict"


class NotFound(AccountsError):
    kind = "not_found"
    code = "not_found"
    message_en = "not found"
    message_zh = "未找到"


class Forbidden(AccountsError):
    kind = "forbidden"
    code = "forbidden"
    message_en = "not allowed"
    message_zh = "无权执行此操作"


class WrongCode(AccountsError):
    code = "wrong_totp"
    message_en = "wrong verification code: check the authenticator app's clock and try the next code"
    message_zh = "动态验证码错误，请检查验证器时间后输入新的验证码"


class InvalidInput(AccountsError):
    code = "invalid_input"
