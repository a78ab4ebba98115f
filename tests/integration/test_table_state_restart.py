"""The worker's tables live in RocksDB with the changelog offset they reflect (streams/table_store.py):
a restart, after a clean stop or a kill -9 in the middle of a feed, reads back only the changelog tail
written since, not the whole changelog; an unreadable partition folder is rebuilt from its whole
changelog before anything is served from it.

Counts come from the worker's own `table_restored` log line (changelog records its recovery applied,
per table); the register's content is checked by answering checks of invoices on the rebuilt partition.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from fapiao.domain.invoice_types import invoice_key
from fapiao.kafka_auth import client_kwargs
from fapiao.settings import Settings
from fapiao.warehouse.engine import NativeEngine
from schemas.events import InvoiceIssued, Verdict
from tests.factories import check_of, issued
from tests.integration.conftest import _env, private_stack, publish_checks, publish_issued
from tests.integration.processes import cli_process, wait_for_line

INVOICES = 4000  # in the register before the restarts
TAIL = 600  # issued while the second worker runs; it is killed -9 in the middle of them
CHECKS = 20  # of invoices on the rebuilt partition


@pytest.fixture
def state_stack(tmp_path: Path) -> Iterator[tuple[Settings, NativeEngine]]:
    with private_stack("tables", tmp_path) as stack:
        yield stack


def _invoices(first: int, n: int) -> list[InvoiceIssued]:
    day = date.today() - timedelta(days=3)
    return [issued(number=f"{first + i:08d}", issue_date=day) for i in range(n)]


def _changelog(settings: Settings) -> str:
    return f"{settings.faust_app_id}-register-changelog"


async def _changelog_keys(settings: Settings) -> dict[int, set[bytes]]:
    """The distinct keys of each register changelog partition (read from its start to its end)."""
    consumer = AIOKafkaConsumer(**client_kwargs(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(_changelog(settings), p) for p in range(settings.topic_partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        keys: dict[int, set[bytes]] = {tp.partition: set() for tp in tps}
        deadline = time.monotonic() + 60
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            assert time.monotonic() < deadline, "register changelog not read within 60 s"
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                keys[tp.partition].update(r.key for r in records if r.key is not None)
        return keys
    finally:
        await consumer.stop()


async def _wait_registered(settings: Settings, proc: subprocess.Popen[bytes], log: Path, n: int) -> None:
    deadline = time.monotonic() + 120
    while sum(len(k) for k in (await _changelog_keys(settings)).values()) < n:
        assert proc.poll() is None, f"worker exited:\n{log.read_text(errors='replace')[-4000:]}"
        assert time.monotonic() < deadline, f"register did not reach {n} invoices"
        await asyncio.sleep(0.5)


def _restored(log: Path) -> int:
    """Register changelog records the worker's recovery applied (its first `table_restored` line)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text(errors="replace"))  # the console log's colours
    for line in text.splitlines():
        if "table_restored" in line and "table=register" in line:
            found = re.search(r"records=(\d+)", line)
            assert found, line
            return int(found.group(1))
    raise AssertionError(f"no table_restored line for the register in {log}")


async def test_restart_reads_only_the_changelog_tail_and_rebuilds_a_broken_partition(
    state_stack: tuple[Settings, NativeEngine], tmp_path: Path
) -> None:
    settings, engine = state_stack
    env = _env(settings) | {"BROKER_SESSION_TIMEOUT": "8", "BROKER_HEARTBEAT_INTERVAL": "1"}
    invoices = _invoices(60_000_000, INVOICES)
    await publish_issued(settings, invoices)

    # 1: the first worker folds the register, then stops cleanly
    log = tmp_path / "worker-1.log"
    with cli_process(["worker"], env, log) as worker:
        wait_for_line(worker, log, "Worker ready", 120)
        await _wait_registered(settings, worker, log, INVOICES)
    # 2: a clean restart reads (almost) nothing back; killed -9 while a new feed is folded
    log = tmp_path / "worker-2.log"
    tail = _invoices(61_000_000, TAIL)
    with cli_process(["worker"], env, log) as worker:
        wait_for_line(worker, log, "Worker ready", 120)
        after_clean_stop = _restored(log)
        await publish_issued(settings, tail)
        await _wait_registered(settings, worker, log, INVOICES + TAIL // 3)
        worker.kill()
        worker.wait(10)
    # 3: after kill -9, the restart reads the tail it had not persisted, not the changelog
    log = tmp_path / "worker-3.log"
    with cli_process(["worker"], env, log) as worker:
        wait_for_line(worker, log, "Worker ready", 120)
        after_kill = _restored(log)
        await _wait_registered(settings, worker, log, INVOICES + TAIL)
    keys = await _changelog_keys(settings)
    total = sum(len(k) for k in keys.values())
    assert total == INVOICES + TAIL
    assert after_clean_stop <= total // 100, f"a clean restart read {after_clean_stop} of {total} records"
    assert after_kill <= TAIL + total // 100, f"a restart after kill -9 read {after_kill} of {total} records"

    # 4: partition 0's folder is broken: the worker says so, reads that partition's whole changelog, and
    # answers from the rebuilt partition
    folders = sorted((settings.data_dir / settings.faust_app_id).rglob("register-0.db"))
    assert len(folders) == 1, folders
    (folders[0] / "CURRENT").write_text("not a manifest name\n")
    log = tmp_path / "worker-4.log"
    with cli_process(["worker"], env, log) as worker:
        wait_for_line(worker, log, "Worker ready", 120)
        text = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text(errors="replace"))
        assert "table_partition_rebuilt" in text and "partition=0" in text, text[-4000:]
        assert _restored(log) >= len(keys[0]), f"rebuilt partition 0 from {_restored(log)} records"
        on_zero = {k.decode().strip('"') for k in keys[0]}
        asked = [i for i in invoices if invoice_key(i.invoice_code, i.invoice_number) in on_zero][:CHECKS]
        assert len(asked) == CHECKS
        checks = [check_of(i, requested_at=datetime.now(UTC)) for i in asked]
        await publish_checks(settings, checks)
        deadline = time.monotonic() + 60
        query = "SELECT toString(check_id), verdict FROM check_results FINAL"
        while len(rows := engine.execute(query)) < CHECKS:
            assert worker.poll() is None and time.monotonic() < deadline, f"{len(rows)} of {CHECKS} answered"
            await asyncio.sleep(0.5)
    assert {check_id for check_id, _ in rows} == {str(c.check_id) for c in checks}
    assert {verdict for _, verdict in rows} == {Verdict.CONSISTENT.value}
