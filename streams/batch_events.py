"""Batched agents' shared work: each entry a batch touches is read once and written once, around a pure step.

The reads and writes are streams/table_batch.py's (one multi-get and one write batch per partition, the
changelog records into the batch's outbox), each entry in the partition of its event (a table is
co-partitioned with its source). Where faust's own per-key path is taken (memory:// tables, the risk
agent's reads), `take_events` leaves no current event, and faust's store reads and writes the partition
of the current event: `set_current_event` sets faust's context variable to the event of the key first.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import faust
from faust.streams import _current_event

from fapiao.domain import steps
from streams import metrics, table_batch
from streams.bulk_feed import Finish
from streams.error_policy import StagePolicy
from streams.outbox import Outbox


def set_current_event(event: faust.EventT) -> None:
    """Batched processing (take_events) leaves no current event, and a table write needs one to pick its
    changelog partition (the event's own, which keeps the table co-partitioned with its source).

    Only faust's context variable is set: `Stream._set_current_event` would also overwrite the stream's
    `current_event`, which take_events' buffering reads concurrently — that swapped events in a batch
    (one event twice, its neighbour lost)."""
    _current_event.set(weakref.ref(event))


V = TypeVar("V")
Step = Callable[[Mapping[str, Any], list[V]], steps.Outcome]


@dataclass(frozen=True)
class Index:
    """A second table kept from the first one's entries, written in the same batch and under the same
    lock (sync_holds from the register): `changes(before, after)` gives its new values (None deletes)
    for the entries a batch wrote."""

    table: Any
    changes: Callable[[Mapping[str, Any], Mapping[str, Any]], Mapping[str, Any]]


async def step_over_batch(
    policy: StagePolicy,
    table: faust.types.TableT,
    events: list[faust.EventT],
    parse: Callable[[faust.EventT], tuple[str, V]],
    step: Step[V],
    outbox: Outbox | None = None,
    index: Index | None = None,
) -> steps.Outcome:
    """A batched agent's work on one batch, the same for the register and the verify agent: each
    message parsed once under the stage's error policy (an unreadable one goes to checks.dlq), the entries
    of the batch's keys read once, the pure `step` over the batch, the changed entries written once.
    Should the step raise for the whole batch (infrastructure errors crash), its events are stepped one
    at a time under the policy, so only the guilty one is dead-lettered. The changed entries' changelog
    records go to `outbox` (the caller adds its outputs and flushes it before it acknowledges the
    batch). `index`, if any, is written from the changed entries in the same go. Returns the step's
    outcome (the caller publishes its outputs)."""
    parsed: list[tuple[faust.EventT, str, V]] = []
    for event in events:
        try:  # the common case without a coroutine per event; a failure goes through the policy
            policy.inject(event)
            got = parse(event)
        except Exception:
            got = await policy.run(event, partial(parse, event))  # the same failure, dead-lettered
        if got is not None:
            parsed.append((event, *got))
    if not parsed:
        return steps.Outcome()
    async with table_batch.lock_of(table):
        return await _step_locked(policy, table, parsed, step, outbox, index)


async def _step_locked(
    policy: StagePolicy,
    table: faust.types.TableT,
    parsed: list[tuple[faust.EventT, str, V]],
    step: Step[V],
    outbox: Outbox | None,
    index: Index | None,
) -> steps.Outcome:
    entries = table_batch.read_many(table, ((event, key) for event, key, _ in parsed))
    before = dict(entries)
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
    events = {key: event for event, key, _ in parsed}
    if index is None:
        await table_batch.write_many(table, events, out.entries, outbox)
        return out
    derived = index.changes(before, out.entries)
    if table_batch.rocks_store(table) is None or outbox is None:
        await table_batch.write_many(table, events, out.entries, outbox)
        await table_batch.write_many(index.table, events, derived, outbox)
        return out
    # both stored before the first await (no other writer in between), then both sent
    staged = [
        table_batch.store(table, ((events[k].message.partition, k, v) for k, v in out.entries.items())),
        table_batch.store(index.table, ((events[k].message.partition, k, v) for k, v in derived.items())),
    ]
    for records in staged:
        await table_batch.send(records, outbox)
    return out


def crash_only(
    policy: StagePolicy, work: Callable[[list[faust.EventT]], Awaitable[Finish | None]]
) -> Callable[[list[faust.EventT]], Awaitable[Finish | None]]:
    """A batched stage's handler (streams/bulk_feed.py): counts the batch's events and does `work`; a table
    write or a send that failed (they raise out of `work`, or out of the finish it returns: the wait for
    its outputs' acknowledgements) exits the worker before the batch is acked."""

    async def handle(events: list[faust.EventT]) -> Finish | None:
        metrics.EVENTS.labels(agent=policy.stage).inc(len(events))
        try:
            done = await work(events)
        except Exception as exc:
            policy.on_crash(policy.stage, exc)
            return None
        return None if done is None else _crash_only_finish(policy, done)

    return handle


def _crash_only_finish(policy: StagePolicy, done: Finish) -> Finish:
    async def finish() -> None:
        try:
            await done()
        except Exception as exc:
            policy.on_crash(policy.stage, exc)

    return finish
