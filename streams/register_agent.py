"""The register agent: folds `invoices.issued` and `invoices.status` into the register table, and
publishes follow-up results for earlier checks whose verdict the change alters (a held check whose
invoice arrived; a 一致 check of an invoice since voided or red-flushed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import faust
import structlog

from fapiao import topics
from fapiao.domain import register
from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.rechecks import follow_ups, with_records
from fapiao.domain.seller_activity import seller_activity
from schemas.events import InvoiceIssued, InvoiceStatusChanged
from streams import metrics
from streams.app import Pipeline
from streams.dead_letters import decode, require_key
from streams.error_policy import StagePolicy
from streams.results_out import publish_follow_ups

log = structlog.get_logger(__name__)
STAGE = "register"


def attach(pipeline: Pipeline) -> None:
    tz = ZoneInfo(pipeline.settings.timezone)
    window = timedelta(seconds=pipeline.settings.sync_window_seconds)
    table = pipeline.register
    sellers = pipeline.topics[topics.SELLERS_ACTIVITY.name]
    issued_topic = pipeline.settings.topic(topics.INVOICES_ISSUED.name)
    source = pipeline.app.topic(
        issued_topic,
        pipeline.settings.topic(topics.INVOICES_STATUS.name),
        partitions=pipeline.settings.topic_partitions,
        key_serializer="raw",
        value_serializer="raw",
    )

    partitions = pipeline.settings.topic_partitions
    policy = StagePolicy(pipeline, STAGE)

    async def apply(event: faust.EventT) -> None:
        issued_event = event.message.topic == issued_topic
        if issued_event:
            issued = decode(InvoiceIssued, event.value)
            key = invoice_key(issued.invoice_code, issued.invoice_number)
            require_key(event, key, partitions)
            entry = register.apply_issued(table.get(key), issued)
        else:
            change = decode(InvoiceStatusChanged, event.value)
            key = invoice_key(change.invoice_code, change.invoice_number)
            require_key(event, key, partitions)
            entry = register.apply_status(table.get(key), change)
        # checks held for sync delay, or answered before a void/red flush, get a follow-up result
        updates = follow_ups(entry, now=datetime.now(UTC), tz=tz, sync_window=window)
        table[key] = with_records(entry, updates)
        await publish_follow_ups(pipeline, entry, updates)
        activity = seller_activity(entry, issued_event)
        if activity is not None:
            await sellers.send(key=activity.seller_tax_id.encode(), value=activity.model_dump_json().encode())

    async def fold(stream: faust.StreamT) -> None:
        async for event in stream.events():
            metrics.EVENTS.labels(agent=STAGE).inc()
            await policy.run(event, partial(apply, event))

    pipeline.app.agent(source, name="register", concurrency=1)(fold)
