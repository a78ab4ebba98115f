"""The anomaly model: training, calibrated scores, versioned artifacts, and hot reload."""

from __future__ import annotations

import json
import time
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from fapiao.risk import model as m
from fapiao.risk.features import FEATURE_NAMES, FEATURE_SET_VERSION

NAMES = ("a", "b", "c")


def rows(n: int = 400, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 3))


@cache
def fit(seed: int = 0, names: tuple[str, ...] = NAMES, algorithm: str = "isolation_forest") -> m.AnomalyModel:
    X = rows(seed=seed) if len(names) == 3 else np.random.default_rng(seed).normal(size=(200, len(names)))
    return m.train(
        X, feature_names=names, trained_on={"window": ["d1", "d2"]}, algorithm=algorithm, seed=seed
    )


@cache
def older_and_newer() -> tuple[m.AnomalyModel, m.AnomalyModel]:
    """Two models trained one after the other: the second has the greater version."""
    return fit.__wrapped__(seed=1), fit.__wrapped__(seed=2)


@pytest.mark.parametrize("algorithm", m.ALGORITHMS)
def test_scores_are_vectorised_calibrated_and_rank_outliers_high(algorithm: str) -> None:
    model = fit(algorithm=algorithm)
    batch = np.vstack([rows(50, seed=1), [[8.0, -8.0, 8.0]]])
    scores = model.score(batch)
    assert scores.shape == (51,) and np.all((scores >= 0) & (scores <= 1))
    assert scores[-1] == scores.max() and scores[-1] > 0.9
    assert np.median(scores[:-1]) < 0.4
    assert model.score(np.zeros((0, 3))).shape == (0,)
    assert model.score(np.array([1.0, np.nan, 0.0])).shape == (1,)  # one row; NaN treated as 0


def test_training_share_above_a_score_follows_the_calibration() -> None:
    model = fit()
    training = model.score(rows())
    assert np.mean(training >= 2 / 3) == pytest.approx(0.01, abs=0.01)  # 0.67 = top 1% of training
    assert model.metadata["metrics"]["share_score_ge_0.6"] == pytest.approx(np.mean(training >= 0.6))


def test_train_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="at least"):
        m.train(rows(10), feature_names=NAMES, trained_on={})
    with pytest.raises(ValueError, match="features"):
        m.train(rows(), feature_names=("a", "b"), trained_on={})
    with pytest.raises(ValueError, match="unknown algorithm"):
        m.train(rows(), feature_names=NAMES, trained_on={}, algorithm="magic")
    with pytest.raises(ValueError, match="expected 3"):
        fit().score(np.zeros((2, 4)))


def test_save_writes_artifact_and_metadata_and_load_round_trips(tmp_path: Path) -> None:
    model = fit()
    path = m.save(model, tmp_path)
    assert path == tmp_path / f"{model.version}.joblib"
    meta = json.loads((tmp_path / f"{model.version}.json").read_text())
    assert meta["feature_names"] == list(NAMES) and meta["trained_on"] == {"window": ["d1", "d2"]}
    assert meta["sklearn_version"] and meta["algorithm"] == "isolation_forest" and len(meta["sha256"]) == 64
    assert meta["rows"] == 400 and "metrics" in meta
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left
    loaded = m.load_latest(tmp_path, feature_names=NAMES)
    assert loaded is not None and loaded.version == model.version
    X = rows(20, seed=3)
    assert np.allclose(loaded.score(X), model.score(X))


def test_real_feature_set_metadata(tmp_path: Path) -> None:
    model = fit(names=FEATURE_NAMES)
    m.save(model, tmp_path)
    assert model.metadata["feature_set_version"] == FEATURE_SET_VERSION
    assert m.load_latest(tmp_path) is not None  # default: the current feature set
    assert m.load_latest(tmp_path, feature_names=NAMES) is None  # another feature set is skipped


def test_load_latest_prefers_the_newest_loadable_version(tmp_path: Path) -> None:
    assert m.load_latest(tmp_path / "missing") is None
    old, new = older_and_newer()
    m.save(old, tmp_path)
    m.save(new, tmp_path)
    latest = m.load_latest(tmp_path, feature_names=NAMES)
    assert latest is not None and latest.version == new.version
    (tmp_path / f"{new.version}.joblib").write_bytes(b"truncated")
    fallback = m.load_latest(tmp_path, feature_names=NAMES)
    assert fallback is not None and fallback.version == old.version


def test_watcher_hot_reloads_a_newer_version(tmp_path: Path) -> None:
    watcher = m.ModelWatcher(tmp_path, feature_names=NAMES)
    assert watcher.current() is None and not watcher.poll()
    first, second = older_and_newer()
    assert second.version > first.version
    m.save(first, tmp_path)
    assert watcher.poll() and watcher.current() is not None
    assert watcher.current().version == first.version  # type: ignore[union-attr]
    assert not watcher.poll()  # nothing new: no reload
    m.save(second, tmp_path)
    assert watcher.poll() and watcher.current().version == second.version  # type: ignore[union-attr]


def test_watcher_ignores_half_written_files_until_they_are_complete(tmp_path: Path) -> None:
    current, newer = older_and_newer()
    m.save(current, tmp_path)
    watcher = m.ModelWatcher(tmp_path, feature_names=NAMES)
    assert watcher.current() is not None and watcher.current().version == current.version  # type: ignore[union-attr]
    staging = tmp_path / "staging"
    m.save(newer, staging)
    artifact = (staging / f"{newer.version}.joblib").read_bytes()
    metadata = (staging / f"{newer.version}.json").read_text()
    # a writer in progress: temp files, then a half-written artifact and metadata under final names
    (tmp_path / f".{newer.version}.joblib.123.tmp").write_bytes(artifact[:100])
    assert not watcher.poll()
    (tmp_path / f"{newer.version}.joblib").write_bytes(artifact[: len(artifact) // 2])
    (tmp_path / f"{newer.version}.json").write_text(metadata[: len(metadata) // 2])
    assert not watcher.poll() and watcher.current().version == current.version  # type: ignore[union-attr]
    (tmp_path / f"{newer.version}.json").write_text(metadata)
    assert not watcher.poll()  # metadata complete, artifact still half: checksum refuses it
    (tmp_path / f"{newer.version}.joblib").write_bytes(artifact)
    assert watcher.poll() and watcher.current().version == newer.version  # type: ignore[union-attr]


def test_poll_is_cheap_when_nothing_changed(tmp_path: Path) -> None:
    m.save(fit(seed=1), tmp_path)
    watcher = m.ModelWatcher(tmp_path, feature_names=NAMES)
    assert watcher.current() is not None
    started = time.perf_counter()
    for _ in range(200):
        watcher.poll()
    assert (time.perf_counter() - started) / 200 < 0.005
