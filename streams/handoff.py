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
another worker, a message written by another producer, an event not held because the hand-off was
full, see CAPACITY) is a miss, and the consumer decodes the bytes as before, under its error policy.
Each event is taken at most once: a redelivered record is decoded again.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar, cast

import structlog
from pydantic import BaseModel

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=BaseModel)

# Events held per hand-off. A backlog's verify stage runs up to ~6,000 verdicts ahead of its risk stage
# (20k-check run, 5ecf205), and a held CheckVerified is ~12 KB (model + bytes, tracemalloc), so a full
# hand-off holds ~100 MB. Full, it keeps the events it holds (the consumer reads the oldest first:
# dropping those would turn a lag beyond the capacity into no hit at all) and does not hold the new one,
# unless the oldest is older than MAX_AGE_SECONDS: then that one leaves (an event nobody here takes, e.g.
# of a partition another worker consumes, stays at most that long once the hand-off is full).
CAPACITY = 8192
MAX_AGE_SECONDS = 10.0
_LOG_EVERY = 10_000  # takes between two log lines of the counts


class Handoff(Generic[M]):
    """Events by the exact bytes they were published as, at most `capacity` (see the module doc)."""

    def __init__(
        self,
        name: str,
        capacity: int = CAPACITY,
        max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.capacity = capacity
        self.max_age = max_age
        self.clock = clock
        self._held: dict[bytes, tuple[M, float]] = {}  # value -> (event, when it was put), oldest first
        self.hits = self.misses = self.refused = 0

    def __len__(self) -> int:
        return len(self._held)

    def put(self, value: bytes, event: M) -> None:
        held, now = self._held, self.clock()
        if len(held) >= self.capacity:
            oldest = next(iter(held))
            if now - held[oldest][1] < self.max_age:
                self.refused += 1  # full of events still to be taken: this one will be decoded
                return
            del held[oldest]
        held[value] = (event, now)

    def take(self, value: bytes | None) -> M | None:
        """The event published as exactly `value`, once (None: decode `value` instead)."""
        found = self._held.pop(value, None) if value is not None else None
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        if (self.hits + self.misses) % _LOG_EVERY == 0:
            log.info(
                "handoff",
                name=self.name,
                hits=self.hits,
                misses=self.misses,
                refused=self.refused,
                held=len(self._held),
            )
        return found[0] if found is not None else None


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
