"""A Faust consumer that never commits past a record no agent processed (the loss at a rebalance).

faust-streaming 0.15.3 commits, per partition, the highest run of consecutive acknowledged offsets.
Two of its rules let that run start after records that were fetched but never processed:

1. **Gaps are taken as acknowledged.** When the next record the fetcher hands on is more than one
   offset past the last one read, `Consumer._add_gap` records the offsets in between as done (meant
   for compaction and transaction markers). Records skipped by faust itself look the same: those of a
   partition that was paused or inactive when its fetched batch was iterated (`Consumer.getmany` drops
   them while the client's position has moved past them), or those queued for an agent and cleared by
   `flow_control.clear()` at a rebalance while the fetch position stayed ahead of them. Their offsets
   went into the commit: with two workers, checks committed but never answered (issue 13: 527 and
   1,598 lost in 2 of 3 kill -9 runs, all produced in the seconds before the rebalance).
2. **The first unacknowledged record may be skipped.** `_new_offset` holds the commit only when the
   lowest acknowledged offset is *more than one* past the committed one, and not at all when the
   committed offset is 0 or unknown (faust-streaming/faust#606).

This pipeline's source topics are neither compacted nor transactional (idempotent producers, no
transactions), so their offsets have no real gaps: a gap always means records were skipped. The guard:

- a gap on a source topic is never acknowledged: before the fetch loop sees it, the partition is
  sought back to the last offset read, the rest of its fetched batch is dropped (fetched again after
  the seek), and `offset_gap_refetched` is logged. That one record may be processed twice
  (at-least-once; every consumer of our topics is idempotent or dedupes: remembered checks,
  ReplacingMergeTree);
- a commit moves only from the committed offset through consecutive acknowledged ones: the record at
  the committed offset must be acknowledged first. After a seek, a partition with no committed offset
  counts from its earliest offset.

Installed by `streams.app.create_app` (`app.transport`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import structlog
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP, Message

from streams.idempotent_producer import IdempotentTransport

log = structlog.get_logger(__name__)


class GuardedConsumer(aiokafka_driver.Consumer):  # type: ignore[misc]
    """`faust`'s aiokafka consumer with the two rules above replaced."""

    async def perform_seek(self) -> None:
        await super().perform_seek()
        unknown = [
            tp
            for tp in self.assignment()
            if self._committed_offset.get(tp) is None and self.app.topics.acks_enabled_for(tp.topic)
        ]
        if unknown:  # never committed (or at 0): the run of acknowledged offsets starts at the earliest
            earliest = await self.earliest_offsets(*unknown)
            for tp in unknown:
                self._committed_offset[tp] = earliest.get(tp) or 0

    def _new_offset(self, tp: TP) -> int | None:
        acked = self._acked[tp]
        committed = self._committed_offset.get(tp)
        if acked and committed is not None:
            acked.sort()
            if acked[0] > committed:  # the record at the committed offset is not done: hold the commit
                return None
        return cast("int | None", super()._new_offset(tp))

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        """faust's fetch loop, with a gap on a source topic sought back instead of passed on."""
        rewound: set[TP] = set()
        async for tp, message in super().getmany(timeout):
            if tp in rewound:
                continue  # fetched again after the seek
            read = self._read_offset[tp]
            if read is not None and message.offset - read > 1 and self.app.topics.acks_enabled_for(tp.topic):
                # `read` is the last offset handed on, or (after a seek) the next one: seek to it, which
                # hands at most that one record on twice
                await self.seek(tp, read)
                rewound.add(tp)
                log.warning(
                    "offset_gap_refetched",
                    topic=tp.topic,
                    partition=tp.partition,
                    read_offset=read,
                    fetched_offset=message.offset,
                )
                continue
            yield tp, message

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        """Never take offsets nobody processed as done (`getmany` above seeks back before a gap reaches
        the fetch loop; should one still get here, the commit holds at it instead)."""
        log.error(
            "offset_gap_not_acknowledged",
            topic=tp.topic,
            partition=tp.partition,
            missing_from=offset_from,
            missing_to=offset_to,
        )


class Transport(IdempotentTransport):
    """The worker's transport: idempotent producers (`streams.idempotent_producer`) and this consumer."""

    Consumer = GuardedConsumer
