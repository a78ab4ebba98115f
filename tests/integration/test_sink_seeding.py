"""On the real broker: the sink's new consumer group starts each partition it never committed at the
faust worker group's committed offset (where the old sink agent stopped), keeps its own commits where it
has them, and reads a partition neither group committed from the start."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from fapiao import topics
from fapiao.bus import commit_offsets, delete_topics, ensure_topics
from fapiao.kafka_auth import client_kwargs
from fapiao.settings import Settings
from streams.sink import committed_offsets, seed_group, sink_consumer


async def _scenario(settings: Settings) -> None:
    results, alerts = settings.topic(topics.CHECKS_RESULTS.name), settings.topic(topics.RISK_ALERTS.name)
    r0, r1, a0, a1 = (
        TopicPartition(results, 0),
        TopicPartition(results, 1),
        TopicPartition(alerts, 0),
        TopicPartition(alerts, 1),
    )
    producer = AIOKafkaProducer(**client_kwargs(settings))
    await producer.start()
    try:
        for tp, count in ((r0, 6), (r1, 6), (a0, 3), (a1, 2)):
            for n in range(count):
                await producer.send(tp.topic, f"{tp.partition}-{n}".encode(), partition=tp.partition)
        await producer.flush()
    finally:
        await producer.stop()
    await commit_offsets(settings, settings.faust_app_id, {r0: 4, r1: 5, a0: 2})  # the old sink agent's
    await commit_offsets(settings, settings.sink_group, {r1: 3})  # the sink's own, which wins

    seeds = await seed_group(settings, [results, alerts])
    assert seeds == {r0: 4, a0: 2}
    admin = AIOKafkaAdminClient(**client_kwargs(settings))
    await admin.start()
    try:
        assert await committed_offsets(admin, settings.sink_group, [r0, r1, a0]) == {r0: 4, r1: 3, a0: 2}
    finally:
        await admin.close()
    consumer = sink_consumer(settings, [results, alerts])
    await consumer.start()
    first: dict[TopicPartition, int] = {}
    seen = 0
    try:
        deadline = time.monotonic() + 60
        while seen < (6 - 4) + (6 - 3) + (3 - 2) + 2 and time.monotonic() < deadline:
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                first.setdefault(tp, records[0].offset)
                seen += len(records)
        assert seen == 8, (seen, first)
        assert first == {r0: 4, r1: 3, a0: 2, a1: 0}
    finally:
        await consumer.stop()
    assert await seed_group(settings, [results, alerts]) == {}  # once the group has committed: nothing


def test_the_sink_group_starts_where_the_old_sink_agent_stopped() -> None:
    settings = Settings(topic_prefix=f"s{uuid.uuid4().hex[:8]}-", topic_partitions=2)
    asyncio.run(ensure_topics(settings))
    try:
        asyncio.run(asyncio.wait_for(_scenario(settings), 120))
    finally:
        asyncio.run(delete_topics(settings))
