"""Kafka from the outside of the worker: creating topics, publishing events, probing the broker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from pydantic import BaseModel

from fapiao import topics
from fapiao.kafka_acls import AclBinding
from fapiao.kafka_auth import client_kwargs
from fapiao.kafka_intake import intake_specs
from fapiao.settings import Settings

log = structlog.get_logger(__name__)


async def ensure_topics(settings: Settings) -> list[str]:
    """Create every topic of `fapiao.topics` (and the intake topics of FAPIAO_KAFKA_INTAKE) that does not
    exist yet; returns the names created."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings), request_timeout_ms=15000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = []
        for spec in (*topics.ALL, *intake_specs(settings.kafka_intake)):
            name = settings.topic(spec.name)
            if name in existing:
                continue
            config: dict[str, str] = {}
            if spec.compacted:
                config["cleanup.policy"] = "compact"
            if spec.retention_ms is not None:
                config["retention.ms"] = str(spec.retention_ms)
            if settings.topic_min_insync_replicas > 1:
                config["min.insync.replicas"] = str(settings.topic_min_insync_replicas)
            wanted.append(
                NewTopic(
                    name,
                    num_partitions=settings.topic_partitions,
                    replication_factor=settings.topic_replication,
                    topic_configs=config,
                )
            )
        if wanted:
            # another process may create them at the same moment
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
        return [t.name for t in wanted]
    finally:
        await admin.close()


async def delete_topics(settings: Settings) -> list[str]:
    """Delete every topic named with this deployment's prefix (Faust's changelogs included): how a
    test run removes what it created. A broker keeping thousands of leftover partitions spends a
    steady share of a core on them (13-17 % here with 12,700), which every later benchmark pays."""
    if not settings.topic_prefix:
        raise ValueError("refusing to delete topics without a topic prefix (that would be every topic)")
    admin = AIOKafkaAdminClient(**client_kwargs(settings), request_timeout_ms=30000)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(settings.topic_prefix)]
        if mine:
            await admin.delete_topics(mine)
        return mine
    finally:
        await admin.close()


async def broker_reachable(settings: Settings, timeout: float = 2.0) -> bool:
    admin = AIOKafkaAdminClient(**client_kwargs(settings), request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        await asyncio.wait_for(admin.list_topics(), timeout)
        return True
    except (KafkaError, TimeoutError, OSError):
        return False
    finally:
        await admin.close()


class Publisher:
    """An idempotent, batching producer of schema events, keyed as `fapiao.topics` declares."""

    def __init__(self, settings: Settings, *, linger_ms: int | None = None) -> None:
        """`linger_ms` overrides `settings.producer_linger_ms` for bulk publishers (batch feeds)."""
        self._settings = settings
        self._producer = AIOKafkaProducer(
            **client_kwargs(settings),
            acks="all",
            enable_idempotence=True,
            linger_ms=settings.producer_linger_ms if linger_ms is None else linger_ms,
            compression_type=None,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, spec: topics.TopicSpec, key: str, event: BaseModel) -> None:
        """Publish one event and wait until the broker has it."""
        await self._producer.send_and_wait(
            self._settings.topic(spec.name), key=key.encode(), value=event.model_dump_json().encode()
        )

    async def publish_many(self, items: Iterable[tuple[topics.TopicSpec, str, BaseModel]]) -> int:
        """Publish a batch without a round trip per event; returns how many the broker acknowledged."""
        futures = [
            await self._producer.send(
                self._settings.topic(spec.name), key=key.encode(), value=event.model_dump_json().encode()
            )
            for spec, key, event in items
        ]
        await asyncio.gather(*futures)
        return len(futures)

    async def publish_raw(self, topic: str, key: bytes | None, value: bytes) -> None:
        await self._producer.send_and_wait(topic, key=key, value=value)


async def partitions_of(settings: Settings, topic: str) -> list[int]:
    """The partition ids of an existing topic (empty when it does not exist)."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings), request_timeout_ms=15000)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    for entry in described:
        if entry.get("topic") == topic and not entry.get("error_code"):
            return sorted(int(p["partition"]) for p in entry.get("partitions", ()))
    return []


async def partition_mismatches(settings: Settings) -> dict[str, int]:
    """Existing co-partitioned topics (keyed by invoice, read against the register table) whose partition
    count is not `settings.topic_partitions`, with their count. A worker started with another count would
    refuse every message as on the wrong partition for its key, so it must not start (`fapiao worker`)."""
    found = {}
    for spec in (
        topics.INVOICES_ISSUED,
        topics.INVOICES_STATUS,
        topics.CHECKS_REQUESTED,
        topics.CHECKS_RECHECKS,
    ):
        parts = await partitions_of(settings, settings.topic(spec.name))
        if parts and len(parts) != settings.topic_partitions:
            found[settings.topic(spec.name)] = len(parts)
    return found


async def consumer_lag(settings: Settings, group: str, topic_names: Iterable[str]) -> int:
    """Messages on `topic_names` not yet committed by consumer group `group`."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings), request_timeout_ms=15000)
    consumer = AIOKafkaConsumer(**client_kwargs(settings), enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        partitions = [
            TopicPartition(name, p) for name in topic_names for p in await partitions_of(settings, name)
        ]
        ends = await consumer.end_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
        return sum(
            max(0, ends[tp] - (committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0))
            for tp in partitions
        )
    finally:
        await consumer.stop()
        await admin.close()


async def commit_offsets(settings: Settings, group: str, offsets: Mapping[TopicPartition, int]) -> None:
    """Commit `offsets` for consumer group `group` from outside it (a consumer that assigns the
    partitions, commits and leaves); Kafka refuses it while the group has members."""
    consumer = AIOKafkaConsumer(**client_kwargs(settings), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit(dict(offsets))
    finally:
        await consumer.stop()


async def worker_lag(settings: Settings, specs: Iterable[topics.TopicSpec]) -> int:
    """The worker's lag on `specs`: the topics the ClickHouse sink reads are counted in its own
    group (`Settings.sink_group`), the others in the faust app's."""
    sunk = {topics.CHECKS_RESULTS.name, topics.RISK_ALERTS.name}
    wanted = list(specs)
    app = [settings.topic(s.name) for s in wanted if s.name not in sunk]
    sink = [settings.topic(s.name) for s in wanted if s.name in sunk]
    lag = await consumer_lag(settings, settings.faust_app_id, app) if app else 0
    return lag + (await consumer_lag(settings, settings.sink_group, sink) if sink else 0)


async def apply_acls(settings: Settings, acls: Iterable[AclBinding]) -> int:
    """Create each ALLOW ACL on the broker (creating an existing one is a no-op); returns how many.

    aiokafka's admin client has no ACL call, so this sends the protocol's CreateAcls request itself
    through the admin client's connection (`settings` must log in as a super user, e.g. `admin`)."""
    from aiokafka.protocol.admin import CreateAclsRequest

    from fapiao.kafka_acls import ALLOW, ANY_HOST

    admin = AIOKafkaAdminClient(**client_kwargs(settings), request_timeout_ms=15000)
    await admin.start()
    count = 0
    try:
        for acl in acls:
            request = CreateAclsRequest(
                acl.resource, acl.name, acl.pattern, acl.principal, ANY_HOST, acl.operation, ALLOW
            )
            response = await admin._send_request(request)
            for error_code, error_message in response.creation_responses:
                if error_code:
                    raise KafkaError(f"CreateAcls {acl.describe()}: error {error_code} {error_message}")
            count += 1
    finally:
        await admin.close()
    return count
