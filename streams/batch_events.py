"""Batched agents' shared work: each entry a batch touches is read once and written once, around a pure step.

`take_events` leaves no current event, and faust's RocksDB store reads and writes the partition of
the current event (a table is co-partitioned with its source): `set_current_event` sets faust's context
variable to the event of the key before each read and write.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, TypeVar

import faust
from faust.streams import _current_event

from fapiao.domain import steps
from streams.error_policy import StagePolicy


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


V = TypeVar("V")
Step = Callable[[Mapping[str, Any], list[V]], steps.Outcome]


async def step_over_batch(
    policy: StagePolicy,
    table: faust.types.TableT,
    events: list[faust.EventT],
    parse: Callable[[faust.EventT], tuple[str, V]],
    step: Step[V],
) -> steps.Outcome:
    """A batched agent's work on one batch, the same for the register and the verify agent: each
    message parsed once under the stage's error policy (an unreadable one goes to checks.dlq), the entries
    of the batch's keys read once, the pure `step` over the batch, the changed entries written once.
    Should the step raise for the whole batch (infrastructure errors crash), its events are stepped one
    at a time under the policy, so only the guilty one is dead-lettered. Returns the step's outcome (the
    caller publishes its outputs)."""
    parsed: list[tuple[faust.EventT, str, V]] = []
    for event in events:
        got = await policy.run(event, partial(parse, event))
        if got is not None:
            parsed.append((event, *got))
    if not parsed:
        return steps.Outcome()
    entries = read_entries(table, ((event, key) for event, key, _ in parsed))
    try:
        out = step(entries, [value for _, _, value in parsed])
    except Exception as exc:
        policy.check_batch_error(exc)
        out = steps.Outcome()
        for event, key, value in parsed:
            one = await policy.run(event, partial(step, {key: entries[key]}, [value]))
            if one is not None:
                entries.update(one.entries)
                out.add(one)
    write_entries(table, {key: event for event, key, _ in parsed}, out.entries)
    return out
