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

A handler may leave the wait for Kafka's acknowledgements of its outputs to a `Finish` it returns: the
feed then takes the next queued batch before it awaits that finish, so the next batch's parsing, table
reads, fold and writes run while the previous batch's records are on their way (at the register's bulk
feed the worker sat idle for most of each produce round trip: docs/benchmarks.md, "register fold,
overlapped"). At most one batch is unfinished; it is finished, then acknowledged, before the next one's
records are acknowledged (so acknowledgements stay in fetch order), and at once when no batch is queued.

Still faust's: the subscription and assignment (the topic stays an `app.topic` channel, so a table
co-partitioned with it is assigned with it), the fetching, the pausing of partitions during table
recovery, the commits. At a revoke the batch in the handler's hands is finished and acknowledged
(bounded: `BulkConsumer.commit_before_handover`, then committed), the queued ones are dropped, as faust
clears its stream queues, and no new one starts while the flow is stopped; the consumer's seek to the
committed offsets at the end of the rebalance fetches the dropped records again (for a partition never
committed, the seek to its earliest offset: streams/offset_guard.py rule 3). A batch is tagged with the
consumer generation its fetch returned in (read once the fetch returned: one read before could be a
whole rebalance old), and a batch not queued for its feed is sought back to its first records, so no
record read from Kafka is left behind unprocessed (at-least-once; every handler's folding is idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import cast

import faust
import structlog
from aiokafka.errors import IllegalStateError
from faust.transport.consumer import RecordMap
from faust.types import TP, Message
from faust.types.tuples import ack_lock
from mode.utils.futures import notify

from streams import catch_up, offset_guard

log = structlog.get_logger(__name__)

# How long one fetch waits for records while a feed holds batches (its partitions left out of the fetch,
# `BulkFeed.hold`). faust's fetch loop asks with a 1 s timeout, and the set of partitions a fetch takes
# is looked at again only when records come or the timeout ends: a feed whose partitions were put back
# (`BulkFeed.refill`) while a fetch was waiting on the other, idle topics got nothing for up to 1 s,
# its records already fetched ahead by aiokafka (the register's fold waited ~40 % of the time on the
# next batch: docs/benchmarks.md, "The register fold, session 6"). A fetch after 50 ms costs one
# hand-off to the consumer thread.
HELD_FETCH_SECONDS = 0.05

Finish = Callable[[], Awaitable[None]]  # the rest of a batch's work: waiting for its outputs' acks
Handler = Callable[[list[faust.EventT]], Awaitable[Finish | None]]


class Polled(enum.Enum):
    """How a `BulkConsumer._poll_until` ended."""

    MET = "met"
    TIMED_OUT = "timed_out"
    ABANDONED = "abandoned"


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
    idle: asyncio.Event = field(default_factory=asyncio.Event)  # no batch in hand, none unfinished
    # a batch handled but not finished: its finish and its messages (acknowledged once it finished)
    unfinished: tuple[Finish, list[Message]] | None = None
    # topics of the feeds this one waits for at each assignment (bounded: streams/catch_up.py)
    follows: frozenset[str] = frozenset()
    done: dict[TP, int] = field(default_factory=dict)  # per partition: the offset after the last one done
    # batches fetched while the queue was full (each at most `batch_size`), queued as soon as there is
    # room; meanwhile the feed's partitions are left out of the fetch (faust's `on_buffer_full`)
    waiting: list[Batch] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.idle.set()

    async def run(self) -> None:
        """Take batches off the queue for ever (the feed's app task); a batch left unfinished is
        finished at once when no other batch is queued to overlap with it."""
        while True:
            if self.unfinished is not None and self.queue.empty():
                try:
                    await self.finish()
                finally:
                    self.idle.set()
            batch = await self.queue.get()
            self.refill()
            await self.take(batch)

    def hold(self, batch: Batch) -> None:
        """Keep `batch` (fetched while the queue was full) to queue it when there is room, after the
        batches already waiting (fetch order kept; its records fill up the last one to `batch_size`);
        until then the fetch leaves out this feed's partitions, so the other topics' records still
        flow. Batches waiting from an earlier consumer generation are dropped (take() would drop them:
        faust's seek at the end of the rebalance fetched their records again)."""
        waiting = self.waiting
        if waiting and waiting[-1].generation != batch.generation:
            waiting.clear()
        for message in batch.messages:
            if not waiting or len(waiting[-1].messages) >= self.batch_size:
                waiting.append(Batch(batch.generation, []))
            waiting[-1].messages.append(message)
        consumer = self.app.consumer
        for tp in consumer.assignment():
            if tp.topic in self.topics:
                consumer.on_buffer_full(tp)

    def refill(self) -> None:
        """Queue waiting batches while there is room (a batch was just taken); once none waits, fetch
        the feed's partitions again."""
        if not self.waiting:
            return
        while self.waiting and not self.queue.full():
            self.queue.put_nowait(self.waiting.pop(0))
        if not self.waiting:
            self._fetch_resumed()

    def _fetch_resumed(self) -> None:
        """The feed's partitions back in the fetch, except those paused meanwhile (faust's recovery, the
        catch-up gate: streams/catch_up.py), which only leave the buffered set: whoever paused them
        resumes them."""
        consumer = cast("BulkConsumer", self.app.consumer)
        for tp in list(consumer._buffered_partitions):
            if tp.topic in self.topics:
                if tp in consumer._paused_partitions:
                    consumer._buffered_partitions.discard(tp)
                else:
                    consumer.on_buffer_drop(tp)

    async def finish(self) -> None:
        """Finish the unfinished batch, if any, and acknowledge its records."""
        if self.unfinished is None:
            return
        done, messages = self.unfinished
        self.unfinished = None
        await done()
        self.acknowledge(messages)

    def acknowledge(self, messages: list[Message]) -> None:
        """The records of a batch finished: acknowledged to faust's offset bookkeeping (which commits
        them), and how far each partition is done (streams/catch_up.py)."""
        consumer = cast("BulkConsumer", self.app.consumer)
        for tp, last in consumer.ack_many(messages).items():
            self.done[tp] = max(self.done.get(tp, 0), last + 1)

    async def take(self, batch: Batch) -> None:
        app, consumer = self.app, cast("BulkConsumer", self.app.consumer)
        if batch.generation != app.consumer_generation_id or not consumer.flow_active:
            # a rebalance since the fetch, or one under way (the flow is stopped at a revoke): its
            # records are fetched again after faust's seek to the committed offsets
            return
        held = consumer.assignment()
        messages = [m for m in batch.messages if m.tp in held]
        if not messages:
            return
        events: list[faust.EventT] = [faust.Event(app, m.key, m.value, m.headers, m) for m in messages]
        self.idle.clear()
        try:
            done = await self.handler(events)
            await self.finish()  # the previous batch first: acknowledgements in fetch order
            if done is None:
                self.acknowledge(messages)
            else:
                self.unfinished = (done, messages)
        except BaseException:
            self.unfinished = None  # never acknowledged: fetched again after the crash
            raise
        finally:
            if self.unfinished is None:
                self.idle.set()

    async def settle(self, timeout: float) -> bool:
        """At a revoke: drop the queued and waiting batches (fetched again after the rebalance) and wait,
        at most `timeout` seconds, for the one in the handler's hands (and an unfinished one) to be done
        and acknowledged. True if it was done in time."""
        while not self.queue.empty():
            self.queue.get_nowait()
        if self.waiting:
            self.waiting.clear()
            self._fetch_resumed()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), timeout)
        return self.idle.is_set()


def feeds_of(app: faust.types.AppT) -> dict[str, BulkFeed]:
    """The app's bulk feeds by topic name (kept on the app, so the consumer finds them)."""
    feeds: dict[str, BulkFeed] | None = getattr(app, "_fapiao_bulk_feeds", None)
    if feeds is None:
        feeds = {}
        app._fapiao_bulk_feeds = feeds  # type: ignore[attr-defined]
    return feeds


def attach(
    app: faust.App,
    source: faust.TopicT,
    handler: Handler,
    *,
    name: str,
    batch_size: int,
    follows: frozenset[str] = frozenset(),
) -> BulkFeed:
    """Feed the records of `source` (an `app.topic`, raw keys and values) to `handler` in batches: the
    topic is subscribed as any agent's (`app.topics.add`), its records never reach a stream. With
    `follows` (the topics of other feeds), at each assignment this feed waits until those feeds have
    processed what was already on their partitions (bounded: streams/catch_up.py)."""
    feed = BulkFeed(app, frozenset(source.topics), handler, batch_size, follows=follows)
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


def following(feeds: dict[str, BulkFeed]) -> tuple[set[str], set[str]]:
    """(the topics of feeds that follow others, the fed topics they follow)."""
    followers = {t for f in feeds.values() if f.follows for t in f.topics}
    leaders = {t for f in feeds.values() for t in f.follows if t in feeds}
    return followers, leaders


class BulkConsumer(offset_guard.GuardedConsumer):
    """The worker's consumer, with the records of bulk-fed topics diverted into batches (module doc),
    and the partitions of a feed that follows others held back at each assignment until those caught up
    (streams/catch_up.py)."""

    _catch_up: catch_up.Gate | None = None

    @property
    def gate(self) -> catch_up.Gate:
        if self._catch_up is None:
            self._catch_up = catch_up.Gate()
        return self._catch_up

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        followers, leaders = following(feeds_of(self.app))
        gate = self.gate
        gate.close(generation_id, assigned, followers, leaders)
        await super().on_partitions_assigned(assigned, generation_id)
        if gate.closed and gate.generation == generation_id and not self.app.should_stop:
            gate.task = asyncio.ensure_future(self._catch_up_then_open(gate, generation_id))

    def resume_partitions(self, tps: Iterable[TP]) -> None:
        super().resume_partitions(self.gate.split_resume(tps))

    def pause_partitions(self, tps: Iterable[TP]) -> None:
        tps = set(tps)
        self.gate.paused(tps)
        super().pause_partitions(tps)

    def ack_many(self, messages: Iterable[Message]) -> dict[TP, int]:
        """Acknowledge `messages` as faust's `Consumer.ack` does each (the same `_acked`, `_acked_index`
        and `_n_acked` bookkeeping, under the same lock: an offset below the committed one or already
        acknowledged is left out), a partition's offsets in one go instead of a call, a lock and a waiter
        notification per record. Returns the highest offset of each partition's messages."""
        by_tp: dict[TP, list[int]] = {}
        for message in messages:
            message.acked = True
            offsets = by_tp.get(message.tp)
            if offsets is None:
                offsets = by_tp[message.tp] = []
            offsets.append(message.offset)
        acks_enabled_for = self.app.topics.acks_enabled_for
        with ack_lock:
            for tp, offsets in by_tp.items():
                if not acks_enabled_for(tp.topic):
                    continue
                committed = self._committed_offset[tp]
                index = self._acked_index[tp]
                new = [o for o in dict.fromkeys(offsets) if o not in index]  # (in order, each once)
                if committed is not None:
                    new = [o for o in new if o >= committed]
                if new:
                    index.update(new)
                    self._acked[tp].extend(new)
                    self._n_acked += len(new)
            notify(self._waiting_for_ack)
        return {tp: max(offsets) for tp, offsets in by_tp.items()}

    def processed(self, tps: Iterable[TP]) -> dict[TP, int]:
        """Per partition: the offset of the next record to process (committed, or done by its feed)."""
        feeds = feeds_of(self.app)
        out = {}
        for tp in tps:
            feed = feeds.get(tp.topic)
            out[tp] = max(self._committed_offset.get(tp) or 0, feed.done.get(tp, 0) if feed else 0)
        return out

    async def _poll_until(self, condition: Callable[[], bool], generation: int, deadline: float) -> Polled:
        """Poll `condition` every `catch_up.POLL_SECONDS` until it holds (MET), the monotonic `deadline`
        passed first (TIMED_OUT), or the consumer generation is no longer `generation` (ABANDONED: a
        rebalance; the next assignment's gate decides)."""
        while True:
            if self.app.consumer_generation_id != generation:
                return Polled.ABANDONED
            if condition():
                return Polled.MET
            if time.monotonic() >= deadline:
                return Polled.TIMED_OUT
            await asyncio.sleep(catch_up.POLL_SECONDS)

    async def _catch_up_then_open(self, gate: catch_up.Gate, generation: int) -> None:
        """Once faust resumes the streams (the tables recovered), wait until the leaders' partitions are
        processed up to their end offsets of that moment, at most `CATCH_UP_SECONDS`; then open."""
        try:
            # faust resumes the streams once the tables recovered (unbounded here: a recovery takes as
            # long as it takes, and the followers stay paused meanwhile anyway)
            if await self._poll_until(lambda: bool(gate.withheld), generation, math.inf) is Polled.ABANDONED:
                return
            started = time.monotonic()
            deadline = started + catch_up.CATCH_UP_SECONDS
            # its seek to the committed offsets comes next: how far the leaders got is known only then
            known = partial(self._committed_known, gate.leaders)
            if await self._poll_until(known, generation, deadline) is Polled.ABANDONED:
                return
            ends = await asyncio.wait_for(self.highwaters(*gate.leaders), catch_up.CATCH_UP_SECONDS)
            backlog = catch_up.remaining(ends, self.processed(ends))
            caught_up = partial(self._caught_up, ends)
            if await self._poll_until(caught_up, generation, deadline) is Polled.ABANDONED:
                return
            log.info(
                "caught_up_before_checks",
                seconds=round(time.monotonic() - started, 3),
                backlog=backlog,
                left=catch_up.remaining(ends, self.processed(ends)),
                partitions_behind=len(catch_up.behind(ends, self.processed(ends))),
            )
        except Exception as exc:  # never leave the followers paused for want of an offset
            log.warning("catch_up_skipped", error=repr(exc))
        if self.app.consumer_generation_id == generation and gate.generation == generation:
            super().resume_partitions(gate.open() & self.assignment())

    def _committed_known(self, tps: Iterable[TP]) -> bool:
        return all(self._committed_offset.get(tp) is not None for tp in tps)

    def _caught_up(self, ends: Mapping[TP, int]) -> bool:
        return not catch_up.behind(ends, self.processed(ends))

    async def _wait_next_records(self, timeout: float) -> tuple[RecordMap | None, set[TP] | None]:
        """faust's, except that with no partition left to fetch while a feed holds batches (every other
        one paused, e.g. by the catch-up gate) it looks again after `HELD_FETCH_SECONDS`, not 1 s, so
        the partitions `BulkFeed.refill` puts back are fetched at once."""
        if (
            self.flow_active
            and not self.app.client_only
            and not self._get_active_partitions()
            and any(feed.waiting for feed in feeds_of(self.app).values())
        ):
            await asyncio.sleep(HELD_FETCH_SECONDS)
            return {}, self._get_active_partitions()
        records: tuple[RecordMap | None, set[TP] | None] = await super()._wait_next_records(timeout)
        return records

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        feeds = feeds_of(self.app)
        if not feeds:
            async for pair in super().getmany(timeout):
                yield pair
            return
        # The generation of the fetch is the one faust's getmany checks its records against, read once
        # the fetch returned (it may have waited through a whole rebalance): a generation read before
        # the fetch tagged the first records of the next generation as stale, and they were dropped.
        if any(feed.waiting for feed in feeds.values()):
            timeout = min(timeout, HELD_FETCH_SECONDS)
        generation: int | None = None
        gathered: dict[int, tuple[BulkFeed, list[Message]]] = {}
        read_offset = self._read_offset
        async for tp, message in super().getmany(timeout):
            if generation is None:
                generation = self.app.consumer_generation_id
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
                assert generation is not None
                await self._hand_on(feed, generation, batch)
                # a fetch of many partitions is turned into messages in one block otherwise (faust's
                # loop yields to the event loop only between the records it is handed, not these)
                await asyncio.sleep(0)
        for feed, batch in gathered.values():
            assert generation is not None
            await self._hand_on(feed, generation, batch)

    async def commit_before_handover(self, timeout: float) -> None:
        """At a revoke: the feeds' batches in hand are finished and acknowledged first (within the same
        bound), so the commit that follows hands over what they did (streams/offset_guard.py)."""
        deadline = time.monotonic() + timeout
        unsettled = []
        for feed in {id(f): f for f in feeds_of(self.app).values()}.values():
            if not await feed.settle(max(0.0, deadline - time.monotonic())):
                unsettled.append(sorted(feed.topics))
        if unsettled:
            log.warning("bulk_feed_unsettled_at_revoke", topics=unsettled, seconds=timeout)
        await super().commit_before_handover(max(0.0, deadline - time.monotonic()))

    async def _hand_on(self, feed: BulkFeed, generation: int, messages: list[Message]) -> None:
        """Queue a batch for its feed. While the feed is behind (its queue full) the batch waits on the
        feed and the fetch goes on without the feed's partitions (`BulkFeed.hold`), so a slow stage
        holds back only its own topics (before, the whole fetch waited: the register folded at the
        risk stage's pace). During a table recovery faust does not leave partitions out of the fetch:
        then the fetch waits for room as before, and gives up if the flow is suspended meanwhile (a
        rebalance). A batch not queued is fetched again: its partitions are sought back to its first
        records (the rebalance's seek to the committed offsets, if it comes later, moves them again)."""
        if generation == self.app.consumer_generation_id and self.flow_active:
            batch = Batch(generation, messages)
            if not feed.queue.full() and not feed.waiting:
                feed.queue.put_nowait(batch)
                return
            if not self.app.in_recovery or feed.waiting:  # (some waiting: after them)
                feed.hold(batch)
                return
            put = feed.queue.put(batch)
            if put in (await self.wait_first(put, self.suspend_flow.wait())).done:
                return  # queued (take() drops it should a rebalance come first: faust seeks back then)
        await self._fetch_again(messages)

    async def _fetch_again(self, messages: list[Message]) -> None:
        """Seek each partition of `messages` (records read but not handed on) back to its first one."""
        first: dict[TP, int] = {}
        for message in messages:
            first[message.tp] = min(first.get(message.tp, message.offset), message.offset)
        held = self.assignment()
        for tp, offset in first.items():
            if tp in held:
                with contextlib.suppress(IllegalStateError):  # revoked meanwhile: its next owner reads it
                    await self.seek(tp, offset)


class Transport(offset_guard.Transport):
    """The worker's transport (streams/offset_guard.py's) with the bulk-feeding consumer."""

    Consumer = BulkConsumer
