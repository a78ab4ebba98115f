"""The 0–100 risk score of a result, its severity and reasons, and when it becomes an alert (pure).

Rules combine like independent pieces of evidence: R = 1 − ∏(1 − pᵢ/100), so two 50-point hits make
75, never more than 100. The model is one more such piece, worth at most `model_weight` × 100 points:
score = 100·(1 − (1 − R)·(1 − w·m)) for a model score m in [0, 1]. With w = 0 the score is the rules
alone, with w = 1 and no hits it is the model alone (100·m), and a rule hit above the alert threshold
alerts whatever the model says.
"""

from __future__ import annotations

import math
from datetime import datetime

from fapiao.risk.rules import DEFAULT_RULES, RuleHit
from schemas.events import RiskAssessment, RiskRules, Severity

MODEL_REASON = "model_anomaly"
SEVERITY_BANDS: tuple[tuple[int, Severity], ...] = ((80, "critical"), (60, "high"), (40, "medium"))


def severity(score: int) -> Severity:
    """low < 40 ≤ medium < 60 ≤ high < 80 ≤ critical."""
    for floor, name in SEVERITY_BANDS:
        if score >= floor:
            return name
    return "low"


def combine(points: list[int], model_score: float | None, model_weight: float) -> int:
    """The 0–100 score of rule points and a model score (see the module docstring)."""
    keep = 1.0
    for p in points:
        keep *= 1 - max(0, min(100, p)) / 100
    m = _unit(model_score)
    keep *= 1 - max(0.0, min(1.0, model_weight)) * m
    return max(0, min(100, round(100 * (1 - keep))))


def assess(
    hits: list[RuleHit],
    model_score: float | None,
    rules: RiskRules,
    *,
    model_version: str,
    features: tuple[float, ...],
) -> RiskAssessment:
    """Score, severity, reasons (strongest first) and evidence (`<reason>.<key>`) of one result.

    'model_anomaly' is a reason when the model's share reaches `params['model_reason_points']` points.
    """
    score = combine([h.points for h in hits], model_score, rules.model_weight)
    ranked = [(h.points, h.reason) for h in hits]
    evidence = {f"{h.reason}.{k}": v for h in hits for k, v in h.evidence.items()}
    m = _unit(model_score) if model_score is not None else None
    if m is not None:
        model_points = round(100 * rules.model_weight * m)
        floor = rules.params.get("model_reason_points", DEFAULT_RULES.params["model_reason_points"])
        if model_points > 0 and model_points >= floor:
            ranked.append((model_points, MODEL_REASON))
            evidence[f"{MODEL_REASON}.score"] = f"{m:.3f}"
            evidence[f"{MODEL_REASON}.points"] = str(model_points)
    ranked.sort(key=lambda item: (-item[0], item[1]))
    return RiskAssessment(
        score=score,
        severity=severity(score),
        reasons=tuple(dict.fromkeys(reason for _, reason in ranked)),
        evidence=evidence,
        model_score=m,
        rule_version=rules.version,
        model_version=model_version if m is not None else "",
        features=features,
    )


def should_alert(assessment: RiskAssessment, rules: RiskRules) -> bool:
    """Whether the result goes to `risk.alerts`: its score reached the threshold and something drove it."""
    return assessment.score >= rules.alert_threshold and bool(assessment.reasons)


def alert_due(last_alert_iso: str | None, now: datetime, rules: RiskRules) -> bool:
    """Whether an invoice+reason may alert again: never alerted, or its last alert is a window ago.

    An unreadable timestamp counts as never alerted (better one alert too many than a silenced one).
    """
    if not last_alert_iso:
        return True
    try:
        last = datetime.fromisoformat(last_alert_iso)
    except ValueError:
        return True
    if (last.tzinfo is None) != (now.tzinfo is None):
        return True
    return (now - last).total_seconds() >= rules.alert_window_seconds


def due_reasons(
    last_alerts: dict[str, str], reasons: tuple[str, ...], now: datetime, rules: RiskRules
) -> tuple[str, ...]:
    """The reasons of an alert not alerted for this invoice within the window (`last_alerts`: reason →
    ISO time of its last alert); an alert is sent when this is not empty."""
    return tuple(r for r in reasons if alert_due(last_alerts.get(r), now, rules))


def _unit(value: float | None) -> float:
    if value is None or not math.isfinite(value):
        return 0.0
    return max(0.0, min(1.0, float(value)))
