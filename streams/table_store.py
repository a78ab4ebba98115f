"""The worker's table store: faust's RocksDB store (the `rocksdict` driver), which keeps each table
partition's state on disk together with the changelog offset it reflects, so a restart (clean stop or
kill -9) reads back only the changelog tail written since (faust/stores/rocksdb.py: `set_persisted_offset`
writes the offset into the partition's own database, after the data; recovery seeks to it).

What this subclass adds, none of which changes how faust recovers:

- the driver is always `rocksdict` (faust would pick python-rocksdb if it were installed), with memory
  bounds per database (`MEMORY_BOUNDS`);
- a partition folder RocksDB cannot open (corrupt files, a half-deleted folder) is moved aside to
  `<folder>.broken-<time>` and the partition rebuilt from its whole changelog, and a missing one is
  said to be rebuilt too: both in the log (`table_partition_rebuilt`, `table_partition_missing`).
  The fresh database has no persisted offset, so faust's recovery reads the changelog from its start
  before any agent runs: a partition is never served half-restored. A lock held by another process
  (a second worker on the same data dir) is not corruption and is left to faust's own retry;
- how many changelog records the recovery applied, per table, logged when recovery completes
  (`table_restored`), so a test and the register-scale benchmark can see that a restart read the tail;
- reads and writes of many keys of one partition at once (`read_many`: a multi-get; `write_many`: one
  write batch), for streams/table_batch.py, with the keys and values of a JSON table encoded and
  decoded by orjson directly (`encode_key`, `encode_value`, `decode_value`): the same bytes and values
  as faust's serializer registry, which wraps the same orjson call in four layers of dispatch and
  copies every value read into a str first (~10 % of the register's fold: docs/benchmarks.md).

Registered under the `rocksdb://` scheme (`settings.faust_store`) when `streams.app` is imported.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
import rocksdict
import structlog
from faust import stores
from faust.stores import rocksdb
from faust.types import TP, EventT
from faust.utils import json as faust_json

from schemas.stored_issued import StoredJSON

log = structlog.get_logger(__name__)

SCHEME = "rocksdb"

# faust opens one RocksDB per table partition (3 tables x 12 partitions) with a 2 GiB block cache and
# 3 x 64 MiB memtables each: on a register of millions of invoices that is tens of GiB of RSS at worst.
# Per database here: at most 2 x 8 MiB of memtables and a 16 MiB block cache (36 databases: ~1.2 GiB at
# the very worst, most of it only for the register's partitions; the OS page cache serves the rest).
MEMORY_BOUNDS: dict[str, int] = {
    "write_buffer_size": 8 * 2**20,
    "max_write_buffer_number": 2,
    "block_cache_size": 16 * 2**20,
}


# what faust's json codec passes to orjson (faust/utils/json.py `dumps`, when orjson is installed)
_FAUST_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z


def _orjson_value(value: Any) -> bytes:
    if type(value) is dict:
        for inner in value.values():
            if type(inner) is StoredJSON:  # a field that carries its own JSON: written as those bytes
                value = {k: orjson.Fragment(v.json) if type(v) is StoredJSON else v for k, v in value.items()}
                break
    return orjson.dumps(value, default=faust_json.on_default, option=_FAUST_ORJSON_OPTIONS)


def _is_lock_error(exc: BaseException) -> bool:
    return "lock" in repr(exc).lower()


class RocksStore(rocksdb.Store):  # type: ignore[misc]
    """`faust.stores.rocksdb.Store` with the rocksdict driver, rebuilding of unreadable partitions and a
    count of the changelog records each recovery read (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["driver"] = "rocksdict"
        options = dict(kwargs.get("options") or {})
        options.pop("driver", None)  # faust pops it from the table's dict: ours wins either way
        kwargs["options"] = MEMORY_BOUNDS | options
        super().__init__(*args, **kwargs)
        self.use_rocksdict = True
        self.rocksdb_options.use_rocksdict = True
        self.restored_records = 0
        # orjson directly only where faust would call exactly it: the json codec, no model type
        self._json_keys = self.key_serializer == "json" and self.key_type is None
        self._json_values = self.value_serializer == "json" and self.value_type is None
        self._json_available = faust_json.orjson is not None

    def encode_key(self, key: Any) -> bytes:
        """`key` as faust's `_encode_key` writes it (orjson's JSON of a str key, for a JSON table)."""
        if self._json_keys and self._json_available and type(key) is str:
            return orjson.dumps(key)
        return self._encode_key(key)

    def encode_value(self, value: Any) -> bytes | None:
        """`value` as faust's `_encode_value` writes it (for a JSON table, a dict or list value: the
        same orjson call, options and default)."""
        if self._json_values and self._json_available and type(value) in (dict, list):
            return _orjson_value(value)
        return self._encode_value(value)

    def decode_value(self, raw: bytes) -> Any:
        """`raw` as faust's `_decode_value` reads it: for a JSON table orjson's value, unless it is a
        dict faust would make a model of (a `__faust` field)."""
        if self._json_values and self._json_available:
            value = orjson.loads(raw)
            if type(value) is not dict or "__faust" not in value:
                return value
        return self._decode_value(raw)

    def _open_for_partition(self, partition: int) -> Any:
        path = Path(self.partition_path(partition))
        if not path.exists():
            log.info(
                "table_partition_missing",
                table=self.table_name,
                partition=partition,
                path=str(path),
                action="reading its whole changelog",
            )
        try:
            return super()._open_for_partition(partition)
        except Exception as exc:
            if _is_lock_error(exc):
                raise  # another process holds it: faust retries (assign_partitions) or gives up
            aside = path.with_name(f"{path.name}.broken-{int(time.time())}")
            path.rename(aside)
            log.warning(
                "table_partition_rebuilt",
                table=self.table_name,
                partition=partition,
                error=repr(exc)[:300],
                moved_to=str(aside),
                action="reading its whole changelog",
            )
            return super()._open_for_partition(partition)

    def read_many(self, partition: int, keys: Sequence[bytes]) -> list[bytes | None]:
        """The raw values of `keys` (None where absent) in one partition's database: one multi-get."""
        return list(self._db_for_partition(partition).get(list(keys)))

    def write_many(self, partition: int, items: Iterable[tuple[bytes, bytes | None]]) -> None:
        """Put (or, for value None, delete) raw keys in one partition's database: one write batch."""
        batch = rocksdict.WriteBatch(raw_mode=True)
        for key, value in items:
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        self._db_for_partition(partition).write(batch)

    def scan(self, partition: int, after: bytes | None, limit: int) -> list[tuple[bytes, bytes]]:
        """Up to `limit` raw (key, value) pairs of one partition's database in key order, from the first
        key after `after` (None: from the start); faust's own offset key is skipped. A sweep reads a
        table this way a chunk at a time, never whole."""
        it = self._db_for_partition(partition).iter()
        if after is None:
            it.seek_to_first()
        else:
            it.seek(after)
            if it.valid() and it.key() == after:
                it.next()
        found: list[tuple[bytes, bytes]] = []
        while it.valid() and len(found) < limit:
            key = it.key()
            if key != self.offset_key:
                found.append((key, it.value()))
            it.next()
        return found

    def active_partitions(self) -> list[int]:
        """Partitions this worker holds as active (not standby) and has opened."""
        actives = self.app.assignor.assigned_actives()
        topic = self.table.changelog_topic.get_topic_name()
        return sorted(p for p in list(self._dbs) if TP(topic=topic, partition=p) in actives)

    def apply_changelog_batch(
        self, batch: Iterable[EventT], to_key: Callable[[Any], Any], to_value: Callable[[Any], Any]
    ) -> None:
        events = list(batch)
        self.restored_records += len(events)
        super().apply_changelog_batch(events, to_key, to_value)

    async def on_recovery_completed(self, active_tps: set[TP], standby_tps: set[TP]) -> None:
        await super().on_recovery_completed(active_tps, standby_tps)
        log.info(
            "table_restored",
            table=self.table_name,
            records=self.restored_records,
            active_partitions=len(active_tps),
            standby_partitions=len(standby_tps),
        )
        self.restored_records = 0


def register() -> None:
    """Make `rocksdb://` mean `RocksStore` (faust's store registry maps URL schemes to classes)."""
    stores.STORES.aliases[SCHEME] = f"{__name__}:RocksStore"
