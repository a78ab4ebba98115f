"""Batched agents' table access: each entry a batch touches is read once and written once.

`take_events` leaves no current event, and faust's RocksDB store reads and writes the partition of
the current event (a table is co-partitioned with its source): `set_current_event` sets faust's context
variable to the event of the key before each read and write.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import faust
from faust.streams import _current_event


def set_current_event(event: faust.EventT) -> None:
    """Batched processing (take_events) leaves no current event, and a table write needs one to pick its
    changelog partition (the event's own, which keeps the table co-partitioned with its source).

    Only faust's context variable is set: `Stream._set_current_event` would also overwrite the stream's
    `current_event`, which take_events' buffering reads concurrently — that swapped events in a batch
    (one event twice, its neighbour lost)."""
    _current_event.set(weakref.ref(event))


def read_entries(table: faust.types.TableT, keyed: Iterable[tuple[faust.EventT, str]]) -> dict[str, Any]:
    """The table's entry (or None) of every key, each read once, in its event's partition."""
    entries: dict[str, Any] = {}
    for event, key in keyed:
        if key not in entries:
            set_current_event(event)
            entries[key] = table.get(key)
    return entries


def write_entries(
    table: faust.types.TableT, events: Mapping[str, faust.EventT], entries: Mapping[str, Any]
) -> None:
    """Store each changed entry once (its changelog record goes to its event's partition)."""
    for key, entry in entries.items():
        set_current_event(events[key])
        table[key] = entry
