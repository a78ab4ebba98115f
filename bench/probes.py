"""Probe checks per partition: how long until every partition of `checks.requested` answers a check
sent after some moment (a kill -9, a restart). Shared by register-scale's failover and chaos's
two-worker kill cycles.

A probe is a check of a registered invoice on a chosen partition (the producers' default partitioner
decides the partition from the invoice key, so the pool of invoices is sorted by partition first).
Each round sends one new probe per partition that has not answered yet, each of another invoice of
that partition, so no invoice comes near the daily limit of 5 checks.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiokafka.partitioner import murmur2

from bench import data
from bench.harness import ResultsTail, Stack
from fapiao.domain.invoice_types import invoice_key
from tests.factories import check_of

PROBE_SECONDS = 0.5  # a new round of probes this often


def partition_of(key: str, partitions: int) -> int:
    """The partition the producers' default partitioner (murmur2, as the API's Publisher) picks."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def pool(indexes: Iterable[int], partitions: int) -> dict[int, list[int]]:
    """Invoice indexes (`bench.data.invoice(i)`) by the partition their key lands on."""
    out: dict[int, list[int]] = {}
    for i in indexes:
        p = partition_of(invoice_key(data.CODE, f"{data.FIRST_NUMBER + i:08d}"), partitions)
        out.setdefault(p, []).append(i)
    return out


@dataclass
class ProbeRun:
    """One wait: per partition, seconds from `since` to its first answered probe."""

    answered: dict[int, float] = field(default_factory=dict)
    sent: int = 0

    def seconds(self, partitions: Iterable[int]) -> float | None:
        """Until every one of `partitions` answered; None when one of them never did."""
        wanted = list(partitions)
        if not wanted or any(p not in self.answered for p in wanted):
            return None
        return max(self.answered[p] for p in wanted)


class Prober:
    """Sends probes through `stack` and watches `tail` for their results. `poll` takes in what has
    arrived (by default the tail's own poll; pass a sleep when another task polls the tail)."""

    def __init__(
        self,
        stack: Stack,
        tail: ResultsTail,
        invoices: dict[int, list[int]],
        poll: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.stack, self.tail, self.invoices = stack, tail, invoices
        self.poll = poll or (lambda: tail.poll(timeout_ms=100))
        self.ids: set[str] = set()  # every probe's check id (they count as requested checks too)
        self._round = 0

    async def send_round(self, partitions: Iterable[int]) -> dict[bytes, int]:
        """One probe to each of `partitions` (each of the next invoice of its pool); id -> partition."""
        sent: dict[bytes, int] = {}
        batch = []
        for p in sorted(partitions):
            numbers = self.invoices[p]
            check = check_of(
                data.invoice(numbers[self._round % len(numbers)]), requested_at=datetime.now(UTC)
            )
            sent[str(check.check_id).encode()] = p
            self.ids.add(str(check.check_id))
            batch.append(data.encode(invoice_key(check.invoice_code, check.invoice_number), check))
        self._round += 1
        await self.stack.produce(self.stack.topic("checks.requested"), batch)
        return sent

    async def until_answered(self, partitions: Iterable[int], *, since: float, limit: float) -> ProbeRun:
        """Probe each of `partitions` every PROBE_SECONDS until each answered one sent after `since`
        (time.monotonic()), or `limit` seconds after `since`."""
        run = ProbeRun()
        waiting = {p for p in partitions if p in self.invoices}
        sent: dict[bytes, int] = {}  # probe check id -> partition
        while waiting and time.monotonic() - since < limit:
            sent |= await self.send_round(waiting)
            run.sent += len(waiting)
            deadline = time.monotonic() + PROBE_SECONDS
            while time.monotonic() < deadline:
                await self.poll()
                now = time.monotonic() - since
                for check_id, p in sent.items():
                    if p in waiting and check_id in self.tail.ids:
                        run.answered[p] = now
                        waiting.discard(p)
        return run
