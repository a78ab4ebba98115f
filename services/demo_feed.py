"""`fapiao demo`: publishes the demo feed (fapiao.demo) to Kafka and its labels to ClickHouse.

A backlog first (invoices issued over the last 60 days, some voided or red-flushed), then, once the
worker has folded them into the register, the labelled checks of that backlog; then, with a rate, a
live stream. Labels go to the `demo_labels` table only, never into an event.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from datetime import time as clock_time
from itertools import islice
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from rich.progress import Progress

from fapiao import topics
from fapiao.bus import Publisher, consumer_lag
from fapiao.demo import DemoEvent, DemoFeed
from fapiao.settings import Settings
from fapiao.warehouse.engine import NativeEngine
from schemas.events import CheckRequested, InvoiceStatus

BATCH = 500
DEMO_ORG = "demo"  # every demo check belongs to this organisation; requesters are the buyers


def _owned(event: DemoEvent) -> tuple[topics.TopicSpec, str, BaseModel]:
    value = event.value
    if isinstance(value, CheckRequested):
        value = value.model_copy(update={"org_id": DEMO_ORG})
    return topics.BY_NAME[event.topic], event.key, value


def feed_start(settings: Settings) -> datetime:
    """Today's midnight (Asia/Shanghai): the same seed gives the same backlog all day long."""
    tz = ZoneInfo(settings.timezone)
    return datetime.combine(datetime.now(tz).date(), clock_time(0), tzinfo=tz)


def backlog(
    settings: Settings, seed: int, invoices: int, checks: int
) -> tuple[DemoFeed, list[DemoEvent], list[DemoEvent]]:
    feed = DemoFeed(seed, feed_start(settings))
    register_events = sorted(feed.issue(invoices) + feed.status_changes(0.04), key=lambda e: e.at)
    return feed, register_events, feed.checks(checks)


def sample_check(settings: Settings, seed: int, invoices: int) -> dict[str, object]:
    """A genuine check (API body) of a backlog invoice that is still normal, for trying the API."""
    feed = DemoFeed(seed, feed_start(settings))
    feed.issue(invoices)
    feed.status_changes(0.04)
    for event in feed.checks(50):
        request = event.value
        if (
            event.label == "genuine"
            and isinstance(request, CheckRequested)
            and feed.status(event.key) is InvoiceStatus.NORMAL
        ):
            return request.model_dump(
                mode="json",
                include={"invoice_code", "invoice_number", "issue_date", "amount", "check_code"},
                exclude_none=True,
            )
    raise RuntimeError("no genuine check in the sample")


async def _publish(publisher: Publisher, events: Sequence[DemoEvent], progress: Progress, label: str) -> None:
    task = progress.add_task(label, total=len(events))
    for start in range(0, len(events), BATCH):
        chunk = events[start : start + BATCH]
        await publisher.publish_many(_owned(e) for e in chunk)
        progress.advance(task, len(chunk))


def _store_labels(engine: NativeEngine, events: Iterable[DemoEvent]) -> int:
    now = datetime.now(UTC)
    rows = [
        (e.value.check_id, e.label, e.key, now)
        for e in events
        if e.label is not None and isinstance(e.value, CheckRequested)
    ]
    if rows:
        engine.insert("demo_labels", ("check_id", "label", "invoice_key", "labelled_at"), rows)
    return len(rows)


async def _wait_for_register(settings: Settings, timeout: float, progress: Progress) -> None:
    """Until the worker has committed the backlog of register events (so checks find their invoices)."""
    names = [settings.topic(topics.INVOICES_ISSUED.name), settings.topic(topics.INVOICES_STATUS.name)]
    task = progress.add_task("worker folding the register", total=None)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await consumer_lag(settings, settings.faust_app_id, names) == 0:
            progress.update(task, completed=1, total=1)
            return
        await asyncio.sleep(1)
    raise TimeoutError("the worker did not catch up with the register feed: is `fapiao worker` running?")


async def run_demo(
    settings: Settings, *, seed: int, invoices: int, checks: int, rate: float, duration: float
) -> Counter[str]:
    feed, register_events, check_events = backlog(settings, seed, invoices, checks)
    labels: Counter[str] = Counter(e.label for e in check_events if e.label)
    publisher = Publisher(settings, linger_ms=20)
    engine = NativeEngine(settings)
    await publisher.start()
    try:
        with Progress() as progress:
            await _publish(publisher, register_events, progress, "issuing invoices and status changes")
            await _wait_for_register(settings, 120, progress)
            await asyncio.to_thread(_store_labels, engine, check_events)
            await _publish(publisher, check_events, progress, "checks (labelled)")
        if rate > 0:
            labels += await _stream(publisher, engine, feed, rate, duration)
    finally:
        await publisher.stop()
        engine.close()
    return labels


async def _stream(
    publisher: Publisher, engine: NativeEngine, feed: DemoFeed, rate: float, duration: float
) -> Counter[str]:
    """Publish the live feed at about `rate` events per second, in batches every 100 ms."""
    labels: Counter[str] = Counter()
    events = feed.stream(rate, rhythm=False)  # checks at any hour, never stamped ahead of the wall clock
    started = time.monotonic()
    sent = 0
    while duration <= 0 or time.monotonic() - started < duration:
        due = int((time.monotonic() - started) * rate) - sent
        batch = list(islice(events, max(0, due)))
        if batch:
            await asyncio.to_thread(_store_labels, engine, batch)
            await publisher.publish_many(_owned(e) for e in batch)
            labels.update(e.label for e in batch if e.label)
            sent += len(batch)
        await asyncio.sleep(0.1)
    return labels
