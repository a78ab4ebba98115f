"""`/v1/api-keys`: keys for your systems (admins): create (the key is shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool

from fapiao.accounts import api_keys
from services.api.auth_models import ApiKeyCreate, ApiKeyCreatedOut, ApiKeyOut, ApiKeysOut
from services.api.principal import AdminPrincipal, accounts_of, client_ip

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


def _out(info: api_keys.ApiKeyInfo) -> ApiKeyOut:
    return ApiKeyOut(
        id=info.id,
        hint=info.hint,
        name=info.name,
        scopes=info.scopes,
        rate_per_minute=info.rate_per_minute,
        created_by=info.created_by,
        created_at=info.created_at,
        last_used_at=info.last_used_at,
        revoked_at=info.revoked_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreatedOut, summary="Create a key")
async def create_key(body: ApiKeyCreate, admin: AdminPrincipal, request: Request) -> ApiKeyCreatedOut:
    info, whole = await run_in_threadpool(
        api_keys.create,
        accounts_of(request).ctx,
        admin.org_id,
        admin.subject,
        body.name,
        list(body.scopes),
        body.rate_per_minute,
        client_ip(request),
    )
    return ApiKeyCreatedOut(**_out(info).model_dump(), key=whole)


@router.get("", response_model=ApiKeysOut, summary="Your organisation's keys (never their secrets)")
async def list_keys(admin: AdminPrincipal, request: Request) -> ApiKeysOut:
    infos = await run_in_threadpool(api_keys.list_keys, accounts_of(request).ctx, admin.org_id)
    return ApiKeysOut(data=[_out(i) for i in infos], count=len(infos))


@router.delete("/{key_id}", response_model=ApiKeyOut, summary="Revoke a key (at once, for good)")
async def revoke_key(key_id: str, admin: AdminPrincipal, request: Request) -> ApiKeyOut:
    accounts = accounts_of(request)
    info = await run_in_threadpool(
        api_keys.revoke, accounts.ctx, admin.org_id, admin.subject, key_id, client_ip(request)
    )
    accounts.key_cache.forget_key(key_id)
    return _out(info)
