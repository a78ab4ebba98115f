"""Who is calling: the one place the API decides the caller's organisation, roles and scopes.

Every route that reads or writes organisation data takes `PrincipalDep` (or one of the `require_*`
aliases below) and filters by `principal.org_id`; nothing else decides scoping.

Callers authenticate with `Authorization: Bearer <session token>` (users, from /v1/auth/login) or
`X-API-Key: <key>` (systems). Missing, malformed, forged, expired or revoked credentials get 401; a
valid caller without the scope or role a route needs gets 403. Each caller is rate-limited (429 with
Retry-After). Roles: admin includes analyst and submitter; scopes come from the role (users) or were
chosen when the key was made (API keys), see `fapiao.accounts.roles`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Literal, cast

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from fapiao.accounts import api_keys, auth
from fapiao.accounts.exceptions import TokenInvalid
from fapiao.accounts.roles import Identity
from services.api.accounts_state import AccountsState
from services.api.rate_limit import too_many

Role = Literal["submitter", "analyst", "admin"]
Scope = Literal["submit", "read", "alerts"]


@dataclass(frozen=True)
class Principal:
    org_id: str
    subject: str  # user id or API key id
    kind: Literal["user", "api_key", "anonymous"]
    roles: frozenset[Role] = field(default_factory=frozenset)
    scopes: frozenset[Scope] = field(default_factory=frozenset)


_bearer = HTTPBearer(auto_error=False, description="a session token from POST /v1/auth/login")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key from POST /v1/api-keys")

UNAUTHENTICATED = {
    "code": "unauthenticated",
    "msg": "authentication required: send `Authorization: Bearer <token>` or `X-API-Key: <key>`",
    "msg_zh": "需要身份认证：请提供 Authorization: Bearer <令牌> 或 X-API-Key: <密钥>",
}


def accounts_of(request: Request) -> AccountsState:
    return cast(AccountsState, request.app.state.accounts)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def unauthorized(detail: dict[str, str]) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


async def current_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    accounts = accounts_of(request)
    try:
        if api_key:
            cached = accounts.key_cache.get(api_key)
            if cached is not None:
                identity = cached
            else:
                identity = await run_in_threadpool(
                    api_keys.authenticate, accounts.ctx, api_key, client_ip(request)
                )
                accounts.key_cache.put(api_key, identity)
        elif bearer is not None and bearer.scheme.lower() == "bearer":
            identity = await run_in_threadpool(auth.authenticate_session, accounts.ctx, bearer.credentials)
        else:
            raise unauthorized(UNAUTHENTICATED)
    except TokenInvalid as exc:
        raise unauthorized({"code": exc.code, "msg": exc.msg_en, "msg_zh": exc.msg_zh}) from exc
    _rate_limit(accounts, identity)
    return Principal(
        org_id=identity.org_id,
        subject=identity.subject,
        kind="user" if identity.kind == "user" else "api_key",
        roles=cast(frozenset[Role], identity.roles),
        scopes=cast(frozenset[Scope], identity.scopes),
    )


def _rate_limit(accounts: AccountsState, identity: Identity) -> None:
    rate = identity.rate_per_minute or accounts.default_rate_per_minute
    wait = accounts.buckets.take(f"{identity.kind}:{identity.subject}", rate)
    if wait > 0:
        raise too_many(
            wait,
            "rate_limited",
            f"rate limit of {rate} requests per minute reached: retry in {{s}} s",
            f"已达到每分钟 {rate} 次的调用上限，请 {{s}} 秒后重试",
        )


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_scope(scope: Scope) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the caller, who must hold `scope` (403 otherwise)."""

    async def dependency(principal: PrincipalDep) -> Principal:
        if scope not in principal.scopes:
            raise HTTPException(
                status_code=403,
                detail={
                    "code": "missing_scope",
                    "msg": f"this needs the `{scope}` scope",
                    "msg_zh": f"需要 `{scope}` 权限范围",
                },
            )
        return principal

    return dependency


def require_role(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the caller, a user with `role` in their organisation (403 otherwise; keys have none)."""

    async def dependency(principal: PrincipalDep) -> Principal:
        if role not in principal.roles:
            raise HTTPException(
                status_code=403,
                detail={
                    "code": "missing_role",
                    "msg": f"this needs the {role} role",
                    "msg_zh": f"需要{_ZH[role]}角色",
                },
            )
        return principal

    return dependency


_ZH: dict[str, str] = {"submitter": "提交人", "analyst": "分析员", "admin": "管理员"}


async def _may_change(principal: PrincipalDep) -> Principal:
    """Changing the organisation's data (saved reports, re-verification) needs more than reading: the
    `submit` scope (keys, submitters) or the analyst role (analysts, admins). Read-only keys only read."""
    if "submit" in principal.scopes or "analyst" in principal.roles:
        return principal
    raise HTTPException(
        status_code=403,
        detail={
            "code": "read_only",
            "msg": "read-only credentials: this needs the `submit` scope or the analyst role",
            "msg_zh": "只读凭据：需要 `submit` 权限范围或分析员角色",
        },
    )


SubmitPrincipal = Annotated[Principal, Depends(require_scope("submit"))]
ReadPrincipal = Annotated[Principal, Depends(require_scope("read"))]
AlertsPrincipal = Annotated[Principal, Depends(require_scope("alerts"))]
AnalystPrincipal = Annotated[Principal, Depends(require_role("analyst"))]
AdminPrincipal = Annotated[Principal, Depends(require_role("admin"))]
ChangePrincipal = Annotated[Principal, Depends(_may_change)]


async def _user(principal: PrincipalDep) -> Principal:
    if principal.kind != "user":
        raise HTTPException(
            status_code=403,
            detail={
                "code": "users_only",
                "msg": "only a logged-in user can do this",
                "msg_zh": "仅限登录用户操作",
            },
        )
    return principal


UserPrincipal = Annotated[Principal, Depends(_user)]
