"""Behaviour scoring in the real worker (issue 20): a seller with an established profile issues a
genuine invoice far above its usual amounts; the check verifies 一致 and still raises an alert whose
evidence names the amount and the seller's usual range, in Chinese and English."""

from __future__ import annotations

import json
import random
import re
import time
from datetime import date
from decimal import Decimal

import numpy as np

from fapiao import topics
from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.taxpayer_id import make_uscc
from fapiao.risk import behaviour, behaviour_model
from schemas.events import Party
from tests.factories import check_of, issued

USUAL = [300 + (i * 53) % 400 for i in range(16)]  # 300–700 yuan: the seller's established profile


def _calibration() -> behaviour_model.BehaviourModel:
    """A behaviour model calibrated on ordinary traffic: small surprises in a few codes."""
    rng = np.random.default_rng(20)
    X = np.zeros((2000, len(behaviour.DEVIATION_CODES)))
    X[:, :4] = rng.uniform(0, 1, (2000, 4)) * (rng.uniform(size=(2000, 4)) < 0.2)
    return behaviour_model.fit(X, metadata={"source": "integration test"})


def _invoice(seller: Party, number: str, amount: int, day: int):  # type: ignore[no-untyped-def]
    inv = issued(number=number, amount=f"{amount}.00", tax="0.00", issue_date=date(2026, 11, day))
    return inv.model_copy(update={"seller": seller})


async def test_a_consistent_check_far_above_the_sellers_profile_alerts_with_its_usual_range(
    worker, settings, publisher, consume
) -> None:
    behaviour_model.save(_calibration(), settings.models_dir / behaviour_model.FILE)
    rng = random.Random(time.time_ns())
    seller = Party(name="北京海淀行为测试科技有限公司", tax_id=make_uscc("110108", rng))
    run = rng.randrange(10**3)
    for i, amount in enumerate(USUAL):  # issuances only: the profile is folded from sellers.activity
        inv = _invoice(seller, f"53{run:03d}{i:03d}", amount, 1 + i)
        await publisher.publish(
            topics.INVOICES_ISSUED, invoice_key(inv.invoice_code, inv.invoice_number), inv
        )
    deadline = time.monotonic() + 30
    for attempt in range(20):  # the profile and the model file arrive asynchronously: retry, bounded
        big = _invoice(seller, f"53{run:03d}{900 + attempt:03d}", 9980, 20)
        key = invoice_key(big.invoice_code, big.invoice_number)
        await publisher.publish(topics.INVOICES_ISSUED, key, big)
        request = check_of(big)
        await publisher.publish(topics.CHECKS_REQUESTED, key, request)
        raw = await consume("checks.results", lambda v, cid=str(request.check_id): cid.encode() in v, 20)
        result = json.loads(raw)
        assert result["verdict"] == "consistent"  # genuine: the register has it as presented
        if behaviour_model.REASON in result["risk"]["reasons"]:
            break
        assert time.monotonic() < deadline, f"no behaviour hit within 30 s: {result['risk']}"
    alert = json.loads(
        await consume("risk.alerts", lambda v, cid=str(request.check_id): cid.encode() in v, 20)
    )
    assert behaviour_model.REASON in alert["reasons"]
    zh, en = alert["evidence"]["behaviour_anomaly.zh"], alert["evidence"]["behaviour_anomaly.en"]
    assert "金额 9,980.00；该销售方通常" in zh and "amount 9,980.00; this seller usually" in en
    low, high = (Decimal(v.replace(",", "")) for v in re.findall(r"usually ([\d,.]+)–([\d,.]+)", en)[0])
    assert min(USUAL) <= low < high <= max(USUAL)  # the profile's usual range, not the population's
    assert "amount_seller" in alert["evidence"]["behaviour_anomaly.features"]
