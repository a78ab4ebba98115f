"""At each assignment, the register's backlog is folded before the verify feed answers (bounded).

Why: the verify feed answers a check from the register table; an invoice published on invoices.issued
*before* the check was asked, but not folded yet, reads as unknown, and the check is answered 待同步
(pending_sync) and followed up once the fold comes. After an outage (a worker restarted on a backlog, a
failover onto partitions nobody consumed for a while) every check queued meanwhile raced the register's
backlog on the same fetch, and many were answered twice: first 待同步, then the follow-up, where folding
first would have answered them right at once (issue 13).

How (`Gate`, wired in streams/bulk_feed.py's consumer): a feed declares the feeds it follows (the verify
feed: the register's topics). At each assignment the follower's partitions are *closed*: when faust
resumes its stream partitions after the tables' recovery, the closed ones stay paused (nothing of them
is fetched, so no fetch waits for them either: the register's records flow alone); then the end offsets
of the leaders' partitions are read, and once every one of them is processed up to that end (its
committed offset or the last batch the feed finished), or after `CATCH_UP_SECONDS`, the gate opens and
the follower's partitions are resumed. A rebalance meanwhile abandons the gate: the next assignment
closes a new one. The bound keeps a register that cannot catch up (folding slower than invoices arrive)
from holding checks back for longer than a few seconds: those are answered 待同步 and followed up, as
before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from faust.types import TP

CATCH_UP_SECONDS = 5.0  # part of a failover's budget (≤ 15 s): the survivor rejoins ~6 s after a kill
POLL_SECONDS = 0.05


def behind(ends: Mapping[TP, int], processed: Mapping[TP, int]) -> set[TP]:
    """The partitions not yet processed up to the end offset seen (the offset of the next record to be
    written; `processed`: the offset of the next record to process)."""
    return {tp for tp, end in ends.items() if processed.get(tp, 0) < end}


def remaining(ends: Mapping[TP, int], processed: Mapping[TP, int]) -> int:
    """How many records are still to process up to the ends."""
    return sum(max(0, end - processed.get(tp, 0)) for tp, end in ends.items())


@dataclass
class Gate:
    """One assignment's hold on the follower feeds' partitions (module doc)."""

    generation: int = -1
    closed: set[TP] = field(default_factory=set)  # the followers' partitions held back
    withheld: set[TP] = field(default_factory=set)  # of those, the ones faust asked to resume
    leaders: set[TP] = field(default_factory=set)  # the partitions to catch up on
    task: asyncio.Task[None] | None = None

    def close(self, generation: int, assigned: Iterable[TP], followers: set[str], leaders: set[str]) -> None:
        """A new assignment: hold the followers' partitions if there is anything to follow."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.task = None
        assigned = set(assigned)
        self.generation = generation
        self.leaders = {tp for tp in assigned if tp.topic in leaders}
        self.closed = {tp for tp in assigned if tp.topic in followers} if self.leaders else set()
        self.withheld = set()

    def split_resume(self, tps: Iterable[TP]) -> set[TP]:
        """Of the partitions faust resumes, those that may be resumed now (the closed ones are kept)."""
        tps = set(tps)
        held = tps & self.closed
        self.withheld |= held
        return tps - held

    def paused(self, tps: Iterable[TP]) -> None:
        """faust paused these (a rebalance, a recovery): they are not to be resumed when the gate opens."""
        self.withheld -= set(tps)

    def open(self) -> set[TP]:
        """Open the gate: the partitions faust asked to resume meanwhile, to resume now."""
        resume, self.closed, self.withheld = self.withheld, set(), set()
        return resume
