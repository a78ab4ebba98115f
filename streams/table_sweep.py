"""Retention sweeps: what `fapiao.domain.retention` says has expired leaves a table as a tombstone (its
RocksDB key deleted, a None value on its changelog, so compaction drops it from the changelog too).

A sweep never reads a table whole: each run reads the next `chunk` entries of each partition this worker
holds as active (a RocksDB iterator from a cursor per partition, wrapping round at the end), so a run
costs the same at 10 thousand or 10 million entries and a full pass takes entries / chunk runs. It holds
the table's write lock (streams/table_batch.py) from the read to handing the tombstones to the producer,
so an agent's batch never writes back an entry the sweep has just judged, and an agent's new entry for a
deleted key reaches the changelog after its tombstone (a restore gets what the store holds). It skips
runs while the worker rebalances. A sweep
writes outside any event: the changelog partition of a key is that of the database it was found in
(co-partitioned with its source, like every write of the table). With a store that is not RocksDB
(memory://, unit tests) there is nothing to sweep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import faust
import structlog

from streams import table_batch
from streams.outbox import Outbox

log = structlog.get_logger(__name__)

Expired = Callable[[Any, datetime, date], bool]  # (value, now, today) -> delete it
Visit = Callable[[int, Any, Any], None]  # (partition, key, value) of an entry kept: what else to do
# (partition, key, value) of the deleted entries -> writes of other tables kept from this one (under its lock)
Also = Callable[[list[tuple[int, Any, Any]]], table_batch.Staged]


@dataclass
class TableSweep:
    table: Any
    expired: Expired
    chunk: int
    visit: Visit | None = None
    also: Also | None = None
    cursors: dict[int, bytes | None] = field(default_factory=dict)


def busy(app: faust.App) -> bool:
    """A rebalance or a table recovery is under way: partitions are moving, leave them alone."""
    recovery = getattr(app.tables, "recovery", None)
    return bool(getattr(app, "rebalancing", False) or getattr(recovery, "in_recovery", False))


# Entries read and judged per hold of the table's lock; between slices the sweep yields to the loop.
# A run read every partition's whole chunk in one go: at 12 partitions × 2,000 entries ≈ 24,000 RocksDB
# reads and JSON decodes, a 100-250 ms stall of the worker's loop once a minute (every check in flight
# waited for it), whatever the register's size.
SLICE = 250


async def sweep_once(sweep: TableSweep, outbox: Outbox, now: datetime, today: date) -> int:
    """One run of `sweep`: the next chunk of every active partition read, the expired entries deleted
    (their tombstones into `outbox`, which the caller flushes), a `SLICE` of entries at a time under the
    table's lock with the loop free in between; a rebalance meanwhile ends the run (the next one goes on
    from the cursors). Returns how many were deleted."""
    rocks = table_batch.rocks_store(sweep.table)
    if rocks is None:
        return 0
    app = sweep.table.app
    deleted = 0
    for partition in rocks.active_partitions():
        left = sweep.chunk
        while left > 0:
            if busy(app) or partition not in rocks.active_partitions():
                break  # partitions are moving (the loop ran other tasks since the last slice)
            n = min(SLICE, left)
            left -= n
            async with table_batch.lock_of(sweep.table):
                doomed, more = _judge(sweep, rocks, partition, n, now, today)
                staged = [table_batch.store(sweep.table, ((p, key, None) for p, key, _ in doomed))]
                if sweep.also is not None and doomed:
                    staged.append(sweep.also(doomed))
                for records in staged:  # under the lock, as an agent's: a later write's record follows
                    await table_batch.send(records, outbox)
            deleted += len(doomed)
            if not more:
                break  # the partition's end: the next run starts it again from the first key
            await asyncio.sleep(0)
    if deleted:
        log.info("table_entries_expired", table=sweep.table.name, deleted=deleted)
    return deleted


def _judge(
    sweep: TableSweep, rocks: Any, partition: int, n: int, now: datetime, today: date
) -> tuple[list[tuple[int, Any, Any]], bool]:
    """The next `n` entries of `partition` from its cursor judged: (the expired ones, whether the
    partition has more after them). Moves the cursor (None at the end: wrap round)."""
    found = rocks.scan(partition, sweep.cursors.get(partition), n)
    more = len(found) == n
    sweep.cursors[partition] = found[-1][0] if more else None
    doomed: list[tuple[int, Any, Any]] = []
    for raw_key, raw in found:
        key, value = rocks._decode_key(raw_key), rocks.decode_value(raw)
        if sweep.expired(value, now, today):
            doomed.append((partition, key, value))
        elif sweep.visit is not None:
            sweep.visit(partition, key, value)
    return doomed, more
