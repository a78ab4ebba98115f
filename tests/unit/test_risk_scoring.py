"""The 0–100 score: rule points and the model combined, severity bands, reasons, alert dedupe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fapiao.risk.rules import DEFAULT_RULES, RuleHit
from fapiao.risk.scoring import alert_due, assess, combine, due_reasons, severity, should_alert
from schemas.events import RiskRules

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FEATS = (1.0, 2.0)


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0, "low"),
        (39, "low"),
        (40, "medium"),
        (59, "medium"),
        (60, "high"),
        (79, "high"),
        (80, "critical"),
        (100, "critical"),
    ],
)
def test_severity_bands(score: int, band: str) -> None:
    assert severity(score) == band


def test_combine_is_a_noisy_or_with_the_model_as_one_more_piece() -> None:
    assert combine([], None, 0.3) == 0
    assert combine([80], None, 0.3) == 80
    assert combine([50, 50], None, 0.3) == 75
    assert combine([100, 10], None, 0.3) == 100
    assert combine([], 1.0, 0.3) == 30 and combine([], 0.6, 1.0) == 60
    assert combine([45], 1.0, 0.3) == 62  # a medium rule hit pushed over the threshold by the model
    assert combine([80], 0.9, 0.0) == 80
    assert combine([], float("nan"), 1.0) == 0 and combine([250], 2.0, 3.0) == 100


def test_assess_orders_reasons_and_prefixes_evidence() -> None:
    hits = [RuleHit("not_found", 65, {"region": "北京"}), RuleHit("duplicate_reimbursement", 80, {"n": "2"})]
    a = assess(hits, 0.2, DEFAULT_RULES, model_version="v1", features=FEATS)
    assert a.reasons == ("duplicate_reimbursement", "not_found")  # model 6 points: no reason
    assert a.evidence == {"not_found.region": "北京", "duplicate_reimbursement.n": "2"}
    assert a.score == combine([65, 80], 0.2, 0.3) and a.severity == "critical"
    assert a.rule_version == 1 and a.model_version == "v1" and a.model_score == 0.2 and a.features == FEATS


def test_model_anomaly_is_a_reason_when_the_model_drove_the_score() -> None:
    a = assess([RuleHit("amount_outlier", 40, {})], 1.0, DEFAULT_RULES, model_version="v1", features=FEATS)
    assert a.reasons == ("amount_outlier", "model_anomaly")
    assert a.evidence["model_anomaly.score"] == "1.000" and a.evidence["model_anomaly.points"] == "30"
    heavy = RiskRules(version=2, model_weight=1.0)
    b = assess([RuleHit("amount_outlier", 40, {})], 0.9, heavy, model_version="v1", features=FEATS)
    assert b.reasons == ("model_anomaly", "amount_outlier") and b.score == 94 and b.severity == "critical"


def test_without_a_model() -> None:
    a = assess([], None, DEFAULT_RULES, model_version="v9", features=FEATS)
    assert (a.score, a.severity, a.reasons, a.model_score, a.model_version) == (0, "low", (), None, "")
    assert not should_alert(a, DEFAULT_RULES)


def test_should_alert_at_the_threshold() -> None:
    at_60 = assess([RuleHit("x", 60, {})], None, DEFAULT_RULES, model_version="", features=())
    below = assess([RuleHit("x", 59, {})], None, DEFAULT_RULES, model_version="", features=())
    assert should_alert(at_60, DEFAULT_RULES) and not should_alert(below, DEFAULT_RULES)
    assert should_alert(below, RiskRules(version=2, alert_threshold=50))


def test_alert_due_once_per_window() -> None:
    rules = RiskRules(version=2, alert_window_seconds=3600)
    assert alert_due(None, NOW, rules)
    assert not alert_due((NOW - timedelta(minutes=59)).isoformat(), NOW, rules)
    assert alert_due((NOW - timedelta(minutes=60)).isoformat(), NOW, rules)
    assert alert_due("not a time", NOW, rules)
    assert alert_due(NOW.isoformat(), NOW, RiskRules(version=3, alert_window_seconds=0))


def test_due_reasons_filters_the_ones_alerted_recently() -> None:
    last = {
        "not_found": (NOW - timedelta(hours=1)).isoformat(),
        "mismatch": (NOW - timedelta(days=2)).isoformat(),
    }
    reasons = ("not_found", "mismatch", "duplicate_reimbursement")
    assert due_reasons(last, reasons, NOW, DEFAULT_RULES) == ("mismatch", "duplicate_reimbursement")
