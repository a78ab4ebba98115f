"""Webhooks through the real servers: `fapiao webhooks` consumes results from Kafka and POSTs them,
signed with HMAC-SM3, to a real HTTP server started here — one receiver that answers 200, one that
answers 500 (retried with backoff until the subscription pauses), one that times out. The delivery log,
redelivery on demand, and a restart of the webhooks process that loses nothing."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fapiao import topics
from fapiao.domain.invoice_types import invoice_key
from fapiao.settings import Settings
from fapiao.webhooks import signing
from tests.factories import check_of, issued
from tests.integration.conftest import Org, _env, until_registered
from tests.integration.processes import cli_process, wait_for_line
from tests.webhook_receiver import Receiver, receiver


def webhooks_env(settings: Settings) -> dict[str, str]:
    return {
        **_env(settings),
        "FAPIAO_WEBHOOK_TIMEOUT_SECONDS": "1",
        "FAPIAO_WEBHOOK_FIRST_RETRY_SECONDS": "0.3",
        "FAPIAO_WEBHOOK_PAUSE_AFTER_FAILURES": "3",
    }


@contextlib.contextmanager
def webhooks_process(settings: Settings, log: Path) -> Iterator[None]:
    with cli_process(["webhooks"], webhooks_env(settings), log, stop_seconds=10) as proc:
        wait_for_line(proc, log, "webhooks_ready", 60)
        yield


@pytest.fixture
def box() -> Iterator[Receiver]:
    with receiver() as made:
        yield made


def subscribe(api_url: str, org: Org, url: str, events: list[str]) -> dict:  # type: ignore[type-arg]
    made = httpx.post(
        f"{api_url}/v1/webhooks", headers=org.admin, json={"url": url, "events": events}, timeout=10
    )
    assert made.status_code == 201, made.text
    return made.json()


def deliveries(api_url: str, org: Org, sub_id: str) -> list[dict]:  # type: ignore[type-arg]
    got = httpx.get(f"{api_url}/v1/webhooks/{sub_id}/deliveries", headers=org.admin, timeout=10)
    assert got.status_code == 200, got.text
    return got.json()["data"]


def wait_until(probe, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


async def _check(publisher, consume, settings: Settings, org: Org, number: str):  # type: ignore[no-untyped-def]
    inv = issued(number=number)
    key = invoice_key(inv.invoice_code, inv.invoice_number)
    await publisher.publish(topics.INVOICES_ISSUED, key, inv)
    await until_registered(consume, settings, inv)  # so the check is answered 一致, not 查无此票
    request = check_of(inv, org_id=org.org_id, check_id=uuid.uuid4())
    await publisher.publish(topics.CHECKS_REQUESTED, key, request)
    return request


async def test_results_are_pushed_signed_retried_paused_and_redelivered(
    api_url: str, settings: Settings, publisher, consume, make_org, box: Receiver, tmp_path: Path
) -> None:
    org = make_org("推送企业 Webhook Co.")
    ok = subscribe(api_url, org, box.url("/ok"), ["result", "follow_up", "alert"])
    failing = subscribe(api_url, org, box.url("/fail"), ["result"])
    slow = subscribe(api_url, org, box.url("/slow"), ["result"])
    assert (
        ok["secret"].startswith("whsec_")
        and "secret"
        not in httpx.get(f"{api_url}/v1/webhooks", headers=org.admin, timeout=10).json()["data"][0]
    )
    assert httpx.get(f"{api_url}/v1/webhooks", headers=org.headers, timeout=10).status_code == 403  # admins

    with webhooks_process(settings, tmp_path / "webhooks-1.log"):
        first = await _check(publisher, consume, settings, org, "81000001")
        [got] = box.wait_for("/ok")
        body = json.loads(got.body)
        assert body["type"] == "result" and body["data"]["check_id"] == str(first.check_id)
        assert body["id"] == f"{first.check_id}:1" and got.headers["X-Fapiao-Delivery"] == body["id"]
        assert (
            body["data"]["verdict"] == "consistent" and body["data"]["invoice"]["seller"]["tax_id"]
        )  # opened
        stamp = got.headers[signing.HEADER]
        assert signing.verify(ok["secret"], stamp, got.body, int(time.time()))
        assert not signing.verify(ok["secret"], stamp, got.body + b" ", int(time.time()))
        assert not signing.verify("whsec_other-secret-0000000000", stamp, got.body, int(time.time()))

        # the failing receiver: retried with backoff (0.3 s, 0.6 s, …) until 3 failures pause it
        box.wait_for("/fail", 3, timeout=30)

        def paused_one() -> dict | None:  # type: ignore[type-arg]
            subs = httpx.get(f"{api_url}/v1/webhooks", headers=org.admin, timeout=10).json()["data"]
            return next((s for s in subs if s["id"] == failing["id"] and s["paused"]), None)

        paused = wait_until(paused_one)
        assert paused["consecutive_failures"] == 3
        [log] = deliveries(api_url, org, failing["id"])
        assert log["status"] == "pending" and log["attempts"] == 3 and log["last_status_code"] == 500
        assert log["last_response"] == "internal error: try later"
        time.sleep(1.0)
        assert len(box.at("/fail")) == 3  # paused: no more attempts
        slow_log = wait_until(lambda: [d for d in deliveries(api_url, org, slow["id"]) if d["last_error"]])
        assert slow_log[0]["last_error"] == "timeout" and slow_log[0]["last_status_code"] is None

        [delivered] = deliveries(api_url, org, ok["id"])
        assert delivered["status"] == "delivered" and delivered["last_status_code"] == 200
        again = httpx.post(
            f"{api_url}/v1/webhooks/deliveries/{delivered['id']}/redeliver", headers=org.admin, timeout=10
        )
        assert again.status_code == 200 and again.json()["status"] == "pending"
        twice = box.wait_for("/ok", 2)
        assert twice[1].headers["X-Fapiao-Delivery"] == body["id"]  # the receiver's dedupe key

        resumed = httpx.patch(
            f"{api_url}/v1/webhooks/{failing['id']}", headers=org.admin, json={"active": True}, timeout=10
        )
        assert resumed.json()["paused"] is False
        box.wait_for("/fail", 4)  # resuming retries it at once

    # stopped: a result published now is delivered after the restart (the offsets were not committed)
    second = await _check(publisher, consume, settings, org, "81000002")
    time.sleep(2.0)
    assert len(box.at("/ok")) == 2
    with webhooks_process(settings, tmp_path / "webhooks-2.log"):
        got = box.wait_for("/ok", 3)
        assert json.loads(got[2].body)["data"]["check_id"] == str(second.check_id)
        time.sleep(1.0)
        assert len(box.at("/ok")) == 3  # the first result was not delivered again after the restart

    other = make_org("别家 Other Co.")
    assert (
        httpx.get(f"{api_url}/v1/webhooks/{ok['id']}/deliveries", headers=other.admin, timeout=10).status_code
        == 404
    )
