"""Faust's table recovery, never seeking a changelog partition to an offset it has not looked up yet.

The crash (seen with two workers, once in three starts: `ValueError: Offset must be a positive integer`
from aiokafka's `seek`, raised in faust/tables/recovery.py `Recovery._seek_offsets`): a rebalance's
`Recovery.on_rebalance` registers each newly assigned changelog partition with
`offsets.setdefault(tp, None)` when its store holds no persisted offset (a partition this worker never
had: every standby of a fresh second worker), and only the next pass of `_restart_recovery` replaces
that None by the partition's earliest offset (`_build_offsets`). faust's recovery loop looks the offsets
up first and seeks later, with awaits in between (the active replay, the seeks of the active partitions).
When the next rebalance of a start-up lands in that window, on the loop iteration in which the seek
task starts, the seek reads the new partitions' None and raises before `Recovery._wait` can turn the
rebalance signal into faust's own `RebalanceAgain` (mode's `wait_first` re-raises a failed task before
it looks at the signal). The exception is not one the loop expects, so the recovery service, and the
worker, crash.

The guard, narrow: `_seek_offsets` with a partition whose offset is still None raises `RebalanceAgain`
when a newer rebalance is pending (faust's loop then restarts with the new assignment, exactly what its
`_wait` meant to do), and otherwise looks the missing offsets up first (as `_build_offsets` would).
Installed by `streams.app.create_app` (`TableManager=`).
"""

from __future__ import annotations

from collections import Counter

import structlog
from faust.tables.manager import TableManager as FaustTableManager
from faust.tables.recovery import RebalanceAgain, Recovery
from faust.types import TP
from faust.types.transports import ConsumerT

log = structlog.get_logger(__name__)


def not_looked_up(tps: set[TP], offsets: Counter[TP]) -> set[TP]:
    """The partitions registered by a rebalance whose offset `_build_offsets` has not filled in yet."""
    return {tp for tp in tps if offsets.get(tp, 0) is None}


class GuardedRecovery(Recovery):  # type: ignore[misc]
    """faust's `Recovery` with the seek of a not yet looked-up partition turned into a restart."""

    async def _seek_offsets(
        self, consumer: ConsumerT, tps: set[TP], offsets: Counter[TP], title: str
    ) -> None:
        missing = not_looked_up(tps, offsets)
        if missing:
            log.warning(
                "recovery_offsets_not_looked_up",
                kind=title,
                partitions=len(missing),
                rebalance_pending=self.signal_recovery_start.is_set(),
            )
            if self.signal_recovery_start.is_set():
                raise RebalanceAgain()  # the newer assignment's pass looks them up
            await self._build_offsets(consumer, missing, offsets, title)
        await super()._seek_offsets(consumer, tps, offsets, title)


class TableManager(FaustTableManager):  # type: ignore[misc]
    """faust's table manager whose recovery service is `GuardedRecovery`."""

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = GuardedRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
