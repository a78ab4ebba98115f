"""The intake API as a real process, over the real broker, worker and ClickHouse."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.factories import issued
from tests.integration.conftest import publish_registered


def _body(inv, **overrides) -> dict[str, object]:  # type: ignore[no-untyped-def]
    body: dict[str, object] = {
        "invoice_code": inv.invoice_code,
        "invoice_number": inv.invoice_number,
        "issue_date": inv.issue_date.strftime("%Y%m%d"),
        "check_code": inv.check_code[-6:],
        "requester": "911101056317066918",
    }
    body.update(overrides)
    return body


async def test_post_then_get_returns_the_verdict(api_url, api_headers, publisher, settings) -> None:
    inv = issued(number="20000001")
    await publish_registered(publisher, settings, inv)
    async with httpx.AsyncClient(base_url=api_url, timeout=10, headers=api_headers) as client:
        accepted = await client.post("/v1/checks", json=_body(inv))
        assert accepted.status_code == 202, accepted.text
        check_id = accepted.json()["check_id"]
        assert accepted.headers["location"] == f"/v1/checks/{check_id}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            got = (await client.get(f"/v1/checks/{check_id}")).json()
            if got["status"] == "done":
                break
            await asyncio.sleep(0.05)
        assert got["verdict"] == "consistent" and got["verdict_zh"] == "查验结果一致"
        assert got["invoice"]["seller"]["name"] == "北京海淀示例科技有限公司"
        assert got["check_count"] == 1


async def test_wait_returns_the_verdict_in_the_same_response(
    api_url, api_headers, publisher, settings
) -> None:
    inv = issued(number="20000002")
    await publish_registered(publisher, settings, inv)
    async with httpx.AsyncClient(base_url=api_url, timeout=10, headers=api_headers) as client:
        started = time.perf_counter()
        answer = await client.post("/v1/checks", params={"wait": 5}, json=_body(inv, check_code="999999"))
        elapsed = time.perf_counter() - started
        assert answer.status_code == 200, answer.text
        assert answer.json()["verdict"] == "inconsistent"
        assert answer.json()["mismatched_fields"] == ["check_code"]
        assert "invoice" not in answer.json() or answer.json()["invoice"] is None  # no true values leak
        assert elapsed < 5


async def test_an_idempotency_key_makes_a_retry_the_same_check(
    api_url, api_headers, publisher, settings
) -> None:
    inv = issued(number="20000003")
    await publish_registered(publisher, settings, inv)
    async with httpx.AsyncClient(base_url=api_url, timeout=10, headers=api_headers) as client:
        headers = {"Idempotency-Key": "reimb-2026-0001"}
        first = await client.post("/v1/checks", params={"wait": 5}, json=_body(inv), headers=headers)
        again = await client.post("/v1/checks", params={"wait": 5}, json=_body(inv), headers=headers)
        assert first.json()["check_id"] == again.json()["check_id"]
        assert first.json()["check_count"] == again.json()["check_count"] == 1


async def test_malformed_requests_get_422_naming_the_field(api_url, api_headers) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=10, headers=api_headers) as client:
        bad_number = await client.post(
            "/v1/checks", json={"invoice_number": "12AB", "issue_date": "2026-01-01", "check_code": "123456"}
        )
        assert bad_number.status_code == 422
        assert any(err["loc"][-1] == "invoice_number" for err in bad_number.json()["detail"])

        wrong_fourth = await client.post(
            "/v1/checks",
            json={
                "invoice_code": "011002300111",
                "invoice_number": "12345678",
                "issue_date": "2026-01-01",
                "amount": "100.00",
            },
        )
        assert wrong_fourth.status_code == 422
        detail = wrong_fourth.json()["detail"]
        assert any(err["loc"][-1] == "check_code" for err in detail), detail
        assert all("msg_zh" in err for err in detail)

        unknown_field = await client.post("/v1/checks", json={"invoice_number": "12345678", "foo": 1})
        assert unknown_field.status_code == 422


async def test_health_and_docs(api_url, api_headers) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=10, headers=api_headers) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert (
            ready.status_code == 200 and ready.json()["kafka"] == "ok" and ready.json()["clickhouse"] == "ok"
        )
        spec = (await client.get("/openapi.json")).json()
        assert "/v1/checks" in spec["paths"] and "/v1/checks/{check_id}" in spec["paths"]
        assert (await client.get("/docs")).status_code == 200
        assert "fapiao_http_requests_total" in (await client.get("/metrics/")).text
        missing = await client.get("/v1/checks/00000000-0000-4000-8000-000000000000")
        assert missing.status_code == 404
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as anonymous:  # no credentials
        refused = await anonymous.get("/v1/checks/00000000-0000-4000-8000-000000000000")
        assert refused.status_code == 401 and refused.json()["detail"]["msg_zh"]
