"""A worker killed (SIGKILL) or stopped (SIGTERM) in the middle of a backlog and started again answers
every check: each check ends with exactly one result row in ClickHouse (nothing lost; redelivered
results collapse in the idempotent sink).

Guards the start-up loss worked around in streams/flow_control.py: faust-streaming 0.15.3 dropped the
records it fetched between seeking to the committed offsets and resuming the flow at the end of table
recovery (queued for the agents, then cleared; never processed nor acked), so checks went unanswered or
their offsets were never committed. The workers run as tests/integration/slow_seek_worker.py, whose seek
ends while fetched records wait in the agents' queues (the unlucky timing, which a slow seek over many
partitions makes likely), so that the loss, if it comes back, shows on every run: without the
workaround this test failed 3 runs of 3 (missing results, or offsets never committed).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fapiao import topics
from fapiao.analytics.catalog import ANALYTICS_TZ, Bucket, Dimension
from fapiao.analytics.trends import TrendQuery
from fapiao.bus import Publisher, worker_lag
from fapiao.domain.invoice_types import invoice_key
from fapiao.settings import Settings
from fapiao.warehouse.engine import NativeEngine
from fapiao.warehouse.trends import fetch_trend
from schemas.events import CheckRequested, Verdict
from tests.factories import check_of, issued
from tests.integration.conftest import _env, private_stack
from tests.integration.processes import cli_process

BACKLOG = 3000  # check requests waiting before the first start
STEP = BACKLOG // 10  # checks the first two workers answer before they are killed / stopped
RUN_TIMEOUT = 120.0  # seconds they get for it
QUIET_SECONDS = 15.0  # no new result nor commit for this long: the worker has nothing left to do
WORKER = "tests.integration.slow_seek_worker"


@pytest.fixture
def restart_stack(tmp_path: Path) -> Iterator[tuple[Settings, NativeEngine]]:
    with private_stack("restart", tmp_path) as stack:
        yield stack


class Requests:
    """Check requests of invoices dated a month ago that were never issued: each is answered 查无此票 at
    once, with one result, whatever the register holds. Remembers every check id it published."""

    def __init__(self, settings: Settings) -> None:
        self.publisher = Publisher(settings)
        self.sent: list[str] = []
        self._issue_date = date.today() - timedelta(days=30)

    def _next(self, n: int) -> list[CheckRequested]:
        now, first = datetime.now(UTC), 70_000_000 + len(self.sent)
        made = [
            check_of(issued(number=f"{first + i:08d}", issue_date=self._issue_date), requested_at=now)
            for i in range(n)
        ]
        self.sent.extend(str(r.check_id) for r in made)
        return made

    async def publish(self, n: int) -> None:
        await self.publisher.publish_many(
            (topics.CHECKS_REQUESTED, invoice_key(r.invoice_code, r.invoice_number), r) for r in self._next(n)
        )


def _answered(engine: NativeEngine) -> int:
    return int(engine.execute("SELECT uniqExact(check_id) FROM check_results")[0][0])


async def _lag(settings: Settings) -> int:
    """The worker group's lag on the pipeline's topics (requests, verdicts, results)."""
    specs = (topics.CHECKS_REQUESTED, topics.CHECKS_VERIFIED, topics.CHECKS_RESULTS)
    return await worker_lag(settings, specs)  # results: in the sink's own group


def _alive(proc: subprocess.Popen[bytes], log: Path) -> None:
    assert proc.poll() is None, f"worker exited:\n{log.read_text(errors='replace')[-4000:]}"


async def _ready(proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while "Worker ready" not in log.read_text(errors="replace"):
        _alive(proc, log)
        assert time.monotonic() < deadline, f"worker not ready:\n{log.read_text(errors='replace')[-4000:]}"
        await asyncio.sleep(0.2)


async def _run_mid_backlog(engine: NativeEngine, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Let the worker answer STEP more checks once ready (by progress, not by time: a fast pipeline
    answered the whole backlog within a fixed two seconds); it must still be in the middle of it."""
    await _ready(proc, log)
    target, deadline = _answered(engine) + STEP, time.monotonic() + RUN_TIMEOUT
    while _answered(engine) < target:
        _alive(proc, log)
        assert time.monotonic() < deadline, f"fewer than {STEP} checks answered in {RUN_TIMEOUT:.0f} s"
        await asyncio.sleep(0.05)
    _alive(proc, log)
    assert _answered(engine) < BACKLOG, "the backlog is too small to stop the worker in its middle"


async def _drain(settings: Settings, engine: NativeEngine, proc: subprocess.Popen[bytes], log: Path) -> int:
    """Once the worker is ready: until every check is answered and the group has committed everything,
    or nothing moved (results, commits) for QUIET_SECONDS. Returns the lag left."""
    await _ready(proc, log)
    last, since = None, time.monotonic()
    while (now := (_answered(engine), await _lag(settings))) != (BACKLOG, 0):
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > QUIET_SECONDS:
            break
        _alive(proc, log)
        await asyncio.sleep(0.5)
    return now[1]


async def test_worker_killed_and_stopped_mid_backlog_answers_every_check(
    restart_stack: tuple[Settings, NativeEngine], tmp_path: Path
) -> None:
    settings, engine = restart_stack
    # faust reads BROKER_* from the environment: a killed worker leaves the group after 8 s, not 60
    env = _env(settings) | {"BROKER_SESSION_TIMEOUT": "8", "BROKER_HEARTBEAT_INTERVAL": "1"}
    requests = Requests(settings)
    await requests.publisher.start()
    try:
        await requests.publish(BACKLOG)
    finally:
        await requests.publisher.stop()
    # 1: first start on the backlog (nothing committed yet), killed in its middle
    log = tmp_path / "worker-1.log"
    with cli_process(["worker"], env, log, module=WORKER) as worker:
        await _run_mid_backlog(engine, worker, log)
        worker.kill()
        worker.wait(10)
    # 2: restart on the rest (from the offsets run 1 committed), stopped gracefully in its middle
    log = tmp_path / "worker-2.log"
    with cli_process(["worker"], env, log, module=WORKER) as worker:
        await _run_mid_backlog(engine, worker, log)
        worker.terminate()
        worker.wait(30)
    # 3: restart again; it must answer everything that is left and commit it all (nothing left over for
    # a later restart to redeliver)
    log = tmp_path / "worker-3.log"
    with cli_process(["worker"], env, log, module=WORKER) as worker:
        lag = await _drain(settings, engine, worker, log)

    rows = engine.execute(
        "SELECT toString(check_id), count(), any(verdict) FROM check_results FINAL GROUP BY check_id"
    )
    per_check = {check_id: (n, verdict) for check_id, n, verdict in rows}
    missing = set(requests.sent) - set(per_check)
    assert not missing, f"{len(missing)} of {len(requests.sent)} checks never got a result"
    assert len(per_check) == len(requests.sent)
    assert {n for n, _ in per_check.values()} == {1}
    assert {verdict for _, verdict in per_check.values()} == {Verdict.NOT_FOUND.value}
    assert lag == 0, f"{lag} records of the pipeline's topics processed but never committed"

    # every figure the dashboards show counts each check once after the kill -9 (issue 15): the
    # rollups' own row counts include every redelivered copy, the trends and rankings do not
    today = datetime.now(UTC).astimezone(ZoneInfo(ANALYTICS_TZ)).date()
    span = (today - timedelta(days=1), today)
    copies = int(engine.execute("SELECT countMerge(results) FROM checks_hourly WHERE vkey = '*'")[0][0])
    print(f"after kill -9: {copies} result rows in checks_hourly for {BACKLOG} checks")
    for dimension in (None, Dimension.VERDICT, Dimension.REQUESTER):
        trend = fetch_trend(engine, "public", TrendQuery(*span, Bucket.DAY, dimension))
        shown = {s.key: s.current.checks for s in trend.series if s.current.checks}
        assert sum(shown.values()) == BACKLOG, (dimension, shown, f"{copies} result rows in the rollups")
    verdicts = fetch_trend(engine, "public", TrendQuery(*span, Bucket.HOUR, Dimension.VERDICT))
    assert {s.key: s.current.checks for s in verdicts.series} == {Verdict.NOT_FOUND.value: BACKLOG}
