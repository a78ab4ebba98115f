"""The analysts' decisions reach `fapiao model train` through the real API and ClickHouse: an alert
confirmed and one dismissed in the cases API become the labels of a training run on the server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from fapiao.domain import register
from fapiao.domain.results import build_result
from fapiao.domain.verification import decide
from fapiao.risk.features import FEATURE_NAMES
from fapiao.settings import Settings
from fapiao.warehouse import results as results_table
from fapiao.warehouse.engine import NativeEngine
from schemas.events import RiskAssessment
from services.risk_cli import model_app
from tests.factories import check_of, issued
from tests.integration.conftest import Org, _env
from tests.integration.test_alert_cases import _alerts

DAY = datetime(2025, 1, 2, 3, 0, tzinfo=UTC)  # a window no other test writes checks in


def _results(org_id: str, check_ids: list[str], features: np.ndarray) -> list[tuple[object, ...]]:
    rows = []
    for n, (check_id, values) in enumerate(zip(check_ids, features, strict=True)):
        invoice = issued(number=f"7{n:07d}", issue_date=DAY.date() - timedelta(days=3))
        request = check_of(invoice, requested_at=DAY).model_copy(
            update={"org_id": org_id, "check_id": uuid.UUID(check_id)}
        )
        decision = decide(
            request, register.apply_issued(None, invoice), DAY.date(), now=DAY, sync_window=timedelta(days=1)
        )
        risk = RiskAssessment(score=70, severity="high", features=tuple(float(v) for v in values))
        result = build_result(request, decision, decided_at=DAY, check_count=1).model_copy(
            update={"risk": risk}
        )
        rows.append(results_table.result_row(result))
    return rows


def test_model_train_reads_the_decisions_made_in_the_cases_api(
    api_url: str,
    settings: Settings,
    engine: NativeEngine,
    make_org: Callable[..., Org],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    org = make_org("标签企业 Labels Co.")
    confirmed, dismissed = _alerts(settings, engine, org.org_id, 2)
    rng = np.random.default_rng(5)
    ordinary = [str(uuid.uuid4()) for _ in range(80)]
    ids = [*ordinary, str(confirmed.check_id), str(dismissed.check_id)]
    width = len(FEATURE_NAMES)
    unusual = np.full((1, width), 8.0)  # the confirmed check: far from every ordinary one
    features = np.vstack([rng.normal(size=(80, width)), unusual, rng.normal(size=(1, width))])
    engine.insert(results_table.TABLE, results_table.COLUMNS, _results(org.org_id, ids, features))
    with httpx.Client(base_url=api_url, timeout=15, headers=org.admin) as client:
        for alert, moves in ((confirmed, ("in_review", "confirmed_fraud")), (dismissed, ("dismissed",))):
            for status in moves:
                changed = client.patch(f"/v1/alerts/{alert.alert_id}/case", json={"status": status})
                assert changed.status_code == 200, changed.text

    until = (DAY + timedelta(days=1)).date().isoformat()
    monkeypatch.setattr("fapiao.logs.configure_logging", lambda settings: None)  # keep pytest's streams
    args = ["train", "--until", until, "--days", "1", "--directory", str(tmp_path)]
    done = CliRunner().invoke(model_app, args, env=_env(settings))  # the command, on the session's server
    assert done.exit_code == 0, done.output
    assert "1 confirmed, 1 dismissed; 1 of them left out of training" in done.output, done.output
    (meta,) = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert (meta["rows"], meta["decisions"]["positives"], meta["decisions"]["negatives"]) == (81, 1, 1)
    assert meta["decisions"]["with"]["recall"] == 1.0  # the confirmed check, far from the rest, is flagged
