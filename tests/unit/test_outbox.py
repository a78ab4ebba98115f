"""A batch's records leave together and are acknowledged before the batch (`streams.outbox.Outbox`): a
record Kafka did not take raises, and the work queued for after the acknowledgement (a table's persisted
changelog offset) runs only once every record is acknowledged."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch
from aiokafka.structs import RecordMetadata

from streams.outbox import Outbox


class FakeProducer:
    """Records sends; each returns a future the test resolves (or fails)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        self.futures: list[asyncio.Future[Any]] = []

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None, *_: Any
    ) -> Any:
        self.sent.append((topic, key, value, partition))
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(fut)
        return fut


def _outbox() -> tuple[Outbox, FakeProducer]:
    producer = FakeProducer()
    return Outbox(SimpleNamespace(producer=producer)), producer  # type: ignore[arg-type]


async def test_after_runs_only_once_every_record_is_acknowledged() -> None:
    outbox, producer = _outbox()
    assert await outbox.send("t", b"k1", b"v1", 3) == 0
    assert await outbox.send("t", b"k2", None, 3) == 1  # a tombstone
    seen: list[list[Any]] = []
    outbox.after(seen.append)
    flushing = asyncio.ensure_future(outbox.flush())
    producer.futures[0].set_result(SimpleNamespace(offset=10))
    await asyncio.sleep(0)
    assert seen == [] and not flushing.done()
    producer.futures[1].set_result(SimpleNamespace(offset=11))
    acks = await flushing
    assert [a.offset for a in acks] == [10, 11] and seen == [acks]
    assert producer.sent == [("t", b"k1", b"v1", 3), ("t", b"k2", None, 3)]
    assert len(outbox) == 0  # empty again


async def test_a_record_kafka_did_not_take_raises_and_nothing_runs_after() -> None:
    outbox, producer = _outbox()
    await outbox.send("t", b"k", b"v")
    seen: list[Any] = []
    outbox.after(seen.append)
    producer.futures[0].set_exception(OSError("broker gone"))
    with pytest.raises(OSError):
        await outbox.flush()
    assert seen == []


class FakeAioProducer:
    """aiokafka's producer as `send_many` uses it: real record batches (small, so they split), a future
    per submitted batch, aiokafka's own partitioner over 4 partitions."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, int, Any]] = []
        self.futures: list[asyncio.Future[Any]] = []
        self._partitioner = DefaultPartitioner()
        self._metadata = SimpleNamespace(
            partitions_for_topic=lambda topic: {0, 1, 2, 3},
            available_partitions_for_topic=lambda topic: {0, 1, 2, 3},
        )

        async def wait_on_metadata(topic: str) -> set[int]:
            return {0, 1, 2, 3}

        self.client = SimpleNamespace(_wait_on_metadata=wait_on_metadata)

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(300, 0)  # no compression

    async def send_batch(self, builder: BatchBuilder, topic: str, *, partition: int) -> Any:
        self.batches.append((topic, partition, builder))
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.futures.append(fut)
        return fut

    def records(self, index: int) -> list[tuple[bytes | None, bytes | None]]:
        batch = DefaultRecordBatch(bytearray(self.batches[index][2]._build()))
        return [(r.key, r.value) for r in batch]


def _batch_outbox() -> tuple[Outbox, FakeAioProducer]:
    aio = FakeAioProducer()
    faust_producer = SimpleNamespace(_ensure_producer=lambda: aio)
    return Outbox(SimpleNamespace(producer=faust_producer)), aio  # type: ignore[arg-type]


async def test_send_many_writes_whole_record_batches_and_acknowledges_the_last_record() -> None:
    outbox, aio = _batch_outbox()
    records = [(f"k{i}".encode(), None if i == 3 else b"v" * 40) for i in range(10)]
    last = await outbox.send_many("t", 2, records)
    assert len(aio.batches) >= 2  # 300-byte batches: split, none over the size
    assert [r for i in range(len(aio.batches)) for r in aio.records(i)] == records  # all, in order
    assert {(topic, partition) for topic, partition, _ in aio.batches} == {("t", 2)}
    seen: list[Any] = []
    outbox.after(seen.append)
    base = 100
    for i, fut in enumerate(aio.futures):
        fut.set_result(RecordMetadata("t", 2, None, base, -1, 0, None))  # type: ignore[arg-type]
        base += len(aio.records(i))
    acks = await outbox.flush()
    assert last == len(acks) - 1 and acks[last].offset == 109  # the 10th record: 100 + 9
    assert seen == [acks]
    assert await outbox.send_many("t", 2, []) == -1 and len(outbox) == 0


async def test_send_keyed_puts_each_record_where_the_producers_partitioner_would() -> None:
    outbox, aio = _batch_outbox()
    records = [(f"seller{i % 5}".encode(), f"{i}".encode()) for i in range(20)]
    await outbox.send_keyed("s", records)
    got: dict[int, list[tuple[bytes | None, bytes | None]]] = {}
    for i, (_, partition, _) in enumerate(aio.batches):
        got.setdefault(partition, []).extend(aio.records(i))
    want: dict[int, list[tuple[bytes | None, bytes | None]]] = {}
    for key, value in records:  # as AIOKafkaProducer._partition picks for send(partition=None)
        want.setdefault(DefaultPartitioner()(key, [0, 1, 2, 3], [0, 1, 2, 3]), []).append((key, value))
    assert got == want


async def test_a_batch_kafka_did_not_take_raises() -> None:
    outbox, aio = _batch_outbox()
    await outbox.send_many("t", 0, [(b"k", b"v")])
    aio.futures[0].set_exception(OSError("broker gone"))
    with pytest.raises(OSError):
        await outbox.flush()
