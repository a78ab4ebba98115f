"""A batch's records leave together and are acknowledged before the batch (`streams.outbox.Outbox`): a
record Kafka did not take raises, and the work queued for after the acknowledgement (a table's persisted
changelog offset) runs only once every record is acknowledged."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

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
