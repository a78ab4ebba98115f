"""Analysts' decisions as labels for `fapiao model train` (issue 19 item 1, issue 20 item 4).

A decided alert (ClickHouse `alert_decisions`, newest decision per alert, written by the cases API) labels
its check: `confirmed_fraud` / `confirmed_error` positive, `dismissed` negative, `reopened` none (the
label was withdrawn). Each label is joined with the features the worker stored with the check's result
(`check_results.risk_features`), in the training window.

What the labels do to an unsupervised model: the confirmed checks are left out of its training rows —
a model fitted on the frauds it should flag learns them as normal (the baselines absorbing the anomaly,
issue 20) — and every labelled check scores both models, so `train` reports the model without and with
the decisions on the analysts' own verdicts (precision and recall at the model's 0.6, PR-AUC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import numpy as np

from fapiao.risk.features import FEATURE_NAMES
from fapiao.warehouse.engine import Engine

MODEL_ALERT = 0.6  # the calibrated score the model's points start to matter at (as the training report)
LABELS_SQL = (
    "SELECT check_id, label, risk_features FROM "
    "(SELECT org_id, toString(check_id) AS check_id, toUInt8(decision != 'dismissed') AS label "
    "FROM alert_decisions FINAL WHERE decision IN ('confirmed_fraud', 'confirmed_error', 'dismissed')) AS d "
    "ANY INNER JOIN "
    "(SELECT org_id, toString(check_id) AS check_id, risk_features FROM check_results FINAL "
    "WHERE requested_date >= %(since)s AND requested_date < %(until)s AND length(risk_features) = %(width)s) "
    "AS r USING (org_id, check_id) ORDER BY check_id"
)


class Scorer(Protocol):
    def score(self, X: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Labelled:
    """The decided checks of a window: ids, labels (1 confirmed, 0 dismissed), feature rows."""

    check_ids: tuple[str, ...]
    y: np.ndarray
    X: np.ndarray

    @property
    def positives(self) -> frozenset[str]:
        return frozenset(c for c, label in zip(self.check_ids, self.y, strict=True) if label)


def read_labels(engine: Engine, since: date, until: date) -> Labelled:
    """Decided checks requested on days in [since, until) with features of the current width."""
    width = len(FEATURE_NAMES)
    rows = engine.execute(LABELS_SQL, {"since": since, "until": until, "width": width})
    if not rows:
        return Labelled((), np.zeros(0, dtype=int), np.zeros((0, width)))
    return Labelled(
        tuple(str(r[0]) for r in rows),
        np.asarray([int(r[1]) for r in rows], dtype=int),
        np.asarray([list(r[2]) for r in rows], dtype=float).reshape(len(rows), width),
    )


def label_metrics(scores: np.ndarray, y: np.ndarray, threshold: float = MODEL_ALERT) -> dict[str, Any]:
    """How a model's calibrated scores agree with the analysts: precision and recall at `threshold`,
    and PR-AUC (average precision; None unless both labels occur)."""
    from sklearn.metrics import average_precision_score

    scores, y = np.asarray(scores, dtype=float), np.asarray(y, dtype=int)
    flagged = scores >= threshold
    hits = int(np.sum(flagged & (y == 1)))
    positives, negatives = int(np.sum(y == 1)), int(np.sum(y == 0))
    return {
        "positives": positives,
        "negatives": negatives,
        "precision": hits / int(np.sum(flagged)) if np.any(flagged) else None,
        "recall": hits / positives if positives else None,
        "pr_auc": float(average_precision_score(y, scores)) if positives and negatives else None,
    }


def compare(labelled: Labelled, without: Scorer, with_decisions: Scorer) -> dict[str, Any]:
    """The model trained on every row and the one trained without the confirmed checks, each scored on
    the decided checks (the same object twice when nothing was left out)."""
    return {
        "positives": int(np.sum(labelled.y == 1)),
        "negatives": int(np.sum(labelled.y == 0)),
        "left_out_of_training": len(labelled.positives) if with_decisions is not without else 0,
        "without": label_metrics(without.score(labelled.X), labelled.y),
        "with": label_metrics(with_decisions.score(labelled.X), labelled.y),
    }
