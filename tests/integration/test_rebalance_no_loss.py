"""Two workers in one group, partitions moving under a backlog: every check is answered exactly once.

Each round: a backlog of checks is waiting when worker B joins worker A (in the first round both start
together on it: the first to join works it alone until the other one's join moves half of its
partitions); once it is drained, no check was answered twice (A committed what it had finished before
it handed the partitions over) and none is left. Then the round's repeated checks come in two parts,
each right before a move: B is killed -9 and restarted, then A is killed -9 and restarted, and both
drain the rest. Afterwards every check has exactly one result row in ClickHouse (FINAL), the group has
committed everything, the 第N次查验 numbers of each invoice are 1…5 with no gap and the 5-per-day
limit refused exactly the rest. Guards the loss and the stalls seen with two workers
(streams/offset_guard.py rules 1-3, streams/bulk_feed.py) and the redone checks at a clean rebalance
(the commit at a revoke: streams/flow_control.py). Rounds: FAPIAO_TEST_REBALANCE_ROUNDS (default 1;
raise it, with a longer --timeout, to hunt a timing-dependent loss).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from fapiao import topics
from fapiao.bus import Publisher, worker_lag
from fapiao.domain.invoice_types import invoice_key
from fapiao.domain.verification import DAILY_CHECK_LIMIT
from fapiao.settings import Settings
from fapiao.warehouse.engine import NativeEngine
from schemas.events import CheckRequested, InvoiceIssued, Verdict
from tests.factories import check_of, issued
from tests.integration.conftest import _env, private_stack, records_on
from tests.integration.processes import cli_process

ROUNDS = int(os.environ.get("FAPIAO_TEST_REBALANCE_ROUNDS", "1"))
BACKLOG = 1600  # checks of invoices never issued waiting at each join (answered 查无此票 at once)
MISSING = 800  # more of them among the repeated checks, in the kill -9 phases
REPEATED = 40  # issued invoices per round, each checked DAILY_CHECK_LIMIT + 2 times
STEP_SECONDS = 1.5  # how long the workers work between two moves
QUIET_SECONDS = 20.0


@pytest.fixture
def rebalance_stack(tmp_path: Path) -> Iterator[tuple[Settings, NativeEngine]]:
    with private_stack("rebalance", tmp_path) as stack:
        yield stack


def _round_events(n: int) -> tuple[list[InvoiceIssued], list[CheckRequested], list[CheckRequested]]:
    """The round's invoices, the backlog waiting at the join (never-issued invoices: answered whatever
    the register holds yet), and the checks of the kill phases (the repeated ones among more missing)."""
    now = datetime.now(UTC)
    never = date.today() - timedelta(days=30)
    missing = [
        check_of(issued(number=f"{40_000_000 + n * 100_000 + i:08d}", issue_date=never), requested_at=now)
        for i in range(BACKLOG + MISSING)
    ]
    invoices = [
        issued(number=f"{50_000_000 + n * 1000 + i:08d}", issue_date=date.today() - timedelta(days=2))
        for i in range(REPEATED)
    ]
    repeated = [check_of(inv, requested_at=now) for _ in range(DAILY_CHECK_LIMIT + 2) for inv in invoices]
    later = missing[BACKLOG:]
    mixed = [c for pair in zip(later, repeated + [None] * len(later), strict=False) for c in pair if c]
    return invoices, missing[:BACKLOG], mixed


async def _publish(settings: Settings, items: list[tuple[topics.TopicSpec, str, object]]) -> None:
    publisher = Publisher(settings)
    await publisher.start()
    try:
        await publisher.publish_many(items)  # type: ignore[arg-type]
    finally:
        await publisher.stop()


def _answered(engine: NativeEngine) -> int:
    return int(engine.execute("SELECT uniqExact(check_id) FROM check_results")[0][0])


async def _lag(settings: Settings) -> int:
    specs = (topics.CHECKS_REQUESTED, topics.CHECKS_VERIFIED, topics.CHECKS_RESULTS, topics.INVOICES_ISSUED)
    return await worker_lag(settings, specs)


class Workers:
    """The two workers (own data dirs, one group), started and killed by name."""

    def __init__(self, settings: Settings, tmp: Path, exits: ExitStack) -> None:
        # a worker killed -9 holds its partitions until its session times out: the shortest allowed
        self.env = _env(settings) | {"FAPIAO_WORKER_SESSION_TIMEOUT_SECONDS": "6"}
        self.tmp, self.exits = tmp, exits
        self.procs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}
        self.started = 0

    async def start(self, name: str) -> None:
        self.started += 1
        log = self.tmp / f"worker-{name}-{self.started}.log"
        env = self.env | {"FAPIAO_DATA_DIR": str(self.tmp / f"data-{name}")}
        proc = self.exits.enter_context(cli_process(["worker"], env, log))
        self.procs[name] = (proc, log)
        deadline = time.monotonic() + 120
        while "Worker ready" not in log.read_text(errors="replace"):
            assert proc.poll() is None, f"worker {name} exited:\n{log.read_text(errors='replace')[-4000:]}"
            assert time.monotonic() < deadline, f"worker {name} not ready"
            await asyncio.sleep(0.2)

    async def start_together(self, *names: str) -> None:
        """Spawn the workers at once (the first to join the group works alone until the next joins)."""
        await asyncio.gather(*(self.start(name) for name in names))

    def stop(self, name: str) -> None:
        proc, _ = self.procs.pop(name)
        proc.terminate()
        proc.wait(30)

    def kill(self, name: str) -> None:
        proc, _ = self.procs.pop(name)
        proc.kill()
        proc.wait(10)

    def alive(self) -> None:
        for name, (proc, log) in self.procs.items():
            assert proc.poll() is None, f"worker {name} exited:\n{log.read_text(errors='replace')[-4000:]}"


async def _drain(settings: Settings, engine: NativeEngine, workers: Workers, want: int) -> int:
    last, since = None, time.monotonic()
    while (now := (_answered(engine), await _lag(settings))) != (want, 0):
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > QUIET_SECONDS:
            break
        workers.alive()
        await asyncio.sleep(0.5)
    return now[1]


async def _publish_checks(settings: Settings, checks: list[CheckRequested]) -> None:
    await _publish(
        settings,
        [(topics.CHECKS_REQUESTED, invoice_key(c.invoice_code, c.invoice_number), c) for c in checks],
    )


async def test_partitions_moving_under_a_backlog_lose_and_double_count_nothing(
    rebalance_stack: tuple[Settings, NativeEngine], tmp_path: Path
) -> None:
    settings, engine = rebalance_stack
    sent: list[CheckRequested] = []
    invoices: list[InvoiceIssued] = []
    with ExitStack() as exits:
        workers = Workers(settings, tmp_path, exits)
        for n in range(ROUNDS):
            round_invoices, backlog, later = _round_events(n)
            invoices += round_invoices
            await _publish(
                settings,
                [
                    (topics.INVOICES_ISSUED, invoice_key(i.invoice_code, i.invoice_number), i)
                    for i in round_invoices
                ],
            )
            await _publish_checks(settings, backlog)
            results_before = await records_on(settings, topics.CHECKS_RESULTS)
            if n == 0:
                await workers.start_together("a", "b")
            else:
                await workers.start("b")  # joins while A works the backlog
            sent += backlog
            lag = await _drain(settings, engine, workers, len(sent))
            assert (_answered(engine), lag) == (len(sent), 0), f"round {n}: the join left checks unanswered"
            redone = await records_on(settings, topics.CHECKS_RESULTS) - results_before - len(backlog)
            assert redone == 0, f"round {n}: {redone} checks answered twice at a clean rebalance"
            # the register holds the round's invoices now (lag 0 on invoices.issued): their checks come
            halves = [later[: len(later) // 2], later[len(later) // 2 :]]
            await _publish_checks(settings, halves[0])
            workers.kill("b")  # mid-backlog
            await workers.start("b")
            await asyncio.sleep(STEP_SECONDS)
            await _publish_checks(settings, halves[1])
            workers.kill("a")
            await asyncio.sleep(STEP_SECONDS)
            await workers.start("a")
            sent += later
            lag = await _drain(settings, engine, workers, len(sent))
            assert lag == 0, f"round {n}: {lag} records processed but never committed"
            workers.stop("b")  # the next round's B joins again

    rows = engine.execute(
        "SELECT toString(check_id), count(), any(verdict), any(check_count), any(invoice_key) "
        "FROM check_results FINAL GROUP BY check_id"
    )
    per_check = {r[0]: r[1:] for r in rows}
    missing = {str(c.check_id) for c in sent} - set(per_check)
    assert not missing, f"{len(missing)} of {len(sent)} checks never got a result"
    assert len(per_check) == len(sent)
    doubled = {k: v for k, v in per_check.items() if v[0] != 1}
    assert not doubled, f"{len(doubled)} checks with more than one result row"
    by_invoice: dict[str, list[tuple[str, int]]] = {}
    for _, verdict, number, key in per_check.values():
        by_invoice.setdefault(key, []).append((verdict, number))
    for inv in invoices:
        got = by_invoice[invoice_key(inv.invoice_code, inv.invoice_number)]
        counted = sorted(n for v, n in got if v == Verdict.CONSISTENT.value)
        assert counted == list(range(1, DAILY_CHECK_LIMIT + 1)), got
        assert (
            sorted(v for v, _ in got if v != Verdict.CONSISTENT.value) == [Verdict.LIMIT_EXCEEDED.value] * 2
        )
