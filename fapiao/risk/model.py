"""The learned anomaly score: training, calibration, versioned artifacts, and hot reload.

An artifact is two files in one directory, `<version>.joblib` (the fitted estimator and its calibration)
and `<version>.json` (feature list, feature set version, training window, library versions, metrics,
the joblib's sha256). Both are written to a temporary name and renamed, the JSON last, so a reader
sees a complete version or none; the checksum catches a file another writer left half-done. Versions
are UTC timestamps, so the newest version sorts last. Only load artifacts from a directory you trust:
joblib files are pickles.

Calibration: the raw anomaly score is mapped through the training scores' distribution to the share t
of training rows at least as anomalous, then m = min(1, −log10(t) / 3): 0.33 is the top 10% of the
training traffic, 0.67 the top 1%, 1 the top 0.1%.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
import structlog
from sklearn.ensemble import IsolationForest
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from fapiao.risk.algorithms import ALGORITHMS, DEFAULT_ALGORITHM, MIN_TRAIN_ROWS
from fapiao.risk.features import FEATURE_NAMES, FEATURE_SET_VERSION
from fapiao.risk.forest_scoring import ForestScorer, fast_scorer

log = structlog.get_logger(__name__)

DECADES = 3.0  # m = 1 at the top 10^-3 of the training distribution
_LEVELS = np.linspace(0.0, 1.0, 2001)


@dataclass
class AnomalyModel:
    version: str
    feature_names: tuple[str, ...]
    estimator: Any  # a fitted sklearn estimator or pipeline with score_samples (higher = more normal)
    reference: np.ndarray  # quantiles (at _LEVELS) of the training rows' raw anomaly scores
    metadata: dict[str, Any] = field(default_factory=dict)
    # derived from `estimator` (never saved): an IsolationForest scored without sklearn's per-tree overhead
    fast: ForestScorer | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.fast = fast_scorer(self.estimator)

    def raw(self, X: np.ndarray) -> np.ndarray:
        """The estimator's anomaly score (higher = more anomalous), uncalibrated; X without NaN."""
        scores = self.fast.score_samples(X) if self.fast is not None else self.estimator.score_samples(X)
        return -np.asarray(scores, dtype=float)

    def score(self, X: np.ndarray) -> np.ndarray:
        """Calibrated anomaly scores in [0, 1] of a batch (rows in `feature_names` order)."""
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if X.shape[1] != len(self.feature_names):
            raise ValueError(f"expected {len(self.feature_names)} features, got {X.shape[1]}")
        if X.shape[0] == 0:
            return np.zeros(0)
        X = np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0)
        return calibrate(self.raw(X), self.reference)


def calibrate(raw: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Raw scores → [0, 1] through the training distribution (see the module docstring)."""
    levels = _LEVELS if len(reference) == len(_LEVELS) else np.linspace(0.0, 1.0, len(reference))
    below = np.interp(raw, reference, levels, left=0.0, right=1.0)
    tail = np.maximum(1.0 - below, 10.0**-DECADES)
    return np.clip(-np.log10(tail) / DECADES, 0.0, 1.0)


def _estimator(algorithm: str, seed: int, rows: int) -> Any:
    if algorithm == "isolation_forest":
        return IsolationForest(n_estimators=200, max_samples=min(512, rows), random_state=seed, n_jobs=1)
    if algorithm == "lof":
        lof = LocalOutlierFactor(n_neighbors=min(35, rows - 1), novelty=True)
        return make_pipeline(StandardScaler(), lof)
    if algorithm == "gaussian_mixture":
        gmm = GaussianMixture(n_components=8, covariance_type="full", reg_covar=1e-3, random_state=seed)
        return make_pipeline(StandardScaler(), gmm)
    raise ValueError(f"unknown algorithm {algorithm!r}; choose from {', '.join(ALGORITHMS)}")


def train(
    X: np.ndarray,
    *,
    feature_names: Sequence[str],
    trained_on: dict[str, Any],
    algorithm: str = DEFAULT_ALGORITHM,
    seed: int = 0,
) -> AnomalyModel:
    """Fit an unsupervised model on feature rows (no labels) and calibrate it on the same rows.

    `trained_on` describes the data (window, source, rows …) and goes into the metadata as is.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != len(feature_names):
        raise ValueError(f"X must be rows of {len(feature_names)} features, got shape {X.shape}")
    if X.shape[0] < MIN_TRAIN_ROWS:
        raise ValueError(f"need at least {MIN_TRAIN_ROWS} rows to train, got {X.shape[0]}")
    X = np.nan_to_num(X, nan=0.0, posinf=0.0, neginf=0.0)
    estimator = _estimator(algorithm, seed, X.shape[0]).fit(X)
    if isinstance(estimator, Pipeline) and isinstance(estimator[-1], LocalOutlierFactor):
        raw = -estimator[-1].negative_outlier_factor_  # a training row is not its own neighbour
    else:
        raw = -np.asarray(estimator.score_samples(X), dtype=float)
    reference = np.quantile(raw, _LEVELS)
    now = datetime.now(UTC)
    calibrated = calibrate(raw, reference)
    metadata = {
        "version": _version(now),
        "algorithm": algorithm,
        "feature_names": list(feature_names),
        "feature_set_version": FEATURE_SET_VERSION if tuple(feature_names) == FEATURE_NAMES else None,
        "trained_at": now.isoformat(),
        "trained_on": trained_on,
        "rows": int(X.shape[0]),
        "seed": seed,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "metrics": {
            "raw_quantiles": {f"p{q}": float(np.quantile(raw, q / 100)) for q in (1, 50, 90, 99, 99.9)},
            "share_score_ge_0.5": float(np.mean(calibrated >= 0.5)),
            "share_score_ge_0.6": float(np.mean(calibrated >= 0.6)),
        },
    }
    return AnomalyModel(metadata["version"], tuple(feature_names), estimator, reference, metadata)


_VERSION_NAME = re.compile(r"\d{8}T\d{6}\.\d{6}Z")  # what `_version` writes


def _version(now: datetime) -> str:
    """A sortable UTC timestamp: a later training gets a greater version."""
    return now.strftime("%Y%m%dT%H%M%S.%fZ")


def save(model: AnomalyModel, directory: Path) -> Path:
    """Write the model's artifact and metadata atomically; returns the artifact's path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    artifact = directory / f"{model.version}.joblib"
    payload = {
        "version": model.version,
        "feature_names": list(model.feature_names),
        "estimator": model.estimator,
        "reference": model.reference,
    }
    _atomic_write(artifact, lambda path: joblib.dump(payload, path))
    metadata = {
        **model.metadata,
        "version": model.version,
        "artifact": artifact.name,
        "sha256": _sha256(artifact),
    }
    text = json.dumps(metadata, ensure_ascii=False, indent=2, sort_keys=True)
    _atomic_write(directory / f"{model.version}.json", lambda path: path.write_text(text, encoding="utf-8"))
    return artifact


def _atomic_write(target: Path, write: Any) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def versions(directory: Path) -> list[str]:
    """Versions with a metadata file in `directory`, newest first. Only names of the `_version` form
    count: temporary files and other models' files sharing the directory (the behaviour model's
    `behaviour.json`) are not anomaly-model versions, and reading them as such logged a false error."""
    try:
        names = [e.name for e in os.scandir(directory) if e.name.endswith(".json") and e.is_file()]
    except OSError:
        return []
    stems = (n[: -len(".json")] for n in names)
    return sorted((v for v in stems if _VERSION_NAME.fullmatch(v)), reverse=True)


def load(directory: Path, version: str) -> AnomalyModel:
    """One version; raises (ValueError, OSError, …) when it is incomplete, corrupt or inconsistent."""
    directory = Path(directory)
    metadata = json.loads((directory / f"{version}.json").read_text(encoding="utf-8"))
    artifact = directory / str(metadata.get("artifact", f"{version}.joblib"))
    if metadata.get("version") != version:
        raise ValueError(f"metadata of {version} names version {metadata.get('version')!r}")
    if _sha256(artifact) != metadata.get("sha256"):
        raise ValueError(f"{artifact.name} does not match its checksum (incomplete or replaced)")
    payload = joblib.load(artifact)
    if payload.get("version") != version or list(payload["feature_names"]) != metadata["feature_names"]:
        raise ValueError(f"{artifact.name} does not match its metadata")
    if metadata.get("sklearn_version") != sklearn.__version__:
        log.warning("model_sklearn_version", version=version, trained_with=metadata.get("sklearn_version"))
    return AnomalyModel(
        version,
        tuple(payload["feature_names"]),
        payload["estimator"],
        np.asarray(payload["reference"]),
        metadata,
    )


def load_latest(directory: Path, *, feature_names: Sequence[str] = FEATURE_NAMES) -> AnomalyModel | None:
    """The newest complete model of this feature set in `directory`, or None."""
    for version in versions(directory):
        model = _try_load(Path(directory), version, tuple(feature_names))
        if model is not None:
            return model
    return None


def _try_load(directory: Path, version: str, feature_names: tuple[str, ...]) -> AnomalyModel | None:
    try:
        model = load(directory, version)
    except Exception as exc:  # any unreadable artifact: skip it, keep serving the previous model
        log.warning("model_unreadable", directory=str(directory), version=version, error=repr(exc))
        return None
    if model.feature_names != feature_names:
        log.warning("model_feature_set_mismatch", version=version, features=len(model.feature_names))
        return None
    return model


class ModelWatcher:
    """Holds the newest model of a directory and swaps in a newer version when one appears.

    `poll` lists the directory (cheap enough for every few seconds) and loads only when a version newer
    than the current one is there; a version that failed to load is retried only once one of its files
    changes. It never raises: a broken artifact is logged and the current model stays.
    """

    def __init__(self, directory: Path, *, feature_names: Sequence[str] = FEATURE_NAMES) -> None:
        self.directory = Path(directory)
        self.feature_names = tuple(feature_names)
        self._model: AnomalyModel | None = None
        self._failed: dict[str, tuple[int, ...]] = {}  # version -> (mtime_ns, size) of its two files
        self.poll()

    def current(self) -> AnomalyModel | None:
        return self._model

    def poll(self) -> bool:
        """Load the newest loadable version newer than the current one; True when the model changed."""
        current = self._model.version if self._model else ""
        for version in versions(self.directory):
            if version <= current:
                return False
            stamp = self._stamp(version)
            if stamp is None or self._failed.get(version) == stamp:
                continue
            model = _try_load(self.directory, version, self.feature_names)
            if model is None:
                self._failed[version] = stamp
                continue
            self._model = model
            log.info("model_loaded", version=version, algorithm=model.metadata.get("algorithm"))
            return True
        return False

    def _stamp(self, version: str) -> tuple[int, ...] | None:
        stamp: list[int] = []
        for suffix in (".json", ".joblib"):
            try:
                info = (self.directory / f"{version}{suffix}").stat()
            except OSError:
                if suffix == ".json":
                    return None
                stamp += [0, 0]
                continue
            stamp += [info.st_mtime_ns, info.st_size]
        return tuple(stamp)
