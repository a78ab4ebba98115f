"""The evaluation machinery: the replay mirrors the worker, metrics count right, the doc block is
replaced in place, training rows come from ClickHouse day by day, and the CLI runs end to end."""

from __future__ import annotations

import itertools
from dataclasses import fields, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from fapiao.demo import DemoFeed
from fapiao.risk import eval_report, training
from fapiao.risk.anomalies import BEHAVIOUR_KINDS
from fapiao.risk.evaluation import EvalConfig, Report, evaluate, table
from fapiao.risk.features import FEATURE_NAMES
from fapiao.risk.replay import Replay, Scored
from services.risk_cli import model_app

CST = timezone(timedelta(hours=8))
TINY = EvalConfig(seed=5, train_invoices=300, train_checks=300, eval_events=800, rate=0.05, cases=(2, 2))


@pytest.fixture(scope="module")
def replayed() -> tuple[Replay, dict[str, list[Scored]]]:
    feed = DemoFeed(11, datetime(2026, 6, 1, tzinfo=CST))
    events = feed.history(300, 400) + list(itertools.islice(feed.stream(0.05), 600))
    replay = Replay()
    out: dict[str, list[Scored]] = {}
    for scored in [*replay.run(events), *replay.finish()]:
        out.setdefault(scored.check_id, []).append(scored)
    return replay, out


def test_replay_answers_every_check_and_keeps_labels_aside(replayed: Any) -> None:
    replay, out = replayed
    assert set(out) == set(replay.labels)
    assert "label" not in {f.name for f in fields(Scored)}
    assert all(len(s.features) == len(FEATURE_NAMES) for items in out.values() for s in items)
    assert replay.sellers and all(s["issued"] > 0 for s in replay.sellers.values())


def test_replay_verdicts_and_rules_follow_the_injected_cases(replayed: Any) -> None:
    replay, out = replayed

    def reasons(label: str) -> set[str]:
        return {
            h.reason
            for cid, items in out.items()
            if replay.labels[cid] == label
            for s in items
            for h in s.hits
        }

    assert "not_found" in reasons("fake")
    assert "presented_after_void" in reasons("voided") | reasons("red_flushed")
    assert "repeated_mismatch" in reasons("repeated_tampering")
    assert "duplicate_reimbursement" in reasons("duplicate_reimbursement")
    fakes = [items[-1].result.verdict.value for cid, items in out.items() if replay.labels[cid] == "fake"]
    assert fakes and set(fakes) <= {"not_found", "limit_exceeded"}  # held ones time out at the end


def test_table_counts_precision_recall_and_false_alerts() -> None:
    labels = ["genuine"] * 8 + ["fake"] * 2
    scores = {
        mode: np.array([0, 0, 0, 0, 0, 0, 0, 70, 90, 10], dtype=float)
        for mode in ("rules", "model", "combined")
    }
    rows, false_alerts = table(labels, scores, 60)
    fake = next(r for r in rows if r.kind == "fake").modes["rules"]
    assert (fake.precision, fake.recall, fake.alerts) == (0.5, 0.5, 1)
    assert false_alerts["rules"] == pytest.approx(1 / 8)
    overall = rows[-1]
    assert overall.kind == "overall" and overall.checks == 2
    assert np.isnan(next(r for r in rows if r.kind == "voided").modes["rules"].recall)


@pytest.fixture(scope="module")
def tiny_report() -> Report:
    return evaluate(TINY, compare=False)


def test_evaluation_is_reproducible_and_complete(tiny_report: Report) -> None:
    first = tiny_report
    assert [r.kind for r in first.rows][-1] == "overall" and len(first.rows) == 17
    assert first.train_rows >= 300 and first.genuine > 0
    assert first.train_period[1] <= first.eval_period[0]  # trained on the earlier period
    assert first.reason_checks["not_found"][1] > 0 and first.reason_checks["not_found"][0] == 0
    assert [loko.decisions for loko in first.loko] == [False, True]
    for loko in first.loko:
        assert [k.kind for k in loko.kinds] == list(BEHAVIOUR_KINDS) and len(loko.fold_points) == 8
        assert all(k.checks > 0 for k in loko.kinds) and 0 <= loko.held_out_recall <= 1
        # every alert of the evaluation carries a readable reason naming what it was compared with
        assert loko.readable.behaviour_alerts > 0 and loko.readable.alerts >= loko.readable.behaviour_alerts
        assert loko.readable.unreadable == ()
        by_kind = loko.readable.by_kind  # every kind that alerted: each alert readable
        assert sum(n for n, _ in by_kind.values()) == loko.readable.alerts
        assert all(bad == 0 for _, bad in by_kind.values()) and set(by_kind) & set(BEHAVIOUR_KINDS)
    plain = replace(TINY, cases=(0, 0))  # without the leave-one-kind-out folds: the same run twice
    once, again = evaluate(plain, compare=False), evaluate(plain, compare=False)
    assert repr(once.rows) == repr(again.rows) and once.false_alerts == again.false_alerts  # NaN-safe
    assert once.loko == [] and once.genuine == first.genuine


def test_report_block_replaces_only_its_markers(tmp_path: Path, tiny_report: Report) -> None:
    block = eval_report.render(tiny_report)
    assert TINY.command() in block and "| **overall** |" in block and "false alerts on genuine" in block
    doc = tmp_path / "risk-model.md"
    doc.write_text(f"# Title\n\nprose\n\n{eval_report.BEGIN}\nstale table\n{eval_report.END}\n\nmore prose\n")
    eval_report.write_into(doc, block)
    text = doc.read_text()
    assert text.startswith("# Title\n\nprose\n\n") and text.endswith("\n\nmore prose\n")
    assert "stale table" not in text and block in text
    fresh = tmp_path / "new.md"
    eval_report.write_into(fresh, "x")
    assert fresh.read_text() == f"{eval_report.BEGIN}\nx\n{eval_report.END}\n"


class FakeEngine:
    """Answers the training query from a dict of day -> rows, and records the parameters."""

    database = "test"

    def __init__(self, by_day: dict[date, list[list[float]]]) -> None:
        self.by_day = by_day
        self.calls: list[dict[str, Any]] = []

    def execute(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        assert "FINAL" in sql and "risk_features" in sql
        if "alert_decisions" in sql:  # no analysts' decisions here: tests/unit/test_decision_labels.py
            return []
        self.calls.append(dict(params))
        return [(row,) for row in self.by_day.get(params["day"], [])]

    def insert(self, table: str, columns: Any, rows: Any) -> int:
        raise AssertionError("training never writes")

    def close(self) -> None:
        pass


def test_training_rows_are_read_day_by_day() -> None:
    width = len(FEATURE_NAMES)
    engine = FakeEngine({date(2026, 6, 2): [[1.0] * width, [2.0] * width], date(2026, 6, 4): [[3.0] * width]})
    seen: list[tuple[date, int]] = []
    X = training.read_window(
        engine, date(2026, 6, 1), date(2026, 6, 5), on_day=lambda d, n: seen.append((d, n))
    )
    assert X.shape == (3, width) and X[:, 0].tolist() == [1.0, 2.0, 3.0]
    assert [c["day"] for c in engine.calls] == [date(2026, 6, d) for d in (1, 2, 3, 4)]
    assert all(c["width"] == width for c in engine.calls) and seen[1] == (date(2026, 6, 2), 2)
    assert training.sample(np.arange(10.0).reshape(10, 1), 4, seed=1).shape == (4, 1)


def test_cli_train_saves_a_model_from_the_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    days = {
        date(2026, 6, 1) + timedelta(days=i): rng.normal(size=(40, len(FEATURE_NAMES))).tolist()
        for i in range(3)
    }
    monkeypatch.setattr("fapiao.warehouse.engine.NativeEngine", lambda settings: FakeEngine(days))
    monkeypatch.setattr("fapiao.logs.configure_logging", lambda settings: None)  # keep pytest's streams
    args = ["train", "--days", "3", "--until", "2026-06-04", "--directory", str(tmp_path)]
    result = CliRunner().invoke(model_app, args)
    assert result.exit_code == 0, result.output
    assert "trained on 120 of 120 rows" in result.output
    assert len(list(tmp_path.glob("*.joblib"))) == 1 and len(list(tmp_path.glob("*.json"))) == 1
    too_few = CliRunner().invoke(model_app, [*args[:4], "2026-06-02", "--directory", str(tmp_path)])
    assert too_few.exit_code == 1 and "need" in too_few.output


def test_cli_evaluate_prints_the_table(tmp_path: Path) -> None:
    doc = tmp_path / "risk-model.md"
    args = [
        "evaluate",
        "--seed",
        "6",
        "--train-invoices",
        "200",
        "--train-checks",
        "200",
        "--eval-events",
        "400",
        "--cases",
        "0,0",  # the behaviour kinds and their folds: test_evaluation_is_reproducible_and_complete
    ]
    result = CliRunner().invoke(model_app, [*args, "--no-compare", "--doc", str(doc)])
    assert result.exit_code == 0, result.output
    assert "| **overall** |" in result.output and eval_report.BEGIN in doc.read_text()
    assert "--cases 0,0" in result.output and "leave-one-kind-out" not in result.output
    bad = CliRunner().invoke(model_app, [*args[:-2], "--cases", "x", "--no-compare", "--doc", str(doc)])
    assert bad.exit_code == 2 and "--cases" in bad.output
