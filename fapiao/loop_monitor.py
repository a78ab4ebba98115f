"""Is a process's event loop stalling? Two cheap probes, exported as Prometheus histograms, in the API
(`fapiao_api_…`) and the worker (`fapiao_worker_…`).

- Event-loop lag: a task sleeps `interval` seconds over and over; how much later than asked it wakes
  up is the time some callback held the loop (or the process was not scheduled). A healthy loop
  shows lags well under a millisecond; every request or event waits behind a stall.
- Garbage-collection pauses: `gc.callbacks` time every collection, by generation. A full (gen 2)
  collection walks every tracked object of the process, so a large heap of small objects turns into
  pauses of the whole loop.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Histogram

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(frozen=True)
class StallMetrics:
    """The two histograms of one kind of process (`process` names them: api, worker)."""

    process: str
    loop_lag: Histogram
    gc_pause: Histogram

    @classmethod
    def named(cls, process: str) -> StallMetrics:
        return cls(
            process,
            Histogram(
                f"fapiao_{process}_event_loop_lag_seconds",
                f"How much later than scheduled the {process}'s event loop ran a periodic probe "
                "(time the loop was held)",
                buckets=_BUCKETS,
            ),
            Histogram(
                f"fapiao_{process}_gc_pause_seconds",
                f"Garbage-collection pauses of the {process} process",
                ["generation"],
                buckets=_BUCKETS,
            ),
        )


API = StallMetrics.named("api")
WORKER = StallMetrics.named("worker")


def lag(asked_at: float, woke_at: float, interval: float) -> float:
    """How late a sleep of `interval` begun at `asked_at` woke up at `woke_at` (never negative)."""
    return max(0.0, woke_at - asked_at - interval)


async def watch_loop(interval: float, observe: Callable[[float], None]) -> None:
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


_TIMERS: dict[str, GcTimer] = {}


def time_gc(metrics: StallMetrics) -> None:
    """Time this process's garbage collections into `metrics` (one timer per process, however often
    called)."""
    if metrics.process not in _TIMERS:
        pause = metrics.gc_pause
        _TIMERS[metrics.process] = GcTimer(lambda gen, seconds: pause.labels(str(gen)).observe(seconds))
        gc.callbacks.append(_TIMERS[metrics.process])


def freeze_start_up_heap(young_threshold: int = 0) -> None:
    """Move every object alive after start-up (modules, routes, schemas, clients) to the collector's
    permanent generation: full collections then walk only what the running process creates.
    `young_threshold` (> 0): the allocations between two young collections (Python's default 700),
    which also spaces the older generations' collections, whose pauses are the sync checks' tail."""
    gc.collect()
    gc.freeze()
    if young_threshold > 0:
        _, middle, old = gc.get_threshold()
        gc.set_threshold(young_threshold, middle, old)
