"""Keeps the worker's risk rules current: reads the compacted `risk.rules` topic from the start
(every worker reads all of it, no consumer group) and swaps the rules in as new versions arrive."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from fapiao import topics
from fapiao.bus import partitions_of
from fapiao.kafka_auth import client_kwargs
from fapiao.settings import Settings
from schemas.events import RiskRules

log = structlog.get_logger(__name__)


class RulesHolder:
    """The rules in force; `current` is read on every scored batch."""

    def __init__(self, default: RiskRules) -> None:
        self.current = default

    def offer(self, rules: RiskRules) -> bool:
        if rules.version <= self.current.version and self.current.version != 0:
            return False
        self.current = rules
        return True


async def follow_rules(settings: Settings, holder: RulesHolder) -> None:
    """Run forever, applying each newer `RiskRules` published to `risk.rules`."""
    topic = settings.topic(topics.RISK_RULES.name)
    partitions = await partitions_of(settings, topic)
    if not partitions:
        log.warning("risk_rules_topic_missing", topic=topic)
        return
    consumer = AIOKafkaConsumer(**client_kwargs(settings), enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    try:
                        rules = RiskRules.model_validate_json(record.value)
                    except ValueError as exc:
                        log.warning("risk_rules_unreadable", offset=record.offset, error=str(exc)[:300])
                        continue
                    if holder.offer(rules):
                        log.info("risk_rules_applied", version=rules.version, threshold=rules.alert_threshold)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(consumer.stop())
