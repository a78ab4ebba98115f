"""When ClickHouse is unreachable: /readyz says so, and the sink neither drops rows nor commits
their offsets; a worker started after the outage writes them all."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from fapiao import topics
from fapiao.bus import Publisher, consumer_lag
from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision
from fapiao.settings import Settings
from schemas.events import Verdict
from tests.factories import check_of, issued
from tests.integration.conftest import _env, private_stack
from tests.integration.processes import cli_process, free_port, wait_for_http, wait_for_line


def _env_of(settings: Settings) -> dict[str, str]:
    return _env(settings) | {"FAPIAO_CLICKHOUSE_PORT": str(settings.clickhouse_port)}


@pytest.fixture
def outage(tmp_path):  # type: ignore[no-untyped-def]
    with private_stack("outage", tmp_path) as (good, engine):
        # a ClickHouse port nothing listens on
        bad = good.model_copy(update={"clickhouse_port": free_port(), "sink_retry_max_seconds": 1.0})
        yield good, bad, engine


async def test_sink_keeps_uncommitted_rows_through_a_clickhouse_outage(outage, tmp_path) -> None:
    good, bad, engine = outage
    log = tmp_path / "worker-bad.log"
    with cli_process(["worker"], _env_of(bad), log) as worker:
        wait_for_line(worker, log, "Worker ready", 120)
        publisher = Publisher(good)
        await publisher.start()
        for i in range(20):
            request = check_of(issued(number=f"4000{i:04d}"))
            result = build_result(
                request, Decision(Verdict.NOT_FOUND), decided_at=datetime.now(UTC), check_count=1
            )
            await publisher.publish(topics.CHECKS_RESULTS, result.invoice_key, result)
        await publisher.stop()
        wait_for_line(worker, log, "sink_write_failed", 30)
        await asyncio.sleep(4)  # several commit intervals: nothing of the unwritten batch may be committed
        lag = await consumer_lag(good, good.sink_group, [good.topic(topics.CHECKS_RESULTS.name)])
        assert lag == 20

    good_log = tmp_path / "worker-good.log"
    with cli_process(["worker"], _env_of(good), good_log) as worker:
        # the same start-up bound as the first worker's: on a loaded machine start-up alone can take a minute
        wait_for_line(worker, good_log, "sink_assigned", 120)
        deadline = time.monotonic() + 60
        count = 0
        while time.monotonic() < deadline and count < 20:
            count = engine.execute("SELECT count() FROM check_results FINAL")[0][0]
            await asyncio.sleep(0.3)
        assert count == 20


async def test_readyz_names_the_unreachable_server(outage, tmp_path) -> None:
    _good, bad, _engine = outage
    port = free_port()
    log = tmp_path / "api.log"
    with cli_process(["api", "--port", str(port)], _env_of(bad), log) as api:
        ready = wait_for_http(api, log, f"http://127.0.0.1:{port}/readyz")
        assert ready.status_code == 503
        assert ready.json()["kafka"] == "ok" and ready.json()["clickhouse"].startswith("unreachable")
