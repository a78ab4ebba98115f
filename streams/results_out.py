"""Publishing verdicts (first answers and follow-ups) from the register and verify agents.

A verdict goes to `checks.verified` with the invoice's check context, keyed by seller, where the
risk agent scores it and publishes the final `checks.results` event.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from datetime import UTC, datetime

import faust

from fapiao import topics
from fapiao.crypto.keys import CryptoKeys
from fapiao.crypto.protect import ResultFinisher
from fapiao.domain import register, steps
from fapiao.domain.check_context import check_context
from fapiao.domain.rechecks import FollowUp
from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision
from schemas.events import CheckRequested, CheckVerified
from streams.app import Pipeline

_FINISHERS: weakref.WeakKeyDictionary[faust.App, ResultFinisher] = weakref.WeakKeyDictionary()


def finisher_of(pipeline: Pipeline) -> ResultFinisher:
    """The pipeline's sealing and tagging of what leaves the worker (keys derived once per app)."""
    finisher = _FINISHERS.get(pipeline.app)
    if finisher is None:
        settings = pipeline.settings
        finisher = ResultFinisher.from_keys(
            CryptoKeys.from_settings(settings), encrypt=settings.field_encryption
        )
        _FINISHERS[pipeline.app] = finisher
    return finisher


async def publish_verdict(
    pipeline: Pipeline,
    entry: register.Entry | None,
    request: CheckRequested,
    decision: Decision,
    *,
    number: int,
    version: int = 1,
    follow_up: bool = False,
) -> None:
    """`entry` is the invoice's register entry before this check was remembered."""
    result = build_result(
        request,
        decision,
        decided_at=datetime.now(UTC),
        check_count=number,
        version=version,
        follow_up=follow_up,
    )
    if not pipeline.settings.risk_enabled:  # the final result: sealed and tagged here
        result = finisher_of(pipeline).result(result)
        await pipeline.topics[topics.CHECKS_RESULTS.name].send(
            key=result.invoice_key.encode(), value=result.model_dump_json().encode()
        )
        return
    context = check_context(entry, request, decision.verdict)
    verified = CheckVerified(result=result, context=context)
    key = context.seller_tax_id or result.invoice_key
    await pipeline.topics[topics.CHECKS_VERIFIED.name].send(
        key=key.encode(), value=verified.model_dump_json().encode()
    )


async def publish_follow_ups(
    pipeline: Pipeline, entry: register.Entry | None, updates: list[FollowUp]
) -> None:
    for update in updates:
        await publish_verdict(
            pipeline,
            entry,
            update.request,
            update.decision,
            number=int(update.record["number"]),
            version=int(update.record["version"]),
            follow_up=True,
        )


async def publish_answers(pipeline: Pipeline, answers: Iterable[steps.Answer]) -> None:
    """Publish a batch step's answers in order (sent back to back, so the producer batches them)."""
    for answer in answers:
        await publish_verdict(
            pipeline,
            answer.entry,
            answer.request,
            answer.decision,
            number=answer.number,
            version=answer.version,
            follow_up=answer.follow_up,
        )
