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

3. **A partition with no committed offset is not sought back at a rebalance.** faust relies on its
   eager rebalance seeking every assigned partition to its committed offset (`perform_seek`, at the end
   of each rebalance's recovery), so that whatever was fetched and then dropped unprocessed (queued for
   an agent and cleared by `flow_control.clear()`, a bulk batch of an older generation:
   streams/bulk_feed.py) is fetched again. But aiokafka's `seek_to_committed` seeks only partitions
   that have a committed offset above 0: one that nobody committed yet keeps the fetcher's position,
   past the dropped records, and they were never fetched again. With rule 2 replaced the commit holds
   at them for ever: a stalled partition (issue 13, two workers: every check of the partitions a
   worker took at start-up unanswered, the group's committed offset on checks.requested missing; with
   faust's own rule 2, db54b84, the commit moved past them: lost). The guard seeks such a partition to
   its earliest offset (the `earliest` reset of `consumer_auto_offset_reset`), and the stream
   partitions are paused while their positions move, so nothing is handed on from the old position
   in between (it would be processed twice: once before the seek, once after).

4. **Nothing is committed at a revoke.** With `stream_wait_empty` off (streams/app.py), faust commits
   nothing when it gives partitions up, and with it on it commits after it has forgotten their
   acknowledgements: the next owner redid everything since the last periodic commit. The guard stops
   the flow, lets the batches in the agents' hands finish (bounded, streams/bulk_feed.py) and commits
   before faust's revoke runs (`on_partitions_revoked`). The revoke and the assignment's callback
   are both bounded (`REVOKE_BOUND_SECONDS`, `ASSIGN_BOUND_SECONDS`): past the bound the worker exits
   crash-only rather than hold partitions it does not consume.

Installed by `streams.app.create_app` (`app.transport`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import cast

import structlog
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP, Message

from streams.idempotent_producer import IdempotentTransport

log = structlog.get_logger(__name__)

REVOKE_DRAIN_SECONDS = 5.0  # in-flight batches finish in well under a second; a stuck stage waits no longer
# The whole revoke (the drain above, the commit, faust's own revoke with its producer flush) returns
# within this or the worker exits crash-only: a revoke that never returns wedged a survivor for minutes.
REVOKE_BOUND_SECONDS = 20.0
# The assignment's callback (faust's agents, topics and tables `on_rebalance`: RocksDB partitions opened,
# the recovery told what to read) returns within this or the worker exits crash-only, as at a revoke.
# Above faust's own wait for a RocksDB partition locked by another process (30 tries, 1 s apart, then it
# gives up itself), so only a callback that would never return reaches it.
ASSIGN_BOUND_SECONDS = 45.0


class GuardedConsumer(aiokafka_driver.Consumer):  # type: ignore[misc]
    """`faust`'s aiokafka consumer with the two rules above replaced."""

    async def perform_seek(self) -> None:
        """faust's seek of every assigned partition to its committed offset, and of every stream
        partition never committed (or at 0) to its earliest offset (rule 3), with the stream partitions
        paused meanwhile."""
        streams = {tp for tp in self.assignment() if self.app.topics.acks_enabled_for(tp.topic)}
        fetching = streams & self._get_active_partitions()
        self.pause_partitions(fetching)
        try:
            await super().perform_seek()
            unknown = [tp for tp in streams if self._committed_offset.get(tp) is None]
            if unknown:  # the run of acknowledged offsets starts at the earliest, and so does the fetch
                earliest = await self.earliest_offsets(*unknown)
                for tp in unknown:
                    offset = earliest.get(tp) or 0
                    await self.seek(tp, offset)
                    self._committed_offset[tp] = offset
        finally:
            self.resume_partitions(fetching & self.assignment())

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

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        """The handover comes first (rule 4): faust's `Consumer.on_partitions_revoked` forgets every
        acknowledgement of the revoked partitions (`_acked`, `_committed_offset`) before the app's
        revoke handler runs, so a commit made there (faust's own `wait_empty`, or ours) had nothing to
        commit: the flow is stopped here (no new batch starts), what the agents hold is finished within
        the bound and committed while the old assignment and generation still stand, and only then
        does faust's revoke run.

        Bounded (`REVOKE_BOUND_SECONDS`): after the drain's bound, the commit (faust's `commit` waits
        for a commit in flight and for `producer.flush()`) and faust's revoke (`producer.flush()` again)
        wait without one, and while the callback runs aiokafka does not rejoin: the heartbeats go on,
        the group waits for this member (up to faust's `broker_rebalance_timeout`, 60 s) and the worker
        consumes nothing for as long as the callback does not return (issue 13: a survivor silent 3
        minutes after `bulk_feed_unsettled_at_revoke`). A revoke still running at the bound exits the worker
        (`revoke_wedged`, exit 75): its session ends, the group goes on without it, the supervisor
        restarts it, and nothing was committed past what it processed. A timer, not `wait_for`: faust's
        `maybe_wait_for_commit_to_finish` swallows a cancellation and goes on committing."""
        if not revoked or self.app.should_stop:
            await super().on_partitions_revoked(revoked)
            return
        with _watchdog(REVOKE_BOUND_SECONDS, revoke_wedged, len(revoked)):
            self.stop_flow()
            await self.commit_before_handover(REVOKE_DRAIN_SECONDS)
            await super().on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        """faust's assignment callback, bounded like the revoke (`ASSIGN_BOUND_SECONDS`): while it runs
        the worker is a member of a stable generation that owns `assigned` (its heartbeats go on, the
        group does not rebalance) and consumes none of it: an assignment that never returned would
        leave its partitions unanswered until the next rebalance, however long that is. Past the bound
        the worker exits crash-only (`assign_wedged`, exit 75): its session ends, the partitions go to
        the other workers, the supervisor restarts it. A timer, not `wait_for`, for the same reason as
        at the revoke: what hangs may swallow a cancellation."""
        if self.app.should_stop:
            await super().on_partitions_assigned(assigned, generation_id)
            return
        with _watchdog(ASSIGN_BOUND_SECONDS, assign_wedged, len(assigned)):
            await super().on_partitions_assigned(assigned, generation_id)

    async def commit_before_handover(self, timeout: float) -> None:
        """At a revoke (and a clean stop): let the records agents already hold finish (at most `timeout`
        s), then commit.

        faust commits at a revoke only with `stream_wait_empty` (off here: its wait is unbounded, so one
        stuck stage would hold the whole group's rebalance), and then after it forgot the revoked
        partitions' acknowledgements. Without a commit the partitions went to the next owner at the last
        periodic commit (`broker_commit_interval`, 2.8 s), and it answered again every check processed
        since: 987 and 42 duplicate results at a two-worker start-up (docs/benchmarks.md), every one of
        1,600 checks twice in tests/integration/test_rebalance_no_loss.py. What is still unacknowledged
        after the bound is handed over and redelivered (at-least-once, bounded by the batch sizes)."""
        started = time.monotonic()
        if self._unacked_messages:  # (faust-stream events only: bulk-fed records are never tracked there)
            gc.collect()  # events dropped with the cleared queues leave `_unacked_messages` (a weak set)
            self._clean_unacked_messages()
        while self._unacked_messages and time.monotonic() - started < timeout:
            await self.commit()
            await self._wait_for_ack(timeout=1.0)
            self._clean_unacked_messages()
        pending = sorted(f"{tp.topic}[{tp.partition}]" for tp, acked in self._acked.items() if acked)
        committed = await self.commit() or await self.commit()  # (the first one may only wait for another)
        log.info(
            "revoke_committed",
            seconds=round(time.monotonic() - started, 3),
            committed=committed,
            partitions=len(pending),
            handed_over_unacknowledged=len(self._unacked_messages),
        )

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


@contextlib.contextmanager
def _watchdog(bound: float, wedged: Callable[[int], None], partitions: int) -> Iterator[None]:
    """Call `wedged(partitions)` should the block still run `bound` seconds from now. A timer, not
    `wait_for`: what hangs may swallow a cancellation (faust's commit does)."""
    timer = asyncio.get_running_loop().call_later(bound, wedged, partitions)
    try:
        yield
    finally:
        timer.cancel()


def _exit_wedged(stage: str, what: str, partitions: int, bound: float) -> None:
    from streams import error_policy  # (error_policy imports streams.app, which imports this module)

    error_policy.crash(
        stage, TimeoutError(f"the {what} of {partitions} partitions did not return within {bound} s")
    )


def revoke_wedged(partitions: int) -> None:
    """A revoke outlived `REVOKE_BOUND_SECONDS`: exit crash-only (streams/error_policy.py)."""
    _exit_wedged("revoke", "revoke", partitions, REVOKE_BOUND_SECONDS)


def assign_wedged(partitions: int) -> None:
    """An assignment outlived `ASSIGN_BOUND_SECONDS`: exit crash-only (streams/error_policy.py)."""
    _exit_wedged("assign", "assignment", partitions, ASSIGN_BOUND_SECONDS)


class Transport(IdempotentTransport):
    """The worker's transport: idempotent producers (`streams.idempotent_producer`) and this consumer."""

    Consumer = GuardedConsumer
