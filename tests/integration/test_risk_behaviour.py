"""Behaviour scoring in the real worker (issue 20): a seller with an established profile issues a
genuine invoice far above its usual amounts; the check verifies 一致 and still raises an alert whose
evidence names the amount and the seller's usual range, in Chinese and English."""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fapiao import topics
from fapiao.bus import Publisher
from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.taxpayer_id import make_uscc
from fapiao.risk import behaviour, behaviour_model
from fapiao.settings import Settings
from schemas.events import Party
from tests.factories import check_of, issued
from tests.integration.conftest import _env, consuming, private_stack
from tests.integration.processes import cli_process, wait_for_line

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


@pytest.fixture
def behaviour_worker(tmp_path: Path) -> Iterator[Settings]:
    """A worker of its own that scores behaviour (off by default, docs/risk-model.md), with a
    calibrated behaviour model in its models folder; the session worker keeps the default."""
    with private_stack("behaviour", tmp_path) as (base, _engine):
        settings = base.model_copy(
            update={"risk_behaviour": True, "models_dir": tmp_path / "models", "model_poll_seconds": 0.5}
        )
        settings.models_dir.mkdir()
        behaviour_model.save(_calibration(), settings.models_dir / behaviour_model.FILE)
        log = tmp_path / "worker.log"
        with cli_process(["worker"], _env(settings), log) as proc:
            wait_for_line(proc, log, "Worker ready", 120)
            yield settings


async def test_a_consistent_check_far_above_the_sellers_profile_alerts_with_its_usual_range(
    behaviour_worker: Settings,
) -> None:
    settings = behaviour_worker
    publisher = Publisher(settings)
    await publisher.start()
    try:
        async with consuming(settings) as consume:
            await _scenario(settings, publisher, consume)
    finally:
        await publisher.stop()


async def _scenario(settings: Settings, publisher: Publisher, consume: Any) -> None:
    rng = random.Random(time.time_ns())
    seller = Party(name="北京海淀行为测试科技有限公司", tax_id=make_uscc("110108", rng))
    run = rng.randrange(10**3)
    invoices = [_invoice(seller, f"53{run:03d}{i:03d}", amount, 1 + i) for i, amount in enumerate(USUAL)]
    big = _invoice(seller, f"53{run:03d}900", 9980, 20)  # genuine, far above the usual 300–700
    keys = {invoice_key(inv.invoice_code, inv.invoice_number) for inv in [*invoices, big]}
    for inv in [*invoices, big]:
        await publisher.publish(
            topics.INVOICES_ISSUED, invoice_key(inv.invoice_code, inv.invoice_number), inv
        )
    folded: set[str] = set()

    def all_folded(value: bytes) -> bool:  # the register has them all: each told sellers.activity
        folded.add(json.loads(value)["invoice_key"])
        return keys <= folded

    await consume("sellers.activity", all_folded, 30)
    deadline = time.monotonic() + 20
    while True:  # the risk agent reads sellers.activity and the model file asynchronously: bounded retry
        request = check_of(big)  # the same invoice presented again: its own issuance is never its yardstick
        await publisher.publish(
            topics.CHECKS_REQUESTED, invoice_key(big.invoice_code, big.invoice_number), request
        )
        raw = await consume("checks.results", lambda v, cid=str(request.check_id): cid.encode() in v, 20)
        result = json.loads(raw)
        assert result["verdict"] == "consistent"  # genuine and in the register
        if behaviour_model.REASON in result["risk"]["reasons"]:
            break
        assert time.monotonic() < deadline, f"no behaviour hit within 20 s: {result['risk']}"
        await asyncio.sleep(0.5)
    alert = json.loads(
        await consume("risk.alerts", lambda v, cid=str(request.check_id): cid.encode() in v, 20)
    )
    assert behaviour_model.REASON in alert["reasons"]
    zh, en = alert["evidence"]["behaviour_anomaly.zh"], alert["evidence"]["behaviour_anomaly.en"]
    assert "金额 9,980.00；该销售方通常" in zh and "amount 9,980.00; this seller usually" in en
    low, high = (Decimal(v.replace(",", "")) for v in re.findall(r"usually ([\d,.]+)–([\d,.]+)", en)[0])
    assert min(USUAL) <= low < high <= max(USUAL)  # the profile's usual range, not the population's
    assert "amount_seller" in alert["evidence"]["behaviour_anomaly.features"]
