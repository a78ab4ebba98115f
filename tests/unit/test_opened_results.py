"""The API's results cache keeps results sealed and opens one only when it is read or awaited: every API
process follows every result (a 100,000-row batch's among them), and opening each on arrival cost the API
≈ 100 µs of CPU per result, for the few anyone asks for by check id (docs/benchmarks.md, batches)."""

from __future__ import annotations

import asyncio

from fapiao.crypto.protect import FieldSealer
from fapiao.crypto.sm4 import Sm4Keyring
from schemas.events import CheckResult
from services.api.opened_results import OpenedResultsCache
from tests.unit.test_field_sealing import HMAC_KEY, K1, K2, consistent, sealer


class CountingSealer(FieldSealer):
    opened = 0

    def open_result(self, result: CheckResult) -> CheckResult:
        self.opened += 1
        return super().open_result(result)


def counting() -> CountingSealer:
    return CountingSealer(Sm4Keyring({"k1": K1}, "k1"), HMAC_KEY)


def test_putting_results_opens_none_and_reading_one_opens_it_to_the_original() -> None:
    s = counting()
    cache = OpenedResultsCache(100, s)
    plains = [consistent() for _ in range(20)]
    for plain in plains:
        cache.put(s.seal_result(plain))
    assert s.opened == 0  # the old cache opened all 20 here
    assert cache.get(plains[3].check_id) == plains[3]
    assert s.opened == 1


async def test_a_waiter_gets_the_result_opened() -> None:
    s = counting()
    cache = OpenedResultsCache(100, s)
    plain = consistent()
    waiting = asyncio.create_task(cache.wait_final(plain.check_id, 2.0))
    await asyncio.sleep(0.01)
    cache.put(s.seal_result(plain))
    assert await waiting == plain
    assert s.opened == 1


def test_a_result_that_does_not_open_is_handed_out_sealed() -> None:
    other = sealer({"k2": K2}, "k2")
    sealed = other.seal_result(consistent())
    cache = OpenedResultsCache(100, sealer())  # holds k1 only
    cache.put(sealed)
    assert cache.get(sealed.check_id) == sealed
