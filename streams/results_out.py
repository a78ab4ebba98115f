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
from fapiao.domain import steps
from fapiao.domain.check_context import check_context
from fapiao.domain.results import build_result
from schemas.events import CheckResult, CheckVerified
from streams.app import Pipeline
from streams.handoff import handoff_of
from streams.outbox import Outbox

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


def verdict_message(pipeline: Pipeline, answer: steps.Answer) -> tuple[str, bytes, bytes]:
    """(topic name in `pipeline.topics`, key, value) of one answer: the sealed final result without the
    risk stage, else the verdict with its check context for the risk agent (keyed by seller).
    `answer.entry` is the invoice's register entry before this check was remembered."""
    result = build_result(
        answer.request,
        answer.decision,
        decided_at=datetime.now(UTC),
        check_count=answer.number,
        version=answer.version,
        follow_up=answer.follow_up,
    )
    if not pipeline.settings.risk_enabled:  # the final result: sealed and tagged here
        result, value = finisher_of(pipeline).result(result)
        handoff_of(pipeline.app, CheckResult).put(value, result)  # for the sink (streams/handoff.py)
        return topics.CHECKS_RESULTS.name, result.invoice_key.encode(), value
    context = check_context(answer.entry, answer.request, answer.decision.verdict)
    verified = CheckVerified(result=result, context=context)
    key = context.seller_tax_id or result.invoice_key
    value = verified.model_dump_json().encode()
    handoff_of(pipeline.app, CheckVerified).put(value, verified)  # for the risk agent (streams/handoff.py)
    return topics.CHECKS_VERIFIED.name, key.encode(), value


async def publish_answers(pipeline: Pipeline, answers: Iterable[steps.Answer], outbox: Outbox) -> None:
    """Publish a batch step's answers in order, into the batch's outbox (the caller flushes it before it
    acknowledges the batch). Every message is encoded first, then each topic's go out with
    `Outbox.send_keyed`: in record batches per partition, each key on the partition the producer's
    partitioner gives it (as a per-record send would), in order within it. Per-record sends cost a
    partitioner call, an accumulator append and a future each; the batch's answers share a few
    partitions' record batches."""
    by_topic: dict[str, list[tuple[bytes, bytes | None]]] = {}
    for name, key, value in (verdict_message(pipeline, answer) for answer in answers):
        by_topic.setdefault(name, []).append((key, value))
    for name, records in by_topic.items():
        await outbox.send_keyed(pipeline.topics[name].get_topic_name(), records)
