"""Live BI with Apache Superset (deploy/bi/): installed from PyPI into its own virtualenv, started on a
free port, pointed at a ClickHouse database of this test's own, the bi_* views registered and the
dashboard built; the dashboard rendered in Debian's chromium shows the same number of checks as the
API's trends for the organisation (the only one in this database)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from fapiao.settings import Settings
from fapiao.warehouse import migrations
from fapiao.warehouse.engine import NativeEngine
from tests.analytics_data import insert_results, result
from tests.integration.conftest import _env, register_org
from tests.integration.processes import ROOT, cli_process, free_port, wait_until_ok

SCRIPT = ROOT / "deploy" / "bi" / "superset.sh"
PASSWORD = "Bi-Admin-47-pass"


@pytest.fixture
def warehouse(settings: Settings) -> Iterator[Settings]:
    own = settings.model_copy(update={"clickhouse_database": f"bi_{uuid.uuid4().hex[:8]}"})
    engine = NativeEngine(own)
    migrations.migrate(engine)
    try:
        yield own
    finally:
        engine.execute(f"DROP DATABASE IF EXISTS {own.clickhouse_database}")
        engine.close()


def superset(step: str, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(
        ["bash", str(SCRIPT), step], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"superset.sh {step}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout


async def test_the_superset_dashboard_shows_the_apis_figure(
    warehouse: Settings, browser: Browser, topics_ready: None, tmp_path: Path
) -> None:
    port, bi_port = free_port(), free_port()
    api_url, bi_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{bi_port}"
    api_log = tmp_path / "api.log"
    with cli_process(["api", "--port", str(port)], _env(warehouse), api_log, stop_seconds=20) as api:
        wait_until_ok(api, api_log, f"{api_url}/readyz")
        org = register_org(api_url, "看板企业 BI Co.")
        now = datetime.now(UTC).replace(microsecond=0)
        verdicts = ["consistent"] * 9 + ["inconsistent"] * 3 + ["not_found"] * 2
        rows = [
            result(uuid.uuid4(), v, now - timedelta(minutes=i), org_id=org.org_id)
            for i, v in enumerate(verdicts)
        ]
        insert_results(NativeEngine(warehouse), rows, None)
        today = (now + timedelta(hours=8)).date()
        trend = httpx.get(
            f"{api_url}/v1/analytics/trends",
            params={"date_from": (today - timedelta(days=1)).isoformat(), "date_to": today.isoformat()},
            headers=org.headers,
            timeout=30,
        )
        assert trend.status_code == 200, trend.text
        api_checks = trend.json()["series"][0]["current"]["checks"]
        assert api_checks == len(verdicts)

    env = {
        **os.environ,
        "FAPIAO_BI_HOME": str(ROOT / ".local" / "bi-test"),  # metadata kept between runs: setup once
        "FAPIAO_BI_PORT": str(bi_port),
        "FAPIAO_BI_PASSWORD": PASSWORD,
        "FAPIAO_CLICKHOUSE_DATABASE": warehouse.clickhouse_database,
    }
    superset("install", env, 1200)
    superset("setup", env, 600)
    try:
        superset("start", env, 240)
        superset("provision", env, 240)
        context = await browser.new_context(viewport={"width": 1400, "height": 1100})
        page = await context.new_page()
        await page.goto(f"{bi_url}/login/")
        await page.locator("#username").fill("admin")
        await page.locator("#password").fill(PASSWORD)
        await page.locator("#password").press("Enter")
        await page.wait_for_url(lambda url: "/login" not in url, timeout=60_000)
        await page.goto(f"{bi_url}/superset/dashboard/fapiao-sentinel/")
        checks = page.locator("[data-test-chart-name='查验次数 Checks'] .header-line")
        await expect(checks).to_have_text(str(api_checks), timeout=90_000)
        verdict_mix = page.locator("[data-test-chart-name='结果分布 Verdict mix']")
        await expect(verdict_mix.locator("canvas").first).to_be_visible(timeout=60_000)  # echarts draws
        await page.screenshot(path=str(tmp_path / "bi-dashboard.png"))
        if os.environ.get("FAPIAO_SCREENSHOTS"):
            await page.screenshot(path=str(ROOT / "docs" / "screenshots" / "bi-superset.png"))
        await context.close()
    finally:
        superset("stop", env, 60)
