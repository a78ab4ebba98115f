"""Fault injection against a private stack (own topics and database, a real worker): one bad message
never stops the others, and every check ends as a stored result or a dead letter (requested = results +
dead letters); an infrastructure failure makes the worker exit without acknowledging the event, and a
restarted worker answers it.

Poison pills are injected with the fault marker (FAPIAO_FAULT_MARKER, refused in production): a message
carrying it raises inside the stage, exactly where a bug on one odd message would."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from fapiao import topics
from fapiao.bus import Publisher, consumer_lag
from fapiao.domain.check_context import check_context
from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.results import build_result
from fapiao.domain.verification import Decision
from fapiao.settings import Settings
from fapiao.warehouse import results as results_table
from fapiao.warehouse.engine import NativeEngine
from fapiao.warehouse.insert_errors import insert_isolating
from schemas.events import CheckVerified, DeadLetter, InvoiceStatus, Verdict
from streams.dead_letters import key_partition
from streams.error_policy import EXIT_INFRASTRUCTURE
from tests.factories import check_of, issued, status_change
from tests.integration.conftest import _env, consuming, private_stack, until_registered
from tests.integration.processes import ROOT, cli_process, wait_for_line

MARKER = f"POISON-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Settings, NativeEngine]]:
    with private_stack("faults", tmp_path) as (settings, engine):
        yield settings.model_copy(update={"fault_marker": MARKER}), engine


def _env_of(settings: Settings, stages: str, kind: str = "poison") -> dict[str, str]:
    return _env(settings) | {
        "FAPIAO_FAULT_MARKER": MARKER,
        "FAPIAO_FAULT_STAGES": stages,
        "FAPIAO_FAULT_KIND": kind,
    }


async def _dead_letters(settings: Settings, want: int, timeout: float = 30) -> list[DeadLetter]:
    consumer = AIOKafkaConsumer(
        settings.topic(topics.CHECKS_DLQ.name),
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    letters: list[DeadLetter] = []
    try:
        deadline = time.monotonic() + timeout
        while len(letters) < want and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                letters += [DeadLetter.model_validate_json(r.value) for r in records]
    finally:
        await consumer.stop()
    return letters


async def _stored(engine: NativeEngine, check_ids: set[str], timeout: float = 40) -> set[str]:
    deadline = time.monotonic() + timeout
    found: set[str] = set()
    while time.monotonic() < deadline and not check_ids <= found:
        rows = await asyncio.to_thread(engine.execute, "SELECT toString(check_id) FROM check_results FINAL")
        found = {r[0] for r in rows}
        await asyncio.sleep(0.3)
    return found & check_ids


async def test_each_bad_message_is_dead_lettered_alone_and_every_check_is_accounted_for(
    stack: tuple[Settings, NativeEngine], tmp_path: Path
) -> None:
    settings, engine = stack
    publisher = Publisher(settings)
    await publisher.start()
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    log = tmp_path / "worker.log"
    try:
        with cli_process(["worker"], _env_of(settings, "verify,risk,sink"), log) as worker:
            wait_for_line(worker, log, "Worker ready", 120)
            invoices = [issued(number=f"6100{i:04d}") for i in range(12)]
            for inv in invoices:
                await publisher.publish(
                    topics.INVOICES_ISSUED, invoice_key(inv.invoice_code, inv.invoice_number), inv
                )
            requested: list[str] = []

            async def ask(n: int, **overrides: object) -> str:
                inv = invoices[n]
                request = check_of(inv, requested_at=datetime.now(UTC), **overrides)
                await publisher.publish(
                    topics.CHECKS_REQUESTED,
                    invoice_key(inv.invoice_code, inv.invoice_number),
                    request,
                )
                requested.append(str(request.check_id))
                return str(request.check_id)

            before = [await ask(i) for i in range(3)]
            poison = await ask(3, requester=f"{MARKER}-verify")  # raises inside the verify agent
            # a valid request on another partition than its key's (another producer's partitioner)
            wrong_inv = invoices[4]
            wrong_key = invoice_key(wrong_inv.invoice_code, wrong_inv.invoice_number)
            wrong = check_of(wrong_inv, requested_at=datetime.now(UTC))
            right = key_partition(wrong_key, settings.topic_partitions)
            await producer.send_and_wait(
                settings.topic(topics.CHECKS_REQUESTED.name),
                wrong.model_dump_json().encode(),
                key=wrong_key.encode(),
                partition=(right + 1) % settings.topic_partitions,
            )
            requested.append(str(wrong.check_id))
            # not JSON at all (no check id: counted by its dead letter only)
            await producer.send_and_wait(settings.topic(topics.CHECKS_REQUESTED.name), b"{oops", key=b"x")
            # a result that breaks the sink stage, and a verdict that breaks the risk stage
            sink_poison = build_result(
                check_of(invoices[5], requester=f"{MARKER}-sink"),
                Decision(Verdict.NOT_FOUND),
                decided_at=datetime.now(UTC),
                check_count=1,
            )
            await publisher.publish(topics.CHECKS_RESULTS, sink_poison.invoice_key, sink_poison)
            requested.append(str(sink_poison.check_id))
            risk_request = check_of(invoices[5], requester=f"{MARKER}-risk", requested_at=datetime.now(UTC))
            risk_poison = CheckVerified(
                result=build_result(
                    risk_request,
                    Decision(Verdict.NOT_FOUND),
                    decided_at=datetime.now(UTC),
                    check_count=1,
                ),
                context=check_context(None, risk_request, Verdict.NOT_FOUND),
            )
            await publisher.publish(topics.CHECKS_VERIFIED, "9111010829141777X4", risk_poison)
            requested.append(str(risk_request.check_id))
            after = [await ask(i) for i in range(6, 12)]

            letters = await _dead_letters(settings, want=5)
            by_kind = {(letter.stage, letter.kind) for letter in letters}
            assert {
                ("verify", "exception"),
                ("sink", "exception"),
                ("risk", "exception"),
            } <= by_kind
            poison_letter = next(x for x in letters if x.stage == "verify" and x.kind == "exception")
            assert poison in poison_letter.payload and "InjectedFault" in poison_letter.error
            assert "Traceback" in poison_letter.stack
            partition_letter = next(x for x in letters if "belongs on partition" in x.error)
            assert str(wrong.check_id) in partition_letter.payload and partition_letter.kind == "unreadable"
            assert any(x.kind == "unreadable" and x.payload == "{oops" for x in letters)

            genuine = set(before) | set(after)
            stored = await _stored(engine, genuine)
            assert stored == genuine  # the stream went on past every bad message
            # requested = results + dead letters: every check is in exactly one of the two
            lettered = {cid for cid in requested for x in letters if cid in x.payload}
            stored_all = await _stored(engine, set(requested), timeout=2)
            assert stored_all | lettered == set(requested) and not stored_all & lettered
            assert worker.poll() is None  # still running

        # the bug fixed (a worker without the fault), the operator replays the verify stage's poison
        env = _env(settings)
        listed = _cli(["dlq", "list", "--stage", "verify", "--kind", "exception", "--json"], env)
        assert [json.loads(line)["kind"] for line in listed.splitlines()] == ["exception"]
        with cli_process(["worker"], env, tmp_path / "worker-fixed.log") as fixed:
            wait_for_line(fixed, tmp_path / "worker-fixed.log", "Worker ready", 120)
            out = _cli(["dlq", "replay", "--stage", "verify", "--kind", "exception"], env)
            assert "1 of" in out and "replayed 1" in out
            assert await _stored(engine, {poison}) == {poison}
            assert "0 of" in _cli(["dlq", "replay", "--stage", "verify", "--kind", "exception"], env)
        rows = engine.execute(
            "SELECT count() FROM check_results FINAL WHERE check_id = %(id)s",
            {"id": uuid.UUID(poison)},
        )
        assert rows[0][0] == 1
    finally:
        await producer.stop()
        await publisher.stop()


def _cli(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


async def _exits_crash_only(worker: subprocess.Popen[bytes], log: Path) -> None:
    """Wait (bounded) until the worker exits, and require the infrastructure-failure exit code."""
    deadline = time.monotonic() + 120
    while worker.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert worker.returncode == EXIT_INFRASTRUCTURE, log.read_text()[-3000:]


async def test_an_infrastructure_failure_exits_unacknowledged_and_a_restart_answers(
    stack: tuple[Settings, NativeEngine], tmp_path: Path
) -> None:
    settings, engine = stack
    publisher = Publisher(settings)
    await publisher.start()
    try:
        inv = issued(number="62000001")
        key = invoice_key(inv.invoice_code, inv.invoice_number)
        await publisher.publish(topics.INVOICES_ISSUED, key, inv)
        request = check_of(inv, requested_at=datetime.now(UTC), requester=f"{MARKER}-disk")
        await publisher.publish(topics.CHECKS_REQUESTED, key, request)
        log = tmp_path / "worker-crash.log"
        with cli_process(["worker"], _env_of(settings, "verify", "infrastructure"), log) as worker:
            await _exits_crash_only(worker, log)
        assert "worker_infrastructure_failure" in log.read_text()
        lag = await consumer_lag(
            settings, settings.faust_app_id, [settings.topic(topics.CHECKS_REQUESTED.name)]
        )
        assert lag >= 1  # the event was not acknowledged
        with cli_process(["worker"], _env(settings), tmp_path / "worker-ok.log"):
            assert await _stored(engine, {str(request.check_id)}, timeout=90) == {str(request.check_id)}
    finally:
        await publisher.stop()


async def test_a_crash_between_scoring_and_sending_loses_no_alert(
    stack: tuple[Settings, NativeEngine], tmp_path: Path
) -> None:
    """The worker dies after the risk stage decided an alert is due but before it reached Kafka: the
    redelivered check raises it (its alert mark is written only after the send; written first, the
    restarted worker took the alert as raised already and it was lost)."""
    settings, _engine = stack
    publisher = Publisher(settings)
    await publisher.start()
    try:
        inv = issued(number="62000002")
        key = invoice_key(inv.invoice_code, inv.invoice_number)
        await publisher.publish(topics.INVOICES_ISSUED, key, inv)
        await publisher.publish(topics.INVOICES_STATUS, key, status_change(inv, InvoiceStatus.VOIDED))
        request = check_of(inv, requested_at=datetime.now(UTC), requester=f"{MARKER}-send")
        log = tmp_path / "worker-crash.log"
        with cli_process(["worker"], _env_of(settings, "risk-send", "infrastructure"), log) as worker:
            async with consuming(settings) as consume:  # the register holds the void before the check
                await until_registered(consume, settings, inv, status="voided", timeout=60)
            await publisher.publish(topics.CHECKS_REQUESTED, key, request)  # 作废: presented_after_void 70
            await _exits_crash_only(worker, log)
        assert "fault injected in stage risk-send" in log.read_text()
        with cli_process(["worker"], _env(settings), tmp_path / "worker-ok.log"):
            async with consuming(settings) as consume:
                wanted = str(request.check_id).encode()
                alert = json.loads(await consume(topics.RISK_ALERTS.name, lambda v: wanted in v, 90))
        assert "presented_after_void" in alert["reasons"]
    finally:
        await publisher.stop()


def test_the_sink_stores_every_good_row_and_isolates_the_one_clickhouse_refuses(
    stack: tuple[Settings, NativeEngine],
) -> None:
    _settings, engine = stack
    rows = []
    for i in range(9):
        request = check_of(issued(number=f"6300{i:04d}"), batch_id=uuid.uuid4(), batch_row=i + 1)
        result = build_result(
            request, Decision(Verdict.NOT_FOUND), decided_at=datetime.now(UTC), check_count=1
        )
        rows.append(results_table.result_row(result))
    batch_row = results_table.COLUMNS.index("batch_row")
    bad = list(rows[6])
    bad[batch_row] = 2**40  # beyond the UInt32 column, as a producer bug once sent
    rows[6] = tuple(bad)
    refused = insert_isolating(
        lambda part: engine.insert(results_table.TABLE, results_table.COLUMNS, part), rows
    )
    assert [i for i, _ in refused] == [6] and "batch_row" in refused[0][1]
    count = engine.execute(f"SELECT count() FROM {results_table.TABLE} FINAL")[0][0]
    assert count == 8
    assert json.dumps(refused)  # the message travels in a dead letter
