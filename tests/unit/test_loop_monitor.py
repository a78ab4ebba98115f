"""The stall probes (`fapiao.loop_monitor`): event-loop lag and GC pause timing."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time

from fapiao.loop_monitor import API, GcTimer, lag, time_gc, watch_loop


def test_lag_is_the_time_beyond_the_asked_interval_and_never_negative() -> None:
    assert lag(10.0, 10.05, 0.05) < 1e-9
    assert abs(lag(10.0, 10.30, 0.05) - 0.25) < 1e-9
    assert lag(10.0, 10.04, 0.05) == 0.0  # a clock that woke early is not negative lag


def test_a_callback_holding_the_loop_shows_up_as_lag() -> None:
    seen: list[float] = []

    async def main() -> None:
        probe = asyncio.create_task(watch_loop(0.01, seen.append))
        await asyncio.sleep(0.05)
        time.sleep(0.2)  # a stall: nothing else runs on the loop meanwhile
        await asyncio.sleep(0.05)
        probe.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await probe

    asyncio.run(main())
    assert max(seen) >= 0.15
    assert sorted(seen)[len(seen) // 2] < 0.05  # the others were on time


def test_gc_timer_observes_each_collection_with_its_generation() -> None:
    seen: list[tuple[int, float]] = []
    timer = GcTimer(lambda generation, seconds: seen.append((generation, seconds)))
    gc.callbacks.append(timer)
    try:
        gc.collect(1)
        gc.collect(2)
    finally:
        gc.callbacks.remove(timer)
    assert [g for g, _ in seen][-2:] == [1, 2]
    assert all(seconds >= 0 for _, seconds in seen)


def test_gc_timing_is_installed_once() -> None:
    time_gc(API)
    time_gc(API)
    assert sum(isinstance(cb, GcTimer) for cb in gc.callbacks) == 1


def test_freezing_the_start_up_heap_raises_only_the_young_threshold_asked_for() -> None:
    from fapiao.loop_monitor import freeze_start_up_heap

    before = gc.get_threshold()
    try:
        freeze_start_up_heap(0)  # 0: Python's thresholds stay
        assert gc.get_threshold() == before
        freeze_start_up_heap(12_345)
        assert gc.get_threshold() == (12_345, before[1], before[2])
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
