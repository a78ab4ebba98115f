"""Per-seller rolling statistics: counts, amounts, hours, buyers, number runs; bounded; never mutating."""

from __future__ import annotations

import copy
import json
import math
import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Literal

from fapiao.risk import seller_stats as ss
from schemas.events import SellerActivity

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 5, 4, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
SELLER = "9111010829141777X4"
BUYER = "911101056317066918"


def act(
    number: int = 1,
    *,
    kind: Literal["issued", "voided", "red_flushed"] = "issued",
    amount: str = "100.00",
    buyer: str = BUYER,
    at: datetime = T0,
    code: str = "011002300111",
) -> SellerActivity:
    num = f"{number:08d}"
    return SellerActivity(
        seller_tax_id=SELLER,
        kind=kind,
        invoice_key=f"{code}-{num}" if code else num,
        invoice_number=num,
        buyer_tax_id=buyer,
        amount=Decimal(amount),
        issued_at=at,
        at=at,
    )


def fold_all(activities: list[SellerActivity]) -> dict:  # type: ignore[type-arg]
    stats = None
    for a in activities:
        stats = ss.fold_activity(stats, a)
    assert stats is not None
    return stats


def test_issued_counts_amount_moments_and_local_hour() -> None:
    amounts = ["100.00", "200.00", "400.00"]
    stats = fold_all([act(i, amount=a) for i, a in enumerate(amounts, 1)])
    logs = [math.log(float(a)) for a in amounts]
    mean = sum(logs) / 3
    assert stats["issued"] == 3
    assert math.isclose(stats["log_mean"], mean)
    assert math.isclose(stats["log_m2"], sum((x - mean) ** 2 for x in logs))
    assert stats["hours"][9] == 3 and sum(stats["hours"]) == 3  # 01:30 UTC is 09:30 Asia/Shanghai
    assert stats["buyers"] == {BUYER: 3} and ss.distinct_buyers(stats) == 1
    assert ss.hour_share(stats, 9) == 1.0 and ss.hour_share(stats, 3) == 0.0
    assert json.loads(json.dumps(stats)) == stats  # JSON-able as is


def test_fold_never_mutates_its_input() -> None:
    stats = fold_all([act(i) for i in range(1, 30)])
    before = copy.deepcopy(stats)
    ss.fold_activity(stats, act(30, buyer="91110000000000000X"))
    ss.fold_activity(stats, act(31, kind="voided"))
    assert stats == before


def test_a_redelivered_activity_is_counted_once() -> None:
    stats = fold_all([act(1), act(1), act(1, kind="voided"), act(1, kind="voided")])
    assert stats["issued"] == 1 and stats["voided"] == 1


def test_void_ratio_counts_voids_and_red_flushes() -> None:
    assert ss.void_ratio(None) == 0.0 and ss.void_ratio(ss.empty_stats()) == 0.0
    stats = fold_all([act(i) for i in range(1, 5)] + [act(1, kind="voided"), act(2, kind="red_flushed")])
    assert ss.void_ratio(stats) == 0.5


def test_amount_zscore_needs_history_and_measures_log_distance() -> None:
    rng = random.Random(1)
    history = [act(i, amount=f"{math.exp(rng.gauss(6, 0.5)):.2f}") for i in range(1, 10)]
    stats = fold_all(history)
    assert ss.amount_zscore(stats, Decimal("400")) is None  # 9 invoices: not enough
    stats = ss.fold_activity(stats, act(10, amount="400.00"))
    z_usual = ss.amount_zscore(stats, Decimal("400"))
    z_huge = ss.amount_zscore(stats, Decimal("400000"))
    assert z_usual is not None and abs(z_usual) < 2
    assert z_huge is not None and z_huge > 4
    assert ss.amount_zscore(stats, Decimal("0")) is None and ss.amount_zscore(None, Decimal("1")) is None


def test_fixed_price_seller_gives_finite_z() -> None:
    stats = fold_all([act(i, amount="35.00") for i in range(1, 20)])
    z = ss.amount_zscore(stats, Decimal("36.00"))
    assert z is not None and math.isfinite(z)


def test_burst_length_counts_consecutive_numbers_to_one_buyer_within_the_window() -> None:
    run = [act(n, at=T0 + timedelta(hours=n - 100)) for n in range(100, 106)]  # 6 consecutive
    other = [act(106, buyer="91110000000000000X"), act(108), act(200, at=T0 - timedelta(days=30))]
    stats = fold_all(run + other)
    key = "011002300111-00000103"
    assert ss.burst_length(stats, BUYER, key, "00000103", T0, window_days=3) == 6
    assert (
        ss.burst_length(stats, BUYER, key, "00000103", T0, window_days=0.1) == 4
    )  # 100..102 issued within 2.4 h of T0, and 103 itself
    assert ss.burst_length(stats, BUYER, "011002300111-00000108", "00000108", T0, 3) == 1
    assert ss.burst_length(stats, "", key, "00000103", T0, 3) == 0
    assert ss.burst_length(None, BUYER, key, "00000103", T0, 3) == 1  # only itself
    assert ss.burst_length(stats, BUYER, "999999999999-00000103", "00000103", T0, 3) == 1  # other code


def test_digital_numbers_run_on_their_sequence() -> None:
    assert ss.invoice_series("26112000000000000041", "26112000000000000041") == ("26112", 41)
    assert ss.invoice_series("011002300111-00000007", "00000007") == ("011002300111", 7)
    assert ss.invoice_series("x", "ABC") is None


def test_size_is_bounded_however_long_it_runs() -> None:
    rng = random.Random(7)
    stats = None
    for i in range(6000):
        buyer = f"9111{rng.randrange(10**14):014d}" if rng.random() < 0.7 else BUYER
        at = T0 + timedelta(minutes=i)
        kind: Literal["issued", "voided", "red_flushed"] = "voided" if i % 50 == 0 else "issued"
        stats = ss.fold_activity(stats, act(i + 1, kind=kind, buyer=buyer, at=at, amount=f"{i % 977 + 1}.00"))
    assert stats is not None
    assert len(stats["buyers"]) == ss.MAX_BUYERS
    assert stats["buyers"][BUYER] >= 1500  # the heavy hitter survives the churn
    assert len(stats["numbers"]) <= ss.MAX_TRACKED_BUYERS
    assert all(len(v) <= ss.MAX_NUMBERS for v in stats["numbers"].values())
    assert len(stats["recent"]) == ss.MAX_RECENT_KEYS
    assert len(json.dumps(stats)) < 64_000
    assert stats["issued"] + stats["voided"] == 6000


def test_folding_onto_stats_read_back_from_json_gives_the_same() -> None:
    history = [act(n, at=T0 + timedelta(minutes=n)) for n in range(1, 40)]
    stats = fold_all(history)
    stored = json.loads(json.dumps(stats))  # what the Faust table hands back
    nxt = act(40, at=T0 + timedelta(minutes=40), amount="999.00")
    assert ss.fold_activity(stored, nxt) == ss.fold_activity(stats, nxt)
    # the last MAX_NUMBERS numbers are kept, so a run is seen up to MAX_NUMBERS + 1 long
    assert ss.burst_length(stored, BUYER, "011002300111-00000040", "00000040", T0, 3) == ss.MAX_NUMBERS + 1
