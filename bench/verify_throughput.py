"""verify-throughput: how fast the worker turns a backlog of check requests into results.

1. Pre-load M issued invoices; start a worker; wait until its register holds all M (changelog), then
   stop it (gracefully: offsets committed).
2. Pre-load K check requests on `checks.requested` (batched producer).
3. Baselines, worker not running: a raw aiokafka consume→produce passthrough of the same K messages
   (own consumer group, unchanged bytes to another topic, one batch of sends awaited per fetch,
   offsets committed per batch, acks=all and linger 1 ms like the worker's producer); and the same
   passthrough with the pydantic decode + encode of every message, as the lower bound of any agent
   that reads and writes schema events.
4. Start the worker again (it first recovers the M-entry register from its changelog: "Worker ready")
   and poll the end offsets of `checks.results` until all K results are there; then read them back
   and take the first/last result timestamps (Kafka CreateTime, set by the worker's producer).

The worker process also runs the risk stage (rules, model, sealing) and the ClickHouse sink, which
writes the same K results while the verify agent works: that is the deployed shape, and it shares the
worker's one event loop / core. `workers=2` starts two worker processes in one group (own data dir
each; the second recovers its partitions from the changelog). The run ends when every result is on
`checks.results` and every check is in ClickHouse's `check_results` (polled); worker CPU (utime +
stime from /proc) is counted from 'Worker ready' to the last result.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from bench import data, kafka_requests, pipeline_trace
from bench.harness import ResultsTail, Stack
from bench.profiling import Profiler, summarise
from bench.report import console
from bench.risk_throughput import _server_pids, _stat_cpu
from bench.stats import Result, rate, secs
from fapiao.kafka_auth import client_kwargs
from schemas.events import CheckRequested


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


async def passthrough(
    stack: Stack,
    source: str,
    target: str,
    k: int,
    group: str,
    transform: Callable[[bytes], bytes] | None,
    on_progress: Callable[[int], None],
    timeout: float,
) -> tuple[float, float, int]:
    """Consume k records of `source` with its own group, produce them to `target` (same partition).
    Returns (seconds from start to last ack, seconds from first record to last ack, records)."""
    consumer = AIOKafkaConsumer(
        source,
        **client_kwargs(stack.settings),
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(
        **client_kwargs(stack.settings), acks="all", enable_idempotence=True, linger_ms=1
    )
    started = time.perf_counter()
    await consumer.start()
    await producer.start()
    first = None
    done = 0
    try:
        deadline = started + timeout
        while done < k and time.perf_counter() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=1000)
            futures = []
            for records in batches.values():
                if records and first is None:
                    first = time.perf_counter()
                for r in records:
                    value = transform(r.value) if transform else r.value
                    futures.append(await producer.send(target, key=r.key, value=value, partition=r.partition))
            if futures:
                await asyncio.gather(*futures)
                await consumer.commit()
                done += len(futures)
                on_progress(done)
        ended = time.perf_counter()
    finally:
        await producer.stop()
        await consumer.stop()
    return ended - started, ended - (first or started), done


STALL_SECONDS = 30  # no new result for this long after 'Worker ready': the rest is not coming


def _ranges(pairs: list[tuple[int, int]], limit: int = 6) -> str:
    """[(0, 20), (0, 21), (1, 5)] -> 'p0: 20–21; p1: 5'."""
    out: dict[int, list[list[int]]] = {}
    for partition, offset in sorted(pairs):
        runs = out.setdefault(partition, [])
        if runs and runs[-1][1] == offset - 1:
            runs[-1][1] = offset
        else:
            runs.append([offset, offset])

    def fmt(runs: list[list[int]]) -> str:
        shown = ", ".join(f"{a}–{b}" if a != b else f"{a}" for a, b in runs[:limit])
        return shown + (f" … (+{len(runs) - limit} more)" if len(runs) > limit else "")

    return "; ".join(f"p{p}: {fmt(runs)}" for p, runs in out.items())


def _advance(progress: Progress, task: TaskID, n: int) -> None:
    progress.update(task, completed=n)


def _pydantic_roundtrip(value: bytes) -> bytes:
    return CheckRequested.model_validate_json(value).model_dump_json().encode()


def _cpu(pids: list[int]) -> float:
    """utime + stime (seconds) of the processes, together."""
    return sum(v for p in pids if (v := _stat_cpu(f"/proc/{p}/stat")) is not None)


def _per_pid(groups: dict[str, list[int]]) -> dict[str, dict[int, float]]:
    """utime + stime of each live process of each group (a process gone since is left out)."""
    return {
        name: {p: v for p in pids if (v := _stat_cpu(f"/proc/{p}/stat")) is not None}
        for name, pids in groups.items()
    }


async def _all_in_clickhouse(stack: Stack, checks: int, timeout: float) -> tuple[float | None, int, int]:
    """Poll check_results until it holds every check; (time.time() when it did or None, distinct
    checks, rows at their newest result)."""
    deadline = time.monotonic() + timeout
    distinct = newest = 0
    while time.monotonic() < deadline:
        distinct = int((await stack.sql("SELECT uniqExact(check_id) FROM check_results"))[0][0])
        if distinct >= checks:
            done = time.time()
            newest = int((await stack.sql("SELECT count() FROM check_results FINAL"))[0][0])
            return done, distinct, newest
        await asyncio.sleep(0.2)
    return None, distinct, newest


async def run(
    *, checks: int = 50_000, invoices: int = 25_000, profile: bool = False, workers: int = 1
) -> Result:
    result = Result(
        "verify-throughput",
        "verify-throughput — backlog of check requests → results (worker vs raw aiokafka)",
        {
            "checks K": f"{checks:,}",
            "invoices M": f"{invoices:,}",
            "mix": "90% 一致, 5% 不一致, 5% 查无此票",
            "workers": workers,
        },
    )
    profile_path = None
    async with Stack("verify-throughput") as stack:
        result.params["partitions"] = stack.settings.topic_partitions
        result.params["pipeline"] = (
            f"verify + risk (sealing {'on' if stack.settings.field_encryption else 'off'}) + ClickHouse sink"
            if stack.settings.risk_enabled
            else "verify (sealed) + ClickHouse sink, risk stage off"
        )
        requests_topic = stack.topic("checks.requested")
        results_topic = stack.topic("checks.results")
        invs = data.invoices(invoices)
        reqs = data.check_requests(invs, checks)

        with _progress() as progress:
            t = progress.add_task("pre-load invoices", total=invoices)
            await stack.produce(
                stack.topic("invoices.issued"),
                data.issued_messages(invs),
                on_progress=lambda n: progress.update(t, completed=n),
            )
            t = progress.add_task("worker: fold invoices into the register", total=invoices)
            worker = await stack.start_worker()
            ready = time.monotonic()
            while (have := await stack.end_offsets(stack.changelog)) < invoices:
                progress.update(t, completed=have)
                if worker.popen.poll() is not None:
                    raise RuntimeError(f"worker exited:\n{worker.log_text()[-3000:]}")
                await asyncio.sleep(0.2)
            progress.update(t, completed=invoices)
            register_s = time.monotonic() - ready
            await stack.stop(worker)

            t = progress.add_task("pre-load check requests", total=checks)
            await stack.produce(
                requests_topic,
                data.check_messages(reqs),
                on_progress=lambda n: progress.update(t, completed=n),
            )

            baselines = {}
            for label, transform in (("raw", None), ("pydantic", _pydantic_roundtrip)):
                target = stack.topic(f"bench.passthrough-{label}")
                await stack.create_topic(target)
                t = progress.add_task(f"baseline: aiokafka passthrough ({label})", total=checks)
                baselines[label] = await passthrough(
                    stack,
                    requests_topic,
                    target,
                    checks,
                    stack.topic(f"bench-passthrough-{label}"),
                    transform,
                    functools.partial(_advance, progress, t),
                    timeout=600,
                )

            t = progress.add_task("worker: verify the backlog (distinct checks answered)", total=checks)
            tail = ResultsTail(stack, results_topic)
            await tail.start()
            files = [stack.logs / f"kafka-requests-{n}.json" for n in range(workers)]
            procs = [
                stack.spawn(
                    "worker",
                    ["worker"],
                    {"FAPIAO_BENCH_KAFKA_REQUESTS": str(file)}
                    | ({"FAPIAO_DATA_DIR": str(stack.tmp / f"worker-{n + 1}")} if n else {}),
                    module="bench.kafka_requests",
                )
                for n, file in enumerate(files)
            ]
            worker = procs[0]
            spawned = time.monotonic()
            cpu_ready = cpu_done = 0.0
            seen_ready: set[int] = set()
            servers = _server_pids()
            servers_ready: dict[str, dict[int, float]] = {}
            servers_done: dict[str, dict[int, float]] = {}
            at_ready: Counter[str] = Counter()
            at_done: Counter[str] = Counter()
            spawned_wall = worker.started_wall
            ready_at = None
            done_at = None
            deadline = spawned + max(300.0, checks / 100)
            profiler = None
            last_count, last_change = -1, spawned
            stalled = False
            try:
                while time.monotonic() < deadline:
                    # log_has searches only what it has not read yet: remember who was ready
                    seen_ready.update(
                        n for n, p in enumerate(procs) if n not in seen_ready and p.log_has("Worker ready")
                    )
                    if ready_at is None and len(seen_ready) == len(procs):
                        ready_at = last_change = time.monotonic()
                        at_ready = sum((kafka_requests.read(f) for f in files), Counter())
                        cpu_ready = _cpu([p.pid for p in procs])
                        servers_ready = _per_pid(servers)
                        if profile:
                            profile_path = stack.logs / "worker.profile.txt"
                            profiler = Profiler(worker, profile_path, 900).__enter__()
                    have = await tail.poll(timeout_ms=200)
                    progress.update(t, completed=have)
                    if have >= checks:
                        done_at = time.monotonic()
                        cpu_done = _cpu([p.pid for p in procs])
                        servers_done = _per_pid(servers)
                        await asyncio.sleep(1.1)  # the counts are written once a second
                        at_done = sum((kafka_requests.read(f) for f in files), Counter())
                        break
                    if have != last_count:
                        last_count, last_change = have, time.monotonic()
                    elif ready_at is not None and time.monotonic() - last_change > STALL_SECONDS:
                        stalled = True  # no new result for a while: the rest is not coming
                        break
                    for proc in procs:
                        if proc.popen.poll() is not None:
                            raise RuntimeError(f"worker exited:\n{proc.log_text()[-3000:]}")
                stored_at, stored, newest = (
                    await _all_in_clickhouse(stack, checks, timeout=120) if done_at else (None, 0, 0)
                )
            finally:
                if profiler is not None:
                    profiler.__exit__(None, None, None)
                await tail.stop()

            unanswered: list[tuple[int, int]] = []
            committed: dict[int, int] = {}
            where: pipeline_trace.Trace | None = None
            if len(tail.ids) < checks:
                for proc in procs:  # each live worker dumps its threads' and tasks' stacks into its log
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.pid, signal.SIGUSR1)
                missing = {
                    check_id: (r.partition, r.offset)
                    for r in await stack.read_topic(requests_topic)
                    if (check_id := json.loads(r.value)["check_id"].encode()) not in tail.ids
                }
                unanswered = sorted(missing.values())
                committed = await stack.committed(stack.settings.faust_app_id, requests_topic)
                where = await pipeline_trace.trace(stack, {check_id.decode() for check_id in missing})

    # ---------------------------------------------------------------- numbers
    unique = len(tail.ids)
    first_last = (tail.last_new_ts - tail.first_ts) / 1000 if tail.first_ts and tail.last_new_ts else None
    last = tail.last_new_ts / 1000 if tail.last_new_ts else None
    spawn_to_last = last - spawned_wall if last else None
    ready_to_last = (last - (spawned_wall + (ready_at - spawned))) if last and ready_at else None
    raw_wall, raw_active, raw_n = baselines["raw"]
    _pyd_wall, pyd_active, pyd_n = baselines["pydantic"]
    verdicts = Counter(tail.verdicts)

    result.add(
        "checks answered on checks.results",
        f"{unique:,}",
        f"{tail.records:,} result records; " + ", ".join(f"{v} {n}" for v, n in verdicts.most_common()),
    )
    if at_done:
        spent = at_done - at_ready
        per = 1000 / max(unique, 1)
        result.add(
            "Kafka requests per 1,000 checks",
            f"{spent['ProduceRequest'] * per:,.0f} produce / {spent['FetchRequest'] * per:,.0f} fetch",
            f"sent by the worker from 'Worker ready' to the last result ({sum(spent.values()) * per:,.0f} "
            f"of every kind: " + ", ".join(f"{k} {v * per:,.0f}" for k, v in spent.most_common(6)) + ")",
        )
    result.add(
        "duplicate results",
        f"{tail.records - unique:,}",
        "result records beyond one per check (none expected here: no follow-ups in this mix)",
    )
    result.add(
        "worker throughput (first → last result)",
        rate(unique, first_last),
        f"{secs(first_last)} from the first result's timestamp to the one completing the last check",
    )
    first_to_stored = stored_at - tail.first_ts / 1000 if stored_at and tail.first_ts else None
    result.add(
        "full pipeline: first result → every check in ClickHouse",
        rate(unique, first_to_stored),
        f"{secs(first_to_stored)}; check_results holds {stored:,} distinct checks, {newest:,} rows at "
        "their newest result (FINAL)",
    )
    if done_at and ready_at:
        spent_cpu = cpu_done - cpu_ready
        result.add(
            "worker CPU per check",
            f"{spent_cpu / max(unique, 1) * 1000:.2f} ms",
            f"utime + stime of the worker process{'es' if workers > 1 else ''}, ready → last result: "
            f"{spent_cpu:.1f} s in {done_at - ready_at:.1f} s",
        )
        for name in sorted(servers_done):
            before = servers_ready.get(name, {})
            spent_server = sum(cpu - before[pid] for pid, cpu in servers_done[name].items() if pid in before)
            result.add(
                f"{name} CPU per check",
                f"{spent_server / max(unique, 1) * 1000:.2f} ms",
                "every local server process of that kind over the same window (other clients' work "
                "and other agents' servers included: indicative only on this shared machine)",
            )
    result.add(
        "worker throughput (ready → last result)",
        rate(unique, ready_to_last),
        f"{secs(ready_to_last)}: from 'Worker ready' (register recovered)",
    )
    result.add(
        "worker: spawn → last result",
        secs(spawn_to_last),
        f"incl. start-up and recovery ({secs(ready_at - spawned) if ready_at else '—'} to ready)",
    )
    result.add(
        "baseline: raw aiokafka passthrough",
        rate(raw_n, raw_active),
        f"{raw_n:,} msgs, {secs(raw_active)} first record → last ack ({secs(raw_wall)} incl. start)",
    )
    result.add(
        "baseline: passthrough + pydantic decode/encode",
        rate(pyd_n, pyd_active),
        f"{pyd_n:,} msgs, {secs(pyd_active)} first record → last ack",
    )
    if first_last and raw_active and pyd_active:
        ratio = (unique / first_last) / (raw_n / raw_active)
        pyd_ratio = (unique / first_last) / (pyd_n / pyd_active)
        result.add("worker / raw passthrough", f"{ratio:.1%}", "share of the raw Kafka round-trip rate")
        result.add("worker / passthrough + pydantic", f"{pyd_ratio:.1%}", "target ≥ 20%")
        result.verdict = (
            f"worker {unique / first_last:,.0f} checks/s vs raw aiokafka passthrough "
            f"{raw_n / raw_active:,.0f} msgs/s ({ratio:.1%}), vs passthrough + pydantic "
            f"{pyd_n / pyd_active:,.0f} msgs/s ({pyd_ratio:.1%})"
        )
    result.add(
        "register fold (phase 1)",
        rate(invoices, register_s),
        f"{invoices:,} issued invoices into the register table, from 'Worker ready'",
    )
    if unanswered:
        why = f"no new result for {STALL_SECONDS}s" if stalled else "time limit reached"
        result.add(
            "check requests never answered",
            f"{len(unanswered):,}",
            f"{why}; unanswered (partition: offsets) {_ranges(unanswered)}; worker group committed "
            "offsets on checks.requested " + ", ".join(f"p{p}={o}" for p, o in sorted(committed.items())),
        )
        if where is not None:
            notes = {
                "stuck": "ahead of the committed offset of the group reading it there (a stalled partition)",
                "dropped": "the group that reads it there committed past it, and nothing came out",
            }
            for kind, n in where.counts().items():
                result.add(f"unanswered: {kind}", f"{n:,}", notes[kind])
            result.details.extend(
                ["where the unanswered checks are (bench/pipeline_trace.py):", *where.lines()]
            )
        result.notes.append(
            "Some check requests were never answered (see 'never answered' and 'unanswered: …'): 'stuck' "
            "ones are still ahead of the worker group's committed offset (a stalled partition), 'dropped' "
            "ones were committed past without an output. Each worker dumped its task stacks into its log "
            "(SIGUSR1) when the run stopped. Rates are of the checks that were answered."
        )
    elif done_at is None:
        result.notes.append(
            f"the worker did not finish within {deadline - spawned:.0f}s; numbers are partial"
        )
    result.notes.append(
        f"{workers} worker process{'es' if workers > 1 else ''} (one event loop each, so at most one core "
        f"each) with {result.params['partitions']} partitions; the same process also runs the risk stage "
        "and the ClickHouse sink over the results it produces. Kafka and ClickHouse share the 2 CPUs."
    )
    if profile_path is not None:
        result.details.extend(summarise(profile_path))
    return result
