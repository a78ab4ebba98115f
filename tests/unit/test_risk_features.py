"""Feature vectors: one float per name, finite, deterministic, and what each slot means."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from fapiao.risk.features import FEATURE_NAMES, FEATURE_SET_VERSION, features
from schemas.events import Verdict
from tests.factories import BUYER
from tests.unit.test_risk_rules import AT, INV, context_of, result_of, seller_with


def named(values: tuple[float, ...]) -> dict[str, float]:
    return dict(zip(FEATURE_NAMES, values, strict=True))


def test_names_are_unique_and_versioned() -> None:
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES) and FEATURE_SET_VERSION >= 1


@pytest.mark.parametrize("verdict", list(Verdict))
@pytest.mark.parametrize("with_seller", [False, True])
def test_every_verdict_gives_a_full_finite_vector(verdict: Verdict, with_seller: bool) -> None:
    seller = seller_with(["100.00", "113.00", "90.00"] * 5) if with_seller else None
    values = features(result_of(verdict), context_of(), seller)
    assert len(values) == len(FEATURE_NAMES)
    assert all(isinstance(v, float) and math.isfinite(v) for v in values)
    assert values == features(result_of(verdict), context_of(), seller)  # deterministic
    one_hot = [v for k, v in named(values).items() if k.startswith("verdict_")]
    assert sorted(one_hot) == [0.0] * (len(one_hot) - 1) + [1.0]


def test_slots_of_a_consistent_second_presentation() -> None:
    seller = seller_with(["100.00", "113.00", "90.00"] * 5)
    first = AT - timedelta(minutes=59)
    ctx = context_of(
        prior_checks=2,
        prior_inconsistent=1,
        requesters=("A", "B"),
        orgs=("o1", "o2"),
        consistent_requesters=("A", "B"),
        first_checked_at=first,
    )
    f = named(features(result_of(Verdict.CONSISTENT, requester=str(BUYER.tax_id)), ctx, seller))
    assert f["log_total"] == pytest.approx(math.log1p(113.0))
    assert f["issue_hour"] == 10.0  # factories issue at 02:00 UTC = 10:00 Asia/Shanghai
    assert f["issue_weekday"] == float(INV.issue_date.weekday())
    assert f["days_to_check"] == 5.0
    assert f["seller_hour_share"] == 1.0 and f["seller_volume"] == pytest.approx(math.log1p(15))
    assert (f["prior_checks"], f["prior_inconsistent"], f["requesters"], f["orgs"]) == (2, 1, 2, 2)
    assert f["presented_requesters"] == 2 and f["requester_is_buyer"] == 1.0
    assert f["minutes_since_first_check"] == pytest.approx(math.log1p(59))
    assert f["verdict_consistent"] == 1.0 and f["follow_up"] == 0.0


def test_unknowns_have_fixed_stand_ins() -> None:
    ctx = context_of(issued_at=None, seller_tax_id="", buyer_tax_id="")
    f = named(features(result_of(Verdict.NOT_FOUND), ctx, None))
    assert f["log_total"] == 0.0 and f["amount_z"] == 0.0 and f["issue_hour"] == -1.0
    assert f["requester_is_buyer"] == -1.0 and f["number_burst"] == 0.0
    assert f["verdict_not_found"] == 1.0


def test_mismatch_count_and_follow_up_flag() -> None:
    result = result_of(Verdict.INCONSISTENT, fields=("issue_date", "amount"), follow_up=True)
    f = named(features(result, context_of(), None))
    assert f["mismatched_fields"] == 2.0 and f["follow_up"] == 1.0 and f["verdict_inconsistent"] == 1.0
