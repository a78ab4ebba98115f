"""The alert inbox's shared steps for its routes: query parameters → filters, a page of opened alerts
joined with their cases (the warehouse has the alerts, the accounts store the cases)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool

from fapiao.analytics.filters import date_problems
from fapiao.cases import store
from fapiao.cases.inbox import SEVERITIES, Cursor, InboxFilters
from fapiao.cases.workflow import Status
from fapiao.warehouse.alert_inbox import fetch_alerts, fetch_inbox
from services.api.case_models import AlertItem
from services.api.opened_results import open_alert
from services.api.people import shown_people
from services.api.principal import Principal, accounts_of
from services.api.state import ApiState


def invalid(field: str, message: str, message_zh: str) -> HTTPException:
    return HTTPException(
        status_code=422,
        detail={"code": "invalid_query", "field": field, "msg": message, "msg_zh": message_zh},
    )


def inbox_filters(
    raised_from: Annotated[
        datetime | None, Query(description="raised at or after (ISO 8601 with zone)")
    ] = None,
    raised_to: Annotated[datetime | None, Query(description="raised before (ISO 8601 with zone)")] = None,
    severity: Annotated[list[str] | None, Query(description="one of low, medium, high, critical")] = None,
    reason: Annotated[list[str] | None, Query(max_length=64, description="has one of these reasons")] = None,
    seller: Annotated[str | None, Query(min_length=15, max_length=20, description="seller's tax id")] = None,
    status: Annotated[list[Status] | None, Query(description="case status")] = None,
    assignee: Annotated[str | None, Query(max_length=32, description="a user id, or 'me'")] = None,
) -> InboxFilters:
    for name, value in (("raised_from", raised_from), ("raised_to", raised_to)):
        if value is not None and value.tzinfo is None:
            raise invalid(name, f"{name} needs a time zone (e.g. +08:00 or Z)", f"{name} 需要带时区")
    # times ClickHouse cannot hold were a 500 (raised_from=0148-08-02…, found by the fuzz run)
    bounds = {"raised_from": raised_from, "raised_to": raised_to}
    for name, message, message_zh in date_problems(**{n: _utc_day(v) for n, v in bounds.items() if v}):
        raise invalid(name, message, message_zh)
    for level in severity or ():
        if level not in SEVERITIES:
            raise invalid("severity", f"unknown severity {level!r}", f"未知风险等级 {level!r}")
    return InboxFilters(
        raised_from=raised_from,
        raised_to=raised_to,
        severities=tuple(severity or ()),
        reasons=tuple(reason or ()),
        seller_refs=(seller.strip().upper(),) if seller else (),
        statuses=tuple(status or ()),
        assignee=assignee,
    )


def _utc_day(value: datetime) -> date:
    try:
        return value.astimezone(UTC).date()
    except OverflowError:  # year 1 at +08:00 is before datetime's range in UTC
        return date.min


async def resolved(
    request: Request, state: ApiState, principal: Principal, filters: InboxFilters
) -> InboxFilters:
    """The filters made runnable: `me` → the caller, the seller also as its pseudonym (sealed alerts),
    status/assignee → the alert ids of the matching cases."""
    assignee = principal.subject if filters.assignee == "me" else filters.assignee
    sellers = filters.seller_refs + tuple(state.sealer.tax_ref(s) for s in filters.seller_refs)
    filters = replace(filters, assignee=assignee, seller_refs=sellers)
    if not filters.statuses and assignee is None:
        return filters
    ids, exclude = await run_in_threadpool(
        store.alert_ids_where, accounts_of(request).ctx, principal.org_id, filters.statuses, assignee
    )
    if exclude:
        return replace(filters, exclude_ids=tuple(ids))
    return replace(filters, alert_ids=tuple(ids))


def decode_cursor(text: str | None, filters: InboxFilters) -> Cursor | None:
    if not text:
        return None
    try:
        return Cursor.decode(text, filters.fingerprint())
    except ValueError as exc:
        raise invalid("cursor", str(exc), "翻页游标无效") from exc


async def page(
    request: Request,
    state: ApiState,
    principal: Principal,
    chosen: InboxFilters,
    after: Cursor | None,
    limit: int,
) -> tuple[list[AlertItem], Cursor | None]:
    """One page of the inbox: alerts opened for their organisation, each with its case."""
    runnable = await resolved(request, state, principal, chosen)
    found = await state.query(fetch_inbox, principal.org_id, runnable, after, limit)
    alerts = [open_alert(state.sealer, a) for a in found.alerts]
    cases = await run_in_threadpool(
        store.cases_of, accounts_of(request).ctx, principal.org_id, [str(a.alert_id) for a in alerts]
    )
    people = shown_people(request, principal)
    return [AlertItem.of(a, cases.get(str(a.alert_id)), people) for a in alerts], found.next_cursor


async def refs(state: ApiState, principal: Principal, alert_ids: list[str]) -> dict[str, store.AlertRef]:
    """The caller's organisation's alerts among these ids, as what a case copies from its alert."""
    found = await state.query(fetch_alerts, principal.org_id, alert_ids)
    return {
        alert_id: store.AlertRef(alert_id, str(a.check_id), a.invoice_key, tuple(a.reasons), a.severity)
        for alert_id, a in found.items()
    }
