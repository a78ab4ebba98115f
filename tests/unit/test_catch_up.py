"""streams/catch_up.py on the worker's consumer (streams/bulk_feed.BulkConsumer, faust's parts stubbed):
at each assignment the verify feed's partitions stay paused when faust resumes the streams, until the
register's partitions are processed up to the end offsets seen then, or the bound; a rebalance meanwhile
abandons the wait; an error opens the gate rather than leave the checks paused."""

from __future__ import annotations

import asyncio
import math
import time
from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP

from streams import catch_up
from streams.bulk_feed import BulkConsumer, BulkFeed, Polled, following

I0, I1 = TP("invoices.issued", 0), TP("invoices.issued", 1)
C0, C1 = TP("checks.requested", 0), TP("checks.requested", 1)
LOG = TP("x-register-changelog", 0)
ASSIGNED = {I0, I1, C0, C1, LOG}


def _feeds() -> dict[str, BulkFeed]:
    async def nothing(events: Any) -> None:
        pass

    register = BulkFeed(None, frozenset({I0.topic}), nothing, 10)  # type: ignore[arg-type]
    verify = BulkFeed(None, frozenset({C0.topic}), nothing, 10, follows=frozenset({I0.topic}))  # type: ignore[arg-type]
    return {I0.topic: register, C0.topic: verify}


class Probe(BulkConsumer):
    """Only the state the gate reads, none of faust's service machinery."""

    def __init__(self, ends: dict[TP, int] | Exception) -> None:  # no super().__init__ (a running app)
        self.app = SimpleNamespace(  # type: ignore[assignment]
            _fapiao_bulk_feeds=_feeds(), consumer_generation_id=5, should_stop=False
        )
        self.ends = ends
        self._committed_offset: dict[TP, int | None] = {I0: 3, I1: 4}
        self._active_partitions: set[TP] = set()
        self._paused_partitions: set[TP] = set()

    def assignment(self) -> set[TP]:
        return ASSIGNED

    async def highwaters(self, *tps: TP) -> dict[TP, int]:
        if isinstance(self.ends, Exception):
            raise self.ends
        return {tp: self.ends[tp] for tp in tps}

    def register_done(self, tp: TP, offset: int) -> None:
        self.app._fapiao_bulk_feeds[I0.topic].done[tp] = offset  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def faust_assign(monkeypatch: pytest.MonkeyPatch) -> None:
    async def assign(self: Probe, assigned: set[TP], generation_id: int = 0) -> None:
        self.pause_partitions(assigned)  # faust's app pauses every assigned partition until recovered

    monkeypatch.setattr(aiokafka_driver.Consumer, "on_partitions_assigned", assign)
    monkeypatch.setattr(catch_up, "POLL_SECONDS", 0.005)


def recovered(probe: Probe) -> None:
    """faust's `_resume_streams` once the tables are recovered: every stream partition resumed."""
    probe.resume_partitions(ASSIGNED - {LOG})


async def assigned_and_recovered(probe: Probe, generation: int) -> None:
    await probe.on_partitions_assigned(ASSIGNED, generation)
    recovered(probe)


async def gate_done(probe: Probe) -> set[TP]:
    """The partitions fetched once the gate's wait is over."""
    await asyncio.wait_for(probe.gate.task, 1.0)  # type: ignore[arg-type]
    return probe._active_partitions


async def test_the_checks_wait_until_the_register_folded_what_was_published_before() -> None:
    probe = Probe({I0: 10, I1: 4})  # partition 0 has 7 invoices to fold, partition 1 none
    await probe.on_partitions_assigned(ASSIGNED, 5)
    await asyncio.sleep(0.03)  # (recovering: the gate's bound does not run yet)
    recovered(probe)
    await asyncio.sleep(0.03)
    assert probe._active_partitions == {I0, I1}  # the register's records flow alone
    probe.register_done(I0, 9)
    await asyncio.sleep(0.03)
    assert C0 not in probe._active_partitions
    probe.register_done(I0, 10)
    assert await gate_done(probe) == {I0, I1, C0, C1}


async def test_the_wait_begins_once_the_committed_offsets_are_known() -> None:
    """faust resumes the streams before it seeks them to their committed offsets: until then how far
    the register got is unknown (the bound does not run, the backlog is not counted from 0)."""
    probe = Probe({I0: 10, I1: 4})
    probe._committed_offset = {I0: None, I1: None}  # (popped at the revoke)
    await assigned_and_recovered(probe, 5)
    await asyncio.sleep(0.03)
    assert C0 not in probe._active_partitions
    probe._committed_offset = {I0: 10, I1: 4}  # the seek: everything was folded already
    assert await gate_done(probe) == {I0, I1, C0, C1}


async def test_a_register_that_does_not_catch_up_holds_the_checks_no_longer_than_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(catch_up, "CATCH_UP_SECONDS", 0.05)
    probe = Probe({I0: 10_000, I1: 4})
    await assigned_and_recovered(probe, 5)
    assert await gate_done(probe) == {I0, I1, C0, C1}


async def test_a_rebalance_while_waiting_abandons_the_wait() -> None:
    probe = Probe({I0: 10, I1: 4})
    await assigned_and_recovered(probe, 5)
    first = probe.gate.task
    probe.app.consumer_generation_id = 6  # type: ignore[attr-defined]
    probe.register_done(I0, 10)
    await asyncio.wait_for(first, 1.0)  # type: ignore[arg-type]
    assert C0 not in probe._active_partitions  # the next generation's gate decides, not this one
    await assigned_and_recovered(probe, 6)
    assert await gate_done(probe) == {I0, I1, C0, C1}


async def test_an_error_reading_the_end_offsets_opens_the_gate() -> None:
    probe = Probe(RuntimeError("no leader"))
    await assigned_and_recovered(probe, 5)
    assert await gate_done(probe) == {I0, I1, C0, C1}


async def test_partitions_faust_paused_again_stay_paused_when_the_gate_opens() -> None:
    probe = Probe({I0: 10, I1: 4})
    await assigned_and_recovered(probe, 5)
    probe.pause_partitions({C1})  # (a recovery step of faust's own)
    probe.register_done(I0, 10)
    assert await gate_done(probe) == {I0, I1, C0}


def test_the_pure_parts() -> None:
    assert catch_up.behind({I0: 10, I1: 4}, {I0: 9, I1: 4}) == {I0}
    assert catch_up.remaining({I0: 10, I1: 4}, {I0: 3}) == 11
    assert following(_feeds()) == ({C0.topic}, {I0.topic})
    alone = {C0.topic: _feeds()[C0.topic]}  # the followed topic has no feed: nothing to wait for
    assert following(alone) == ({C0.topic}, set())
    gate = catch_up.Gate()
    gate.close(1, ASSIGNED, {C0.topic}, set())
    assert gate.closed == set()


async def test_poll_until_returns_met_as_soon_as_the_condition_holds() -> None:
    probe, calls = Probe({}), []

    def condition() -> bool:
        calls.append(1)
        return len(calls) == 3

    assert await probe._poll_until(condition, 5, math.inf) is Polled.MET
    assert len(calls) == 3  # polled until it held, not once more


async def test_poll_until_times_out_at_the_deadline() -> None:
    probe = Probe({})
    started = time.monotonic()
    assert await probe._poll_until(lambda: False, 5, started + 0.03) is Polled.TIMED_OUT
    assert 0.03 <= time.monotonic() - started < 0.5


async def test_poll_until_gives_up_when_the_generation_changes_even_if_the_condition_holds() -> None:
    probe = Probe({})
    probe.app.consumer_generation_id = 6  # type: ignore[attr-defined]
    assert await probe._poll_until(lambda: True, 5, math.inf) is Polled.ABANDONED


async def test_poll_until_gives_up_on_a_rebalance_while_polling() -> None:
    probe = Probe({})

    async def rebalance() -> None:
        await asyncio.sleep(0.02)
        probe.app.consumer_generation_id = 6  # type: ignore[attr-defined]

    task = asyncio.ensure_future(rebalance())
    assert await asyncio.wait_for(probe._poll_until(lambda: False, 5, math.inf), 1.0) is Polled.ABANDONED
    await task


async def test_poll_until_checks_a_condition_already_met_before_the_deadline() -> None:
    """A deadline already passed still reads the condition once: a backlog folded at the deadline counts."""
    probe = Probe({})
    assert await probe._poll_until(lambda: True, 5, time.monotonic() - 1) is Polled.MET
