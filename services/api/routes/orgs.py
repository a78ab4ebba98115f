"""`/v1/orgs/me`: your organisation's members and roles (admins), and its security audit log."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from fapiao.accounts import audit, orgs
from fapiao.accounts.context import AccountsContext
from fapiao.accounts.models import MAX_ROW_ID
from services.api.account_mail import send_invite
from services.api.auth_models import (
    AuditEventOut,
    AuditEventsOut,
    MemberCreate,
    MemberCreatedOut,
    MemberOut,
    MembersOut,
    MemberUpdate,
)
from services.api.principal import AdminPrincipal, accounts_of, client_ip

router = APIRouter(prefix="/v1/orgs/me", tags=["organisation"])


@router.get("/members", response_model=MembersOut, summary="Members and their roles")
async def list_members(admin: AdminPrincipal, request: Request) -> MembersOut:
    found = await run_in_threadpool(orgs.members, accounts_of(request).ctx, admin.org_id)
    return MembersOut(data=[MemberOut.model_validate(asdict(m)) for m in found], count=len(found))


@router.post(
    "/members",
    status_code=status.HTTP_201_CREATED,
    response_model=MemberCreatedOut,
    summary="Invite a person with a role, by mail: a new account joins by setting its password, an "
    "existing one when its owner accepts (POST /v1/auth/invitations/accept)",
)
async def add_member(
    body: MemberCreate, admin: AdminPrincipal, request: Request, background: BackgroundTasks
) -> MemberCreatedOut:
    accounts = accounts_of(request)
    invite = await run_in_threadpool(
        orgs.add_member,
        accounts.ctx,
        admin.org_id,
        admin.subject,
        body.email,
        body.role,
        body.display_name,
        client_ip(request),
    )
    org_name = await run_in_threadpool(orgs.organisation_name, accounts.ctx, admin.org_id)
    send_invite(background, accounts, invite, org_name or admin.org_id)
    token = invite.token if accounts.ctx.expose_tokens else None
    return MemberCreatedOut(**asdict(invite.member), invite_token=token)


@router.patch("/members/{user_id}", response_model=MemberOut, summary="Change a member's role")
async def change_role(user_id: str, body: MemberUpdate, admin: AdminPrincipal, request: Request) -> MemberOut:
    member = await run_in_threadpool(
        orgs.change_role,
        accounts_of(request).ctx,
        admin.org_id,
        admin.subject,
        user_id,
        body.role,
        client_ip(request),
    )
    return MemberOut.model_validate(asdict(member))


@router.delete("/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a member")
async def remove_member(user_id: str, admin: AdminPrincipal, request: Request) -> None:
    await run_in_threadpool(
        orgs.remove_member, accounts_of(request).ctx, admin.org_id, admin.subject, user_id, client_ip(request)
    )


def _events(ctx: AccountsContext, org_id: str, limit: int, before_id: int | None) -> list[AuditEventOut]:
    with ctx.sessions() as s:
        return [
            AuditEventOut(
                id=e.id,
                at=e.at,
                actor=e.actor,
                kind=e.kind,
                outcome=e.outcome,
                ip=e.ip,
                detail=json.loads(e.detail) if e.detail else None,
            )
            for e in audit.events(s, org_id, limit, before_id)
        ]


@router.get("/audit-events", response_model=AuditEventsOut, summary="Security events, newest first")
async def audit_events(
    admin: AdminPrincipal,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[
        int | None, Query(ge=1, le=MAX_ROW_ID, description="page: events older than this id")
    ] = None,
) -> AuditEventsOut:
    events = await run_in_threadpool(_events, accounts_of(request).ctx, admin.org_id, limit, before_id)
    return AuditEventsOut(data=events, count=len(events))
