"""When ClickHouse is unreachable: /readyz says so, and the sink neither drops rows nor commits
their offsets; a worker started after the outage writes them all."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from fapiao import topics
from fapiao.bus import Publisher, consumer_lag, ensure_topics
from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision
from fapiao.settings import Settings
from fapiao.warehouse import migrations
from fapiao.warehouse.engine import NativeEngine
from schemas.events import Verdict
from tests.factories import check_of, issued
from tests.integration.conftest import ROOT, _env, _wait_for_line


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again on exit: nothing listens there


def _start(settings: Settings, log_path, *args: str) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    env = _env(settings) | {"FAPIAO_CLICKHOUSE_PORT": str(settings.clickhouse_port)}
    with log_path.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", *args], cwd=ROOT, env=env, stdout=out, stderr=out
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def outage(tmp_path):  # type: ignore[no-untyped-def]
    run = uuid.uuid4().hex[:8]
    good = Settings(
        topic_prefix=f"o{run}-",
        clickhouse_database=f"outage_{run}",
        data_dir=tmp_path / "data",
        sink_batch_seconds=0.2,
    )
    bad = good.model_copy(update={"clickhouse_port": _dead_port(), "sink_retry_max_seconds": 1.0})
    asyncio.run(ensure_topics(good))
    engine = NativeEngine(good)
    migrations.migrate(engine)
    yield good, bad, engine
    engine.execute(f"DROP DATABASE IF EXISTS {good.clickhouse_database}")
    engine.close()


async def test_sink_keeps_uncommitted_rows_through_a_clickhouse_outage(outage, tmp_path) -> None:
    good, bad, engine = outage
    worker = _start(bad, tmp_path / "worker-bad.log", "worker")
    results = []
    try:
        _wait_for_line(worker, tmp_path / "worker-bad.log", "Worker ready", 120)
        publisher = Publisher(good)
        await publisher.start()
        for i in range(20):
            request = check_of(issued(number=f"4000{i:04d}"))
            result = build_result(
                request, Decision(Verdict.NOT_FOUND), decided_at=datetime.now(UTC), check_count=1
            )
            results.append(result)
            await publisher.publish(topics.CHECKS_RESULTS, result.invoice_key, result)
        await publisher.stop()
        _wait_for_line(worker, tmp_path / "worker-bad.log", "sink_write_failed", 30)
        await asyncio.sleep(4)  # several commit intervals: nothing of the unwritten batch may be committed
        lag = await consumer_lag(good, good.faust_app_id, [good.topic(topics.CHECKS_RESULTS.name)])
        assert lag == 20
    finally:
        _stop(worker)

    worker = _start(good, tmp_path / "worker-good.log", "worker")
    try:
        deadline = time.monotonic() + 60
        count = 0
        while time.monotonic() < deadline and count < 20:
            count = engine.execute("SELECT count() FROM check_results FINAL")[0][0]
            await asyncio.sleep(0.3)
        assert count == 20
    finally:
        _stop(worker)


async def test_readyz_names_the_unreachable_server(outage, tmp_path) -> None:
    _good, bad, _engine = outage
    port = _dead_port()
    api = _start(bad, tmp_path / "api.log", "api", "--port", str(port))
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.2)
        else:
            raise AssertionError((tmp_path / "api.log").read_text())
        assert ready.status_code == 503
        assert ready.json()["kafka"] == "ok" and ready.json()["clickhouse"].startswith("unreachable")
    finally:
        _stop(api)
