"""The API's in-process cache of results (`services.api.results_feed.ResultsCache`)."""

from __future__ import annotations

import asyncio
import gc
import uuid
from datetime import UTC, date, datetime

import pytest

from fapiao.domain.results import result_id
from fapiao.domain.verification import MESSAGES
from schemas.events import CheckResult, Verdict
from services.api.results_feed import ResultsCache

AT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
SHORT = 0.05  # seconds: long enough for a scheduled put, short enough to keep the suite fast


def result(
    check_id: uuid.UUID | None = None, version: int = 1, verdict: Verdict = Verdict.CONSISTENT
) -> CheckResult:
    check_id = check_id or uuid.uuid4()
    return CheckResult(
        result_id=result_id(check_id, version),
        check_id=check_id,
        result_version=version,
        requested_at=AT,
        decided_at=AT,
        requester="r",
        invoice_key="011002300111-12345678",
        invoice_number="12345678",
        issue_date=date(2026, 11, 20),
        verdict=verdict,
        message_zh=MESSAGES[verdict][0],
        message_en=MESSAGES[verdict][1],
        check_count=1,
        follow_up=version > 1,
    )


def put_soon(cache: ResultsCache, *results: CheckResult, delay: float = 0.005) -> asyncio.Task[None]:
    async def later() -> None:
        await asyncio.sleep(delay)
        for r in results:
            cache.put(r)

    return asyncio.create_task(later())


def no_waiters(cache: ResultsCache) -> bool:
    return cache._waiters == {}


# --- put / get ----------------------------------------------------------------------------------------


def test_get_of_an_unknown_check_is_none() -> None:
    assert ResultsCache(4).get(uuid.uuid4()) is None


def test_put_then_get() -> None:
    cache = ResultsCache(4)
    first = result()
    cache.put(first)
    assert cache.get(first.check_id) == first


def test_put_keeps_the_record_it_was_parsed_from() -> None:
    cache = ResultsCache(4)
    first = result()
    raw = first.model_dump_json().encode()
    cache.put(first, raw)
    assert cache._results[str(first.check_id)] == (1, raw.decode())  # not serialised again
    assert cache.get(first.check_id) == first
    newer = result(first.check_id, version=2, verdict=Verdict.VOIDED)
    cache.put(newer, newer.model_dump_json().encode())
    cache.put(first, raw)  # an older version arriving late changes nothing
    assert cache.get(first.check_id) == newer


def test_a_scored_result_with_its_invoice_face_comes_back_equal() -> None:
    from bench.data import results

    cache = ResultsCache(4)
    for scored in results(3):
        cache.put(scored)
        assert scored.invoice is not None and scored.risk is not None
        assert cache.get(scored.check_id) == scored


def test_cached_results_leave_nothing_for_the_garbage_collector_to_walk() -> None:
    """A full cache must not turn into millions of tracked objects (full collections stall the loop)."""
    cache = ResultsCache(1000)
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(300):
        cache.put(result())
        cache.mark_submitted(uuid.uuid4(), "org")
    gc.collect()
    assert len(gc.get_objects()) - before < 30
    assert len(cache._results) == 300


@pytest.mark.parametrize(
    ("arrivals", "kept"),
    [
        ([1, 2], 2),
        ([2, 1], 2),  # a late older version never replaces a newer one
        ([1, 3, 2], 3),
        ([3, 1, 2], 3),
        ([1, 1], 1),
        ([2, 2, 1, 3, 1], 3),
    ],
)
def test_versions_never_go_backwards(arrivals: list[int], kept: int) -> None:
    cache = ResultsCache(4)
    check_id = uuid.uuid4()
    seen = []
    for version in arrivals:
        cache.put(result(check_id, version))
        current = cache.get(check_id)
        assert current is not None
        seen.append(current.result_version)
    assert seen == sorted(seen)  # what a reader sees only ever moves forward
    assert seen[-1] == kept


def test_the_same_version_again_replaces_it() -> None:
    cache = ResultsCache(4)
    check_id = uuid.uuid4()
    cache.put(result(check_id, 2, Verdict.PENDING_SYNC))
    redelivered = result(check_id, 2, Verdict.NOT_FOUND)
    cache.put(redelivered)
    assert cache.get(check_id) == redelivered


# --- capacity ----------------------------------------------------------------------------------------


def test_the_least_recently_put_check_is_evicted() -> None:
    cache = ResultsCache(3)
    results = [result() for _ in range(4)]
    for r in results:
        cache.put(r)
    assert cache.get(results[0].check_id) is None
    assert [cache.get(r.check_id) for r in results[1:]] == results[1:]


def test_a_newer_version_refreshes_a_check() -> None:
    cache = ResultsCache(3)
    a, b, c, d = (result() for _ in range(4))
    for r in (a, b, c):
        cache.put(r)
    cache.put(result(a.check_id, 2))  # a is now the most recent
    cache.put(d)
    assert cache.get(b.check_id) is None
    assert cache.get(a.check_id) is not None and cache.get(a.check_id).result_version == 2  # type: ignore[union-attr]
    assert cache.get(c.check_id) == c and cache.get(d.check_id) == d


def test_an_ignored_older_version_does_not_refresh_a_check() -> None:
    cache = ResultsCache(2)
    a, b, c = result(version=2), result(), result()
    cache.put(a)
    cache.put(b)
    cache.put(result(a.check_id, 1))  # ignored
    cache.put(c)
    assert cache.get(a.check_id) is None
    assert cache.get(b.check_id) == b and cache.get(c.check_id) == c


@pytest.mark.parametrize("capacity", [1, 2, 10])
def test_the_cache_never_holds_more_than_its_capacity(capacity: int) -> None:
    cache = ResultsCache(capacity)
    results = [result() for _ in range(capacity * 3)]
    for r in results:
        cache.put(r)
    assert len(cache._results) == capacity
    assert [cache.get(r.check_id) for r in results[-capacity:]] == results[-capacity:]


# --- wait_final ---------------------------------------------------------------------------------------


async def test_wait_final_returns_a_cached_result_at_once() -> None:
    cache = ResultsCache(4)
    r = result()
    cache.put(r)
    assert await cache.wait_final(r.check_id, timeout=0) == r
    assert no_waiters(cache)


async def test_wait_final_wakes_on_a_result() -> None:
    cache = ResultsCache(4)
    r = result()
    task = put_soon(cache, r)
    assert await cache.wait_final(r.check_id, timeout=2) == r
    await task
    assert no_waiters(cache)


async def test_wait_final_wakes_on_pending_sync() -> None:
    cache = ResultsCache(4)
    held = result(verdict=Verdict.PENDING_SYNC)
    task = put_soon(cache, held)
    got = await cache.wait_final(held.check_id, timeout=2)
    await task
    assert got is not None and got.verdict is Verdict.PENDING_SYNC


async def test_wait_final_times_out_with_none() -> None:
    cache = ResultsCache(4)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await cache.wait_final(uuid.uuid4(), timeout=SHORT) is None
    assert loop.time() - started >= SHORT * 0.9
    assert no_waiters(cache)


async def test_wait_final_ignores_other_checks() -> None:
    cache = ResultsCache(4)
    task = put_soon(cache, result(), result())
    assert await cache.wait_final(uuid.uuid4(), timeout=SHORT) is None
    await task
    assert no_waiters(cache)


async def test_every_waiter_of_a_check_is_woken() -> None:
    cache = ResultsCache(4)
    r = result()
    waits = [asyncio.create_task(cache.wait_final(r.check_id, timeout=2)) for _ in range(3)]
    waits.append(asyncio.create_task(cache.wait_newer(r.check_id, 0, timeout=2)))
    await asyncio.sleep(0)
    assert len(cache._waiters[r.check_id]) == 4  # one predicate per wait
    cache.put(r)
    assert await asyncio.gather(*waits) == [r] * 4
    assert no_waiters(cache)


async def test_a_waiter_is_woken_even_if_the_result_is_evicted_at_once() -> None:
    cache = ResultsCache(1)
    r = result()
    wait = asyncio.create_task(cache.wait_final(r.check_id, timeout=2))
    await asyncio.sleep(0)
    cache.put(r)
    cache.put(result())  # evicts r
    assert await wait == r


# --- wait_newer ---------------------------------------------------------------------------------------


async def test_wait_newer_returns_at_once_when_a_newer_version_is_cached() -> None:
    cache = ResultsCache(4)
    r = result(version=3)
    cache.put(r)
    assert await cache.wait_newer(r.check_id, 2, timeout=0) == r
    assert no_waiters(cache)


async def test_wait_newer_only_wakes_for_a_newer_version() -> None:
    cache = ResultsCache(4)
    check_id = uuid.uuid4()
    cache.put(result(check_id, 2))
    newer = result(check_id, 3)
    wait = asyncio.create_task(cache.wait_newer(check_id, 2, timeout=2))
    await asyncio.sleep(0)
    cache.put(result(check_id, 1))  # older: ignored
    cache.put(result(check_id, 2))  # same: not newer
    await asyncio.sleep(0.01)
    assert not wait.done()
    cache.put(newer)
    assert await wait == newer
    assert no_waiters(cache)


async def test_wait_newer_times_out_with_none_when_nothing_newer_comes() -> None:
    cache = ResultsCache(4)
    check_id = uuid.uuid4()
    cache.put(result(check_id, 2))
    task = put_soon(cache, result(check_id, 2), result(check_id, 1))
    assert await cache.wait_newer(check_id, 2, timeout=SHORT) is None
    await task
    assert no_waiters(cache)


async def test_wait_newer_of_an_uncached_check_takes_any_newer_version() -> None:
    cache = ResultsCache(4)
    check_id = uuid.uuid4()
    task = put_soon(cache, result(check_id, 1), result(check_id, 2))
    got = await cache.wait_newer(check_id, 1, timeout=2)
    await task
    assert got is not None and got.result_version == 2


async def test_a_woken_waiter_leaves_the_others_waiting() -> None:
    cache = ResultsCache(4)
    check_id = uuid.uuid4()
    for_v2 = asyncio.create_task(cache.wait_newer(check_id, 1, timeout=2))
    for_v3 = asyncio.create_task(cache.wait_newer(check_id, 2, timeout=2))
    await asyncio.sleep(0)
    cache.put(result(check_id, 2))
    got = await for_v2
    assert got is not None and got.result_version == 2
    assert not for_v3.done() and len(cache._waiters[check_id]) == 1
    cache.put(result(check_id, 3))
    got = await for_v3
    assert got is not None and got.result_version == 3
    assert no_waiters(cache)


# --- waiter clean-up ----------------------------------------------------------------------------------


async def test_waiters_are_cleaned_up_after_a_timeout_among_others() -> None:
    cache = ResultsCache(4)
    check_id = uuid.uuid4()
    long_wait = asyncio.create_task(cache.wait_final(check_id, timeout=2))
    assert await cache.wait_newer(check_id, 5, timeout=SHORT) is None
    assert len(cache._waiters[check_id]) == 1  # only the long wait is left
    cache.put(result(check_id))
    assert await long_wait is not None
    assert no_waiters(cache)


async def test_waiters_are_cleaned_up_when_the_waiting_request_is_cancelled() -> None:
    cache = ResultsCache(4)
    check_id = uuid.uuid4()
    wait = asyncio.create_task(cache.wait_final(check_id, timeout=2))
    await asyncio.sleep(0)
    assert check_id in cache._waiters
    wait.cancel()
    with pytest.raises(asyncio.CancelledError):
        await wait
    assert no_waiters(cache)
    cache.put(result(check_id))  # nobody to wake: must not fail


async def test_many_timeouts_leave_nothing_behind() -> None:
    cache = ResultsCache(4)
    ids = [uuid.uuid4() for _ in range(20)]
    got = await asyncio.gather(*(cache.wait_final(i, timeout=0.01) for i in ids))
    assert got == [None] * 20
    assert no_waiters(cache)


# --- submitted checks ---------------------------------------------------------------------------------


def test_mark_submitted_and_was_submitted() -> None:
    cache = ResultsCache(4)
    check_id = uuid.uuid4()
    assert not cache.was_submitted(check_id, "public")
    cache.mark_submitted(check_id, "public")
    assert cache.was_submitted(check_id, "public")
    assert not cache.was_submitted(uuid.uuid4(), "public")


def test_was_submitted_is_per_organisation() -> None:
    cache = ResultsCache(4)
    check_id = uuid.uuid4()
    cache.mark_submitted(check_id, "org-a")
    assert cache.was_submitted(check_id, "org-a")
    assert not cache.was_submitted(check_id, "org-b")


def test_submitted_checks_are_bounded_by_the_capacity() -> None:
    cache = ResultsCache(3)
    ids = [uuid.uuid4() for _ in range(5)]
    for check_id in ids:
        cache.mark_submitted(check_id, "public")
    assert [cache.was_submitted(i, "public") for i in ids] == [False, False, True, True, True]


def test_marking_again_refreshes_a_submitted_check() -> None:
    cache = ResultsCache(2)
    a, b, c = (uuid.uuid4() for _ in range(3))
    cache.mark_submitted(a, "public")
    cache.mark_submitted(b, "public")
    cache.mark_submitted(a, "public")
    cache.mark_submitted(c, "public")
    assert cache.was_submitted(a, "public") and cache.was_submitted(c, "public")
    assert not cache.was_submitted(b, "public")


def test_submitted_and_results_are_independent() -> None:
    cache = ResultsCache(4)
    r = result()
    cache.put(r)
    assert not cache.was_submitted(r.check_id, "public")
    check_id = uuid.uuid4()
    cache.mark_submitted(check_id, "public")
    assert cache.get(check_id) is None
