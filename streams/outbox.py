"""A batch's records (its tables' changelog records and its output events), produced back to back and
acknowledged together before the batch is.

faust sends a table write's changelog record through its producer buffer one message at a time, and an
agent's `topic.send` returns before the broker has the record: a failed send was only logged, and the
source offset could be committed past it. An agent's batch here hands every record to the producer in
one go (they share a few large produce requests, `producer_max_batch_bytes`), then waits for all of them:
a record the broker did not take raises in the agent, which exits before it acknowledges the batch
(streams/error_policy.py), so nothing is committed that Kafka does not hold. Work to do once the records
are acknowledged (a table's persisted changelog offset: streams/table_batch.py) is queued with `after`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import faust
from aiokafka.structs import RecordMetadata


class Outbox:
    def __init__(self, app: faust.App) -> None:
        self.producer = app.producer
        self._pending: list[Awaitable[RecordMetadata]] = []
        self._after: list[Callable[[list[RecordMetadata]], None]] = []

    def __len__(self) -> int:
        return len(self._pending)

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> int:
        """Hand one record to the producer (partition None: the producer's key partitioner, as
        `faust.Topic.send`); returns its index in the acknowledgements `flush` returns."""
        self._pending.append(await self.producer.send(topic, key, value, partition, None, None))
        return len(self._pending) - 1

    def after(self, callback: Callable[[list[RecordMetadata]], None]) -> None:
        """Call `callback(acknowledgements)` once every record so far is acknowledged."""
        self._after.append(callback)

    async def flush(self) -> list[RecordMetadata]:
        """Wait until the broker has every record handed over (raises the first send error), then run
        the `after` callbacks. The outbox is empty again afterwards."""
        pending, after = self._pending, self._after
        self._pending, self._after = [], []
        acks = list(await asyncio.gather(*pending))
        for callback in after:
            callback(acks)
        return acks
