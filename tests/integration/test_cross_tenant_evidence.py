"""Issue 16 item 3, through the real pipeline: organisation B's duplicate-reimbursement alert once listed
organisation A's requester names. Now B learns that one other organisation presented the invoice (a
count), never who: not in its alert inbox, not in the alert or result on Kafka, not in ClickHouse."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import httpx
import pytest

from fapiao.domain.invoice_types import invoice_key
from fapiao.warehouse.engine import NativeEngine
from tests.factories import api_check_body, issued
from tests.integration.conftest import Org, publish_registered

pytestmark = pytest.mark.integration
SECRET = "alice.secret-A"


async def _check(client: httpx.AsyncClient, org: Org, body: dict[str, str], requester: str) -> str:
    answer = await client.post(
        "/v1/checks", params={"wait": 5}, json=body | {"requester": requester}, headers=org.headers
    )
    assert answer.status_code == 200 and answer.json()["verdict"] == "consistent", answer.text
    return str(answer.json()["check_id"])


async def test_another_organisations_requesters_never_reach_the_alert(
    api_url: str, make_org: Callable[..., Org], publisher, consume, engine: NativeEngine, settings
) -> None:  # type: ignore[no-untyped-def]
    a, b = make_org("租户甲 Tenant A"), make_org("租户乙 Tenant B")
    inv = issued(number="71990001")
    key = invoice_key(inv.invoice_code, inv.invoice_number)
    await publish_registered(publisher, settings, inv)
    body = api_check_body(inv)
    async with httpx.AsyncClient(base_url=api_url, timeout=15) as client:
        await _check(client, a, body, SECRET)
        b_check = await _check(client, b, body, "bob-B")
        deadline = time.monotonic() + 20
        while True:
            inbox = (await client.get("/v1/alerts", headers=b.headers)).json()["data"]
            mine = [x for x in inbox if x["check_id"] == b_check]
            if mine:
                break
            assert time.monotonic() < deadline, f"no alert for B's check: {inbox}"
            await asyncio.sleep(0.3)
    alert = mine[0]
    assert "duplicate_reimbursement" in alert["reasons"]
    assert SECRET not in json.dumps(alert, ensure_ascii=False) and a.org_id not in json.dumps(alert)
    evidence = {k.removeprefix("duplicate_reimbursement."): v for k, v in alert["evidence"].items()}
    assert evidence["distinct_orgs"] == "2"  # how many organisations, …
    assert evidence["first_presented_to"] == "other-org-1"  # … never who
    assert evidence["requesters"] == "other-org-1,bob-B"

    on_kafka = await consume("risk.alerts", lambda v: b_check.encode() in v)
    result = await consume("checks.results", lambda v: b_check.encode() in v)
    for raw in (on_kafka, result):
        assert SECRET.encode() not in raw and a.org_id.encode() not in raw
    stored = engine.execute(
        "SELECT evidence_values FROM risk_alerts WHERE org_id = %(o)s AND invoice_key = %(k)s",
        {"o": b.org_id, "k": key},
    )
    assert stored and all(SECRET not in v and a.org_id not in v for row in stored for v in row[0])
