"""The behaviour score: weighted deviations from the profiles, calibrated on traffic, as a rule hit (pure).

s = Σ wᵢ·dᵢ over the deviation surprises of `fapiao.risk.behaviour` (DEVIATION_CODES order). Without
labels every weight is 1: the score is the total surprise, no dimension preferred. It is calibrated
like the anomaly model, over three decades: the share t of the reference traffic (presented checks of
a period: the genuine ones in the evaluation, all of them less confirmed alerts in production) scoring
at least s gives m = min(1, −log10(t)/3), so m = 1/3 is the top 10 % and 1 the top 0.1 %. The
`behaviour_anomaly` hit is worth `points × m`, at most 100 (85 by default, the evaluation's tuned
operating point: m ≥ 0.706, the top 0.77 % of the reference traffic, reaches the alert threshold of 60
alone; `fapiao.risk.loko` tunes `points` against a false-alert target on genuine checks). Its evidence holds
the strongest deviations as readable sentences, zh and en, each naming the profile it was compared
with.

Labels (analysts' decisions: confirmed / dismissed alerts) make a second, *separate* score:
`fit_weights` fits a logistic regression of confirmed against the rest and raises wᵢ by its positive
coefficients, up to 1 + `MAX_BOOST`; `with_labels` calibrates that weighted sum on the same reference
traffic, and the model's m is the larger of the two calibrated scores. It is not the weighted sum
alone: the calibration is by rank, so raising the weights of what confirmed cases showed raises the
reference's tail too (its top 0.77 % moved from a total surprise of 2.5 to 3.5 in the evaluation's
shell_seller fold), and a deviation nobody confirmed, at weight 1, fell under the threshold it had met
without labels (held-out shell_seller recall 0.92 → 0.70). With the maximum, a kind of fraud nobody
has labelled yet keeps the score it had without labels; the labelled score only adds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import structlog

from fapiao.risk.behaviour import DEVIATION_CODES, Deviation, vector
from fapiao.risk.rules import RuleHit

REASON = "behaviour_anomaly"
FILE = "behaviour.json"  # the calibrated model in the models directory (FAPIAO_MODELS_DIR)
DEFAULT_POINTS = 86  # the evaluation's tuned operating point (docs/risk-model.md): 86 on seeds 2026 and 2027
DECADES = 3.0
MAX_BOOST = 2.0
TOP_REASONS = 3
_LEVELS = np.linspace(0.0, 1.0, 2001)
# What a saved calibration means: its reference quantiles are only comparable with scores mapped over
# the same number of decades. Files written before this was recorded (two decades, then three) carry
# no scale and are refused, with a message saying to recalibrate, rather than read at the wrong scale.
SCALE = {"decades": DECADES}

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Calibrated:
    """One weighted sum of deviations and its calibration on the reference traffic."""

    weights: tuple[float, ...]  # DEVIATION_CODES order
    reference: tuple[float, ...]  # quantiles of the reference traffic's s at _LEVELS

    def score(self, X: np.ndarray) -> np.ndarray:
        raw = X @ np.asarray(self.weights, dtype=float)
        reference = np.asarray(self.reference, dtype=float)
        below = np.interp(raw, reference, _LEVELS, left=0.0, right=1.0)
        # a score at or under the traffic's most common value (often 0: nothing deviates) is ordinary
        below = np.where(raw <= reference[0], 0.0, below)
        tail = np.maximum(1.0 - below, 10.0**-DECADES)
        return np.clip(-np.log10(tail) / DECADES, 0.0, 1.0)


@dataclass(frozen=True)
class BehaviourModel:
    weights: tuple[float, ...]  # DEVIATION_CODES order: 1 each (no dimension preferred)
    reference: tuple[float, ...]  # quantiles of the training traffic's s at _LEVELS
    metadata: dict[str, Any] = field(default_factory=dict)
    labelled: Calibrated | None = None  # the score weighted by analysts' decisions (`with_labels`)

    def raw(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=float) @ np.asarray(self.weights, dtype=float)

    def score(self, X: np.ndarray) -> np.ndarray:
        """Calibrated behaviour scores in [0, 1] of a batch of deviation vectors: the unlabelled
        score, or the labelled one where that is higher."""
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if X.shape[0] == 0:
            return np.zeros(0)
        m = Calibrated(self.weights, self.reference).score(X)
        return m if self.labelled is None else np.maximum(m, self.labelled.score(X))

    def to_json(self) -> str:
        labelled = self.labelled
        return json.dumps(
            {
                "codes": list(DEVIATION_CODES),
                "scale": SCALE,
                "weights": list(self.weights),
                "reference": list(self.reference),
                "metadata": self.metadata,
                **(
                    {"labelled": {"weights": list(labelled.weights), "reference": list(labelled.reference)}}
                    if labelled is not None
                    else {}
                ),
            }
        )


def fit(
    X: np.ndarray, weights: Sequence[float] | None = None, metadata: dict[str, Any] | None = None
) -> BehaviourModel:
    """Calibrate on training rows (deviation vectors of presented checks, no labels)."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != len(DEVIATION_CODES) or len(X) == 0:
        raise ValueError(f"X must be rows of {len(DEVIATION_CODES)} deviations, got shape {X.shape}")
    w = tuple(float(v) for v in (weights if weights is not None else [1.0] * len(DEVIATION_CODES)))
    raw = X @ np.asarray(w)
    reference = tuple(float(q) for q in np.quantile(raw, _LEVELS))
    return BehaviourModel(w, reference, dict(metadata or {}, rows=len(X)))


def with_labels(
    model: BehaviourModel, X: np.ndarray, weights: Sequence[float], metadata: dict[str, Any] | None = None
) -> BehaviourModel:
    """`model` with a labelled score: the deviations weighted by `weights` (from `fit_weights`),
    calibrated on the same reference rows `X`. The unlabelled score stays as it was (see the module's
    docstring for why it is not replaced)."""
    labelled = fit(X, weights)
    return BehaviourModel(
        model.weights,
        model.reference,
        dict(model.metadata, **(metadata or {})),
        Calibrated(labelled.weights, labelled.reference),
    )


def fit_weights(X: np.ndarray, confirmed: np.ndarray, *, seed: int = 0) -> tuple[float, ...]:
    """Weights 1 + boost from labels: rows of `X` with `confirmed` True against the others.

    The boost is the positive part of a balanced logistic regression's coefficients on standardised
    deviations, scaled so the largest is MAX_BOOST. Too few positives (under 5) leave every weight 1.
    """
    from sklearn.linear_model import LogisticRegression

    X = np.asarray(X, dtype=float)
    y = np.asarray(confirmed, dtype=bool)
    ones = [1.0] * len(DEVIATION_CODES)
    if y.sum() < 5 or (~y).sum() < 5:
        return tuple(ones)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(class_weight="balanced", C=1.0, max_iter=500, random_state=seed)
    model.fit(X / scale, y)
    coef = np.maximum(model.coef_[0], 0.0) / scale
    if coef.max() <= 0:
        return tuple(ones)
    boost = MAX_BOOST * coef / coef.max()
    return tuple(float(1.0 + b) for b in boost)


def hit(found: list[Deviation], m: float, points: int = DEFAULT_POINTS) -> RuleHit | None:
    """The `behaviour_anomaly` hit of a check with behaviour score m, its reasons strongest first:
    `points` × m, at most 100 (`points` may exceed 100: then a lower m reaches the threshold)."""
    value = min(100, round(max(0, points) * max(0.0, min(1.0, m))))
    if value <= 0 or not found:
        return None
    top = found[:TOP_REASONS]
    evidence = {
        "score": f"{m:.3f}",
        "zh": "；".join(dev.zh for dev in top),
        "en": "; ".join(dev.en for dev in top),
        "features": ",".join(dev.code for dev in top),
        "profiles": ",".join(dev.profile for dev in top),
    }
    return RuleHit(REASON, value, evidence)


def batch_hits(
    model: BehaviourModel, found: Sequence[list[Deviation]], points: Sequence[int]
) -> list[RuleHit | None]:
    """The `behaviour_anomaly` hit of each check of a batch (its deviations, strongest first, and the
    points its organisation's rules give the hit), the calibration vectorised over the batch."""
    if not found:
        return []
    scores = model.score(np.asarray([vector(devs) for devs in found], dtype=float))
    return [hit(devs, float(m), p) for devs, m, p in zip(found, scores, points, strict=True)]


class Watcher:
    """Holds the calibrated behaviour model of a models directory (`FILE`), reloaded when the file
    changes. No file, or one of another deviation set, means no model: the worker still folds the
    profiles but raises no behaviour hit (an uncalibrated surprise has no threshold to mean anything
    against). It never raises: a file it cannot read keeps the model it has."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / FILE
        self._model: BehaviourModel | None = None
        self._stamp: tuple[int, int] | None = None
        self.poll()

    def current(self) -> BehaviourModel | None:
        return self._model

    def poll(self) -> bool:
        """Load the file if it changed since the last poll; True when the model changed."""
        try:
            info = self.path.stat()
        except OSError:
            return False
        stamp = (info.st_mtime_ns, info.st_size)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        model = load(self.path)
        if model is None:
            return False
        self._model = model
        return True


def save(model: BehaviourModel, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(model.to_json(), encoding="utf-8")
    tmp.replace(path)


def load(path: Path) -> BehaviourModel | None:
    """The model saved at `path`, or None when it is missing, unreadable, of another deviation set or
    calibrated at another scale (each but a missing file logged: the worker then raises no behaviour
    hit until the file is recalibrated)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("behaviour_model_unreadable", path=str(path), error=repr(exc))
        return None
    if data.get("codes") != list(DEVIATION_CODES):
        log.warning("behaviour_model_other_deviations", path=str(path), codes=len(data.get("codes") or []))
        return None
    if data.get("scale") != SCALE:
        log.warning(
            "behaviour_model_other_scale",
            path=str(path),
            scale=data.get("scale"),
            expected=SCALE,
            hint="calibrated at another scale (or before the scale was recorded): recalibrate it",
        )
        return None
    part = data.get("labelled")
    labelled = Calibrated(tuple(part["weights"]), tuple(part["reference"])) if part else None
    return BehaviourModel(
        tuple(data["weights"]), tuple(data["reference"]), data.get("metadata", {}), labelled
    )
