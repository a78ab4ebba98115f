"""HTTP models of accounts, organisations, API keys and receipts (input `…In`/`…Create`, output `…Out`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RoleName = Literal["submitter", "analyst", "admin"]
ScopeName = Literal["submit", "read", "alerts"]
Password = Field(min_length=1, max_length=1024, description="≥10 chars, upper, lower, digit, symbol")
Email = Field(min_length=3, max_length=254, examples=["ada@example.com"])


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterIn(In):
    org_name: str = Field(min_length=1, max_length=200, examples=["北京示例科技有限公司"])
    email: str = Email
    password: str = Password
    display_name: str = Field(default="", max_length=100)


class RegisterOut(BaseModel):
    org_id: str
    user_id: str


class LoginIn(In):
    email: str = Email
    password: str = Password
    org_id: str | None = Field(default=None, max_length=64, description="when the account is in several")


class Login2faIn(In):
    mfa_token: str = Field(max_length=2048)
    code: str | None = Field(default=None, max_length=10, description="6-digit TOTP code")
    recovery_code: str | None = Field(default=None, max_length=40)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    org_id: str


class MfaRequiredOut(BaseModel):
    mfa_required: Literal[True] = True
    mfa_token: str = Field(description="POST it with a TOTP or recovery code to /v1/auth/login/2fa")
    expires_at: datetime


class ResetRequestIn(In):
    email: str = Email


class ResetRequestOut(BaseModel):
    status: Literal["accepted"] = "accepted"
    msg: str = "if the account exists, a reset token has been sent to its email address"
    msg_zh: str = "如账户存在，密码重置令牌已发送至其邮箱"
    reset_token: str | None = Field(
        default=None,
        description="only with FAPIAO_DEV_EXPOSE_TOKENS (local development); otherwise it goes by mail",
    )


class InvitationAcceptIn(In):
    token: str = Field(max_length=200, description="from the invitation mail")


class ResetConfirmIn(In):
    token: str = Field(max_length=200)
    new_password: str = Password


class TotpSetupOut(BaseModel):
    otpauth_uri: str
    qr_png_base64: str


class TotpCodeIn(In):
    code: str = Field(min_length=6, max_length=10)


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="each works once; shown only now")


class MeOut(BaseModel):
    org_id: str
    org_name: str | None
    subject: str
    kind: str
    roles: list[str]
    scopes: list[str]
    requester: str = Field(
        description="the requester label of the checks you submit: your member reference (users), the key id"
    )


class MemberOut(BaseModel):
    user_id: str
    email: str
    display_name: str
    role: RoleName
    totp_enabled: bool
    invited: bool
    joined_at: datetime


class MembersOut(BaseModel):
    data: list[MemberOut]
    count: int


class MemberCreate(In):
    email: str = Email
    role: RoleName
    display_name: str = Field(default="", max_length=100)


class MemberCreatedOut(MemberOut):
    invite_token: str | None = Field(
        default=None,
        description="only with FAPIAO_DEV_EXPOSE_TOKENS (local development); otherwise it goes by mail",
    )


class MemberUpdate(In):
    role: RoleName


class ApiKeyCreate(In):
    name: str = Field(min_length=1, max_length=100, examples=["ERP reimbursement"])
    scopes: list[ScopeName] = Field(min_length=1, examples=[["submit", "read"]])
    rate_per_minute: int | None = Field(default=None, ge=1, le=100_000, description="default: the server's")


class ApiKeyOut(BaseModel):
    id: str
    hint: str
    name: str
    scopes: list[str]
    rate_per_minute: int | None
    created_by: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreatedOut(ApiKeyOut):
    key: str = Field(description="the whole key, shown this once: send it as X-API-Key")


class ApiKeysOut(BaseModel):
    data: list[ApiKeyOut]
    count: int


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    kind: str
    outcome: str
    ip: str | None
    detail: dict[str, Any] | None


class AuditEventsOut(BaseModel):
    data: list[AuditEventOut]
    count: int
