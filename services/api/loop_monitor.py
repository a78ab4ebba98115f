"""Is the API's event loop stalling? Two cheap probes, exported as Prometheus histograms.

- Event-loop lag: a task sleeps `interval` seconds over and over; how much later than asked it wakes
  up is the time some callback held the loop (or the process was not scheduled). A healthy loop
  shows lags well under a millisecond; every request waits behind a stall.
- Garbage-collection pauses: `gc.callbacks` time every collection, by generation. A full (gen 2)
  collection walks every tracked object of the process, so a large heap of small objects turns into
  pauses of the whole loop.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Histogram

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

LOOP_LAG = Histogram(
    "fapiao_api_event_loop_lag_seconds",
    "How much later than scheduled the API's event loop ran a periodic probe (time the loop was held)",
    buckets=_BUCKETS,
)
GC_PAUSE = Histogram(
    "fapiao_api_gc_pause_seconds",
    "Garbage-collection pauses of the API process",
    ["generation"],
    buckets=_BUCKETS,
)


def lag(asked_at: float, woke_at: float, interval: float) -> float:
    """How late a sleep of `interval` begun at `asked_at` woke up at `woke_at` (never negative)."""
    return max(0.0, woke_at - asked_at - interval)


async def watch_loop(interval: float, observe: Callable[[float], None] = LOOP_LAG.observe) -> None:
    """Run forever (cancel to stop): observe the lag of each `interval`-second sleep."""
    loop = asyncio.get_running_loop()
    while True:
        asked_at = loop.time()
        await asyncio.sleep(interval)
        observe(lag(asked_at, loop.time(), interval))


class GcTimer:
    """A `gc.callbacks` entry observing each collection's duration, by generation."""

    def __init__(self, observe: Callable[[int, float], None]) -> None:
        self._observe = observe
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started:
            self._observe(int(info.get("generation", -1)), time.perf_counter() - self._started)
            self._started = 0.0


def _observe_gc(generation: int, seconds: float) -> None:
    GC_PAUSE.labels(str(generation)).observe(seconds)


_GC_TIMER = GcTimer(_observe_gc)


def time_gc() -> None:
    """Start timing this process's garbage collections (once per process, however often called)."""
    if _GC_TIMER not in gc.callbacks:
        gc.callbacks.append(_GC_TIMER)


def freeze_start_up_heap() -> None:
    """Move every object alive after start-up (modules, routes, schemas, clients) to the collector's
    permanent generation: full collections then walk only what the running API creates."""
    gc.collect()
    gc.freeze()
