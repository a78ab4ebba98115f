"""A bulk feed: a topic's records taken from faust's consumer in the batches a fetch returns, not one
event at a time through faust's per-record stream machinery.

Why: faust hands every fetched record on alone. The fetch loop (`Consumer._drain_messages`) awaits
`wait_first(callback(message), suspend_flow.wait())` per record (two tasks each), the conductor decodes
it into an event and puts it on the topic's queue, the agent's stream takes it with `__anext__`, acks
it, fires sensors. At the register's bulk feed that was ~280 of the ~360 µs of worker CPU per invoice
(docs/benchmarks.md, "register fold: where the time went"), the fold itself ~80 µs.

How: `BulkConsumer` (the worker's consumer: streams/offset_guard.py's, so its gap rule still applies)
diverts the records of the topics a `BulkFeed` claims while it iterates faust's own fetch (`getmany`):
they are gathered, their read offsets moved as faust's fetch loop would, and at the end of the fetch
(or every `batch_size` records) handed on as one batch on the feed's bounded queue. Every other topic
goes through faust as before. The feed's task takes a batch, drops its records of partitions this
worker no longer holds, wraps each record in a `faust.Event` (the stages' error policy, dead letters and
table writes take events) and awaits the handler on the whole batch; only when the handler returned
(its table writes and outputs acknowledged by Kafka: streams/outbox.py) are the records acknowledged
to faust's offset bookkeeping, which commits them. A handler that raises crashes the worker before
that (crash-only, streams/error_policy.py): the batch is redelivered.

Still faust's: the subscription and assignment (the topic stays an `app.topic` channel, so a table
co-partitioned with it is assigned with it), the fetching, the pausing of partitions during table
recovery, the commits. At a rebalance a queued batch whose consumer generation is gone is dropped, as
faust clears its stream queues; the consumer's seek to the committed offsets fetches those records
again (the same at-least-once as faust's streams; every handler's folding is idempotent).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import faust
import structlog
from faust.types import TP, Message

from streams import offset_guard

log = structlog.get_logger(__name__)

Handler = Callable[[list[faust.EventT]], Awaitable[None]]


@dataclass
class Batch:
    generation: int
    messages: list[Message]


@dataclass
class BulkFeed:
    """The records of `topics` (names), in batches of at most `batch_size`, for `handler`."""

    app: faust.App
    topics: frozenset[str]
    handler: Handler
    batch_size: int
    queue: asyncio.Queue[Batch] = field(default_factory=lambda: asyncio.Queue(maxsize=2))

    async def run(self) -> None:
        """Take batches off the queue for ever (the feed's app task)."""
        while True:
            batch = await self.queue.get()
            await self.take(batch)

    async def take(self, batch: Batch) -> None:
        app, consumer = self.app, self.app.consumer
        if batch.generation != app.consumer_generation_id:
            return  # a rebalance since the fetch: faust sought back to the committed offsets
        held = consumer.assignment()
        messages = [m for m in batch.messages if m.tp in held]
        if not messages:
            return
        events: list[faust.EventT] = [faust.Event(app, m.key, m.value, m.headers, m) for m in messages]
        await self.handler(events)
        for message in messages:
            consumer.ack(message)


def feeds_of(app: faust.types.AppT) -> dict[str, BulkFeed]:
    """The app's bulk feeds by topic name (kept on the app, so the consumer finds them)."""
    feeds: dict[str, BulkFeed] | None = getattr(app, "_fapiao_bulk_feeds", None)
    if feeds is None:
        feeds = {}
        app._fapiao_bulk_feeds = feeds  # type: ignore[attr-defined]
    return feeds


def attach(app: faust.App, source: faust.TopicT, handler: Handler, *, name: str, batch_size: int) -> BulkFeed:
    """Feed the records of `source` (an `app.topic`, raw keys and values) to `handler` in batches: the
    topic is subscribed as any agent's (`app.topics.add`), its records never reach a stream."""
    feed = BulkFeed(app, frozenset(source.topics), handler, batch_size)
    feeds = feeds_of(app)
    for topic in feed.topics:
        if topic in feeds:
            raise ValueError(f"topic {topic!r} already has a bulk feed")
        feeds[topic] = feed
    app.topics.add(source)

    async def run_feed() -> None:
        await feed.run()

    run_feed.__name__ = run_feed.__qualname__ = f"bulk_feed_{name}"
    app.task(run_feed)
    return feed


class BulkConsumer(offset_guard.GuardedConsumer):
    """The worker's consumer, with the records of bulk-fed topics diverted into batches (module doc)."""

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        feeds = feeds_of(self.app)
        if not feeds:
            async for pair in super().getmany(timeout):
                yield pair
            return
        generation = self.app.consumer_generation_id
        gathered: dict[int, tuple[BulkFeed, list[Message]]] = {}
        read_offset = self._read_offset
        async for tp, message in super().getmany(timeout):
            feed = feeds.get(tp.topic)
            if feed is None:
                yield tp, message
                continue
            read = read_offset[tp]
            if read is not None and message.offset < read:
                continue  # already handed on (faust's fetch loop drops these the same way)
            read_offset[tp] = message.offset
            _, batch = gathered.setdefault(id(feed), (feed, []))
            batch.append(message)
            if len(batch) >= feed.batch_size:
                del gathered[id(feed)]
                await self._hand_on(feed, generation, batch)
        for feed, batch in gathered.values():
            await self._hand_on(feed, generation, batch)

    async def _hand_on(self, feed: BulkFeed, generation: int, messages: list[Message]) -> None:
        """Queue a batch for its feed; waits while the feed is behind (back-pressure on the fetch), and
        gives up if the flow is suspended meanwhile (a rebalance: the records are fetched again)."""
        if generation != self.app.consumer_generation_id or not self.flow_active:
            return
        batch = Batch(generation, messages)
        if not feed.queue.full():
            feed.queue.put_nowait(batch)
            return
        await self.wait_first(feed.queue.put(batch), self.suspend_flow.wait())


class Transport(offset_guard.Transport):
    """The worker's transport (streams/offset_guard.py's) with the bulk-feeding consumer."""

    Consumer = BulkConsumer
