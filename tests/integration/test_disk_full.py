"""A full disk (issue 13, "Bad input and faults"): the worker stops with a clear error and commits nothing
it could not store.

The disk is made full for the worker alone with RLIMIT_FSIZE (no root needed: a loop-mounted small
filesystem would need it): past the limit every write of its files fails with EFBIG, as ENOSPC does on
a full disk — RocksDB's write-ahead log first. The worker's log is a file the test opened, written by
the worker too, so the limit is far above what it logs. Checked: exit 75 (crash-only, the supervisor's
"try again later") with `worker_infrastructure_failure` naming the error; every issuance below the
group's committed offset of its partition is in the register's changelog (nothing committed that was not
stored; the first 1,000 are committed before the rest fills the disk, so that is not vacuous), the fold
stopped short of the feed. (That a restart after exit 75 answers what was redelivered is
test_fault_injection's infrastructure test.)
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from fapiao import topics
from fapiao.domain.invoice_types import invoice_key
from fapiao.kafka_auth import client_kwargs
from fapiao.settings import Settings
from fapiao.warehouse.engine import NativeEngine
from streams.error_policy import EXIT_INFRASTRUCTURE
from tests.factories import issued
from tests.integration.conftest import _env, private_stack, publish_issued
from tests.integration.processes import ROOT

INVOICES = 4000
FIRST = 1000  # stored and committed before the rest of the feed fills the disk
FILE_LIMIT = 512 * 1024  # bytes per file: each partition's RocksDB log passes it after a few hundred entries


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Settings, NativeEngine]]:
    with private_stack("diskfull", tmp_path) as stack:
        yield stack


def _limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))


async def _publish(settings: Settings, numbers: range) -> set[bytes]:
    day = date.today() - timedelta(days=3)
    invoices = [issued(number=f"{30_000_000 + i:08d}", issue_date=day) for i in numbers]
    await publish_issued(settings, invoices)
    return {invoice_key(i.invoice_code, i.invoice_number).encode() for i in invoices}


async def _read(settings: Settings, topic: str) -> dict[int, list[tuple[int, bytes]]]:
    """(offset, key) of every record of each partition of `topic`, from its start to its end."""
    consumer = AIOKafkaConsumer(**client_kwargs(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: dict[int, list[tuple[int, bytes]]] = {tp.partition: [] for tp in tps}
        deadline = time.monotonic() + 60
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            assert time.monotonic() < deadline, f"{topic} not read within 60 s"
            for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                found[tp.partition] += [(r.offset, r.key) for r in records if r.key is not None]
        return found
    finally:
        await consumer.stop()


async def _committed(settings: Settings, topic: str) -> dict[int, int]:
    admin = AIOKafkaAdminClient(**client_kwargs(settings), request_timeout_ms=15000)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(settings.faust_app_id)
    finally:
        await admin.close()
    return {
        tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0
    }


def _stored(changelog: dict[int, list[tuple[int, bytes]]]) -> set[bytes]:
    return {key.strip(b'"') for records in changelog.values() for _, key in records}  # JSON keys


async def test_a_full_disk_stops_the_worker_and_commits_nothing_it_did_not_store(
    stack: tuple[Settings, NativeEngine], tmp_path: Path
) -> None:
    settings, _ = stack
    wanted = await _publish(settings, range(FIRST))
    issued_topic = settings.topic(topics.INVOICES_ISSUED.name)
    changelog = f"{settings.faust_app_id}-register-changelog"

    log = tmp_path / "worker-disk-full.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "worker"],
            cwd=ROOT,
            env=_env(settings),
            stdout=out,
            stderr=out,
            preexec_fn=_limit_files,
        )
    try:
        deadline = time.monotonic() + 120
        while sum((await _committed(settings, issued_topic)).values()) < FIRST:
            assert proc.poll() is None, log.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, "the first invoices were not committed within 120 s"
            await asyncio.sleep(0.5)
        wanted |= await _publish(settings, range(FIRST, INVOICES))
        code = await asyncio.to_thread(proc.wait, 180)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text(errors="replace")
    assert code == EXIT_INFRASTRUCTURE, f"exit {code}:\n{text[-4000:]}"
    assert "worker_infrastructure_failure" in text and "File too large" in text, text[-4000:]

    committed = await _committed(settings, issued_topic)
    feed = await _read(settings, issued_topic)
    stored = _stored(await _read(settings, changelog))
    below = {key for p, records in feed.items() for offset, key in records if offset < committed.get(p, 0)}
    assert len(below) >= FIRST  # the check below is not vacuous
    assert below <= stored, f"{len(below - stored)} issuances committed but not in the register"
    assert len(stored) < len(wanted), "the worker stored the whole feed: the disk limit was never hit"
