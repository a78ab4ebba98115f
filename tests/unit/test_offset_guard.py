"""streams/offset_guard.py rules 3 and 4 on a stand-in consumer (faust's and aiokafka's parts stubbed):
the rebalance-end seek moves never-committed stream partitions to their earliest offset with the stream
partitions paused meanwhile, and a revoke commits before faust forgets the acknowledgements."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP

from streams import offset_guard

COMMITTED, FRESH, CHANGELOG = TP("checks.requested", 0), TP("checks.requested", 1), TP("x-changelog", 0)


class Probe(offset_guard.GuardedConsumer):
    """Only the state the guard reads, none of faust's service machinery."""

    def __init__(self) -> None:  # no super().__init__: faust's consumer needs a running app
        self.app = SimpleNamespace(  # type: ignore[assignment]
            topics=SimpleNamespace(acks_enabled_for=lambda topic: topic != CHANGELOG.topic),
            should_stop=False,
        )
        self._committed_offset: dict[TP, int | None] = {}
        self._acked: dict[TP, list[int]] = {}
        self.active = {COMMITTED, FRESH, CHANGELOG}
        self.sought: list[tuple[TP, int]] = []
        self.calls: list[str] = []

    def assignment(self) -> set[TP]:
        return {COMMITTED, FRESH, CHANGELOG}

    def _get_active_partitions(self) -> set[TP]:
        return self.active

    def pause_partitions(self, tps: Any) -> None:
        self.active -= set(tps)

    def resume_partitions(self, tps: Any) -> None:
        self.active |= set(tps)

    async def earliest_offsets(self, *tps: TP) -> dict[TP, int]:
        return {tp: 3 for tp in tps}  # retention removed 0..2

    async def seek(self, tp: TP, offset: int) -> None:
        self.sought.append((tp, offset))

    def stop_flow(self) -> None:
        self.calls.append("stop_flow")

    async def commit_before_handover(self, timeout: float) -> None:
        self.calls.append(f"commit {sorted(self._acked)}")


async def test_the_rebalance_seek_moves_a_never_committed_partition_to_its_earliest_offset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe = Probe()
    during: list[set[TP]] = []

    async def faust_seek(self: Probe) -> None:  # aiokafka seeks only what has a committed offset > 0
        during.append(set(self.active))
        self._committed_offset[COMMITTED] = 40

    monkeypatch.setattr(aiokafka_driver.Consumer, "perform_seek", faust_seek)
    await probe.perform_seek()
    assert probe.sought == [(FRESH, 3)]  # the fetcher's position would have stayed past dropped records
    assert probe._committed_offset == {COMMITTED: 40, FRESH: 3}
    assert during == [{CHANGELOG}]  # no stream partition handed on while the positions move
    assert probe.active == {COMMITTED, FRESH, CHANGELOG}


async def test_a_revoke_commits_before_faust_forgets_the_acknowledgements(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe = Probe()
    probe._acked = {COMMITTED: [40, 41]}

    async def faust_revoke(self: Probe, revoked: set[TP]) -> None:
        self.calls.append("faust revoke")
        self._acked.clear()  # faust's Consumer.on_partitions_revoked pops them before the app's handler

    monkeypatch.setattr(aiokafka_driver.Consumer, "on_partitions_revoked", faust_revoke)
    await probe.on_partitions_revoked({COMMITTED, FRESH})
    assert probe.calls == ["stop_flow", f"commit {[COMMITTED]}", "faust revoke"]
    probe.calls.clear()
    await probe.on_partitions_revoked(set())  # the first join revokes nothing: nothing to hand over
    assert probe.calls == ["faust revoke"]


@pytest.mark.parametrize("stuck", ["the commit", "faust's revoke"])
async def test_a_revoke_that_does_not_return_within_the_bound_exits_the_worker(
    monkeypatch: pytest.MonkeyPatch, stuck: str
) -> None:
    """The wedge of issue 13 (216d8d0, kill 1): `bulk_feed_unsettled_at_revoke` (the drain's bound passed),
    then no `revoke_committed`: the commit (faust's `commit`, awaiting `producer.flush()`) never returned,
    and the survivor heartbeated 3 minutes consuming nothing. An earlier one hung in faust's revoke."""
    probe, wedged = Probe(), asyncio.Event()
    never = asyncio.Event()

    async def never_returns(self: Any, *args: Any) -> None:
        await never.wait()

    async def faust_revoke(self: Probe, revoked: set[TP]) -> None:
        pass

    if stuck == "the commit":
        monkeypatch.setattr(Probe, "commit_before_handover", never_returns)
        monkeypatch.setattr(aiokafka_driver.Consumer, "on_partitions_revoked", faust_revoke)
    else:
        monkeypatch.setattr(aiokafka_driver.Consumer, "on_partitions_revoked", never_returns)
    monkeypatch.setattr(offset_guard, "REVOKE_BOUND_SECONDS", 0.05)
    exits: list[int] = []
    monkeypatch.setattr(offset_guard, "revoke_wedged", lambda n: (exits.append(n), wedged.set()))
    revoke = asyncio.ensure_future(probe.on_partitions_revoked({COMMITTED, FRESH}))
    try:
        await asyncio.wait_for(wedged.wait(), 2.0)
    finally:
        revoke.cancel()
    assert exits == [2]


async def test_a_revoke_within_the_bound_leaves_the_worker_running(monkeypatch: pytest.MonkeyPatch) -> None:
    probe, exits = Probe(), []

    async def faust_revoke(self: Probe, revoked: set[TP]) -> None:
        pass

    monkeypatch.setattr(aiokafka_driver.Consumer, "on_partitions_revoked", faust_revoke)
    monkeypatch.setattr(offset_guard, "REVOKE_BOUND_SECONDS", 0.05)
    monkeypatch.setattr(offset_guard, "revoke_wedged", exits.append)
    await probe.on_partitions_revoked({COMMITTED})
    await asyncio.sleep(0.1)  # past the bound: the timer was cancelled when the revoke returned
    assert exits == []


@pytest.mark.parametrize("stage", ["revoke", "assign"])
def test_a_wedged_revoke_or_assignment_exits_crash_only(monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    from streams import error_policy

    crashes: list[tuple[str, BaseException]] = []
    monkeypatch.setattr(error_policy, "crash", lambda stage, exc: crashes.append((stage, exc)))
    getattr(offset_guard, f"{stage}_wedged")(6)
    [(crashed, exc)] = crashes
    assert crashed == stage and isinstance(exc, TimeoutError) and "6 partitions" in str(exc)


async def test_an_assignment_that_does_not_return_within_the_bound_exits_the_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the assignment's callback runs, the worker is a member of a stable generation owning the
    partitions and consumes none of them: one that never returned left them unanswered until the next
    rebalance. Past the bound it exits crash-only, as a wedged revoke does."""
    probe, wedged, never = Probe(), asyncio.Event(), asyncio.Event()

    async def faust_assign(self: Probe, assigned: set[TP], generation_id: int = 0) -> None:
        await never.wait()  # (faust's: agents, topics, tables `on_rebalance`)

    monkeypatch.setattr(aiokafka_driver.Consumer, "on_partitions_assigned", faust_assign)
    monkeypatch.setattr(offset_guard, "ASSIGN_BOUND_SECONDS", 0.05)
    exits: list[int] = []
    monkeypatch.setattr(offset_guard, "assign_wedged", lambda n: (exits.append(n), wedged.set()))
    assign = asyncio.ensure_future(probe.on_partitions_assigned({COMMITTED, FRESH, CHANGELOG}, 7))
    try:
        await asyncio.wait_for(wedged.wait(), 2.0)
    finally:
        assign.cancel()
    assert exits == [3]


async def test_an_assignment_within_the_bound_leaves_the_worker_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe, exits, seen = Probe(), [], []

    async def faust_assign(self: Probe, assigned: set[TP], generation_id: int = 0) -> None:
        seen.append((assigned, generation_id))

    monkeypatch.setattr(aiokafka_driver.Consumer, "on_partitions_assigned", faust_assign)
    monkeypatch.setattr(offset_guard, "ASSIGN_BOUND_SECONDS", 0.05)
    monkeypatch.setattr(offset_guard, "assign_wedged", exits.append)
    await probe.on_partitions_assigned({COMMITTED}, 7)
    await asyncio.sleep(0.1)  # past the bound: the timer was cancelled when the assignment returned
    assert exits == [] and seen == [({COMMITTED}, 7)]


def test_the_assignment_bound_outlasts_fausts_own_wait_for_a_locked_table_partition() -> None:
    """faust's RocksDB store retries a partition another process holds 30 times, 1 s apart, then gives
    up by itself: that wait is not a wedge, and the bound must not cut it short."""
    import inspect

    from faust.stores import rocksdb

    tries = inspect.signature(rocksdb.Store._try_open_db_for_partition).parameters
    assert tries["max_retries"].default * tries["retry_delay"].default < offset_guard.ASSIGN_BOUND_SECONDS
