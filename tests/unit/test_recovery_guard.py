"""faust's table recovery crashed a worker with `ValueError: Offset must be a positive integer` when a
rebalance registered new changelog partitions between its offset look-up and its seek; the guard turns
that seek into faust's own restart (`RebalanceAgain`) or looks the offsets up first
(streams/recovery_guard.py)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import pytest
from faust.tables.recovery import RebalanceAgain, Recovery
from faust.types import TP

from fapiao.settings import Settings
from streams.recovery_guard import GuardedRecovery, TableManager

OLD = TP("app-register-changelog", 0)
NEW = TP("app-register-changelog", 5)  # assigned as a standby by the newer rebalance


class _Consumer:
    """Seeks checked as aiokafka's `AIOKafkaConsumer.seek` checks them; earliest offsets of 0."""

    def __init__(self) -> None:
        self.seeks: dict[TP, int] = {}

    async def seek_wait(self, partitions: Mapping[TP, int]) -> None:
        for tp, offset in partitions.items():
            if not isinstance(offset, int) or offset < 0:
                raise ValueError("Offset must be a positive integer")
            self.seeks[tp] = offset

    async def earliest_offsets(self, *tps: TP) -> Mapping[TP, int]:
        return dict.fromkeys(tps, 0)


class _Table:
    def persisted_offset(self, tp: TP) -> int | None:
        return None  # a partition this worker never held


def _after_newer_rebalance(recovery: Recovery) -> Counter[TP]:
    """The standby offsets as faust leaves them: OLD looked up, NEW registered by `on_rebalance`'s `_add`."""
    offsets: Counter[TP] = Counter({OLD: 41})
    recovery._add(_Table(), NEW, offsets)
    assert offsets[NEW] is None
    return offsets


def _recovery(cls: type[Recovery], tmp_path: Path) -> Recovery:
    from streams.app import create_app

    app = create_app(Settings(data_dir=tmp_path)).app
    return cls(app, app.tables, beacon=app.tables.beacon)


def test_faust_seeks_the_not_looked_up_partition_and_crashes(tmp_path: Path) -> None:
    recovery = _recovery(Recovery, tmp_path)
    offsets = _after_newer_rebalance(recovery)
    with pytest.raises(ValueError, match="positive integer"):
        asyncio.run(recovery._seek_offsets(_Consumer(), {OLD, NEW}, offsets, "standby"))


def test_a_pending_rebalance_restarts_the_recovery_without_seeking(tmp_path: Path) -> None:
    recovery = _recovery(GuardedRecovery, tmp_path)
    offsets = _after_newer_rebalance(recovery)
    recovery.signal_recovery_start.set()
    consumer = _Consumer()
    with pytest.raises(RebalanceAgain):
        asyncio.run(recovery._seek_offsets(consumer, {OLD, NEW}, offsets, "standby"))
    assert consumer.seeks == {}


def test_without_a_pending_rebalance_the_offsets_are_looked_up_first(tmp_path: Path) -> None:
    recovery = _recovery(GuardedRecovery, tmp_path)
    offsets = _after_newer_rebalance(recovery)
    consumer = _Consumer()
    asyncio.run(recovery._seek_offsets(consumer, {OLD, NEW}, offsets, "standby"))
    assert consumer.seeks == {OLD: 41, NEW: 0}  # NEW from its earliest offset (faust's -1 -> 0)


def test_the_worker_app_uses_it(tmp_path: Path) -> None:
    from streams.app import create_app

    app = create_app(Settings(data_dir=tmp_path)).app
    assert isinstance(app.tables, TableManager)
    assert isinstance(app.tables.recovery, GuardedRecovery)
