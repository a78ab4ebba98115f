"""Many entries of a Faust table read and written at once: one RocksDB multi-get and one write batch per
partition, the changelog records handed to the producer back to back (streams/outbox.py).

Why not `table[key] = value` per entry: faust encodes the value twice (store and changelog), puts it in
RocksDB, queues its changelog record in a buffer that sends one message at a time, and on every
acknowledged record puts the persisted offset into RocksDB again. At a bulk feed that was most of the
register agent's time (docs/benchmarks.md, "register fold: where the time went").

What stays faust's: the RocksDB database of each partition, the changelog topic and its records (key and
value in the table's own serializers, so recovery and standbys read them as faust's; a tombstone for a
deleted key), the data written before its changelog record and the persisted offset after the record is
acknowledged (so a restart reads the same tail). The records of a partition go to the producer as whole
record batches (`Outbox.send_many`). Only for tables whose default is None (a missing key
reads as None). A store that is not RocksDB (memory://, unit tests) takes faust's per-key path.

Reads and writes happen without an await between them (`store` is synchronous; the sends come after),
and `lock_of(table)` is held by every read-modify-write of a table (agents' batches and the sweeps), so
two writers of one table (the register and verify agents, the register sweep) never interleave.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import faust
from faust.types import TP

from streams.outbox import Outbox
from streams.table_store import RocksStore

Key = str


def lock_of(table: Any) -> asyncio.Lock:
    """The lock every read-modify-write of `table` holds (one per table object, kept on it: faust's
    tables are not hashable)."""
    lock = getattr(table, "_fapiao_write_lock", None)
    if lock is None:
        lock = asyncio.Lock()
        table._fapiao_write_lock = lock
    return lock


def rocks_store(table: Any) -> RocksStore | None:
    store = getattr(table, "data", None)
    return store if isinstance(store, RocksStore) else None


def _set_current_event(event: faust.EventT) -> None:
    from streams.batch_events import set_current_event  # no import cycle at module load

    set_current_event(event)


def read_many(table: Any, keyed: Iterable[tuple[faust.EventT, Key]]) -> dict[Key, Any]:
    """The entry (or None) of every key, each read once, in the partition of its event."""
    store = rocks_store(table)
    entries: dict[Key, Any] = {}
    if store is None:
        for event, key in keyed:
            if key not in entries:
                _set_current_event(event)
                entries[key] = table.get(key)
        return entries
    by_partition: dict[int, list[Key]] = {}
    for event, key in keyed:
        if key not in entries:
            entries[key] = None
            by_partition.setdefault(event.message.partition, []).append(key)
    for partition, keys in by_partition.items():
        raws = store.read_many(partition, [store.encode_key(key) for key in keys])
        for key, raw in zip(keys, raws, strict=True):
            entries[key] = None if raw is None else store.decode_value(raw)
    return entries


@dataclass
class Staged:
    """Changelog records of entries already in RocksDB, by partition, still to be sent."""

    table: Any
    records: dict[int, list[tuple[bytes, bytes | None]]]

    def __len__(self) -> int:
        return sum(len(r) for r in self.records.values())


def store(table: Any, items: Iterable[tuple[int, Key, Any]]) -> Staged:
    """Write (partition, key, value) into the table's RocksDB databases (value None deletes the key), one
    write batch per partition; returns the changelog records to `send`. Synchronous on purpose (no
    other coroutine runs between a caller's reads and this write)."""
    rocks = rocks_store(table)
    assert rocks is not None, "store() needs the RocksDB store; use write_many"
    records: dict[int, list[tuple[bytes, bytes | None]]] = {}
    for partition, key, value in items:
        encoded = None if value is None else rocks.encode_value(value)
        records.setdefault(partition, []).append((rocks.encode_key(key), encoded))
    for partition, pairs in records.items():
        rocks.write_many(partition, pairs)
    return Staged(table, records)


async def send(staged: Staged, outbox: Outbox) -> None:
    """Hand the staged changelog records to `outbox`; once they are acknowledged (the outbox's flush),
    each partition's persisted offset moves to its last record (never back)."""
    if not staged.records:
        return
    rocks = rocks_store(staged.table)
    assert rocks is not None
    topic = staged.table.changelog_topic.get_topic_name()
    last: dict[int, int] = {}
    for partition, pairs in staged.records.items():
        last[partition] = await outbox.send_many(topic, partition, pairs)

    def persist(acks: list[Any]) -> None:
        for partition, index in last.items():
            tp = TP(topic, partition)
            offset = acks[index].offset
            current = rocks.persisted_offset(tp)
            if current is None or offset > current:
                rocks.set_persisted_offset(tp, offset)

    outbox.after(persist)


async def write_many(
    table: Any, events: Mapping[Key, faust.EventT], entries: Mapping[Key, Any], outbox: Outbox | None
) -> None:
    """Store each entry once (None deletes it) in the partition of its key's event; with RocksDB its
    changelog records go to `outbox` (the caller flushes it), else through faust's per-key path."""
    if rocks_store(table) is None or outbox is None:
        for key, entry in entries.items():
            _set_current_event(events[key])
            if entry is None:
                table.pop(key, None)
            else:
                table[key] = entry
        return
    staged = store(table, ((events[key].message.partition, key, entry) for key, entry in entries.items()))
    await send(staged, outbox)
