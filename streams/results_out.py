"""Publishing results (first answers and follow-ups) from any agent, keyed by invoice key."""

from __future__ import annotations

from datetime import UTC, datetime

from fapiao import topics
from fapiao.domain.rechecks import FollowUp
from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision
from schemas.events import CheckRequested
from streams import metrics
from streams.app import Pipeline


async def publish_result(
    pipeline: Pipeline,
    key: str,
    request: CheckRequested,
    decision: Decision,
    *,
    number: int,
    version: int = 1,
    follow_up: bool = False,
) -> None:
    result = build_result(
        request,
        decision,
        decided_at=datetime.now(UTC),
        check_count=number,
        version=version,
        follow_up=follow_up,
    )
    metrics.VERDICTS.labels(verdict=result.verdict.value).inc()
    await pipeline.topics[topics.CHECKS_RESULTS.name].send(
        key=key.encode(), value=result.model_dump_json().encode()
    )


async def publish_follow_ups(pipeline: Pipeline, key: str, updates: list[FollowUp]) -> None:
    for update in updates:
        await publish_result(
            pipeline,
            key,
            update.request,
            update.decision,
            number=int(update.record["number"]),
            version=int(update.record["version"]),
            follow_up=True,
        )
