"""Risk scoring through the real broker: a duplicate reimbursement raises one alert (on risk.alerts,
in ClickHouse and on the SSE stream); rules and models change at run time without a restart."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

import httpx
import numpy as np

from fapiao import topics
from fapiao.crypto.keys import CryptoKeys
from fapiao.crypto.result_integrity import result_is_intact
from fapiao.domain.invoice_types import invoice_key
from fapiao.risk.features import FEATURE_NAMES
from fapiao.risk.model import save, train
from fapiao.risk.rules import DEFAULT_RULES
from schemas.events import CheckResult
from tests.factories import check_of, issued
from tests.integration.conftest import until_registered, wait_rows


async def _result(consume, check_id, version: int = 1, timeout: float = 20):  # type: ignore[no-untyped-def]
    raw = await consume(
        "checks.results",
        lambda v: str(check_id).encode() in v and json.loads(v)["result_version"] == version,
        timeout,
    )
    return json.loads(raw)


async def _fresh_check(publisher, consume, settings, prefix: str):  # type: ignore[no-untyped-def]
    """Issue a new invoice, check it, and return the request and its first result."""
    inv = issued(number=f"{prefix}{int(time.monotonic() * 1000) % 10000:04d}")
    key = invoice_key(inv.invoice_code, inv.invoice_number)
    await publisher.publish(topics.INVOICES_ISSUED, key, inv)
    await until_registered(consume, settings, inv)
    request = check_of(inv)
    await publisher.publish(topics.CHECKS_REQUESTED, key, request)
    return request, await _result(consume, request.check_id)


async def test_a_duplicate_reimbursement_raises_one_alert(
    worker, settings, engine, publisher, consume
) -> None:
    inv = issued(number="50000001")
    key = invoice_key(inv.invoice_code, inv.invoice_number)
    await publisher.publish(topics.INVOICES_ISSUED, key, inv)
    await until_registered(consume, settings, inv)
    first = check_of(inv, requester="911101056317066918", org_id="org-a")
    second = check_of(inv, requester="91110108MA01PQRS2K", org_id="org-b")
    third = check_of(inv, requester="91110105MA03TUVW4L", org_id="org-c")
    fourth = check_of(inv, requester="91110105MA03TUVW5M", org_id="org-c")  # org-c again, same window
    for request in (first, second, third, fourth):
        await publisher.publish(topics.CHECKS_REQUESTED, key, request)

    one = await _result(consume, first.check_id)
    assert one["verdict"] == "consistent" and "duplicate_reimbursement" not in one["risk"]["reasons"]
    two = await _result(consume, second.check_id)
    assert result_is_intact(CheckResult.model_validate(two), CryptoKeys.from_settings(settings).hmac_key)
    assert (
        "duplicate_reimbursement" in two["risk"]["reasons"]
        and two["risk"]["score"] >= DEFAULT_RULES.alert_threshold
    )
    assert two["enrichment"]["region"] == "北京"
    three = await _result(consume, third.check_id)
    assert "duplicate_reimbursement" in three["risk"]["reasons"]

    alert = json.loads(await consume("risk.alerts", lambda v: key.encode() in v))
    assert alert["check_id"] == str(second.check_id) and "duplicate_reimbursement" in alert["reasons"]
    rows = await wait_rows(
        engine,
        "SELECT check_id, severity FROM risk_alerts FINAL WHERE invoice_key = %(k)s AND has(reasons, %(r)s)",
        {"k": key, "r": "duplicate_reimbursement"},
        1,
    )
    await _result(consume, fourth.check_id)
    await asyncio.sleep(1.5)  # every check was scored: one alert per organisation and window, no more
    # (org-c's analysts learn of their own duplicate although org-b's were alerted first; org-c's
    # second presentation in the window raises nothing new)
    rows = engine.execute(
        "SELECT check_id, org_id FROM risk_alerts FINAL WHERE invoice_key = %(k)s AND has(reasons, %(r)s)"
        " ORDER BY org_id",
        {"k": key, "r": "duplicate_reimbursement"},
    )
    assert [(str(r[0]), r[1]) for r in rows] == [
        (str(second.check_id), "org-b"),
        (str(third.check_id), "org-c"),
    ]
    scored = await wait_rows(
        engine,
        "SELECT risk_score, risk_reasons, region_name FROM check_results FINAL WHERE check_id = %(id)s",
        {"id": second.check_id},
        1,
    )
    assert scored[0][0] >= DEFAULT_RULES.alert_threshold and "duplicate_reimbursement" in scored[0][1]


async def test_rules_published_at_run_time_apply_within_seconds(worker, publisher, consume) -> None:
    # under the default rules a lone 查无此票 scores below the alert threshold; v1000 lowers the threshold
    lenient = DEFAULT_RULES.model_copy(update={"version": 1000, "alert_threshold": 30})
    await publisher.publish(topics.RISK_RULES, "current", lenient)
    try:
        deadline = time.monotonic() + 15
        while True:
            fake = issued(number=f"5100{int(time.monotonic() * 1000) % 10000:04d}")  # never issued
            request = check_of(fake)
            await publisher.publish(
                topics.CHECKS_REQUESTED, invoice_key(fake.invoice_code, fake.invoice_number), request
            )
            result = await _result(consume, request.check_id)
            assert result["verdict"] == "not_found" and "not_found" in result["risk"]["reasons"]
            if result["risk"]["rule_version"] == 1000:
                break
            assert result["risk"]["score"] < DEFAULT_RULES.alert_threshold
            assert time.monotonic() < deadline, "the new rules were not applied within 15 s"
            await asyncio.sleep(0.5)
        alert = json.loads(await consume("risk.alerts", lambda v: str(request.check_id).encode() in v))
        assert alert["rule_version"] == 1000 and "not_found" in alert["reasons"]
    finally:
        restored = DEFAULT_RULES.model_copy(update={"version": 1001})
        await publisher.publish(topics.RISK_RULES, "current", restored)
        await asyncio.sleep(2)


async def test_a_new_model_is_loaded_without_a_restart(worker, settings, publisher, consume) -> None:
    rng = np.random.default_rng(7)
    model = train(
        rng.normal(size=(400, len(FEATURE_NAMES))),
        feature_names=FEATURE_NAMES,
        trained_on={"source": "integration test", "at": datetime.now(UTC).isoformat()},
    )
    save(model, settings.models_dir)
    deadline = time.monotonic() + 20
    while True:
        _request, result = await _fresh_check(publisher, consume, settings, "5200")
        if result["risk"]["model_version"] == model.version:
            assert result["risk"]["model_score"] is not None
            break
        assert time.monotonic() < deadline, "the new model was not picked up within 20 s"
        await asyncio.sleep(0.5)


async def test_analysts_receive_alerts_as_server_sent_events(api_url, org, publisher) -> None:
    inv = issued(number="53000001")
    key = invoice_key(inv.invoice_code, inv.invoice_number)
    await publisher.publish(topics.INVOICES_ISSUED, key, inv)
    received: list[dict[str, object]] = []

    async def listen() -> None:
        async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
            params = {"min_severity": "medium"}
            async with client.stream(
                "GET", "/v1/alerts/stream", params=params, headers=org.headers
            ) as stream:
                async for line in stream.aiter_lines():
                    if line.startswith("data: "):
                        received.append(json.loads(line[6:]))
                        return

    listener = asyncio.create_task(listen())
    await asyncio.sleep(1.0)
    # checks of the analyst's own organisation (another organisation's alerts never reach the stream)
    await publisher.publish(
        topics.CHECKS_REQUESTED, key, check_of(inv, requester="A1", org_id="someone-else")
    )
    for requester in ("911101056317066918", "91110108MA01PQRS2K"):
        await publisher.publish(
            topics.CHECKS_REQUESTED, key, check_of(inv, requester=requester, org_id=org.org_id)
        )
    await asyncio.wait_for(listener, 20)
    assert received[0]["invoice_key"] == key and received[0]["org_id"] == org.org_id
    assert "duplicate_reimbursement" in received[0]["reasons"]  # type: ignore[operator]
