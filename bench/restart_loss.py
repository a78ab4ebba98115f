"""restart-loss: does a worker that starts on a backlog answer every check request?

Not a performance benchmark: a reproduction of a correctness problem the verify-throughput benchmark
ran into. Each trial: pre-load M issued invoices, start a worker until its register holds them, stop
it, pre-load K check requests, optionally commit offset 0 for the worker's group on the check topics
(so every partition has a committed offset to seek back to), start the worker again, and wait until
either all K results are on `checks.results` or none has arrived for 15 s. A trial that stops short
lists the (partition, offset) of every request that got no result, and the group's committed offsets.
"""

from __future__ import annotations

import asyncio
import json
import time

from aiokafka import TopicPartition

from bench import data
from bench.harness import ResultsTail, Stack
from bench.report import console
from bench.stats import Result
from bench.verify_throughput import _ranges
from fapiao.bus import commit_offsets

QUIET_SECONDS = 15.0


async def _precommit(stack: Stack) -> None:
    tps = [
        TopicPartition(stack.topic(base), p)
        for base in ("checks.requested", "checks.rechecks")
        for p in range(stack.settings.topic_partitions)
    ]
    await commit_offsets(stack.settings, stack.settings.faust_app_id, dict.fromkeys(tps, 0))


async def trial(
    checks: int, invoices: int, precommit: bool
) -> tuple[int, list[tuple[int, int]], dict[int, int]]:
    """(results, unanswered (partition, offset), committed offsets on checks.requested)."""
    async with Stack("restart-loss", keep_logs=False) as stack:
        invs = data.invoices(invoices)
        reqs = data.check_requests(invs, checks)
        await stack.produce(stack.topic("invoices.issued"), data.issued_messages(invs))
        worker = await stack.start_worker()
        while await stack.end_offsets(stack.changelog) < invoices:
            await asyncio.sleep(0.2)
        await stack.stop(worker)
        requests_topic = stack.topic("checks.requested")
        results_topic = stack.topic("checks.results")
        await stack.produce(requests_topic, data.check_messages(reqs))
        if precommit:
            await _precommit(stack)
        tail = ResultsTail(stack, results_topic)
        await tail.start()
        try:
            await stack.start_worker()
            last, since = -1, time.monotonic()
            while True:
                have = await tail.poll(timeout_ms=500)
                if have >= checks:
                    return have, [], {}
                if have != last:
                    last, since = have, time.monotonic()
                elif time.monotonic() - since > QUIET_SECONDS:
                    break
        finally:
            await tail.stop()
        unanswered = sorted(
            (r.partition, r.offset)
            for r in await stack.read_topic(requests_topic)
            if json.loads(r.value)["check_id"].encode() not in tail.ids
        )
        committed = await stack.committed(stack.settings.faust_app_id, requests_topic)
        return len(tail.ids), unanswered, committed


async def run(
    *, runs: int = 10, checks: int = 10_000, invoices: int = 5_000, precommit: bool = False
) -> Result:
    result = Result(
        "restart-loss",
        "restart-loss — a worker started on a backlog: is every check request answered?",
        {"runs": runs, "checks K": f"{checks:,}", "invoices M": f"{invoices:,}", "precommit": precommit},
    )
    lost_runs = 0
    for n in range(1, runs + 1):
        answered, unanswered, committed = await trial(checks, invoices, precommit)
        if unanswered:
            lost_runs += 1
            offsets = ", ".join(f"p{p}={o}" for p, o in sorted(committed.items()))
            result.add(
                f"run {n}",
                f"{len(unanswered)} unanswered",
                f"offsets {_ranges(unanswered)}; committed {offsets}",
            )
        console.print(f"run {n}/{runs}: {answered:,} answered, {len(unanswered)} never answered")
    result.add("runs with unanswered requests", f"{lost_runs} of {runs}", "")
    result.verdict = (
        f"{lost_runs} of {runs} restarts left check requests unanswered"
        if lost_runs
        else f"every check request answered in all {runs} restarts"
    )
    return result
