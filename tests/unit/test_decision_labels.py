"""Analysts' decisions as labels of `fapiao model train`: the confirmed checks are left out of the training
rows and the model is reported without and with them (the SQL itself runs on 18.16 and chdb in
tests/alert_inbox_contract.py::check_decision_labels)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from fapiao.risk.decision_labels import Labelled, compare, label_metrics
from fapiao.risk.features import FEATURE_NAMES
from services.risk_cli import model_app

WIDTH = len(FEATURE_NAMES)


def test_label_metrics_against_the_analysts() -> None:
    m = label_metrics(np.array([0.9, 0.7, 0.2, 0.65]), np.array([1, 1, 1, 0]))
    assert (m["positives"], m["negatives"]) == (3, 1)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["pr_auc"] is not None and 0 < m["pr_auc"] <= 1
    only = label_metrics(np.array([0.1]), np.array([1]))
    assert only["precision"] is None and only["recall"] == 0.0 and only["pr_auc"] is None


class Model:
    def __init__(self, scores: list[float]) -> None:
        self.scores = np.asarray(scores)

    def score(self, X: np.ndarray) -> np.ndarray:
        return self.scores[: len(X)]


def test_compare_reports_both_models_on_the_decided_checks() -> None:
    labelled = Labelled(("a", "b"), np.array([1, 0]), np.zeros((2, WIDTH)))
    without, with_ = Model([0.5, 0.7]), Model([0.9, 0.3])
    report = compare(labelled, without, with_)
    assert report["left_out_of_training"] == 1 and report["positives"] == 1
    assert (report["without"]["recall"], report["with"]["recall"]) == (0.0, 1.0)
    assert compare(labelled, without, without)["left_out_of_training"] == 0


class Warehouse:
    """Three days of ordinary checks, a cluster of unusual ones an analyst confirmed, one dismissed."""

    database = "test"

    def __init__(self) -> None:
        rng = np.random.default_rng(1)
        self.rows = {f"c{i}": rng.normal(size=WIDTH).tolist() for i in range(150)}
        self.days = {f"c{i}": date(2026, 6, 1) + timedelta(days=i % 3) for i in range(150)}
        for i in range(12):  # the confirmed ones: far from the rest, and alike
            self.rows[f"f{i}"] = (rng.normal(size=WIDTH) * 0.1 + 6).tolist()
            self.days[f"f{i}"] = date(2026, 6, 2)
        self.labels = {**{f"f{i}": 1 for i in range(12)}, "c7": 0}
        self.excluded: list[tuple[str, ...]] = []

    def execute(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        if "alert_decisions" in sql:
            return [(cid, label, self.rows[cid]) for cid, label in sorted(self.labels.items())]
        exclude = params.get("exclude", ())
        if exclude:
            self.excluded.append(exclude)
        return [
            (r,) for cid, r in self.rows.items() if self.days[cid] == params["day"] and cid not in exclude
        ]

    def close(self) -> None:
        pass


def test_cli_train_leaves_the_confirmed_checks_out_and_reports_with_and_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = Warehouse()
    monkeypatch.setattr("fapiao.warehouse.engine.NativeEngine", lambda settings: warehouse)
    monkeypatch.setattr("fapiao.logs.configure_logging", lambda settings: None)
    args = ["train", "--days", "3", "--until", "2026-06-04", "--directory", str(tmp_path)]
    result = CliRunner().invoke(model_app, args)
    assert result.exit_code == 0, result.output
    assert "12 confirmed, 1 dismissed; 12 of them left out of training" in result.output
    assert "without decisions:" in result.output and "with decisions:" in result.output
    assert warehouse.excluded and set(warehouse.excluded[0]) == {f"f{i}" for i in range(12)}
    (meta,) = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    report = meta["decisions"]
    assert (report["positives"], report["negatives"], report["left_out_of_training"]) == (12, 1, 12)
    # trained on the frauds the forest learns their cluster as normal; without them it flags it
    assert report["with"]["recall"] >= report["without"]["recall"]
    assert report["with"]["recall"] == 1.0
    plain = CliRunner().invoke(model_app, [*args, "--no-decisions"])
    assert plain.exit_code == 0 and "analysts' decisions" not in plain.output
