"""Risk rules per organisation through the real API and worker: one organisation's analysts change
only their own rules (another keeps the platform default), the server assigns versions (a client's
version is refused, a stale edit is a conflict), and a rollback republishes an older version."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from fapiao import topics
from fapiao.domain.invoice_types import invoice_key
from fapiao.risk.rules import DEFAULT_RULES
from fapiao.risk.scoring import combine
from tests.factories import issued
from tests.integration.conftest import until_registered


async def _mismatched_check(client: httpx.AsyncClient, number: str, publisher, consume, settings) -> str:  # type: ignore[no-untyped-def]
    inv = issued(number=number)
    await publisher.publish(topics.INVOICES_ISSUED, invoice_key(inv.invoice_code, inv.invoice_number), inv)
    await until_registered(consume, settings, inv)
    body = {
        "invoice_code": inv.invoice_code,
        "invoice_number": inv.invoice_number,
        "issue_date": inv.issue_date.strftime("%Y%m%d"),
        "check_code": "999999",  # 不一致: the `mismatch` rule, 45 points by default (< 60, no alert)
        "requester": "911101056317066918",
    }
    answer = await client.post("/v1/checks", params={"wait": 5}, json=body)
    assert answer.status_code == 200 and answer.json()["verdict"] == "inconsistent", answer.text
    return str(answer.json()["check_id"])


async def test_an_organisations_rules_are_its_own(api_url, make_org, publisher, consume, settings) -> None:
    a, b = make_org("规则甲 Rules A"), make_org("规则乙 Rules B")
    async with (
        httpx.AsyncClient(base_url=api_url, timeout=15, headers=a.admin) as a_admin,
        httpx.AsyncClient(base_url=api_url, timeout=15, headers=b.admin) as b_admin,
        httpx.AsyncClient(base_url=api_url, timeout=15, headers=a.headers) as a_keys,
        httpx.AsyncClient(base_url=api_url, timeout=15, headers=b.headers) as b_keys,
    ):
        refused = await a_admin.put("/v1/risk/rules", json={"version": 10**15, "alert_threshold": 40})
        assert refused.status_code == 422 and "version" in refused.text  # versions are the server's
        # A lowers its threshold and raises its 不一致 weight: a lone mismatch always alerts A (>= 90)
        mine = {"base_version": 0, "alert_threshold": 40, "weights": {"mismatch": 90}}
        made = await a_admin.put("/v1/risk/rules", json=mine)
        assert made.status_code == 200, made.text
        assert made.json()["version"] == 1 and made.json()["org_id"] == a.org_id
        stale = await a_admin.put("/v1/risk/rules", json={"base_version": 0, "alert_threshold": 90})
        assert stale.status_code == 409 and stale.json()["detail"]["code"] == "rules_changed"

        b_rules = (await b_admin.get("/v1/risk/rules")).json()
        # B inherits the platform default (which earlier tests may have given newer versions)
        assert b_rules["inherited"] is True and b_rules["rules"]["org_id"] == ""
        platform = b_rules["rules"]
        assert platform["alert_threshold"] == DEFAULT_RULES.alert_threshold

        # A's rules alert on a lone 不一致
        deadline = time.monotonic() + 20
        while True:
            number = f"7100{int(time.monotonic() * 10) % 10000:04d}"
            a_check = await _mismatched_check(a_keys, number, publisher, consume, settings)
            raw = json.loads(await consume("checks.results", lambda v, c=a_check: c.encode() in v))
            if raw["risk"]["rule_version"] == 1:
                break
            assert time.monotonic() < deadline, "A's rules were not applied within 20 s"
            await asyncio.sleep(0.5)
        alert = json.loads(await consume("risk.alerts", lambda v: a_check.encode() in v))
        assert alert["org_id"] == a.org_id and "mismatch" in alert["reasons"]
        assert raw["risk"]["score"] >= 90
        # B's identical check is scored by the platform's rules: its score is the platform's 不一致
        # weight combined with the model's share (whatever the session's model said), never A's 90,
        # and it alerts only at the platform's threshold
        b_check = await _mismatched_check(b_keys, "72000001", publisher, consume, settings)
        b_result = json.loads(await consume("checks.results", lambda v: b_check.encode() in v))
        b_risk = b_result["risk"]
        assert b_risk["rule_version"] == platform["version"] and "mismatch" in b_risk["reasons"]
        hits = [platform["weights"][r] for r in b_risk["reasons"] if r != "model_anomaly"]
        expected = combine(hits, b_risk["model_score"], platform["model_weight"])
        assert b_risk["score"] == expected < 90
        if b_risk["score"] < platform["alert_threshold"]:  # A's 40 would alert it; B's rules do not
            with pytest.raises(AssertionError, match="no matching message"):
                await consume("risk.alerts", lambda v: b_check.encode() in v, 3)

        second = await a_admin.put("/v1/risk/rules", json={"base_version": 1, "alert_threshold": 95})
        assert second.status_code == 200 and second.json()["version"] == 2
        rolled = await a_admin.post("/v1/risk/rules/rollback/1")
        assert rolled.status_code == 200, rolled.text
        assert rolled.json()["version"] == 3 and rolled.json()["alert_threshold"] == 40
        history = (await a_admin.get("/v1/risk/rules/history")).json()
        assert [r["version"] for r in history["data"]] == [3, 2, 1] and history["count"] == 3
        assert (await a_admin.post("/v1/risk/rules/rollback/99")).status_code == 404
        assert (await b_admin.get("/v1/risk/rules/history")).json()["count"] == 0
        # an API key has no analyst role: it may read the rules in force, not change them
        assert (await a_keys.put("/v1/risk/rules", json={"alert_threshold": 1})).status_code == 403
