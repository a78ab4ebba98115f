"""The ClickHouse sink: writes `checks.results` and `risk.alerts` in batches, at least once, idempotently.

A plain aiokafka consumer in its own consumer group (`Settings.sink_group`), run as a task of the
worker, not a faust agent: it needs no table, and faust's per-event stream machinery held it at a
fraction of what ClickHouse takes (docs/benchmarks.md). Records are fetched with `getmany` until a
batch has `sink_batch_rows` rows or is `sink_batch_seconds` old; the batch is decoded once, each
table gets one insert, and only then are the batch's offsets committed. A crash or an unreachable
server therefore never commits an offset for a row that was not written; the rows of a redelivered
batch collapse in the ReplacingMergeTree tables (same check_id and result_version; same alert_id).

Every record still goes through the stage's policy (streams/error_policy.py): unreadable or
poisonous records are dead-lettered and the stream goes on, infrastructure failures crash the worker.
A row ClickHouse refuses for its values is isolated by bisecting the batch and dead-lettered alone
with the server's message (`fapiao.warehouse.insert_errors`); other failures are retried with backoff.

The sink used to be a faust agent in the worker's own group (`Settings.faust_app_id`), so a deployment
that ran it has that group's committed offsets on the sunk topics. Before its consumer joins, the sink
commits those offsets for the partitions its own group has never committed (`seed_group`), so an
upgrade does not write the whole retained history again. Nothing in the faust app consumes the sunk
topics any more, so those offsets only ever mark what the old sink stored (tests/unit/test_sink.py
checks that no faust agent or bulk feed subscribes to them: one that did would move them past rows
this sink has not written).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple, cast

import faust
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CommitFailedError, IllegalStateError, RebalanceInProgressError
from pydantic import BaseModel

from fapiao import topics
from fapiao.bus import commit_offsets, partitions_of
from fapiao.kafka_auth import client_kwargs
from fapiao.settings import Settings
from fapiao.warehouse import alerts as alerts_table
from fapiao.warehouse import results as results_table
from fapiao.warehouse.engine import NativeEngine
from fapiao.warehouse.insert_errors import insert_isolating
from schemas.events import CheckResult, RiskAlert
from streams import metrics
from streams.app import Pipeline
from streams.dead_letters import decode, send_dead_letter
from streams.error_policy import StagePolicy
from streams.handoff import Handoff, handoff_of

log = structlog.get_logger(__name__)
STAGE = "sink"


@dataclass(frozen=True)
class Target:
    schema: type[BaseModel]
    table: str
    columns: tuple[str, ...]
    row: Callable[[Any], tuple[Any, ...]]


def targets_of(settings: Settings) -> dict[str, Target]:
    """The ClickHouse table each sunk topic (by its real name) is written to."""
    return {
        settings.topic(topics.CHECKS_RESULTS.name): Target(
            CheckResult, results_table.TABLE, results_table.COLUMNS, results_table.result_row
        ),
        settings.topic(topics.RISK_ALERTS.name): Target(
            RiskAlert, alerts_table.TABLE, alerts_table.COLUMNS, alerts_table.alert_row
        ),
    }


class Prepared(NamedTuple):
    """One table's part of a fetched batch, decoded: its rows and the records they came from."""

    target: Target
    unreadable: int  # records dead-lettered by the decode
    kept: list[ConsumerRecord]  # type: ignore[type-arg]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class Received:
    """One fetched record in the shape the error policy and the dead letters read (`event.message`)."""

    message: ConsumerRecord  # type: ignore[type-arg]


def as_event(record: ConsumerRecord) -> faust.EventT:  # type: ignore[type-arg]
    """The policy and dead letters only read `.message.{topic,partition,offset,key,value}`, which an
    aiokafka record has under the same names as faust's message."""
    return cast(faust.EventT, Received(record))


def row_of(target: Target, value: bytes | None, handoff: Handoff[BaseModel] | None = None) -> tuple[Any, ...]:
    """The row of one record: of the event the worker's risk stage published as these very bytes, if it
    hands it over (streams/handoff.py), else decoded."""
    event = handoff.take(value) if handoff is not None else None
    return target.row(event if event is not None else decode(target.schema, value))


def group_by_topic(records: Sequence[ConsumerRecord]) -> dict[str, list[ConsumerRecord]]:  # type: ignore[type-arg]
    """The batch's records per topic, in fetch order (pure)."""
    grouped: dict[str, list[ConsumerRecord]] = {}  # type: ignore[type-arg]
    for record in records:
        grouped.setdefault(record.topic, []).append(record)
    return grouped


def next_offsets(records: Sequence[ConsumerRecord]) -> dict[TopicPartition, int]:  # type: ignore[type-arg]
    """The offsets to commit once `records` are stored: one past the highest per partition (pure)."""
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
    return offsets


def seeded_offsets(
    partitions: Iterable[TopicPartition],
    own: Mapping[TopicPartition, int],
    worker: Mapping[TopicPartition, int],
) -> dict[TopicPartition, int]:
    """Where the sink starts the partitions its own group has never committed (pure): at the faust
    worker group's committed offset (where the old sink agent stopped) when that group has one; the
    others are absent and start at the earliest offset. A negative offset is Kafka's "none"."""
    return {tp: worker[tp] for tp in partitions if own.get(tp, -1) < 0 and worker.get(tp, -1) >= 0}


async def committed_offsets(
    admin: AIOKafkaAdminClient, group: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    found = await admin.list_consumer_group_offsets(group, partitions=partitions)
    return {tp: meta.offset for tp, meta in found.items()}


async def seed_group(settings: Settings, names: list[str]) -> dict[TopicPartition, int]:
    """Before the sink's consumer joins, commit `seeded_offsets` for the partitions of `names` in the
    sink's group; what was committed. On any failure (e.g. the group already has a member: Kafka refuses
    a commit from outside its generation) those partitions start at the earliest offset instead: rows
    written twice collapse in the tables, none is lost."""
    try:
        admin = AIOKafkaAdminClient(**client_kwargs(settings), request_timeout_ms=15000)
        await admin.start()
        try:
            partitions = [TopicPartition(n, p) for n in names for p in await partitions_of(settings, n)]
            own = await committed_offsets(admin, settings.sink_group, partitions)
            unseen = [tp for tp in partitions if own.get(tp, -1) < 0]
            worker = await committed_offsets(admin, settings.faust_app_id, unseen) if unseen else {}
        finally:
            await admin.close()
        seeds = seeded_offsets(partitions, own, worker)
        if seeds:
            await commit_offsets(settings, settings.sink_group, seeds)
            log.info("sink_seeded_from_worker_group", partitions=len(seeds), group=settings.faust_app_id)
        return seeds
    except Exception as exc:
        log.warning("sink_seed_skipped", group=settings.sink_group, error=repr(exc))
        return {}


def sink_consumer(settings: Settings, names: list[str]) -> AIOKafkaConsumer:
    """The sink group's consumer of `names` (not started): offsets committed by hand, after the insert.
    A fetch waits for `sink_fetch_min_bytes` or the batch time, whichever first: the sink writes a batch
    that old anyway, and lone records no longer cost a fetch each."""
    return AIOKafkaConsumer(
        *names,
        **client_kwargs(settings),
        group_id=settings.sink_group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_min_bytes=settings.sink_fetch_min_bytes,
        fetch_max_wait_ms=max(1, int(settings.sink_batch_seconds * 1000)),
    )


class Sink:
    """The sink's consumer loop (see the module docstring); `run` until cancelled."""

    def __init__(self, pipeline: Pipeline, policy: StagePolicy | None = None) -> None:
        self.pipeline = pipeline
        self.settings = pipeline.settings
        self.targets = targets_of(self.settings)
        self.policy = policy or StagePolicy(pipeline, STAGE)
        self.engine: NativeEngine | None = None
        self.assigned = 0

    def write(self, target: Target, rows: list[tuple[Any, ...]]) -> list[tuple[int, str]]:
        """Insert, isolating the rows ClickHouse refuses for their values; (index, error) of those."""
        if self.engine is None:
            self.engine = NativeEngine(self.settings)
        live = self.engine
        try:
            return insert_isolating(lambda part: live.insert(target.table, target.columns, part), rows)
        except Exception:
            live.close()
            self.engine = None
            raise

    async def write_with_retry(self, target: Target, rows: list[tuple[Any, ...]]) -> list[tuple[int, str]]:
        """Retry transient failures (server down, timeouts, too many parts) with backoff, never drop."""
        delay = 0.2
        while True:
            started = time.perf_counter()
            try:
                refused = await asyncio.to_thread(self.write, target, rows)
            except Exception as exc:
                metrics.SINK_FAILURES.labels(kind="transient").inc()
                log.warning(
                    "sink_write_failed", table=target.table, rows=len(rows), error=repr(exc), retry_in=delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.sink_retry_max_seconds)
                continue
            metrics.SINK_BATCH_SECONDS.observe(time.perf_counter() - started)
            metrics.SINK_ROWS.inc(len(rows) - len(refused))
            return refused

    async def rows(
        self,
        target: Target,
        records: list[ConsumerRecord],  # type: ignore[type-arg]
    ) -> tuple[list[ConsumerRecord], list[tuple[Any, ...]]]:  # type: ignore[type-arg]
        """The rows of `records` and the records they came from; the others were dead-lettered.

        The whole batch is decoded in one loop; when that raises (or a fault is being injected), each
        record is decoded again under the policy, so only the guilty one is dead-lettered."""
        handoff = handoff_of(self.pipeline.app, target.schema)
        if not self.policy.fault_kind:
            try:
                return records, [row_of(target, r.value, handoff) for r in records]
            except Exception as exc:
                self.policy.check_batch_error(exc)
        kept: list[ConsumerRecord] = []  # type: ignore[type-arg]
        rows: list[tuple[Any, ...]] = []
        for record in records:
            row = await self.policy.run(as_event(record), partial(row_of, target, record.value, handoff))
            if row is not None:
                kept.append(record)
                rows.append(row)
        return kept, rows

    async def prepare(self, records: list[ConsumerRecord]) -> list[Prepared]:  # type: ignore[type-arg]
        """Decode one batch into each table's rows (the unreadable records dead-lettered)."""
        prepared = []
        for topic_name, batch in group_by_topic(records).items():
            target = self.targets[topic_name]
            kept, rows = await self.rows(target, batch)
            prepared.append(Prepared(target, len(batch) - len(kept), kept, rows))
        return prepared

    async def store(self, records: list[ConsumerRecord]) -> int:  # type: ignore[type-arg]
        """Write one batch: one insert per table, refused rows dead-lettered; how many letters."""
        return await self.write_prepared(await self.prepare(records))

    async def write_prepared(self, prepared: list[Prepared]) -> int:
        """One insert per table; the rows ClickHouse refuses dead-lettered; how many letters in all."""
        letters = 0
        for target, unreadable, kept, rows in prepared:
            letters += unreadable
            for index, error in await self.write_with_retry(target, rows):
                letters += 1
                metrics.SINK_FAILURES.labels(kind="permanent").inc()
                metrics.SINK_REFUSED_ROWS.labels(table=target.table).inc()
                await send_dead_letter(
                    self.pipeline,
                    as_event(kept[index]),
                    f"ClickHouse refused the row for {target.table}: {error}",
                    STAGE,
                    kind="unstorable",
                )
        return letters

    async def fetch(self, consumer: AIOKafkaConsumer) -> list[ConsumerRecord]:  # type: ignore[type-arg]
        """Records until the batch is full (`sink_batch_rows`) or old (`sink_batch_seconds`)."""
        limit = self.settings.sink_batch_rows
        deadline = time.monotonic() + self.settings.sink_batch_seconds
        records: list[ConsumerRecord] = []  # type: ignore[type-arg]
        while len(records) < limit:
            left = deadline - time.monotonic()
            if left <= 0 and records:
                break
            fetched = await consumer.getmany(
                timeout_ms=max(1, int(left * 1000)), max_records=limit - len(records)
            )
            self.note_assignment(consumer)
            for batch in fetched.values():
                records.extend(batch)
            if left <= 0:
                break
        return records

    def note_assignment(self, consumer: AIOKafkaConsumer) -> None:
        assigned = len(consumer.assignment())
        if assigned != self.assigned:
            log.info("sink_assigned", group=self.settings.sink_group, partitions=assigned)
            self.assigned = assigned
            metrics.SINK_PARTITIONS.set(assigned)

    async def commit(self, consumer: AIOKafkaConsumer, records: list[ConsumerRecord]) -> None:  # type: ignore[type-arg]
        try:
            await consumer.commit(next_offsets(records))
        except (CommitFailedError, RebalanceInProgressError, IllegalStateError) as exc:
            # partitions moved to another member while the batch was written: it re-reads and re-writes
            # them from the last commit, and the tables' dedupe absorbs the repeat (at least once)
            log.warning("sink_commit_skipped_rebalance", records=len(records), error=repr(exc))

    async def settle(
        self,
        consumer: AIOKafkaConsumer,
        records: list[ConsumerRecord],  # type: ignore[type-arg]
        prepared: list[Prepared],
    ) -> None:
        """Insert a decoded batch, then commit its offsets (after its dead letters are in Kafka)."""
        if await self.write_prepared(prepared):
            await self.pipeline.app.producer.flush()
        await self.commit(consumer, records)

    async def run(self) -> None:
        """Fetch and decode the next batch while the previous one is inserted: one insert in flight at
        a time, so batches are written and committed in fetch order."""
        names = list(self.targets)
        await seed_group(self.settings, names)
        consumer = sink_consumer(self.settings, names)
        await consumer.start()
        writing: asyncio.Task[None] | None = None
        try:
            while True:
                records = await self.fetch(consumer)
                if writing is not None and writing.done():
                    done, writing = writing, None
                    await done  # its error, if any, crashes the loop here
                if not records:
                    continue
                metrics.EVENTS.labels(agent=STAGE).inc(len(records))
                prepared = await self.prepare(records)
                if writing is not None:
                    await writing
                writing = asyncio.create_task(self.settle(consumer, records, prepared))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Kafka or a bug outside any one record: crash-only, never a silent stop
            self.policy.on_crash(STAGE, exc)
        finally:
            if writing is not None and not writing.done():
                writing.cancel()  # its offsets stay uncommitted: the batch is read and written again
                with contextlib.suppress(BaseException):
                    await writing
            metrics.SINK_PARTITIONS.set(0)
            await consumer.stop()
            if self.engine is not None:
                self.engine.close()


def attach(pipeline: Pipeline) -> None:
    """Run the sink as a task of the worker's app (started and stopped with it)."""

    async def sink() -> None:
        await Sink(pipeline).run()

    pipeline.app.task(sink)
