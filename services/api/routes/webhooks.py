"""`/v1/webhooks`: an organisation's push subscriptions (admins): make, list, change, pause/resume,
delete; the delivery log with each attempt's answer; redeliver on demand. Deliveries themselves are
made by `fapiao webhooks` from Kafka, never by these requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import AnyHttpUrl

from fapiao.accounts.models import MAX_ROW_ID
from fapiao.webhooks import store
from services.api.principal import AdminPrincipal, accounts_of, client_ip
from services.api.webhook_models import (
    DeliveriesOut,
    DeliveryOut,
    SubscriptionCreate,
    SubscriptionCreatedOut,
    SubscriptionOut,
    SubscriptionsOut,
    SubscriptionUpdate,
)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


def _checked_url(request: Request, url: AnyHttpUrl) -> str:
    """https only in production (results carry invoice parties in plaintext for their owner)."""
    if url.scheme != "https" and request.app.state.api.settings.env == "production":
        raise HTTPException(
            status_code=422,
            detail={
                "code": "invalid_url",
                "field": "url",
                "msg": "the URL must be https://",
                "msg_zh": "推送地址必须使用 https://",
            },
        )
    return str(url)


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=SubscriptionCreatedOut, summary="Subscribe"
)
async def create(body: SubscriptionCreate, admin: AdminPrincipal, request: Request) -> SubscriptionCreatedOut:
    kind, target = ("url", _checked_url(request, body.url)) if body.url else ("email", str(body.email))
    info, secret = await run_in_threadpool(
        store.create,
        accounts_of(request).ctx,
        admin.org_id,
        admin.subject,
        kind,
        target,
        body.events,
        body.secret,
        client_ip(request),
    )
    return SubscriptionCreatedOut(**SubscriptionOut.of(info).model_dump(), secret=secret)


@router.get("", response_model=SubscriptionsOut, summary="Your organisation's subscriptions")
async def listing(admin: AdminPrincipal, request: Request) -> SubscriptionsOut:
    infos = await run_in_threadpool(store.listing, accounts_of(request).ctx, admin.org_id)
    return SubscriptionsOut(data=[SubscriptionOut.of(i) for i in infos], count=len(infos))


@router.patch("/{sub_id}", response_model=SubscriptionOut, summary="Change, pause or resume a subscription")
async def change(
    sub_id: str, body: SubscriptionUpdate, admin: AdminPrincipal, request: Request
) -> SubscriptionOut:
    info = await run_in_threadpool(
        lambda: store.change(
            accounts_of(request).ctx,
            admin.org_id,
            admin.subject,
            sub_id,
            active=body.active,
            target=_checked_url(request, body.url) if body.url else None,
            events=body.events,
            ip=client_ip(request),
        )
    )
    return SubscriptionOut.of(info)


@router.delete(
    "/{sub_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a subscription and its log"
)
async def delete(sub_id: str, admin: AdminPrincipal, request: Request) -> None:
    await run_in_threadpool(
        store.delete, accounts_of(request).ctx, admin.org_id, admin.subject, sub_id, client_ip(request)
    )


@router.get("/{sub_id}/deliveries", response_model=DeliveriesOut, summary="The delivery log, newest first")
async def deliveries(
    sub_id: str,
    admin: AdminPrincipal,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[
        int | None, Query(ge=1, le=MAX_ROW_ID, description="page: older than this id")
    ] = None,
) -> DeliveriesOut:
    infos = await run_in_threadpool(
        store.deliveries, accounts_of(request).ctx, admin.org_id, sub_id, limit, before_id
    )
    return DeliveriesOut(data=[DeliveryOut.of(i) for i in infos], count=len(infos))


@router.post(
    "/deliveries/{delivery_id}/redeliver", response_model=DeliveryOut, summary="Send a delivery again"
)
async def redeliver(
    delivery_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)], admin: AdminPrincipal, request: Request
) -> DeliveryOut:
    info = await run_in_threadpool(
        store.redeliver,
        accounts_of(request).ctx,
        admin.org_id,
        admin.subject,
        delivery_id,
        client_ip(request),
    )
    return DeliveryOut.of(info)
