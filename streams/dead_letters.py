"""Reading raw messages into events, and sending what cannot be read to the dead-letter topic."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

import faust
import structlog
from pydantic import BaseModel, ValidationError

from fapiao import topics
from fapiao.murmur2 import partition_of
from schemas.events import DeadLetter, DeadLetterKind
from streams import metrics
from streams.app import Pipeline

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=BaseModel)


class Unreadable(ValueError):
    """A message that is not valid JSON of the expected schema; the text says why."""


def decode(schema: type[M], payload: bytes | None) -> M:
    if payload is None:
        raise Unreadable("empty message value")
    try:
        return schema.model_validate_json(payload)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()[:10]
        )
        raise Unreadable(f"{schema.__name__} schema violation: {details}") from exc


def dead_letter(
    event: faust.EventT, error: str, stage: str, kind: DeadLetterKind = "unreadable", stack: str = ""
) -> DeadLetter:
    message = event.message
    raw = message.value if isinstance(message.value, bytes) else str(message.value).encode()
    key = message.key.decode("utf-8", "replace") if isinstance(message.key, bytes) else message.key
    return DeadLetter(
        source_topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=key,
        error=error[:2000],
        payload=raw.decode("utf-8", "replace")[:100_000],
        failed_at=datetime.now(UTC),
        stage=stage,
        kind=kind,
        stack=stack[-8000:],
    )


async def send_dead_letter(
    pipeline: Pipeline,
    event: faust.EventT,
    error: str,
    stage: str,
    kind: DeadLetterKind = "unreadable",
    stack: str = "",
) -> None:
    letter = dead_letter(event, error, stage, kind, stack)
    log.warning(
        "dead_letter",
        stage=stage,
        topic=letter.source_topic,
        partition=letter.partition,
        offset=letter.offset,
        kind=kind,
        error=letter.error,
    )
    metrics.DEAD_LETTERS.labels(stage=stage, kind=kind).inc()
    key = event.message.key if isinstance(event.message.key, bytes) else None
    await pipeline.topics[topics.CHECKS_DLQ.name].send(key=key, value=letter.model_dump_json().encode())


def key_partition(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as the Java client and aiokafka) gives `key`."""
    return partition_of(key.encode(), partitions)


def require_key(event: faust.EventT, expected: str, partitions: int) -> None:
    """Refuse a message not keyed by its invoice key, or not on that key's partition (a producer with
    another partitioner, or one that picked the partition itself): either would break co-partitioning
    with the register table (a second entry for the invoice in another changelog partition)."""
    raw = event.message.key
    got = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if got != expected:
        raise Unreadable(f"message key must be the invoice key {expected!r}, got {got!r}")
    want = key_partition(expected, partitions)
    if event.message.partition != want:
        raise Unreadable(
            f"message on partition {event.message.partition}, but key {expected!r} belongs on partition "
            f"{want} of {partitions} (Kafka's default murmur2 partitioner; see docs/events.md)"
        )
