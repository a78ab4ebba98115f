"""The register agent: folds `invoices.issued` and `invoices.status` into the register table, and
publishes follow-up results for earlier checks whose verdict the change alters (a held check whose
invoice arrived; a 一致 check of an invoice since voided or red-flushed).

Batched (the tax feed publishes invoices in volume): the records come in the batches faust's consumer
fetches them (streams/bulk_feed.py, at most `register_batch_size`), not through a faust stream; each
message parsed once under the stage's error policy, the entries the batch touches read once
and written once (one RocksDB multi-get and write batch per partition, streams/table_batch.py), and the
pure `fapiao.domain.steps.fold_register` does the work. The entries' changelog records, the follow-up
results and the seller activity leave together and are acknowledged by Kafka before the batch is
(streams/outbox.py); the next batch is folded while they are on their way (the batch's `Finish`,
streams/bulk_feed.py). Should the fold
raise for the batch, its events are folded one at a time under the policy, so only the guilty event
goes to checks.dlq.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import faust
import structlog

from fapiao import topics
from fapiao.domain import register, retention, steps
from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.rechecks import expired_holds
from schemas.events import InvoiceIssued, InvoiceStatusChanged
from schemas.stored_issued import stored_form
from streams import bulk_feed, table_batch
from streams.app import Pipeline
from streams.batch_events import crash_only, step_over_batch
from streams.dead_letters import decode, require_key
from streams.error_policy import StagePolicy, crash
from streams.outbox import Outbox
from streams.results_out import publish_answers
from streams.table_sweep import TableSweep, busy, sweep_once
from streams.verify_agent import ask_recheck, holds_index

log = structlog.get_logger(__name__)
STAGE = "register"

Change = steps.StoredIssuance | InvoiceStatusChanged


def attach(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    rules = steps.Rules(
        tz=ZoneInfo(settings.timezone), sync_window=timedelta(seconds=settings.sync_window_seconds)
    )
    table = pipeline.register
    sellers_topic = pipeline.topics[topics.SELLERS_ACTIVITY.name].get_topic_name()
    issued_topic = settings.topic(topics.INVOICES_ISSUED.name)
    source = pipeline.app.topic(
        *(settings.topic(spec.name) for spec in topics.REGISTER_SOURCES),
        partitions=settings.topic_partitions,
        key_serializer="raw",
        value_serializer="raw",
    )
    policy = StagePolicy(pipeline, STAGE)

    def parse(event: faust.EventT) -> tuple[str, Change]:
        change: Change
        if event.message.topic == issued_topic:
            # the feed's usual form read without the model; any other goes through it (or its reason
            # to the dead letter): schemas/stored_issued.py
            stored = stored_form(event.value) if isinstance(event.value, bytes) else None
            if stored is None:
                stored = decode(InvoiceIssued, event.value).model_dump(mode="json")
            change = steps.StoredIssuance(stored)
            key = change.key
        else:
            status = decode(InvoiceStatusChanged, event.value)
            change, key = status, invoice_key(status.invoice_code, status.invoice_number)
        require_key(event, key, settings.topic_partitions)
        return key, change

    async def fold_batch(events: list[faust.EventT]) -> bulk_feed.Finish:
        step = partial(steps.fold_register, now=datetime.now(UTC), rules=rules)
        outbox = Outbox(pipeline.app)  # the entries' changelog records, the answers, the activity
        out = await step_over_batch(policy, table, events, parse, step, outbox, holds_index(pipeline))
        await publish_answers(pipeline, out.answers, outbox)
        told = [(a.seller_tax_id.encode(), a.value) for a in out.activities]
        await outbox.send_keyed(sellers_topic, told)  # in record batches, per the seller's partition

        async def acknowledged() -> None:  # all of it acknowledged by Kafka before the batch is; the
            await outbox.flush()  # feed folds its next batch meanwhile (streams/bulk_feed.py)

        return acknowledged

    handler = crash_only(policy, fold_batch)
    bulk_feed.attach(pipeline.app, source, handler, name=STAGE, batch_size=settings.register_batch_size)
    attach_retention(pipeline, rules)


def attach_retention(pipeline: Pipeline, rules: steps.Rules) -> None:
    """The register's retention sweep (streams/table_sweep.py): entries past the five-year window leave
    the table and their holds the sync_holds table; a chunk at a time, never the whole register. It
    also asks for the recheck of any held check it meets whose window has run out (a hold the
    sync_holds table does not list, e.g. one made before that table existed, ends all the same)."""
    settings = pipeline.settings
    due: list[tuple[str, str]] = []

    def visit(partition: int, key: str, entry: Any) -> None:
        due.extend(
            (key, c) for c in expired_holds(entry, now=datetime.now(UTC), sync_window=rules.sync_window)
        )

    def also(doomed: list[tuple[int, str, Any]]) -> table_batch.Staged:
        held = [(p, key, None) for p, key, entry in doomed if register.held_checks(entry)]
        return table_batch.store(pipeline.sync_holds, held)

    sweep = TableSweep(
        pipeline.register, retention.register_entry_expired, settings.table_sweep_chunk, visit, also
    )

    async def sweep_register() -> None:
        if busy(pipeline.app):
            return
        now = datetime.now(UTC)
        outbox = Outbox(pipeline.app)
        try:
            await sweep_once(sweep, outbox, now, now.astimezone(rules.tz).date())
            await outbox.flush()
            while due:
                key, check_id = due.pop()
                await ask_recheck(pipeline, key, check_id, now)
        except Exception as exc:  # the table store or Kafka failed: crash-only, as every stage
            crash(STAGE, exc)

    pipeline.app.timer(settings.table_sweep_seconds, name="sweep_register")(sweep_register)
