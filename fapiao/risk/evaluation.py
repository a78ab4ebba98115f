"""The evaluation of issue 7: train on an earlier demo period, score a later one, report by anomaly kind.

One seeded `DemoFeed` writes a 60-day backlog (the training period: issuances, status changes, labelled
checks), then its live stream goes on from the backlog's end (the evaluation period). Both are replayed
in time order through the worker's functions (`fapiao.risk.replay`); the model is fitted on the
training period's features without labels, exactly as `fapiao model train` fits on ClickHouse rows,
and scores the later period. Labels are only read here, to count.

Unit: a check. Its score is the highest of its results (a held check later 查无此票, a follow-up after
a void), i.e. what an analyst would have been alerted to. For each anomaly kind the population is that
kind plus all genuine checks: precision = its alerts / (its alerts + alerts on genuine checks), recall
= its alerts / its checks, PR-AUC = average precision of the score. Overall: every anomaly against the
genuine checks. The false-alert rate is the share of genuine checks that alerted.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score

from fapiao.demo import LABELS, DemoFeed
from fapiao.risk import behaviour_model
from fapiao.risk.anomalies import BEHAVIOUR_KINDS, inject
from fapiao.risk.behaviour_model import BehaviourModel
from fapiao.risk.features import FEATURE_NAMES, FEATURE_SET_VERSION
from fapiao.risk.model import ALGORITHMS, DEFAULT_ALGORITHM, AnomalyModel, train
from fapiao.risk.replay import Replay, Scored
from fapiao.risk.rules import DEFAULT_RULES
from fapiao.risk.scoring import combine
from schemas.events import RiskRules

CST = timezone(timedelta(hours=8), "Asia/Shanghai")
GENUINE = "genuine"
KINDS: tuple[str, ...] = (*(label for label in LABELS if label != GENUINE), *BEHAVIOUR_KINDS)
# rules: the rules and the behaviour score (both rule hits); model: the anomaly model alone; combined: all
MODES: tuple[str, ...] = ("rules", "model", "combined")
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class EvalConfig:
    seed: int = 2026
    train_invoices: int = 8000
    train_checks: int = 8000
    eval_events: int = 24000  # live events after the backlog (issuances, status changes, checks)
    # live events per simulated second, a week's mean: the backlog's per-entity rates (24,000 ≈ 92 days)
    rate: float = 0.003
    algorithm: str = DEFAULT_ALGORITHM
    start: datetime = datetime(2026, 6, 1, tzinfo=CST)  # fixed, so a run does not depend on today
    cases: tuple[int, int] = (6, 25)  # behaviour cases per kind in the training / evaluation period

    def command(self) -> str:
        return (
            f"fapiao model evaluate --seed {self.seed} --train-invoices {self.train_invoices} "
            f"--train-checks {self.train_checks} --eval-events {self.eval_events} --rate {self.rate:g} "
            f"--algorithm {self.algorithm} --cases {self.cases[0]},{self.cases[1]}"
        )


@dataclass(frozen=True)
class Metrics:
    precision: float
    recall: float
    pr_auc: float
    alerts: int


@dataclass(frozen=True)
class Row:
    kind: str
    checks: int
    modes: dict[str, Metrics]


@dataclass(frozen=True)
class Candidate:
    algorithm: str
    model: Metrics
    combined: Metrics
    model_false_alerts: float
    combined_false_alerts: float
    train_seconds: float
    score_rows_per_second: float


@dataclass
class Report:
    config: EvalConfig
    rules: RiskRules
    train_rows: int
    train_period: tuple[str, str]
    eval_period: tuple[str, str]
    genuine: int
    rows: list[Row]
    false_alerts: dict[str, float]
    candidates: list[Candidate] = field(default_factory=list)
    reason_checks: dict[str, tuple[int, int]] = field(default_factory=dict)  # reason -> (genuine, anomalous)
    loko: list[Any] = field(default_factory=list)  # fapiao.risk.loko.Loko: without, with decisions
    seconds: float = 0.0


@dataclass
class Replayed:
    train: dict[str, Scored]  # check id -> its latest result at the end of the training period
    evaluate: dict[str, list[Scored]]  # check id -> every result of a check of the later period
    labels: dict[str, str]
    train_period: tuple[str, str]
    eval_period: tuple[str, str]


def replay_periods(config: EvalConfig, rules: RiskRules, progress: Progress | None = None) -> Replayed:
    feed = DemoFeed(config.seed, config.start)
    backlog = feed.history(config.train_invoices, config.train_checks)
    live = list(itertools.islice(feed.stream(config.rate), config.eval_events))
    if any(config.cases):
        wanted = dict.fromkeys(BEHAVIOUR_KINDS, config.cases)
        backlog, live = inject(config.seed, feed.directory, backlog, live, wanted)
    replay = Replay(rules)
    train_rows: dict[str, Scored] = {}
    for i, event in enumerate(backlog, 1):
        for scored in replay.feed(event):
            train_rows[scored.check_id] = scored
        if progress and (i % 2000 == 0 or i == len(backlog)):
            progress("replaying the training period", i, len(backlog))
    later: dict[str, list[Scored]] = {}
    for i, event in enumerate(live, 1):
        for scored in replay.feed(event):
            if scored.check_id not in train_rows:
                later.setdefault(scored.check_id, []).append(scored)
        if progress and (i % 2000 == 0 or i == len(live)):
            progress("replaying the evaluation period", i, len(live))
    for scored in replay.finish():
        if scored.check_id in later:
            later[scored.check_id].append(scored)
    return Replayed(
        train_rows,
        later,
        replay.labels,
        (backlog[0].at.isoformat(), backlog[-1].at.isoformat()),
        (live[0].at.isoformat(), live[-1].at.isoformat()),
    )


CALIBRATION_DAYS = 30  # the behaviour score is calibrated on the training period's last days: mature profiles


def calibration_rows(replayed: Replayed) -> list[Scored]:
    """Presented results of the training period's last CALIBRATION_DAYS (profiles are young before)."""
    end = datetime.fromisoformat(replayed.train_period[1])
    since = end - timedelta(days=CALIBRATION_DAYS)
    return [s for s in replayed.train.values() if s.presented and s.result.requested_at >= since]


def behaviour_rows(scored: list[Scored]) -> np.ndarray:
    """Deviation vectors of the presented results (the rows the behaviour score is calibrated on)."""
    rows = [s.behaviour for s in scored if s.presented]
    return np.asarray(rows, dtype=float).reshape(len(rows), len(behaviour_model.DEVIATION_CODES))


def behaviour_points(
    scored: list[Scored], model: BehaviourModel | None, points: int = behaviour_model.DEFAULT_POINTS
) -> list[int]:
    """The behaviour hit's points of each result (0 unless presented and deviating)."""
    if model is None or not scored:
        return [0] * len(scored)
    m = model.score(np.asarray([s.behaviour for s in scored], dtype=float))
    out = []
    for s, value in zip(scored, m, strict=True):
        hit = behaviour_model.hit(list(s.deviations), float(value), points) if s.presented else None
        out.append(hit.points if hit else 0)
    return out


def check_scores(
    replayed: Replayed, model: AnomalyModel, rules: RiskRules, behaviour: BehaviourModel | None = None
) -> tuple[list[str], dict[str, np.ndarray]]:
    """Labels and per-mode scores of the later period's checks (models scored in one batch)."""
    results = [(cid, s) for cid, items in replayed.evaluate.items() for s in items]
    model_scores = model.score(np.asarray([s.features for _, s in results], dtype=float))
    extra = behaviour_points([s for _, s in results], behaviour)
    best: dict[str, dict[str, int]] = {mode: {} for mode in MODES}
    for (cid, scored), m, b in zip(results, model_scores, extra, strict=True):
        points = [hit.points for hit in scored.hits] + ([b] if b else [])
        for mode, value in (
            ("rules", combine(points, None, 0.0)),
            ("model", combine([], float(m), 1.0)),
            ("combined", combine(points, float(m), rules.model_weight)),
        ):
            best[mode][cid] = max(best[mode].get(cid, 0), value)
    ids = sorted(replayed.evaluate)
    labels = [replayed.labels.get(cid, GENUINE) for cid in ids]
    return labels, {mode: np.asarray([best[mode][cid] for cid in ids], dtype=float) for mode in MODES}


def reason_checks(replayed: Replayed) -> dict[str, tuple[int, int]]:
    """For each rule reason: how many genuine and how many anomalous later checks it fired on."""
    counts: dict[str, list[int]] = {}
    for cid, items in replayed.evaluate.items():
        anomalous = int(replayed.labels.get(cid, GENUINE) != GENUINE)
        for reason in {hit.reason for scored in items for hit in scored.hits}:  # rule hits only
            counts.setdefault(reason, [0, 0])[anomalous] += 1
    return {reason: (c[0], c[1]) for reason, c in sorted(counts.items())}


def metrics(positive: np.ndarray, scores: np.ndarray, threshold: int, negatives_alerts: int) -> Metrics:
    alerted = scores >= threshold
    hits = int(np.sum(alerted & positive))
    n_pos = int(np.sum(positive))
    precision = hits / (hits + negatives_alerts) if hits + negatives_alerts else float("nan")
    recall = hits / n_pos if n_pos else float("nan")
    auc = float(average_precision_score(positive, scores)) if 0 < n_pos < len(positive) else float("nan")
    return Metrics(precision, recall, auc, hits)


def table(
    labels: list[str], scores: dict[str, np.ndarray], threshold: int
) -> tuple[list[Row], dict[str, float]]:
    names = np.asarray(labels)
    genuine = names == GENUINE
    false_alerts = {mode: float(np.mean(scores[mode][genuine] >= threshold)) for mode in MODES}
    rows = []
    for kind in (*KINDS, "overall"):
        mask = np.ones(len(names), dtype=bool) if kind == "overall" else (names == kind) | genuine
        positive = (~genuine)[mask] if kind == "overall" else (names == kind)[mask]
        modes = {}
        for mode in MODES:
            fp = int(np.sum(scores[mode][genuine] >= threshold))
            modes[mode] = metrics(positive, scores[mode][mask], threshold, fp)
        rows.append(Row(kind, int(np.sum(positive)), modes))
    return rows, false_alerts


def evaluate(
    config: EvalConfig = EvalConfig(),
    rules: RiskRules = DEFAULT_RULES,
    *,
    compare: bool = True,
    progress: Progress | None = None,
) -> Report:
    started = time.monotonic()
    replayed = replay_periods(config, rules, progress)
    X = np.asarray([s.features for s in replayed.train.values()], dtype=float)
    trained_on = {
        "source": "demo",
        "seed": config.seed,
        "window": list(replayed.train_period),
        "feature_set_version": FEATURE_SET_VERSION,
    }
    # calibrated on the genuine checks, as the leave-one-kind-out fits are (fapiao.risk.loko says why)
    reference = [s for s in calibration_rows(replayed) if replayed.labels.get(s.check_id, GENUINE) == GENUINE]
    behaviour = behaviour_model.fit(behaviour_rows(reference))
    candidates = []
    report_rows: list[Row] = []
    false_alerts: dict[str, float] = {}
    labels: list[str] = []
    for algorithm in ALGORITHMS if compare else (config.algorithm,):
        if progress:
            progress(f"training and scoring {algorithm}", 0, 1)
        t0 = time.monotonic()
        model = train(
            X, feature_names=FEATURE_NAMES, trained_on=trained_on, algorithm=algorithm, seed=config.seed
        )
        t1 = time.monotonic()
        labels, scores = check_scores(replayed, model, rules, behaviour)
        scoring_seconds = _time_scoring(model, replayed)
        rows, fars = table(labels, scores, rules.alert_threshold)
        overall = rows[-1]
        candidates.append(
            Candidate(
                algorithm,
                overall.modes["model"],
                overall.modes["combined"],
                fars["model"],
                fars["combined"],
                t1 - t0,
                scoring_seconds,
            )
        )
        if algorithm == config.algorithm:
            report_rows, false_alerts = rows, fars
        if progress:
            progress(f"training and scoring {algorithm}", 1, 1)
    from fapiao.risk.loko import leave_one_kind_out  # it builds on this module

    loko = []
    if any(config.cases):
        models: dict[str | None, AnomalyModel] = {}  # one anomaly model per fold, for both runs
        for decisions in (False, True):
            if progress:
                progress(f"leave-one-kind-out, decisions {'on' if decisions else 'off'}", 0, 1)
            loko.append(
                leave_one_kind_out(replayed, rules, decisions=decisions, seed=config.seed, models=models)
            )
    return Report(
        config=config,
        rules=rules,
        train_rows=len(X),
        train_period=replayed.train_period,
        eval_period=replayed.eval_period,
        genuine=sum(1 for label in labels if label == GENUINE),
        rows=report_rows,
        false_alerts=false_alerts,
        candidates=candidates if compare else [],
        reason_checks=reason_checks(replayed),
        loko=loko,
        seconds=time.monotonic() - started,
    )


def _time_scoring(model: AnomalyModel, replayed: Replayed) -> float:
    """Rows per second of `model.score` in batches of 500 (the worker's batch size)."""
    rows = np.asarray([s.features for items in replayed.evaluate.values() for s in items], dtype=float)
    batches = [rows[i : i + 500] for i in range(0, min(len(rows), 10_000), 500)]
    t0 = time.perf_counter()
    for batch in batches:
        model.score(batch)
    elapsed = time.perf_counter() - t0
    return sum(len(b) for b in batches) / elapsed if elapsed > 0 else float("inf")
