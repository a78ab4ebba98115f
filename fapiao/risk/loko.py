"""Leave-one-kind-out evaluation of the behaviour kinds (issue 20), with and without analysts' labels.

For each behaviour kind k: every training-period check of kind k is removed, the anomaly model and the
behaviour score are fitted and calibrated on what is left (no labels), and — "with decisions" — the
analysts' decisions on the training period's alerts are simulated (an alert on an anomalous check is
confirmed, on a genuine one dismissed; kind k has none, it was never seen) and weight a second,
labelled behaviour score (`behaviour_model.fit_weights`, `with_labels`: the larger of the two counts,
so the unlabelled one a kind nobody labelled is caught by stays as it was). The behaviour score is
calibrated on the genuine checks of the training period's last days (only genuine labels are read).
Then the operating point is tuned on the training period: the behaviour hit's points are the largest
of `POINTS` (steps of 1) whose false-alert rate on the training period's last days' genuine checks
stays at or under `TUNE_FALSE_ALERTS` (only genuine labels are read, so the tuning knows no kind; in
production the dismissed share of decided alerts plays that part). The evaluation period is then
scored and recall on kind k is measured at the operating threshold; precision and PR-AUC count kind
k against every genuine check, the false-alert rate is the share of
genuine checks alerted. The headline is the mean held-out recall
over the kinds. "In-sample" fits once on everything (every kind seen and, with decisions, labelled)
and reports every kind.

The unit is a check; its score is the highest of its results, as in `fapiao.risk.evaluation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fapiao.risk import behaviour_model
from fapiao.risk.anomalies import BEHAVIOUR_KINDS
from fapiao.risk.behaviour import profile_names as behaviour_names
from fapiao.risk.evaluation import (
    GENUINE,
    Metrics,
    Replayed,
    behaviour_rows,
    calibration_rows,
    metrics,
)
from fapiao.risk.features import FEATURE_NAMES
from fapiao.risk.model import AnomalyModel, train
from fapiao.risk.replay import Scored
from fapiao.risk.rules import RuleHit
from fapiao.risk.scoring import combine
from schemas.events import RiskRules

POINTS: tuple[int, ...] = tuple(range(60, 201))  # behaviour points (× m, at most 100) tried when tuning
TUNE_FALSE_ALERTS = 0.01  # the training period's genuine false-alert rate tuning aims under (the target)


@dataclass(frozen=True)
class KindResult:
    kind: str
    checks: int
    held_out: Metrics
    in_sample: Metrics


@dataclass(frozen=True)
class Loko:
    decisions: bool
    kinds: list[KindResult]
    held_out_false_alerts: float  # the mean over folds of the genuine checks' alert share
    in_sample_false_alerts: float
    in_sample_precision: float  # every behaviour kind together against the genuine checks
    decisions_used: int  # simulated decisions (confirmed + dismissed) of the in-sample fit
    points: int  # the behaviour points tuned in-sample
    fold_points: tuple[int, ...]  # … and in each fold, in BEHAVIOUR_KINDS order
    readable: Readable  # the in-sample fit's alerts on the evaluation period and their reasons

    @property
    def held_out_recall(self) -> float:
        return float(np.mean([k.held_out.recall for k in self.kinds]))

    @property
    def in_sample_recall(self) -> float:
        return float(np.mean([k.in_sample.recall for k in self.kinds]))


@dataclass(frozen=True)
class Fitted:
    model: AnomalyModel
    behaviour: behaviour_model.BehaviourModel
    points: int
    decisions: int


@dataclass(frozen=True)
class _Results:
    """What scoring a set of checks needs, computed once: every result's check id, rule points, anomaly
    score and behaviour score (0 unless presented and deviating), so the operating point can be tried
    at many behaviour points without scoring the models again."""

    ids: tuple[str, ...]
    rules: tuple[tuple[int, ...], ...]
    model: np.ndarray
    behaviour: np.ndarray


def _results(
    checks: dict[str, list[Scored]], model: AnomalyModel, behaviour: behaviour_model.BehaviourModel
) -> _Results:
    results = [(cid, s) for cid, items in checks.items() for s in items]
    if not results:
        return _Results((), (), np.zeros(0), np.zeros(0))
    m = model.score(np.asarray([s.features for _, s in results], dtype=float))
    b = behaviour.score(np.asarray([s.behaviour for _, s in results], dtype=float))
    scoring = np.asarray([s.presented and bool(s.deviations) for _, s in results], dtype=bool)
    return _Results(
        tuple(cid for cid, _ in results),
        tuple(tuple(hit.points for hit in s.hits) for _, s in results),
        m,
        np.where(scoring, b, 0.0),
    )


def _best(results: _Results, rules: RiskRules, points: int) -> dict[str, int]:
    """Combined score of each check (the highest of its results) at `points` for the behaviour hit
    (as `behaviour_model.hit` values it)."""
    extra = np.minimum(100, np.rint(max(0, points) * np.clip(results.behaviour, 0.0, 1.0))).astype(int)
    best: dict[str, int] = {}
    for cid, hits, value, b in zip(results.ids, results.rules, results.model, extra, strict=True):
        score = combine([*hits, int(b)] if b > 0 else list(hits), float(value), rules.model_weight)
        best[cid] = max(best.get(cid, 0), score)
    return best


def _score_checks(
    checks: dict[str, list[Scored]],
    model: AnomalyModel,
    behaviour: behaviour_model.BehaviourModel,
    rules: RiskRules,
    points: int = behaviour_model.DEFAULT_POINTS,
) -> dict[str, int]:
    """Combined score of each check (the highest of its results)."""
    return _best(_results(checks, model, behaviour), rules, points)


PROFILE_NAMES = frozenset(behaviour_names())


@dataclass(frozen=True)
class Readable:
    """The evaluation's alerts (checks scoring at least the threshold) and their reasons."""

    alerts: int
    behaviour_alerts: int  # … with a behaviour_anomaly hit among their reasons
    unreadable: tuple[str, ...]  # check ids of alerts with no readable reason naming its comparison
    by_kind: dict[str, tuple[int, int]] = field(default_factory=dict)  # label -> (alerts, unreadable)


def readable_alerts(
    checks: dict[str, list[Scored]],
    model: AnomalyModel,
    behaviour: behaviour_model.BehaviourModel,
    rules: RiskRules,
    points: int,
    labels: dict[str, str] | None = None,
) -> Readable:
    """Whether every alert carries at least one readable reason with what it was compared with: a
    behaviour hit its zh and en sentences and a known profile for each; a verdict rule (which compares
    with the register, not a profile) its evidence (its reason's zh/en label is the web app's, a unit
    test checks every reason has one). Counted per label too (`labels`: check id -> kind), so a kind
    whose alerts all come from one rule cannot hide behind the others."""
    results = [(cid, s) for cid, items in checks.items() for s in items]
    if not results:
        return Readable(0, 0, ())
    m = model.score(np.asarray([s.features for _, s in results], dtype=float))
    B = behaviour.score(np.asarray([s.behaviour for _, s in results], dtype=float))
    alerted: dict[str, bool] = {}  # check id -> readable
    with_behaviour: set[str] = set()
    for (cid, scored), value, b in zip(results, m, B, strict=True):
        hit = behaviour_model.hit(list(scored.deviations), float(b), points) if scored.presented else None
        hits = [*scored.hits, *([hit] if hit else [])]
        if combine([h.points for h in hits], float(value), rules.model_weight) < rules.alert_threshold:
            continue
        ok = any(_readable(h) for h in hits)
        alerted[cid] = alerted.get(cid, False) or ok
        if hit is not None:
            with_behaviour.add(cid)
    bad = tuple(sorted(cid for cid, ok in alerted.items() if not ok))
    by_kind: dict[str, list[int]] = {}
    for cid, ok in alerted.items():
        counts = by_kind.setdefault((labels or {}).get(cid, GENUINE), [0, 0])
        counts[0] += 1
        counts[1] += int(not ok)
    return Readable(
        len(alerted), len(with_behaviour), bad, {kind: (n, b) for kind, (n, b) in sorted(by_kind.items())}
    )


def _readable(hit: RuleHit) -> bool:
    if hit.reason != behaviour_model.REASON:
        return bool(hit.evidence)
    profiles = hit.evidence.get("profiles", "").split(",")
    zh, en = hit.evidence.get("zh", ""), hit.evidence.get("en", "")
    return bool(zh and en and profiles and all(p in PROFILE_NAMES for p in profiles))


Models = dict[str | None, AnomalyModel]  # anomaly models by excluded kind: labels never change them


def _fit(
    replayed: Replayed, rules: RiskRules, exclude: str | None, decisions: bool, seed: int, models: Models
) -> Fitted:
    labels = replayed.labels
    kept = {cid: s for cid, s in replayed.train.items() if labels.get(cid, GENUINE) != exclude}
    if exclude not in models:
        X = np.asarray([s.features for s in kept.values()], dtype=float)
        trained_on = {"source": "demo", "loko": exclude}
        models[exclude] = train(X, feature_names=FEATURE_NAMES, trained_on=trained_on, seed=seed)
    model = models[exclude]
    recent = [s for s in calibration_rows(replayed) if s.check_id in kept]
    # the score's reference is the genuine traffic: the demo's training period is 16 % anomalies (its
    # injected cases and the verdict kinds), so "the top 1 % of all traffic" would be a share of the
    # anomalies themselves; production calibrates on its traffic less the confirmed alerts
    genuine_recent = [s for s in recent if labels.get(s.check_id, GENUINE) == GENUINE]
    Xb = behaviour_rows(genuine_recent)
    behaviour = behaviour_model.fit(Xb)
    used = 0
    if decisions:
        presented = [s for s in kept.values() if s.presented]
        scores = _score_checks({cid: [s] for cid, s in kept.items()}, model, behaviour, rules)
        alerted = {cid for cid, value in scores.items() if value >= rules.alert_threshold}
        confirmed = np.asarray(
            [s.check_id in alerted and labels.get(s.check_id, GENUINE) != GENUINE for s in presented],
            dtype=bool,
        )
        weights = behaviour_model.fit_weights(behaviour_rows(presented), confirmed, seed=seed)
        behaviour = behaviour_model.with_labels(behaviour, Xb, weights, {"decisions": len(alerted)})
        used = len(alerted)
    genuine = {s.check_id: [s] for s in recent if labels.get(s.check_id, GENUINE) == GENUINE}
    prepared = _results(genuine, model, behaviour)
    points = POINTS[0]
    for candidate in POINTS:
        scores = _best(prepared, rules, candidate)
        if _false_alerts(scores, labels, rules.alert_threshold) <= TUNE_FALSE_ALERTS:
            points = candidate
    return Fitted(model, behaviour, points, used)


def _kind_metrics(scores: dict[str, int], labels: dict[str, str], kind: str, threshold: int) -> Metrics:
    ids = [cid for cid in scores if labels.get(cid, GENUINE) in (kind, GENUINE)]
    positive = np.asarray([labels.get(cid, GENUINE) == kind for cid in ids], dtype=bool)
    values = np.asarray([scores[cid] for cid in ids], dtype=float)
    false = int(np.sum(values[~positive] >= threshold))
    return metrics(positive, values, threshold, false)


def _false_alerts(scores: dict[str, int], labels: dict[str, str], threshold: int) -> float:
    genuine = [v for cid, v in scores.items() if labels.get(cid, GENUINE) == GENUINE]
    return float(np.mean(np.asarray(genuine) >= threshold)) if genuine else float("nan")


def leave_one_kind_out(
    replayed: Replayed, rules: RiskRules, *, decisions: bool, seed: int = 0, models: Models | None = None
) -> Loko:
    """The folds and the in-sample fit; `models` caches the anomaly models (fitted without labels, so
    the runs with and without decisions can share them)."""
    models = {} if models is None else models
    labels, threshold = replayed.labels, rules.alert_threshold
    fitted = _fit(replayed, rules, None, decisions, seed, models)
    everything = _score_checks(replayed.evaluate, fitted.model, fitted.behaviour, rules, fitted.points)
    ids = [cid for cid in everything if labels.get(cid, GENUINE) in (*BEHAVIOUR_KINDS, GENUINE)]
    positive = np.asarray([labels.get(cid, GENUINE) != GENUINE for cid in ids], dtype=bool)
    values = np.asarray([everything[cid] for cid in ids], dtype=float)
    together = metrics(positive, values, threshold, int(np.sum(values[~positive] >= threshold)))
    kinds, fars, fold_points = [], [], []
    for kind in BEHAVIOUR_KINDS:
        fold = _fit(replayed, rules, kind, decisions, seed, models)
        held = _score_checks(replayed.evaluate, fold.model, fold.behaviour, rules, fold.points)
        fars.append(_false_alerts(held, labels, threshold))
        fold_points.append(fold.points)
        checks = sum(1 for cid in held if labels.get(cid) == kind)
        kinds.append(
            KindResult(
                kind,
                checks,
                _kind_metrics(held, labels, kind, threshold),
                _kind_metrics(everything, labels, kind, threshold),
            )
        )
    return Loko(
        decisions,
        kinds,
        float(np.mean(fars)),
        _false_alerts(everything, labels, threshold),
        together.precision,
        fitted.decisions,
        fitted.points,
        tuple(fold_points),
        readable_alerts(replayed.evaluate, fitted.model, fitted.behaviour, rules, fitted.points, labels),
    )
