"""streams/table_sweep.py on a real RocksDB store (the register's, faust's rebalance machinery stubbed): a run
reads each partition's chunk a slice at a time, with the table's lock free and the loop running other
tasks between slices; the expired entries are deleted with their tombstones, the cursor wraps round at a
partition's end, and a rebalance meanwhile ends the run."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fapiao.settings import Settings
from streams import table_batch, table_sweep
from streams.app import create_app
from streams.table_store import RocksStore
from streams.table_sweep import TableSweep, sweep_once

NOW = datetime(2026, 12, 8, tzinfo=UTC)


class Outbox:
    """Records the tombstones handed on (what table_batch.send gives an outbox)."""

    def __init__(self) -> None:
        self.records: list[tuple[int, bytes, bytes | None]] = []
        self.callbacks: list[Any] = []

    async def send_many(self, topic: str, partition: int, pairs: list[tuple[bytes, bytes | None]]) -> int:
        self.records.extend((partition, k, v) for k, v in pairs)
        return len(self.records) - 1

    def after(self, callback: Any) -> None:
        self.callbacks.append(callback)


@pytest.fixture
def register(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    pipeline = create_app(Settings(data_dir=tmp_path, faust_store="rocksdb://"))
    table = pipeline.register
    rocks = table.data
    assert isinstance(rocks, RocksStore)
    monkeypatch.setattr(RocksStore, "active_partitions", lambda self: [0, 1])
    for partition, n in ((0, 600), (1, 30)):
        items = [
            (rocks.encode_key(f"{partition}:{i:04d}"), rocks.encode_value({"i": i, "old": i % 3 == 0}))
            for i in range(n)
        ]
        rocks.write_many(partition, items)
    return table


def _expired(value: Any, now: datetime, today: Any) -> bool:
    return bool(value["old"])


def _left(table: Any, partition: int) -> list[int]:
    rocks = table.data
    return [rocks.decode_value(v)["i"] for _, v in rocks.scan(partition, None, 10_000)]


async def test_a_run_judges_a_slice_at_a_time_with_the_lock_free_in_between(register: Any) -> None:
    lock, writes = table_batch.lock_of(register), []
    seen_by_the_sweep = []  # how many of the other writer's batches had run when each entry was judged

    def expired(value: Any, now: datetime, today: Any) -> bool:
        seen_by_the_sweep.append(len(writes))
        return bool(value["old"])

    async def other_writer() -> None:  # an agent's batch wanting the table meanwhile
        for _ in range(10):
            async with lock:
                writes.append(True)
            await asyncio.sleep(0)

    sweep = TableSweep(register, expired, chunk=600)
    writer = asyncio.ensure_future(other_writer())
    outbox = Outbox()
    deleted = await sweep_once(sweep, outbox, NOW, NOW.date())  # type: ignore[arg-type]
    await writer
    assert deleted == 200 + 10
    assert seen_by_the_sweep[0] == 0 and seen_by_the_sweep[-1] >= 2  # it ran (with the lock) during the run
    assert _left(register, 0) == [i for i in range(600) if i % 3]
    assert _left(register, 1) == [i for i in range(30) if i % 3]
    assert sorted((p, register.data._decode_key(k)) for p, k, v in outbox.records if v is None) == sorted(
        [(0, f"0:{i:04d}") for i in range(0, 600, 3)] + [(1, f"1:{i:04d}") for i in range(0, 30, 3)]
    )


async def test_the_cursor_goes_on_from_where_a_run_stopped_and_wraps_at_the_end(register: Any) -> None:
    sweep = TableSweep(register, _expired, chunk=table_sweep.SLICE + 50)  # one slice and part of one
    seen: list[tuple[int, int]] = []
    sweep.visit = lambda partition, key, value: seen.append((partition, value["i"]))
    await sweep_once(sweep, Outbox(), NOW, NOW.date())  # type: ignore[arg-type]
    assert sweep.cursors[0] is not None and sweep.cursors[1] is None  # partition 1 ended: wraps round
    await sweep_once(sweep, Outbox(), NOW, NOW.date())  # type: ignore[arg-type]
    await sweep_once(sweep, Outbox(), NOW, NOW.date())  # type: ignore[arg-type]
    assert sorted(i for p, i in seen if p == 0) == [i for i in range(600) if i % 3]  # each once
    assert sweep.cursors[0] is None


async def test_a_rebalance_between_slices_ends_the_run(
    register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sweep = TableSweep(register, _expired, chunk=600)
    slices = []
    judge = table_sweep._judge

    def judged(*args: Any) -> Any:
        slices.append(args[2])
        register.app.rebalancing = True  # the loop ran a rebalance's start since this slice
        return judge(*args)

    monkeypatch.setattr(table_sweep, "_judge", judged)
    deleted = await sweep_once(sweep, Outbox(), NOW, NOW.date())  # type: ignore[arg-type]
    assert slices == [0] and deleted == len(range(0, table_sweep.SLICE, 3))


class SlowOutbox(Outbox):
    """An outbox whose hand-over of a record batch takes the loop a turn per 10 records (the producer's
    accumulator, several record batches): a writer that is quicker could get its records in first."""

    async def send_many(self, topic: str, partition: int, pairs: list[tuple[bytes, bytes | None]]) -> int:
        for _ in range(len(pairs) // 10):
            await asyncio.sleep(0)
        return await super().send_many(topic, partition, pairs)


async def test_the_changelog_ends_with_what_the_store_holds_when_an_agent_rewrites_a_swept_key(
    register: Any,
) -> None:
    rocks, lock, judged = register.data, table_batch.lock_of(register), asyncio.Event()
    outbox = SlowOutbox()

    def expired(value: Any, now: datetime, today: Any) -> bool:
        judged.set()
        return bool(value["old"])

    async def agent() -> (
        None
    ):  # an agent's batch: a new entry for a key the sweep deletes (read, write, send)
        await judged.wait()
        async with lock:
            staged = table_batch.store(register, [(0, "0:0000", {"i": 0, "old": False, "new": True})])
            await table_batch.send(staged, outbox)  # type: ignore[arg-type]

    writer = asyncio.ensure_future(agent())
    await sweep_once(TableSweep(register, expired, chunk=table_sweep.SLICE), outbox, NOW, NOW.date())  # type: ignore[arg-type]
    await writer
    key = rocks.encode_key("0:0000")
    last = [v for p, k, v in outbox.records if p == 0 and k == key][-1]
    stored = rocks.scan(0, None, 1)[0]
    assert stored[0] == key and rocks.decode_value(stored[1])["new"] is True
    assert last is not None and rocks.decode_value(last)["new"] is True  # a restore gets the same entry
