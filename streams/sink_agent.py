"""The ClickHouse sink: writes `checks.results` and `risk.alerts` in batches, at least once, idempotently.

Batches are bounded by rows and by time (`stream.noack_take`). Events are acknowledged only after
their batch is in ClickHouse, so a crash or an unreachable server never commits an offset for a row
that was not written; the rows of a redelivered batch collapse in the ReplacingMergeTree tables
(same check_id and result_version; same alert_id).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import faust
import structlog
from pydantic import BaseModel

from fapiao import topics
from fapiao.warehouse import alerts as alerts_table
from fapiao.warehouse import results as results_table
from fapiao.warehouse.engine import NativeEngine
from schemas.events import CheckResult, RiskAlert
from streams import metrics
from streams.app import Pipeline
from streams.dead_letters import Unreadable, decode, send_dead_letter

log = structlog.get_logger(__name__)
STAGE = "sink"


@dataclass(frozen=True)
class Target:
    schema: type[BaseModel]
    table: str
    columns: tuple[str, ...]
    row: Callable[[Any], tuple[Any, ...]]


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

    def write(target: Target, rows: list[tuple[Any, ...]]) -> None:
        nonlocal engine
        if engine is None:
            engine = NativeEngine(settings)
        try:
            engine.insert(target.table, target.columns, rows)
        except Exception:
            engine.close()
            engine = None
            raise

    async def write_with_retry(target: Target, rows: list[tuple[Any, ...]]) -> None:
        delay = 0.2
        while True:
            started = time.perf_counter()
            try:
                await asyncio.to_thread(write, target, rows)
            except Exception as exc:  # any server/network error is transient here: retry, never drop
                metrics.SINK_FAILURES.inc()
                log.warning(
                    "sink_write_failed", table=target.table, rows=len(rows), error=repr(exc), retry_in=delay
                )
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
            rows: dict[str, list[tuple[Any, ...]]] = {}
            for event in batch:
                metrics.EVENTS.labels(agent=STAGE).inc()
                target = targets[event.message.topic]
                try:
                    rows.setdefault(event.message.topic, []).append(
                        target.row(decode(target.schema, event.value))
                    )
                except Unreadable as exc:
                    await send_dead_letter(pipeline, event, str(exc), STAGE)
            for topic_name, topic_rows in rows.items():
                await write_with_retry(targets[topic_name], topic_rows)
            for event in batch:
                await stream.ack(event)

    pipeline.app.agent(source, name="sink", concurrency=1)(sink)
