"""Hand-offs between the worker's stages: a decoded event passed on by its exact encoded value.

The verify agent publishes `checks.verified` and the risk agent of the same process consumes it; the
risk agent publishes `checks.results` and the sink of the same process writes it to ClickHouse. Each
message goes through Kafka (at least once, co-partitioning, the sink's own group), but the consumer
would parse JSON its own process encoded a moment earlier: ~33 µs per verdict (CheckVerified) and
~26 µs per result (CheckResult), re-validating what was validated when the event was built.

So the producing stage `put`s the event under the bytes it sent, and the consuming stage `take`s it
by the bytes it received. A hit is exact: the key is the whole encoded value, so the event taken is
the one those very bytes were encoded from (pydantic's JSON round-trips the schemas' events, checked
in tests/unit/test_handoff.py). Anything else (a redelivery after a restart, a partition served by
another worker, a message written by another producer, an event evicted by a lag beyond the
capacity) is a miss, and the consumer decodes the bytes as before, under its error policy. Each event
is taken at most once: a redelivered record is decoded again.
"""

from __future__ import annotations

import weakref
from typing import Generic, TypeVar, cast

import structlog
from pydantic import BaseModel

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=BaseModel)

# events held per hand-off: the consuming stage runs a few batches (500 records) behind the producing
# one in a backlog; beyond this the oldest are dropped (their consumer decodes them). ~4 KB each.
CAPACITY = 8192
_LOG_EVERY = 10_000  # takes between two log lines of the hit and miss counts


class Handoff(Generic[M]):
    """Events by the exact bytes they were published as, oldest dropped first (see the module doc)."""

    def __init__(self, name: str, capacity: int = CAPACITY) -> None:
        self.name = name
        self.capacity = capacity
        self._held: dict[bytes, M] = {}
        self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._held)

    def put(self, value: bytes, event: M) -> None:
        held = self._held
        if len(held) >= self.capacity:
            del held[next(iter(held))]
        held[value] = event

    def take(self, value: bytes | None) -> M | None:
        """The event published as exactly `value`, once (None: decode `value` instead)."""
        event = self._held.pop(value, None) if value is not None else None
        if event is None:
            self.misses += 1
        else:
            self.hits += 1
        if (self.hits + self.misses) % _LOG_EVERY == 0:
            log.info("handoff", name=self.name, hits=self.hits, misses=self.misses, held=len(self._held))
        return event


_HANDOFFS: weakref.WeakKeyDictionary[object, dict[type[BaseModel], Handoff[BaseModel]]] = (
    weakref.WeakKeyDictionary()
)


def handoff_of(app: object, schema: type[M]) -> Handoff[M]:
    """The app's hand-off of `schema` events (one per worker app: tests run several apps in one process)."""
    named = _HANDOFFS.setdefault(app, {})
    found = named.get(schema)
    if found is None:
        found = named[schema] = cast(Handoff[BaseModel], Handoff[M](schema.__name__))
    return cast(Handoff[M], found)
