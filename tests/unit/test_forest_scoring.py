"""The numpy IsolationForest scorer gives sklearn's scores, bit for bit: on random data, on a model
trained on demo features, and on a model the watcher hot-reloads; and AnomalyModel uses it."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.ensemble._iforest import _average_path_length

from fapiao.demo import DemoFeed
from fapiao.risk import model as m
from fapiao.risk.features import FEATURE_NAMES
from fapiao.risk.forest_scoring import CHUNK_ROWS, ForestScorer, average_path_length, fast_scorer
from fapiao.risk.replay import Replay

CST = timezone(timedelta(hours=8))


def assert_same_scores(forest: IsolationForest, X: np.ndarray) -> None:
    expected = forest.score_samples(X)
    got = ForestScorer(forest).score_samples(X)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)  # bit for bit, not only to 1e-9


def test_average_path_length_is_sklearns() -> None:
    n = np.array([0, 1, 2, 3, 4, 10, 255, 256, 512, 10_000])
    np.testing.assert_allclose(average_path_length(n), _average_path_length(n), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("max_samples", "max_features", "n_features"),
    [(256, 1.0, 5), (512, 1.0, 25), (64, 0.5, 8), (3, 1.0, 2), (100, 1, 6)],
)
def test_scores_equal_sklearns_on_random_data(max_samples: int, max_features: float, n_features: int) -> None:
    rng = np.random.default_rng(max_samples + n_features)
    X = rng.normal(size=(1_000, n_features)) * rng.uniform(0.1, 100, size=n_features)
    forest = IsolationForest(
        n_estimators=60, max_samples=max_samples, max_features=max_features, random_state=1
    ).fit(X)
    batch = np.vstack(
        [
            rng.normal(size=(CHUNK_ROWS * 2 + 7, n_features)) * 50,  # several chunks, outliers included
            X[:20],  # training rows: on thresholds' neighbours
            np.full((1, n_features), 1e39),  # beyond float32: inf after the cast, as in sklearn
        ]
    )
    for rows in (batch[:1], batch[:12], batch):
        assert_same_scores(forest, rows)


def test_duplicate_training_rows_give_leaves_with_several_samples() -> None:
    X = np.repeat(np.random.default_rng(3).normal(size=(20, 3)), 30, axis=0)  # leaves with n > 2
    forest = IsolationForest(n_estimators=30, max_samples=200, random_state=0).fit(X)
    assert_same_scores(forest, np.vstack([X[::7], np.random.default_rng(4).normal(size=(30, 3))]))


def test_empty_batch_and_bad_input() -> None:
    forest = IsolationForest(n_estimators=5, random_state=0).fit(
        np.random.default_rng(0).normal(size=(50, 3))
    )
    scorer = ForestScorer(forest)
    assert scorer.score_samples(np.zeros((0, 3))).shape == (0,)
    with pytest.raises(ValueError, match="3 features"):
        scorer.score_samples(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="NaN"):
        scorer.score_samples(np.array([[0.0, np.nan, 1.0]]))


@pytest.fixture(scope="module")
def demo_features() -> np.ndarray:
    feed = DemoFeed(11, datetime(2026, 6, 1, tzinfo=CST))
    events = feed.history(300, 400) + list(itertools.islice(feed.stream(0.05), 600))
    replay = Replay()
    rows = [scored.features for scored in [*replay.run(events), *replay.finish()]]
    return np.asarray(rows, dtype=float)


def test_a_model_trained_on_demo_features_scores_like_sklearn(demo_features: np.ndarray) -> None:
    model = m.train(demo_features, feature_names=FEATURE_NAMES, trained_on={"source": "demo"})
    assert isinstance(model.fast, ForestScorer)
    X = np.nan_to_num(demo_features)
    np.testing.assert_array_equal(model.fast.score_samples(X), model.estimator.score_samples(X))
    # the calibrated scores the agent uses are those of sklearn's raw scores
    expected = m.calibrate(-model.estimator.score_samples(X), model.reference)
    np.testing.assert_array_equal(model.score(demo_features), expected)


def test_a_hot_reloaded_model_scores_like_sklearn(tmp_path: Path, demo_features: np.ndarray) -> None:
    X = np.nan_to_num(demo_features)
    watcher = m.ModelWatcher(tmp_path)
    assert watcher.current() is None
    m.save(m.train(X[:500], feature_names=FEATURE_NAMES, trained_on={}, seed=1), tmp_path)
    assert watcher.poll()
    first = watcher.current()
    time.sleep(0.002)  # versions are timestamps
    m.save(m.train(X[500:], feature_names=FEATURE_NAMES, trained_on={}, seed=2), tmp_path)
    assert watcher.poll()
    second = watcher.current()
    assert first is not None and second is not None and second.version > first.version
    for model in (first, second):
        assert model.fast is not None
        np.testing.assert_array_equal(model.fast.score_samples(X), model.estimator.score_samples(X))
    assert not np.allclose(first.score(X), second.score(X))  # the reload changed the scores


def test_only_isolation_forests_get_the_fast_scorer() -> None:
    X = np.random.default_rng(0).normal(size=(200, 3))
    lof = m.train(X, feature_names=("a", "b", "c"), trained_on={}, algorithm="lof")
    assert lof.fast is None and fast_scorer(lof.estimator) is None
    assert lof.score(X[:5]).shape == (5,)


def test_an_isolation_forest_model_scores_without_sklearn(
    demo_features: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = m.train(np.nan_to_num(demo_features), feature_names=FEATURE_NAMES, trained_on={})
    expected = model.score(demo_features[:12])

    def refuse(*_: object) -> None:
        raise AssertionError("sklearn's score_samples called")

    monkeypatch.setattr(model.estimator, "score_samples", refuse)
    np.testing.assert_array_equal(model.score(demo_features[:12]), expected)
