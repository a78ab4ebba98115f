"""The verify agent: answers each `checks.requested` with a `checks.results` event, and re-verifies
earlier checks on `checks.rechecks` (manual refresh, sync-delay timeout).

It only moves data, a batch at a time (the records as faust's consumer fetches them, at most
`verify_batch_size`, outside faust's per-record stream: streams/bulk_feed.py): parse each message
once under the stage's error policy, read the entries
of the batch's invoices once from the (co-partitioned, local) register table, let the pure
`fapiao.domain.steps.answer_checks` decide, count and remember every check in order, write each changed
entry once, publish the answers. A redelivered request (same check_id) is re-answered with the same
result id and is not counted twice. Should the step raise for the batch, its events are answered one
at a time under the policy, so only the guilty one goes to checks.dlq. A periodic sweep asks for a
recheck of every check held for sync delay whose window has run out, so it becomes 查无此票.

A batch's answers are acknowledged by Kafka before the batch is; the next batch is answered while they
are on their way (the batch's `Finish`, streams/bulk_feed.py, as the register agent's).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from uuid import UUID
from zoneinfo import ZoneInfo

import faust
import structlog

from fapiao import topics
from fapiao.domain import register, steps
from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.rechecks import due_holds
from schemas.events import CheckRecheck, CheckRequested
from streams import bulk_feed
from streams.app import Pipeline
from streams.batch_events import Index, crash_only, step_over_batch
from streams.dead_letters import decode, require_key
from streams.error_policy import StagePolicy
from streams.outbox import Outbox
from streams.results_out import publish_answers

log = structlog.get_logger(__name__)
STAGE = "verify"

Ask = CheckRequested | CheckRecheck


def holds_index(pipeline: Pipeline) -> Index:
    """The sync_holds table, kept from the register's entries in the batches that write them."""
    return Index(pipeline.sync_holds, register.hold_changes)


async def ask_recheck(pipeline: Pipeline, key: str, check_id: str, now: datetime) -> None:
    """Ask the verify agent to re-verify a held check whose sync window has run out (→ 查无此票)."""
    ask = CheckRecheck(check_id=UUID(check_id), invoice_key=key, reason="sync_timeout", requested_at=now)
    out = pipeline.topics[topics.CHECKS_RECHECKS.name]
    await out.send(key=key.encode(), value=ask.model_dump_json().encode())


def attach(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    window = timedelta(seconds=settings.sync_window_seconds)
    rules = steps.Rules(tz=ZoneInfo(settings.timezone), sync_window=window)
    table = pipeline.register
    rechecks_topic = settings.topic(topics.CHECKS_RECHECKS.name)
    source = pipeline.app.topic(
        settings.topic(topics.CHECKS_REQUESTED.name),
        rechecks_topic,
        partitions=settings.topic_partitions,
        key_serializer="raw",
        value_serializer="raw",
    )
    policy = StagePolicy(pipeline, STAGE)

    def parse(event: faust.EventT) -> tuple[str, Ask]:
        ask: Ask
        if event.message.topic == rechecks_topic:
            ask = decode(CheckRecheck, event.value)
            key = ask.invoice_key
        else:
            ask = decode(CheckRequested, event.value)
            key = invoice_key(ask.invoice_code, ask.invoice_number)
        require_key(event, key, settings.topic_partitions)
        return key, ask

    async def answer_batch(events: list[faust.EventT]) -> bulk_feed.Finish:
        step = partial(steps.answer_checks, now=datetime.now(UTC), rules=rules)
        outbox = Outbox(pipeline.app)  # the entries' changelog records and the answers
        out = await step_over_batch(policy, table, events, parse, step, outbox, holds_index(pipeline))
        for ask in out.unknown:
            log.warning("recheck_unknown_check", check_id=str(ask.check_id), invoice_key=ask.invoice_key)
        await publish_answers(pipeline, out.answers, outbox)

        async def acknowledged() -> None:  # acknowledged by Kafka before the batch is; the feed
            await outbox.flush()  # answers its next batch meanwhile, as the register's (bulk_feed.py)

        return acknowledged

    async def sweep_sync_holds() -> None:
        """Reads the sync_holds table (only invoices with a held check), never the whole register."""
        now = datetime.now(UTC)
        for key, holds in list(pipeline.sync_holds.items()):
            for check_id in due_holds(holds or {}, now=now, sync_window=window):
                await ask_recheck(pipeline, key, check_id, now)

    handler = crash_only(policy, answer_batch)
    # the register's backlog is folded first (bounded) at each assignment, so the checks queued
    # meanwhile find the invoices published before them (streams/catch_up.py)
    register_topics = frozenset(settings.topic(spec.name) for spec in topics.REGISTER_SOURCES)
    bulk_feed.attach(
        pipeline.app,
        source,
        handler,
        name=STAGE,
        batch_size=settings.verify_batch_size,
        follows=register_topics,
    )
    pipeline.app.timer(settings.sync_sweep_seconds, name="sweep_sync_holds")(sweep_sync_holds)
