"""The ClickHouse sink's batch logic (streams/sink.py) without Kafka or ClickHouse: the offsets a
stored batch commits, one insert per table per batch, and every record either stored or dead-lettered
(unreadable, poison under an injected fault, refused by ClickHouse) while the rest of the batch is stored.
The real consumer runs in the integration tests (test_pipeline, test_outages, test_fault_injection)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NoReturn

import pytest
from aiokafka import ConsumerRecord, TopicPartition

from fapiao import topics
from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision
from fapiao.settings import Settings
from fapiao.warehouse import alerts as alerts_table
from fapiao.warehouse import results as results_table
from schemas.events import CheckResult, DeadLetter, Verdict
from streams import sink as sink_module
from streams.error_policy import StagePolicy
from streams.handoff import handoff_of
from streams.sink import Prepared, Sink, Target, group_by_topic, next_offsets, seeded_offsets
from tests.factories import check_of, issued, risk_alert

SETTINGS = Settings(topic_prefix="u-", fault_marker="", fault_stages="")
RESULTS = SETTINGS.topic(topics.CHECKS_RESULTS.name)
ALERTS = SETTINGS.topic(topics.RISK_ALERTS.name)


def _record(topic: str, partition: int, offset: int, value: bytes) -> ConsumerRecord:  # type: ignore[type-arg]
    return ConsumerRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=b"k",
        value=value,
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=len(value),
        headers=(),
    )


def _result(number: str) -> bytes:
    request = check_of(issued(number=number))
    result = build_result(request, Decision(Verdict.NOT_FOUND), decided_at=datetime.now(UTC), check_count=1)
    return result.model_dump_json().encode()


def _alert() -> bytes:
    return risk_alert().model_dump_json().encode()


class FakeTopic:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def send(self, key: bytes | None, value: bytes) -> None:
        self.sent.append(value)


class RecordingSink(Sink):
    """Writes into lists instead of ClickHouse; refuses the rows whose check_id is in `refuse`."""

    def __init__(
        self, pipeline: Any, policy: StagePolicy | None = None, refuse: frozenset[str] = frozenset()
    ) -> None:
        super().__init__(pipeline, policy)
        self.inserts: list[tuple[str, int]] = []
        self.refuse = refuse

    def write(self, target: Target, rows: list[tuple[Any, ...]]) -> list[tuple[int, str]]:
        self.inserts.append((target.table, len(rows)))
        check = target.columns.index("check_id")
        return [(i, "TYPE_MISMATCH") for i, row in enumerate(rows) if str(row[check]) in self.refuse]


class FakeApp:
    """What the sink's hand-offs belong to (streams/handoff.py)."""


def _pipeline(settings: Settings = SETTINGS) -> tuple[Any, FakeTopic]:
    dlq = FakeTopic()
    return SimpleNamespace(settings=settings, topics={topics.CHECKS_DLQ.name: dlq}, app=FakeApp()), dlq


def test_a_stored_batch_commits_one_past_the_highest_offset_of_each_partition() -> None:
    records = [_record(RESULTS, 0, 5, b""), _record(RESULTS, 1, 9, b""), _record(RESULTS, 0, 7, b"")]
    records.append(_record(ALERTS, 0, 2, b""))
    assert next_offsets(records) == {
        TopicPartition(RESULTS, 0): 8,
        TopicPartition(RESULTS, 1): 10,
        TopicPartition(ALERTS, 0): 3,
    }
    assert [len(v) for v in group_by_topic(records).values()] == [3, 1]


async def test_one_insert_per_table_and_every_bad_record_dead_lettered_alone() -> None:
    pipeline, dlq = _pipeline()
    refused_value = _result("77000009")
    refused_id = str(json.loads(refused_value)["check_id"])
    batch = [_record(RESULTS, 0, i, _result(f"7700{i:04d}")) for i in range(5)]
    batch += [_record(RESULTS, 1, 0, b"{oops"), _record(RESULTS, 1, 1, refused_value)]
    batch += [_record(ALERTS, 0, 0, _alert()), _record(ALERTS, 0, 1, _alert())]
    sink = RecordingSink(pipeline, refuse=frozenset({refused_id}))
    assert await sink.store(batch) == 2
    assert sorted(sink.inserts) == sorted([(alerts_table.TABLE, 2), (results_table.TABLE, 6)])
    letters = [DeadLetter.model_validate_json(v) for v in dlq.sent]
    assert {(x.kind, x.partition, x.offset) for x in letters} == {("unreadable", 1, 0), ("unstorable", 1, 1)}
    unstorable = next(x for x in letters if x.kind == "unstorable")
    assert "TYPE_MISMATCH" in unstorable.error and refused_id in unstorable.payload


async def test_a_handed_over_result_is_stored_as_is_and_the_others_decoded() -> None:
    """The worker's risk stage hands its results over by their bytes (streams/handoff.py): the sink
    stores that event without decoding it, once; a record it was not handed is decoded."""
    pipeline, _dlq = _pipeline()
    handed_value, other_value = _result("77100001"), _result("77100002")
    handed = CheckResult.model_validate_json(handed_value)
    handoff = handoff_of(pipeline.app, CheckResult)
    handoff.put(handed_value, handed)
    sink = RecordingSink(pipeline)
    target = sink.targets[RESULTS]
    records = [_record(RESULTS, 0, 0, bytes(handed_value)), _record(RESULTS, 0, 1, other_value)]
    kept, rows = await sink.rows(target, records)
    assert kept == records
    assert rows == [
        results_table.result_row(handed),
        results_table.result_row(CheckResult.model_validate_json(other_value)),
    ]
    assert (handoff.hits, handoff.misses, len(handoff)) == (1, 1, 0)


async def test_an_injected_poison_is_dead_lettered_and_the_rest_stored() -> None:
    settings = Settings(topic_prefix="u-", fault_marker="POISON", fault_stages="sink")
    pipeline, dlq = _pipeline(settings)

    def on_crash(stage: str, exc: BaseException) -> NoReturn:
        raise AssertionError(f"a poison pill must not crash the sink: {exc!r}")

    sink = RecordingSink(pipeline, StagePolicy(pipeline, "sink", on_crash=on_crash))
    good = [_record(RESULTS, 0, i, _result(f"7800{i:04d}")) for i in range(3)]
    poison = _record(RESULTS, 0, 3, _result("78009999").replace(b'"requester":"', b'"requester":"POISON'))
    assert await sink.store([*good, poison]) == 1
    assert sink.inserts == [(results_table.TABLE, 3)]
    (letter,) = [DeadLetter.model_validate_json(v) for v in dlq.sent]
    assert (letter.stage, letter.kind, letter.offset) == ("sink", "exception", 3)


def test_a_partition_the_sink_never_committed_starts_where_the_old_sink_agent_stopped() -> None:
    own_p0, seeded_p1, fresh_p2, fresh_alerts = (
        TopicPartition(RESULTS, 0),
        TopicPartition(RESULTS, 1),
        TopicPartition(RESULTS, 2),
        TopicPartition(ALERTS, 0),
    )
    seeds = seeded_offsets(
        [own_p0, seeded_p1, fresh_p2, fresh_alerts],
        own={own_p0: 7, seeded_p1: -1},  # -1: Kafka's "no committed offset"
        worker={own_p0: 40, seeded_p1: 30, fresh_p2: -1},
    )
    # its own commit wins; the worker group's offset seeds the rest; neither: absent (earliest)
    assert seeds == {seeded_p1: 30}
    assert seeded_offsets([seeded_p1], own={}, worker={seeded_p1: 0}) == {seeded_p1: 0}


def test_no_faust_agent_or_bulk_feed_consumes_the_sunk_topics(tmp_path: Path) -> None:
    """The seeding trusts the faust group's offsets on the sunk topics to be the old sink agent's:
    an agent in that group consuming them would move those offsets past rows the sink never wrote."""
    from streams.app import create_app
    from streams.bulk_feed import feeds_of

    settings = Settings(data_dir=tmp_path, topic_prefix="u-", risk_enabled=True)
    app = create_app(settings).app
    subscribed = set(feeds_of(app)) | {
        topic for agent in app.agents.values() for topic in getattr(agent.channel, "topics", ())
    }
    assert settings.topic(topics.CHECKS_VERIFIED.name) in subscribed  # the risk agent's: the census works
    assert settings.topic(topics.CHECKS_REQUESTED.name) in subscribed  # the verify agent's bulk feed
    sunk = {settings.topic(topics.CHECKS_RESULTS.name), settings.topic(topics.RISK_ALERTS.name)}
    assert not subscribed & sunk


class FakeConsumer:
    """Hands out `batches` one per getmany (then nothing) and records the commits."""

    def __init__(self, batches: list[list[ConsumerRecord]], log: list[str]) -> None:  # type: ignore[type-arg]
        self.batches, self.log = batches, log

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(RESULTS, 0)}

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[ConsumerRecord]]:  # type: ignore[type-arg]
        if not self.batches:
            await asyncio.sleep(timeout_ms / 1000)
            return {}
        return {TopicPartition(RESULTS, 0): self.batches.pop(0)}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.log.append(f"commit {offsets[TopicPartition(RESULTS, 0)]}")


async def test_the_next_batch_is_decoded_while_one_is_inserted_and_commits_follow_the_inserts_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(topic_prefix="u-", fault_marker="", fault_stages="", sink_batch_rows=2)
    pipeline, _dlq = _pipeline(settings)
    log: list[str] = []
    second_decoded = threading.Event()
    batches = [
        [_record(RESULTS, 0, 2 * b + i, _result(f"7900{b}{i:03d}")) for i in range(2)] for b in range(2)
    ]

    class OrderedSink(RecordingSink):
        async def prepare(self, records: list[ConsumerRecord]) -> list[Prepared]:  # type: ignore[type-arg]
            prepared = await super().prepare(records)
            log.append(f"decoded {records[-1].offset + 1}")
            if records[0].offset > 0:
                second_decoded.set()
            return prepared

        def write(self, target: Target, rows: list[tuple[Any, ...]]) -> list[tuple[int, str]]:
            log.append(f"insert {len(self.inserts)}")
            if not self.inserts:  # the first insert lasts until the next batch is decoded
                assert second_decoded.wait(10)
            return super().write(target, rows)

    async def no_seed(settings: Settings, names: list[str]) -> dict[TopicPartition, int]:
        return {}

    monkeypatch.setattr(sink_module, "seed_group", no_seed)
    monkeypatch.setattr(sink_module, "sink_consumer", lambda settings, names: FakeConsumer(batches, log))
    task = asyncio.create_task(OrderedSink(pipeline).run())
    deadline = time.monotonic() + 10
    while "commit 4" not in log and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # the second batch is decoded while the first insert runs (in either order with its start); each
    # batch is committed after its own insert, and the next insert starts only after that commit
    assert log[0] == "decoded 2" and sorted(log[1:3]) == ["decoded 4", "insert 0"], log
    assert log[3:] == ["commit 2", "insert 1", "commit 4"], log


async def test_the_sink_s_fetches_wait_for_its_minimum_bytes_or_its_batch_time() -> None:
    """Lone results (sync checks) cost the sink a fetch per batch time, not one each."""
    settings = SETTINGS.model_copy(update={"sink_fetch_min_bytes": 65_536, "sink_batch_seconds": 0.3})
    consumer = sink_module.sink_consumer(settings, ["u-checks.results"])
    try:
        fetcher_args = (consumer._fetch_min_bytes, consumer._fetch_max_wait_ms)  # type: ignore[attr-defined]
    finally:
        await consumer.stop()  # never started: only marks it closed
    assert fetcher_args == (65_536, 300)
