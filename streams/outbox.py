"""A batch's records (its tables' changelog records and its output events), produced back to back and
acknowledged together before the batch is.

faust sends a table write's changelog record through its producer buffer one message at a time, and an
agent's `topic.send` returns before the broker has the record: a failed send was only logged, and the
source offset could be committed past it. An agent's batch here hands every record to the producer in
one go (they share a few large produce requests, `producer_max_batch_bytes`), then waits for all of them:
a record the broker did not take raises in the agent, which exits before it acknowledges the batch
(streams/error_policy.py), so nothing is committed that Kafka does not hold. Work to do once the records
are acknowledged (a table's persisted changelog offset: streams/table_batch.py) is queued with `after`.

Many records of one partition (a batch's changelog records, its seller activity) go with `send_many`:
written straight into aiokafka record batches (`create_batch` / `send_batch`), one future per batch
instead of faust's and aiokafka's per-record path (partitioner, accumulator, a future each), which was
most of the register's produce cost at a bulk feed (docs/benchmarks.md). The same records, in the same
order, under the same idempotent producer (sequence numbers are given when a batch is drained).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust
from aiokafka.structs import RecordMetadata


class Outbox:
    def __init__(self, app: faust.App) -> None:
        self.producer = app.producer
        self._pending: list[Awaitable[RecordMetadata]] = []
        self._after: list[Callable[[list[RecordMetadata]], None]] = []
        self._batch_sizes: dict[int, int] = {}  # index in _pending of a record batch -> its records

    def __len__(self) -> int:
        return len(self._pending)

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> int:
        """Hand one record to the producer (partition None: the producer's key partitioner, as
        `faust.Topic.send`); returns its index in the acknowledgements `flush` returns."""
        self._pending.append(await self.producer.send(topic, key, value, partition, None, None))
        return len(self._pending) - 1

    async def send_many(
        self, topic: str, partition: int, records: Sequence[tuple[bytes | None, bytes | None]]
    ) -> int:
        """Hand `records` (key, value) of one partition to the producer in as few record batches as the
        producer's batch size allows; returns the index in `flush`'s acknowledgements of the LAST
        record's (its offset; -1 when there are no records)."""
        if not records:
            return -1
        producer = self.producer._ensure_producer()  # type: ignore[attr-defined]  # faust wraps aiokafka
        builder, count = producer.create_batch(), 0
        for key, value in records:
            if builder.append(key=key, value=value, timestamp=None) is None:
                if count == 0:
                    raise ValueError(f"a record of {topic}[{partition}] is larger than a producer batch")
                await self._submit(producer, builder, topic, partition, count)
                builder, count = producer.create_batch(), 0
                if builder.append(key=key, value=value, timestamp=None) is None:
                    raise ValueError(f"a record of {topic}[{partition}] is larger than a producer batch")
            count += 1
        await self._submit(producer, builder, topic, partition, count)
        return len(self._pending) - 1

    async def send_keyed(self, topic: str, records: Sequence[tuple[bytes, bytes | None]]) -> None:
        """Hand keyed `records` to the producer, each on the partition the producer's own partitioner
        gives its key (as `send` with partition None), every partition's with `send_many` (in order)."""
        if not records:
            return
        producer = self.producer._ensure_producer()  # type: ignore[attr-defined]
        await producer.client._wait_on_metadata(topic)
        partitions = list(producer._metadata.partitions_for_topic(topic))
        available = list(producer._metadata.available_partitions_for_topic(topic))
        where: dict[bytes, int] = {}
        by_partition: dict[int, list[tuple[bytes | None, bytes | None]]] = {}
        for key, value in records:
            partition = where.get(key)
            if partition is None:
                partition = where[key] = producer._partitioner(key, partitions, available)
            by_partition.setdefault(partition, []).append((key, value))
        for partition, pairs in by_partition.items():
            await self.send_many(topic, partition, pairs)

    async def _submit(self, producer: Any, builder: Any, topic: str, partition: int, count: int) -> None:
        builder.close()  # nothing else joins it: its records are ours, `count` of them from its base offset
        self._pending.append(await producer.send_batch(builder, topic, partition=partition))
        self._batch_sizes[len(self._pending) - 1] = count

    def after(self, callback: Callable[[list[RecordMetadata]], None]) -> None:
        """Call `callback(acknowledgements)` once every record so far is acknowledged."""
        self._after.append(callback)

    async def flush(self) -> list[RecordMetadata]:
        """Wait until the broker has every record handed over (raises the first send error), then run
        the `after` callbacks. The outbox is empty again afterwards."""
        pending, after, sizes = self._pending, self._after, self._batch_sizes
        self._pending, self._after, self._batch_sizes = [], [], {}
        acks = list(await asyncio.gather(*pending))
        for index, count in sizes.items():  # a record batch's acknowledgement: its base offset
            acks[index] = acks[index]._replace(offset=acks[index].offset + count - 1)  # its last record's
        for callback in after:
            callback(acks)
        return acks
