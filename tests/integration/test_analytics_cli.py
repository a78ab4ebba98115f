"""`fapiao report` and `fapiao db retention` as commands, against the 18.16 server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from fapiao.analytics.custom_reports import ReportSpec
from fapiao.settings import Settings
from fapiao.warehouse import report_store
from fapiao.warehouse.engine import NativeEngine
from tests import analytics_contract
from tests.analytics_data import KEYS_ENV, at, insert_results, result, scalar
from tests.integration.processes import ROOT
from tests.reports_contract import NOW


@pytest.fixture(scope="module")
def database() -> Iterator[NativeEngine]:
    engine = NativeEngine(Settings(_env_file=None), database=f"cli_{uuid.uuid4().hex[:8]}")  # type: ignore[call-arg]
    analytics_contract.load(engine)
    try:
        yield engine
    finally:
        engine.execute(f"DROP DATABASE IF EXISTS {engine.database}")
        engine.close()


def fapiao(engine: NativeEngine, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, FAPIAO_CLICKHOUSE_DATABASE=engine.database, FAPIAO_LOG_JSON="false", **KEYS_ENV)
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_the_period_report_file_in_each_format(database: NativeEngine, tmp_path: Path) -> None:
    period = ("--org", "acme", "--from", "2026-11-22", "--to", "2026-11-28")
    html = tmp_path / "report.html"
    done = fapiao(database, "report", *period, "-o", str(html))
    assert f"written: {html}" in done.stderr.replace("\n", "")
    page = html.read_text("utf-8")
    assert "共查验发票 6 张" in page and "6 invoices checked" in page and page.count("<svg") == 9
    fapiao(database, "report", *period, "--format", "json", "-o", str(tmp_path / "r.json"))
    body = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert body["total"]["current"]["checks"] == 6 and body["summary_zh"]
    fapiao(database, "report", *period, "--format", "md", "-o", str(tmp_path / "r.md"))
    assert "| 北京 | 5 |" in (tmp_path / "r.md").read_text("utf-8")


def test_a_saved_report_to_xlsx(database: NativeEngine, tmp_path: Path) -> None:
    spec = ReportSpec.model_validate(
        {
            "name": "按地区",
            "dimensions": ["region"],
            "metrics": ["checks"],
            "date_from": "2026-11-22",
            "date_to": "2026-11-28",
        }
    )
    saved = report_store.save(database, "acme", spec, "cli-test", NOW)
    out = tmp_path / "regions.xlsx"
    fapiao(
        database,
        "report",
        "--org",
        "acme",
        "--definition",
        saved.report_id,
        "--format",
        "xlsx",
        "-o",
        str(out),
    )
    rows = list(load_workbook(out, read_only=True).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows == [("region", "region_name", "checks"), ("1100", "北京", 5), ("3200", "江苏", 1)]


def test_retention_lists_then_drops_old_months(database: NativeEngine) -> None:
    insert_results(database, [result(uuid.uuid4(), "consistent", at(3, month=1), org_id="acme")])
    planned = fapiao(database, "db", "retention", "--keep-months", "3", "--dry-run").stdout
    assert f"would drop {database.database}.check_results partition 202601" in planned
    assert int(scalar(database, "SELECT count() FROM check_results WHERE requested_date < '2026-02-01'")) == 1
    fapiao(database, "db", "retention", "--keep-months", "3")
    assert int(scalar(database, "SELECT count() FROM check_results WHERE requested_date < '2026-02-01'")) == 0
    assert "nothing to drop" in fapiao(database, "db", "retention", "--keep-months", "3").stdout
