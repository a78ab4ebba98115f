"""The ClickHouse sink: writes `checks.results` in batches, at least once, idempotently.

Batches are bounded by rows and by time (`stream.noack_take`). Events are acknowledged only after
their batch is in ClickHouse, so a crash or an unreachable server never commits an offset for a row
that was not written; the rows of a redelivered batch collapse in the ReplacingMergeTree (same
check_id and result_version).
"""

from __future__ import annotations

import asyncio
import time

import faust
import structlog

from fapiao import topics
from fapiao.warehouse import results as results_table
from fapiao.warehouse.engine import NativeEngine
from schemas.events import CheckResult
from streams import metrics
from streams.app import Pipeline
from streams.dead_letters import Unreadable, decode, send_dead_letter

log = structlog.get_logger(__name__)
STAGE = "sink"


def attach(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    engine: NativeEngine | None = None

    def write(rows: list[tuple[object, ...]]) -> None:
        nonlocal engine
        if engine is None:
            engine = NativeEngine(settings)
        try:
            engine.insert(results_table.TABLE, results_table.COLUMNS, rows)
        except Exception:
            engine.close()
            engine = None
            raise

    async def write_with_retry(rows: list[tuple[object, ...]]) -> None:
        delay = 0.2
        while True:
            started = time.perf_counter()
            try:
                await asyncio.to_thread(write, rows)
            except Exception as exc:  # any server/network error is transient here: retry, never drop
                metrics.SINK_FAILURES.inc()
                log.warning("sink_write_failed", rows=len(rows), error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, settings.sink_retry_max_seconds)
                continue
            metrics.SINK_BATCH_SECONDS.observe(time.perf_counter() - started)
            metrics.SINK_ROWS.inc(len(rows))
            return

    async def sink(stream: faust.StreamT) -> None:
        # noack_take is on faust.Stream but missing from its StreamT protocol
        batches = stream.noack_take(settings.sink_batch_rows, within=settings.sink_batch_seconds)  # type: ignore[attr-defined]
        async for batch in batches:
            rows = []
            for event in batch:
                metrics.EVENTS.labels(agent=STAGE).inc()
                try:
                    rows.append(results_table.result_row(decode(CheckResult, event.value)))
                except Unreadable as exc:
                    await send_dead_letter(pipeline, event, str(exc), STAGE)
            if rows:
                await write_with_retry(rows)
            for event in batch:
                await stream.ack(event)

    pipeline.app.agent(pipeline.topics[topics.CHECKS_RESULTS.name], name="sink", concurrency=1)(sink)
