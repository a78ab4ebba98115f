"""rebalance: how long a consumer-group rebalance takes against the number of workers and partitions.

For each partition count P (every topic of the pipeline, the register table's changelog included) and
worker count W, W workers are started at once on an empty world and the time until every one of them
logs "Worker ready" is taken: each join triggers a rebalance of the group (the others revoke, the group
leader assigns P partitions of each of the ~10 topics over W members), and each worker then recovers its
share of the tables' changelogs. This is what a deploy, a scale-out or a restart after a crash costs
before checks flow again (a killed worker adds the session timeout before the others notice).
docs/capacity.md extrapolates it to the worker and partition counts a province or the country needs.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.harness import Stack, wait_for_log
from bench.stats import Result

SECTION = "rebalance"


async def _all_ready(stack: Stack, workers: int, timeout: float = 600.0) -> float:
    """Seconds from spawning `workers` workers at once to the last one being ready; stops them."""
    started = time.monotonic()
    # each its own state folder (RocksDB tables take a lock on theirs)
    procs = [
        stack.spawn("worker", ["worker"], {"FAPIAO_DATA_DIR": str(stack.tmp / f"worker-{i}")})
        for i in range(workers)
    ]
    try:
        await asyncio.gather(*(wait_for_log(p, "Worker ready", timeout) for p in procs))
        return time.monotonic() - started
    finally:
        for proc in procs:
            await stack.stop(proc)


async def run(*, partitions: tuple[int, ...] = (4, 16, 32), workers: tuple[int, ...] = (1, 2, 3)) -> Result:
    result = Result(
        SECTION,
        "rebalance — W workers started at once over P partitions per topic: time until all are ready",
        {"partitions P": ", ".join(map(str, partitions)), "workers W": ", ".join(map(str, workers))},
    )
    for p in partitions:
        async with Stack(f"rebalance-p{p}", settings_overrides={"topic_partitions": p}) as stack:
            # first start alone (creates Faust's internal topics), not measured
            await _all_ready(stack, 1)
            for w in workers:
                seconds = await _all_ready(stack, w)
                result.add(
                    f"P={p}, W={w}: spawn → all ready",
                    f"{seconds:.1f} s",
                    f"{p * 10} partitions in the group's topics",
                )
    result.notes.append(
        "Each measurement includes starting the Python processes (imports: a few seconds on a loaded "
        "machine); W workers start together on a machine with 2 CPUs, so W > 2 also measures CPU "
        "contention. The tables are empty: recovery replays nothing, so this is the rebalance itself."
    )
    return result


def job(opts: Any) -> Any:
    """The coroutine factory `bench.cli` runs (--quick: P = 4, 16; W = 1, 2)."""
    if opts.quick:
        return lambda: run(partitions=(4, 16), workers=(1, 2))
    return lambda: run()
