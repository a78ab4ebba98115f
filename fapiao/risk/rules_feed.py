"""Keeps the risk rules current in a process (the worker, the API): reads the compacted `risk.rules`
topic from the start (every process reads all of it, no consumer group) into a `RulesBook`, which
keeps each organisation's newest version in force (`fapiao.risk.rules_book`)."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from fapiao import topics
from fapiao.bus import partitions_of
from fapiao.kafka_auth import client_kwargs
from fapiao.risk.rules_book import RulesBook
from fapiao.settings import Settings
from schemas.events import RiskRules

log = structlog.get_logger(__name__)


async def follow_rules(settings: Settings, book: RulesBook, caught_up: asyncio.Event | None = None) -> None:
    """Run forever, applying each newer `RiskRules` published to `risk.rules`; sets `caught_up` once
    everything published before the start has been read (a publisher assigns versions only then)."""
    topic = settings.topic(topics.RISK_RULES.name)
    partitions = await partitions_of(settings, topic)
    if not partitions:
        log.warning("risk_rules_topic_missing", topic=topic)
        if caught_up is not None:
            caught_up.set()
        return
    consumer = AIOKafkaConsumer(**client_kwargs(settings), enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        while True:
            if caught_up is not None and not caught_up.is_set():
                positions = {tp: await consumer.position(tp) for tp in assigned}
                if all(positions[tp] >= ends[tp] for tp in assigned):
                    caught_up.set()
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    try:
                        rules = RiskRules.model_validate_json(record.value)
                    except ValueError as exc:
                        log.warning("risk_rules_unreadable", offset=record.offset, error=str(exc)[:300])
                        continue
                    if book.offer(rules):
                        log.info(
                            "risk_rules_applied",
                            org_id=rules.org_id or "(platform)",
                            version=rules.version,
                            threshold=rules.alert_threshold,
                        )
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(consumer.stop())
