"""A bulk feed's batch (`streams.bulk_feed.BulkFeed.take`): its records acknowledged only after the handler
returned, never when it raised, none of a partition this worker no longer holds, and nothing of a batch
fetched before a rebalance (faust seeks back to the committed offsets and fetches them again)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.transport import consumer as faust_consumer
from faust.types import TP, Message
from hypothesis import given
from hypothesis import strategies as st

from streams.bulk_feed import Batch, BulkConsumer, BulkFeed, attach, feeds_of

HELD = TP("invoices.issued", 0)
GONE = TP("invoices.issued", 1)
OTHER = TP("checks.requested", 0)  # another topic's partition this worker holds


class FakeConsumer:
    def __init__(self) -> None:
        self.acked: list[Any] = []
        self.flow_active = True
        self._buffered_partitions: set[TP] = set()  # as faust's: left out of the fetch
        self._paused_partitions: set[TP] = set()

    def assignment(self) -> set[TP]:
        return {HELD, OTHER}

    def ack_many(self, messages: list[Any]) -> dict[TP, int]:
        self.acked.extend(messages)
        return {m.tp: max(n.offset for n in messages if n.tp == m.tp) for m in messages}

    def on_buffer_full(self, tp: TP) -> None:
        self._buffered_partitions.add(tp)

    def on_buffer_drop(self, tp: TP) -> None:
        self._buffered_partitions.discard(tp)


def _message(tp: TP, offset: int) -> Any:
    return SimpleNamespace(
        tp=tp, topic=tp.topic, partition=tp.partition, offset=offset, key=b"k", value=b"v", headers=[]
    )


def _feed(handler: Any) -> tuple[BulkFeed, FakeConsumer]:
    consumer = FakeConsumer()
    app = SimpleNamespace(consumer=consumer, consumer_generation_id=7, in_recovery=False)
    return BulkFeed(app, frozenset({HELD.topic}), handler, 100), consumer  # type: ignore[arg-type]


async def test_the_held_records_are_handed_on_as_events_and_acknowledged_after_the_handler() -> None:
    seen: list[list[faust.EventT]] = []

    async def handler(events: list[faust.EventT]) -> None:
        assert not consumer.acked  # nothing acknowledged while the batch is in hand
        seen.append(events)

    feed, consumer = _feed(handler)
    held = [_message(HELD, 0), _message(HELD, 1)]
    await feed.take(Batch(7, [held[0], _message(GONE, 5), held[1]]))
    assert [[e.message for e in batch] for batch in seen] == [held]
    assert [e.value for e in seen[0]] == [b"v", b"v"]
    assert consumer.acked == held


async def test_a_failing_handler_acknowledges_nothing() -> None:
    async def handler(events: list[faust.EventT]) -> None:
        raise RuntimeError("the table store failed")

    feed, consumer = _feed(handler)
    with pytest.raises(RuntimeError):
        await feed.take(Batch(7, [_message(HELD, 0)]))
    assert consumer.acked == []


async def test_a_batch_fetched_before_a_rebalance_is_dropped_unhandled() -> None:
    calls: list[int] = []

    async def handler(events: list[faust.EventT]) -> None:
        calls.append(len(events))

    feed, consumer = _feed(handler)
    await feed.take(Batch(6, [_message(HELD, 0)]))  # generation 6: before the current one
    await feed.take(Batch(7, [_message(GONE, 0)]))  # only records of a revoked partition
    consumer.flow_active = False  # a revoke under way: faust stopped the flow
    await feed.take(Batch(7, [_message(HELD, 1)]))
    assert calls == [] and consumer.acked == []


async def test_settling_at_a_revoke_drops_the_queued_batches_and_waits_for_the_one_in_hand() -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def handler(events: list[faust.EventT]) -> None:
        started.set()
        await release.wait()

    feed, consumer = _feed(handler)
    in_hand = asyncio.ensure_future(feed.take(Batch(7, [_message(HELD, 0)])))
    await started.wait()
    feed.queue.put_nowait(Batch(7, [_message(HELD, 1)]))
    assert not await feed.settle(0.05)  # still in hand after the bound: not settled
    assert feed.queue.empty()
    asyncio.get_running_loop().call_later(0.05, release.set)
    assert await feed.settle(5)  # done and acknowledged within the bound
    await in_hand
    assert [m.offset for m in consumer.acked] == [0]


def test_a_topic_has_at_most_one_bulk_feed() -> None:
    app = faust.App("bulk-feed-unit", autodiscover=False)
    source = app.topic("invoices.issued", "invoices.status")

    async def handler(events: list[faust.EventT]) -> None:
        return None

    attach(app, source, handler, name="register", batch_size=10)
    assert set(feeds_of(app)) == {"invoices.issued", "invoices.status"}
    with pytest.raises(ValueError, match="already has a bulk feed"):
        attach(app, app.topic("invoices.status"), handler, name="other", batch_size=10)


async def test_a_batch_handler_that_fails_exits_through_the_stage_policy() -> None:
    from streams.batch_events import crash_only
    from streams.error_policy import StagePolicy

    crashed: list[tuple[str, str]] = []

    def on_crash(stage: str, exc: BaseException) -> Any:
        crashed.append((stage, str(exc)))

    async def work(events: list[faust.EventT]) -> None:
        raise OSError("disk full")

    policy = StagePolicy(SimpleNamespace(), "register", on_crash)  # type: ignore[arg-type]
    await crash_only(policy, work)([])
    assert crashed == [("register", "disk full")]


async def test_a_batch_left_unfinished_is_acknowledged_after_its_finish_before_the_next_batch() -> None:
    """A handler that returns a finish (the wait for its outputs' acknowledgements): the next batch is
    handled before that finish is awaited, and every record is acknowledged only after its own batch's
    finish, in fetch order."""
    log: list[str] = []

    def handler_for(name: str) -> Any:
        async def finish() -> None:
            log.append(f"finish {name} (acked {len(consumer.acked)})")

        return finish

    async def handler(events: list[faust.EventT]) -> Any:
        log.append(f"handle {events[0].message.offset} (acked {len(consumer.acked)})")
        return handler_for(str(events[0].message.offset))

    feed, consumer = _feed(handler)
    await feed.take(Batch(7, [_message(HELD, 0)]))
    assert consumer.acked == [] and not feed.idle.is_set()  # handled, its finish still to come
    await feed.take(Batch(7, [_message(HELD, 1)]))
    assert log == ["handle 0 (acked 0)", "handle 1 (acked 0)", "finish 0 (acked 0)"]
    assert [m.offset for m in consumer.acked] == [0] and not feed.idle.is_set()
    await feed.finish()
    assert log[-1] == "finish 1 (acked 1)"
    assert [m.offset for m in consumer.acked] == [0, 1]


async def test_the_feed_finishes_an_unfinished_batch_at_once_when_nothing_is_queued() -> None:
    finished = asyncio.Event()

    async def handler(events: list[faust.EventT]) -> Any:
        async def finish() -> None:
            finished.set()

        return finish

    feed, consumer = _feed(handler)
    feed.queue.put_nowait(Batch(7, [_message(HELD, 0)]))
    running = asyncio.ensure_future(feed.run())
    try:
        await asyncio.wait_for(finished.wait(), 5)
        await asyncio.wait_for(feed.idle.wait(), 5)
        assert [m.offset for m in consumer.acked] == [0]
    finally:
        running.cancel()


async def test_settling_at_a_revoke_waits_for_the_unfinished_batch() -> None:
    release = asyncio.Event()

    async def handler(events: list[faust.EventT]) -> Any:
        async def finish() -> None:
            await release.wait()

        return finish

    feed, consumer = _feed(handler)
    feed.queue.put_nowait(Batch(7, [_message(HELD, 0)]))
    running = asyncio.ensure_future(feed.run())
    try:
        for _ in range(100):  # the feed's task takes the batch
            if feed.unfinished is not None:
                break
            await asyncio.sleep(0.01)
        assert not await feed.settle(0.05)  # its acknowledgements not in yet: not settled
        release.set()
        assert await feed.settle(5)
        assert [m.offset for m in consumer.acked] == [0]
    finally:
        running.cancel()


async def test_a_finish_that_fails_exits_through_the_stage_policy_unacknowledged() -> None:
    from streams.batch_events import crash_only
    from streams.error_policy import StagePolicy

    crashed: list[str] = []

    def on_crash(stage: str, exc: BaseException) -> Any:
        crashed.append(str(exc))
        raise SystemExit(70)  # as the worker's crash: never returns

    async def work(events: list[faust.EventT]) -> Any:
        async def finish() -> None:
            raise OSError("broker refused the records")

        return finish

    policy = StagePolicy(SimpleNamespace(), "register", on_crash)  # type: ignore[arg-type]
    feed, consumer = _feed(crash_only(policy, work))
    await feed.take(Batch(7, [_message(HELD, 0)]))
    with pytest.raises(SystemExit):
        await feed.finish()
    assert crashed == ["broker refused the records"] and consumer.acked == []


async def test_a_batch_fetched_while_the_queue_is_full_waits_and_only_its_feeds_partitions_stop() -> None:
    """The fetch does not wait for a feed that is behind (BulkConsumer._hand_on): its batch waits on
    the feed, its partitions are left out of the fetch (the other topics' are not), later records of
    the same fetch join the waiting batch in order, and once a batch is taken the waiting one is
    queued and the partitions fetched again."""
    from streams.bulk_feed import BulkConsumer

    async def handler(events: list[faust.EventT]) -> None:
        return None

    feed, consumer = _feed(handler)
    feed.batch_size = 3
    fetching = SimpleNamespace(app=feed.app, flow_active=True)
    hand_on = BulkConsumer._hand_on
    for offset in (0, 1):  # fills the queue (2 batches)
        await hand_on(fetching, feed, 7, [_message(HELD, offset)])  # type: ignore[arg-type]
    assert feed.queue.full() and not feed.waiting and not consumer._buffered_partitions
    later = [[_message(HELD, 2)], [_message(HELD, o) for o in (3, 4, 5, 6)]]
    for messages in later:
        await asyncio.wait_for(hand_on(fetching, feed, 7, messages), 1)  # type: ignore[arg-type]
    # waiting in order, in batches of at most batch_size
    assert [[m.offset for m in b.messages] for b in feed.waiting] == [[2, 3, 4], [5, 6]]
    assert consumer._buffered_partitions == {HELD}  # not OTHER: the other topic is still fetched
    assert feed.queue.get_nowait().messages[0].offset == 0
    feed.refill()  # room for one: the other still waits, the partition still out of the fetch
    assert [[m.offset for m in b.messages] for b in feed.waiting] == [[5, 6]]
    assert consumer._buffered_partitions == {HELD}
    assert [m.offset for m in feed.queue.get_nowait().messages] == [1]
    feed.refill()
    assert not feed.waiting and not consumer._buffered_partitions
    queued = [feed.queue.get_nowait() for _ in range(2)]
    assert [[m.offset for m in b.messages] for b in queued] == [[2, 3, 4], [5, 6]]


async def test_a_waiting_batch_of_an_earlier_generation_is_replaced_and_settling_drops_it() -> None:
    async def handler(events: list[faust.EventT]) -> None:
        return None

    feed, consumer = _feed(handler)
    feed.hold(Batch(6, [_message(HELD, 0)]))
    feed.hold(Batch(7, [_message(HELD, 5)]))  # after a rebalance: faust's seek fetched 0.. again
    assert [(b.generation, [m.offset for m in b.messages]) for b in feed.waiting] == [(7, [5])]
    assert await feed.settle(1)
    assert not feed.waiting and not consumer._buffered_partitions


def _bookkeeping(committed: dict[TP, int | None]) -> SimpleNamespace:
    """The state faust's `Consumer.ack` reads and writes, with the fed topics acknowledged (subscribed)."""
    topics = SimpleNamespace(acks_enabled_for=lambda topic: topic != "no-acks")
    return SimpleNamespace(
        app=SimpleNamespace(topics=topics),
        _committed_offset=defaultdict(lambda: None, committed),
        _acked=defaultdict(list),
        _acked_index=defaultdict(set),
        _unacked_messages=set(),
        _n_acked=0,
        _waiting_for_ack=None,
    )


def _faust_messages(pairs: list[tuple[TP, int]]) -> list[Message]:
    return [Message(tp.topic, tp.partition, o, 0.0, 0, [], b"k", b"v", None, tp=tp) for tp, o in pairs]


@given(
    st.lists(st.tuples(st.sampled_from([HELD, GONE, TP("no-acks", 0)]), st.integers(0, 40)), max_size=60),
    st.sampled_from([None, 0, 7, 30]),
    st.lists(st.integers(0, 40), max_size=10),
)
def test_ack_many_keeps_the_same_bookkeeping_as_faust_acking_each_record(
    pairs: list[tuple[TP, int]], committed: int | None, acked_before: list[int]
) -> None:
    """Offsets below the committed one, already acknowledged, repeated or of a topic without acks: the
    bulk acknowledgement leaves `_acked`, `_acked_index` and `_n_acked` exactly as faust's per record."""
    one, bulk = _bookkeeping({HELD: committed}), _bookkeeping({HELD: committed})
    for state in (one, bulk):
        for offset in dict.fromkeys(acked_before):
            state._acked[HELD].append(offset)
            state._acked_index[HELD].add(offset)
    for message in _faust_messages(pairs):
        faust_consumer.Consumer.ack(one, message)  # type: ignore[arg-type]
    messages = _faust_messages(pairs)
    last = BulkConsumer.ack_many(bulk, messages)  # type: ignore[arg-type]
    assert {tp: sorted(v) for tp, v in bulk._acked.items() if v} == {
        tp: sorted(v) for tp, v in one._acked.items() if v
    }
    assert {tp: v for tp, v in bulk._acked_index.items() if v} == {
        tp: v for tp, v in one._acked_index.items() if v
    }
    assert bulk._n_acked == one._n_acked
    assert all(m.acked for m in messages)
    assert last == {tp: max(o for t, o in pairs if t == tp) for tp, _ in pairs}


def test_ack_many_keeps_each_partition_in_fetch_order() -> None:
    state = _bookkeeping({HELD: 3})
    BulkConsumer.ack_many(state, _faust_messages([(HELD, 3), (GONE, 9), (HELD, 4), (HELD, 5)]))  # type: ignore[arg-type]
    assert state._acked == {HELD: [3, 4, 5], GONE: [9]} and state._n_acked == 4


@pytest.mark.parametrize(("waiting", "expected"), [(False, 1.0), (True, 0.05)])
async def test_a_fetch_waits_briefly_while_a_feed_holds_batches(
    monkeypatch: pytest.MonkeyPatch, waiting: bool, expected: float
) -> None:
    """While a feed's partitions are left out of the fetch (batches waiting on it), a fetch waits for
    records at most `HELD_FETCH_SECONDS`, so the partitions `refill` puts back are fetched within that
    time, not after faust's 1 s timeout on the other topics' records; otherwise faust's timeout."""
    from streams import bulk_feed

    async def handler(events: list[faust.EventT]) -> None:
        return None

    timeouts: list[float] = []

    async def fetch(self: Any, timeout: float) -> Any:
        timeouts.append(timeout)
        yield OTHER, _message(OTHER, 0)

    monkeypatch.setattr(BulkConsumer.__mro__[1], "getmany", fetch)
    feed, _ = _feed(handler)
    if waiting:
        feed.waiting.append(Batch(7, [_message(HELD, 0)]))
    consumer = object.__new__(BulkConsumer)
    app = SimpleNamespace(_fapiao_bulk_feeds={HELD.topic: feed}, consumer_generation_id=7)
    consumer.__dict__.update(app=app, _read_offset=defaultdict(lambda: None))
    pairs = [pair async for pair in consumer.getmany(1.0)]
    assert [tp for tp, _ in pairs] == [OTHER]
    assert timeouts == [expected] and bulk_feed.HELD_FETCH_SECONDS == 0.05


@pytest.mark.parametrize(
    ("waiting", "active", "sleeps"), [(True, False, True), (False, False, False), (True, True, False)]
)
async def test_with_nothing_to_fetch_while_a_feed_holds_batches_the_fetch_looks_again_soon(
    monkeypatch: pytest.MonkeyPatch, waiting: bool, active: bool, sleeps: bool
) -> None:
    """faust's fetch loop sleeps 1 s when no partition is left to fetch; while a feed holds batches
    (its partitions left out, every other paused) it looks again after `HELD_FETCH_SECONDS` instead;
    otherwise faust's own wait runs."""
    from streams import bulk_feed

    async def handler(events: list[faust.EventT]) -> None:
        return None

    delegated: list[float] = []

    async def faust_wait(self: Any, timeout: float) -> Any:
        delegated.append(timeout)
        return {}, set()

    monkeypatch.setattr(BulkConsumer.__mro__[1], "_wait_next_records", faust_wait)
    feed, _ = _feed(handler)
    if waiting:
        feed.waiting.append(Batch(7, [_message(HELD, 0)]))
    consumer = object.__new__(BulkConsumer)
    app = SimpleNamespace(_fapiao_bulk_feeds={HELD.topic: feed}, client_only=False)
    consumer.__dict__.update(app=app, flow_active=True, _active_partitions={OTHER} if active else set())
    start = asyncio.get_running_loop().time()
    records, _ = await consumer._wait_next_records(1.0)
    took = asyncio.get_running_loop().time() - start
    if sleeps:
        assert records == {} and not delegated and bulk_feed.HELD_FETCH_SECONDS <= took < 0.5
    else:
        assert delegated == [1.0]
