"""Sync delay, status changes after the fact, and manual refresh, through the real broker."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from fapiao import topics
from fapiao.domain.invoice_types import invoice_key
from schemas.events import InvoiceStatus
from tests.factories import check_of, issued, status_change
from tests.integration.conftest import SYNC_WINDOW_SECONDS, publish_registered


def _today():  # type: ignore[no-untyped-def]
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


async def _result(consume, check_id, version: int, timeout: float = 20):  # type: ignore[no-untyped-def]
    raw = await consume(
        "checks.results",
        lambda v: str(check_id).encode() in v and json.loads(v)["result_version"] == version,
        timeout,
    )
    return json.loads(raw)


async def test_a_check_before_its_issuance_is_held_then_answered(worker, publisher, consume) -> None:
    inv = issued(number="30000001", issue_date=_today())
    key = invoice_key(inv.invoice_code, inv.invoice_number)
    request = check_of(inv, requested_at=datetime.now(ZoneInfo("UTC")))
    await publisher.publish(topics.CHECKS_REQUESTED, key, request)
    first = await _result(consume, request.check_id, 1)
    assert first["verdict"] == "pending_sync" and first["follow_up"] is False

    await publisher.publish(topics.INVOICES_ISSUED, key, inv)  # the register catches up
    second = await _result(consume, request.check_id, 2)
    assert second["verdict"] == "consistent" and second["follow_up"] is True
    assert second["check_count"] == 1  # the hold and its resolution are one check


async def test_a_held_check_becomes_not_found_when_the_window_ends(
    worker, settings, publisher, consume
) -> None:
    inv = issued(number="30000002", issue_date=_today())
    key = invoice_key(inv.invoice_code, inv.invoice_number)
    request = check_of(inv, requested_at=datetime.now(ZoneInfo("UTC")))
    await publisher.publish(topics.CHECKS_REQUESTED, key, request)
    assert (await _result(consume, request.check_id, 1))["verdict"] == "pending_sync"
    # the hold is in the sync_holds table (what the hold sweep reads instead of the register)
    held = str(request.check_id).encode()
    await consume(f"{settings.app_id}-sync_holds-changelog", lambda v: v is not None and held in v, 10)
    final = await _result(consume, request.check_id, 2, timeout=SYNC_WINDOW_SECONDS + 20)
    assert final["verdict"] == "not_found" and final["follow_up"] is True


async def test_a_void_after_verification_pushes_a_follow_up(worker, publisher, consume, settings) -> None:
    inv = issued(number="30000003")
    key = invoice_key(inv.invoice_code, inv.invoice_number)
    await publish_registered(publisher, settings, inv)  # another topic: the register folds it first
    genuine, tampered = (
        check_of(inv, requester="org-a"),
        check_of(inv, requester="org-b", check_code="000000"),
    )
    await publisher.publish(topics.CHECKS_REQUESTED, key, genuine)
    await publisher.publish(topics.CHECKS_REQUESTED, key, tampered)
    assert (await _result(consume, genuine.check_id, 1))["verdict"] == "consistent"
    assert (await _result(consume, tampered.check_id, 1))["verdict"] == "inconsistent"

    await publisher.publish(topics.INVOICES_STATUS, key, status_change(inv, InvoiceStatus.VOIDED))
    follow_up = await _result(consume, genuine.check_id, 2)
    assert follow_up["verdict"] == "voided" and follow_up["follow_up"] is True
    assert follow_up["invoice"]["status"] == "voided"
    # the requester who got the fields wrong learns nothing new about the invoice
    with pytest.raises(AssertionError, match="no matching message"):
        await _result(consume, tampered.check_id, 2, timeout=3)


async def test_refresh_re_verifies_on_demand(api_url, api_headers, publisher) -> None:
    inv = issued(number="30000004", issue_date=_today())
    body = {
        "invoice_code": inv.invoice_code,
        "invoice_number": inv.invoice_number,
        "issue_date": inv.issue_date.isoformat(),
        "check_code": inv.check_code[-6:],
    }
    async with httpx.AsyncClient(base_url=api_url, timeout=15, headers=api_headers) as client:
        held = await client.post("/v1/checks", params={"wait": 5}, json=body)
        assert held.status_code == 200 and held.json()["status"] == "pending_sync", held.text
        check_id = held.json()["check_id"]
        refreshed = await client.post(f"/v1/checks/{check_id}/refresh", params={"wait": 5})
        assert refreshed.status_code == 200 and refreshed.json()["verdict"] == "pending_sync"
        assert refreshed.json()["result_version"] == 2

        await publisher.publish(
            topics.INVOICES_ISSUED, invoice_key(inv.invoice_code, inv.invoice_number), inv
        )
        deadline = time.monotonic() + 20  # the follow-up, as every result here, within 20 s
        while True:
            view = (await client.get(f"/v1/checks/{check_id}")).json()
            if view["verdict"] == "consistent" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert view["verdict"] == "consistent" and view["follow_up"] is True
        missing = await client.post("/v1/checks/00000000-0000-4000-8000-000000000000/refresh")
        assert missing.status_code == 404
