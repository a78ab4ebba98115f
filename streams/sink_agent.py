"""The ClickHouse sink: writes `checks.results` and `risk.alerts` in batches, at least once, idempotently.

Batches are bounded by rows and by time (`stream.noack_take`). Events are acknowledged only after
their batch is in ClickHouse, so a crash or an unreachable server never commits an offset for a row
that was not written; the rows of a redelivered batch collapse in the ReplacingMergeTree tables
(same check_id and result_version; same alert_id). A row ClickHouse refuses for its values is
isolated by bisecting the batch and dead-lettered alone with the server's message
(`fapiao.warehouse.insert_errors`); other failures are retried with backoff.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import faust
import structlog
from pydantic import BaseModel

from fapiao import topics
from fapiao.warehouse import alerts as alerts_table
from fapiao.warehouse import results as results_table
from fapiao.warehouse.engine import NativeEngine
from fapiao.warehouse.insert_errors import insert_isolating
from schemas.events import CheckResult, RiskAlert
from streams import metrics
from streams.app import Pipeline
from streams.dead_letters import decode, send_dead_letter
from streams.error_policy import StagePolicy

log = structlog.get_logger(__name__)
STAGE = "sink"


@dataclass(frozen=True)
class Target:
    schema: type[BaseModel]
    table: str
    columns: tuple[str, ...]
    row: Callable[[Any], tuple[Any, ...]]


def _row_of(target: Target, event: faust.EventT) -> tuple[Any, ...]:
    return target.row(decode(target.schema, event.value))


def attach(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    engine: NativeEngine | None = None
    targets = {
        settings.topic(topics.CHECKS_RESULTS.name): Target(
            CheckResult, results_table.TABLE, results_table.COLUMNS, results_table.result_row
        ),
        settings.topic(topics.RISK_ALERTS.name): Target(
            RiskAlert, alerts_table.TABLE, alerts_table.COLUMNS, alerts_table.alert_row
        ),
    }
    source = pipeline.app.topic(
        *targets, partitions=settings.topic_partitions, key_serializer="raw", value_serializer="raw"
    )

    policy = StagePolicy(pipeline, STAGE)

    def write(target: Target, rows: list[tuple[Any, ...]]) -> list[tuple[int, str]]:
        """Insert, isolating the rows ClickHouse refuses for their values; (index, error) of those."""
        nonlocal engine
        if engine is None:
            engine = NativeEngine(settings)
        live = engine
        try:
            return insert_isolating(lambda part: live.insert(target.table, target.columns, part), rows)
        except Exception:
            live.close()
            engine = None
            raise

    async def write_with_retry(target: Target, rows: list[tuple[Any, ...]]) -> list[tuple[int, str]]:
        """Retry transient failures (server down, timeouts, too many parts) with backoff, never drop."""
        delay = 0.2
        while True:
            started = time.perf_counter()
            try:
                refused = await asyncio.to_thread(write, target, rows)
            except Exception as exc:
                metrics.SINK_FAILURES.labels(kind="transient").inc()
                log.warning(
                    "sink_write_failed", table=target.table, rows=len(rows), error=repr(exc), retry_in=delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, settings.sink_retry_max_seconds)
                continue
            metrics.SINK_BATCH_SECONDS.observe(time.perf_counter() - started)
            metrics.SINK_ROWS.inc(len(rows) - len(refused))
            return refused

    async def sink(stream: faust.StreamT) -> None:
        # noack_take is on faust.Stream but missing from its StreamT protocol
        batches = stream.noack_take(settings.sink_batch_rows, within=settings.sink_batch_seconds)  # type: ignore[attr-defined]
        async for batch in batches:
            pending: dict[str, tuple[list[faust.EventT], list[tuple[Any, ...]]]] = {}
            for event in batch:
                metrics.EVENTS.labels(agent=STAGE).inc()
                target = targets[event.message.topic]
                row = await policy.run(event, partial(_row_of, target, event))
                if row is not None:
                    events, rows = pending.setdefault(event.message.topic, ([], []))
                    events.append(event)
                    rows.append(row)
            for topic_name, (events, rows) in pending.items():
                target = targets[topic_name]
                for index, error in await write_with_retry(target, rows):
                    metrics.SINK_FAILURES.labels(kind="permanent").inc()
                    metrics.SINK_REFUSED_ROWS.labels(table=target.table).inc()
                    await send_dead_letter(
                        pipeline,
                        events[index],
                        f"ClickHouse refused the row for {target.table}: {error}",
                        STAGE,
                        kind="unstorable",
                    )
            for event in batch:
                await stream.ack(event)

    pipeline.app.agent(source, name="sink", concurrency=1)(sink)
