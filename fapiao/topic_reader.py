"""Reading a whole topic once, from its start to the end it had when the read began (operators' tools:
dead letters, the rules history). Not for the hot path: it holds what it read in memory."""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka import AIOKafkaConsumer, TopicPartition

from fapiao.bus import partitions_of
from fapiao.kafka_auth import client_kwargs
from fapiao.settings import Settings

Record = tuple[int, int, bytes | None, bytes | None]  # partition, offset, key, value


async def read_whole(settings: Settings, topic: str, idle_seconds: float = 10.0) -> list[Record]:
    """Every record of `topic` up to its end offsets at the start, ordered by (partition, offset).
    Raises TimeoutError when nothing arrives for `idle_seconds` before the end is reached."""
    partitions = await partitions_of(settings, topic)
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(**client_kwargs(settings), enable_auto_commit=False, group_id=None)
    await consumer.start()
    out: list[Record] = []
    try:
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        left = {tp for tp in assigned if ends[tp] > 0}
        while left:
            batches = await consumer.getmany(*left, timeout_ms=int(idle_seconds * 1000))
            if not batches:
                raise TimeoutError(f"{topic}: nothing read for {idle_seconds} s before its end")
            for tp, records in batches.items():
                out += [(tp.partition, r.offset, r.key, r.value) for r in records if r.offset < ends[tp]]
                if await consumer.position(tp) >= ends[tp]:
                    left.discard(tp)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(consumer.stop())
    return sorted(out, key=lambda r: (r[0], r[1]))
