"""The worker's leader remembers trend counts ahead of the dashboards (fapiao.warehouse.count_warmer).

A timer on the leader only (one worker does it for the group), every `analytics_warm_seconds`; the
pass runs in a thread with its own ClickHouse connection, and a failure is logged and retried at
the next tick (the counts are an optimisation: a trend computes what is missing itself).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog

from fapiao.analytics.filters import local_today
from fapiao.warehouse.count_warmer import warm_counts
from fapiao.warehouse.engine import NativeEngine
from streams.app import Pipeline

log = structlog.get_logger(__name__)


def attach(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    if not settings.analytics_warm_seconds:
        return

    def warm() -> None:
        engine = NativeEngine(settings)
        try:
            done = warm_counts(engine, local_today(datetime.now(UTC)), settings.analytics_warm_days)
        finally:
            engine.close()
        log.info("rollup_counts_warmed", organisations=done.organisations, seconds=round(done.seconds, 2))

    async def warm_rollup_counts() -> None:
        try:
            await asyncio.to_thread(warm)
        except Exception as exc:  # the server may be down or busy: next tick
            log.warning("rollup_counts_warm_failed", error=repr(exc))

    pipeline.app.timer(settings.analytics_warm_seconds, on_leader=True, name="warm_rollup_counts")(
        warm_rollup_counts
    )
