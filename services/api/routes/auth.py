"""`/v1/auth`: registration, login (password, then TOTP when on), logout, password reset, 2FA."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fapiao.accounts import auth, orgs, resets, twofactor
from fapiao.accounts.exceptions import Conflict
from fapiao.accounts.people import new_org_id, new_user_id
from services.api.account_mail import send_already_registered, send_reset
from services.api.auth_models import (
    InvitationAcceptIn,
    Login2faIn,
    LoginIn,
    MemberOut,
    MeOut,
    MfaRequiredOut,
    RecoveryCodesOut,
    RegisterIn,
    RegisterOut,
    ResetConfirmIn,
    ResetRequestIn,
    ResetRequestOut,
    TokenOut,
    TotpCodeIn,
    TotpSetupOut,
)
from services.api.people import requester_of
from services.api.principal import PrincipalDep, UserPrincipal, accounts_of, client_ip

router = APIRouter(prefix="/v1/auth", tags=["auth"])
_bearer = HTTPBearer(auto_error=True)


def _token(session: auth.SessionToken) -> TokenOut:
    return TokenOut(access_token=session.token, expires_at=session.expires_at, org_id=session.org_id)


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=RegisterOut,
    summary="New organisation + admin",
)
async def register(body: RegisterIn, request: Request, background: BackgroundTasks) -> RegisterOut:
    """An email that already has an account gets the same answer (with ids that exist nowhere) and its
    owner a mail saying so: the answer never tells whether an address is registered."""
    accounts = accounts_of(request)
    await accounts.auth_limits.check(request, body.email)
    try:
        org_id, user_id = await accounts.auth_limits.hashing(
            orgs.register,
            accounts.ctx,
            body.org_name,
            body.email,
            body.password,
            body.display_name,
            None,
            client_ip(request),
        )
    except Conflict:
        send_already_registered(background, accounts, body.email)
        return RegisterOut(org_id=new_org_id(), user_id=new_user_id())
    return RegisterOut(org_id=org_id, user_id=user_id)


@router.post(
    "/login",
    response_model=TokenOut | MfaRequiredOut,
    summary="Log in: a session token, or an MFA challenge when 2FA is on",
    responses={
        401: {"description": "wrong email or password"},
        429: {"description": "locked, or too many attempts (Retry-After)"},
    },
)
async def login(body: LoginIn, request: Request) -> TokenOut | MfaRequiredOut:
    accounts = accounts_of(request)
    await accounts.auth_limits.check(request, body.email)
    answer = await accounts.auth_limits.hashing(
        auth.login, accounts.ctx, body.email, body.password, body.org_id, client_ip(request)
    )
    if isinstance(answer, auth.MfaChallenge):
        return MfaRequiredOut(mfa_token=answer.mfa_token, expires_at=answer.expires_at)
    return _token(answer)


@router.post("/login/2fa", response_model=TokenOut, summary="Second step: a TOTP code or a recovery code")
async def login_2fa(body: Login2faIn, request: Request) -> TokenOut:
    await accounts_of(request).auth_limits.check(request)
    session = await run_in_threadpool(
        auth.login_second_factor,
        accounts_of(request).ctx,
        body.mfa_token,
        body.code,
        body.recovery_code,
        client_ip(request),
    )
    return _token(session)


@router.post(
    "/logout", status_code=status.HTTP_204_NO_CONTENT, summary="End this session (the token stops working)"
)
async def logout(
    request: Request,
    _user: UserPrincipal,
    credentials: Annotated[HTTPAuthorizationCredentials, Depends(_bearer)],
) -> None:
    await run_in_threadpool(
        auth.logout, accounts_of(request).ctx, credentials.credentials, client_ip(request)
    )


@router.get("/me", response_model=MeOut, summary="Who the credentials belong to")
async def me(principal: PrincipalDep, request: Request) -> MeOut:
    name = await run_in_threadpool(orgs.organisation_name, accounts_of(request).ctx, principal.org_id)
    return MeOut(
        org_id=principal.org_id,
        org_name=name,
        subject=principal.subject,
        kind=principal.kind,
        roles=sorted(principal.roles),
        scopes=sorted(principal.scopes),
        requester=requester_of(request, principal),
    )


@router.post(
    "/password-reset/request",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ResetRequestOut,
    summary="Have a single-use reset token mailed (same answer whether the account exists or not)",
)
async def request_reset(
    body: ResetRequestIn, request: Request, background: BackgroundTasks
) -> ResetRequestOut:
    accounts = accounts_of(request)
    await accounts.auth_limits.check(request, body.email)
    token = await run_in_threadpool(resets.request_reset, accounts.ctx, body.email, client_ip(request))
    send_reset(background, accounts, body.email, token)
    return ResetRequestOut(reset_token=token if accounts.ctx.expose_tokens else None)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with a reset or invitation token (ends every session)",
)
async def confirm_reset(body: ResetConfirmIn, request: Request) -> None:
    accounts = accounts_of(request)
    await accounts.auth_limits.check(request)
    await accounts.auth_limits.hashing(
        resets.confirm_reset, accounts.ctx, body.token, body.new_password, client_ip(request)
    )


@router.post(
    "/2fa/setup", response_model=TotpSetupOut, summary="Start TOTP enrolment: otpauth URI and QR code"
)
async def totp_setup(user: UserPrincipal, request: Request) -> TotpSetupOut:
    uri, png = await run_in_threadpool(
        twofactor.setup, accounts_of(request).ctx, user.subject, client_ip(request)
    )
    return TotpSetupOut(otpauth_uri=uri, qr_png_base64=png)


@router.post("/2fa/enable", response_model=RecoveryCodesOut, summary="Confirm with a first code: 2FA on")
async def totp_enable(body: TotpCodeIn, user: UserPrincipal, request: Request) -> RecoveryCodesOut:
    codes = await run_in_threadpool(
        twofactor.enable, accounts_of(request).ctx, user.subject, body.code, client_ip(request)
    )
    return RecoveryCodesOut(recovery_codes=codes)


@router.post(
    "/2fa/recovery-codes",
    response_model=RecoveryCodesOut,
    summary="New recovery codes (needs a current code)",
)
async def recovery_codes(body: TotpCodeIn, user: UserPrincipal, request: Request) -> RecoveryCodesOut:
    codes = await run_in_threadpool(
        twofactor.regenerate_recovery_codes,
        accounts_of(request).ctx,
        user.subject,
        body.code,
        client_ip(request),
    )
    return RecoveryCodesOut(recovery_codes=codes)


@router.post(
    "/invitations/accept",
    response_model=MemberOut,
    summary="Join the organisation that invited your account (the token from the invitation mail)",
)
async def accept_invitation(body: InvitationAcceptIn, user: UserPrincipal, request: Request) -> MemberOut:
    member = await run_in_threadpool(
        orgs.accept_invitation, accounts_of(request).ctx, user.subject, body.token, client_ip(request)
    )
    return MemberOut.model_validate(asdict(member))
