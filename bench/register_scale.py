"""register-scale: the register at size: load rate, disk, memory, restart and failover times.

One run: pre-load N issued invoices on `invoices.issued`, start a worker and time how fast its register
folds them (register changelog records per second); the RocksDB folder's size and the worker's RSS
once loaded; restart → "Worker ready" after a clean stop and after kill -9 (with how many changelog
records the restart read back, from the worker's `table_restored` line), and the same restart with
`memory://` tables (the store before issue 13: the whole changelog read back) for comparison. Then two
workers (own data dirs, one group): kill -9 one, and from that moment send one check per partition every
half second; failover time = until every partition has answered a check sent after the kill.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import time
from pathlib import Path

from bench import bulk_produce, data, probes
from bench.harness import Proc, ResultsTail, Stack, wait_for_log
from bench.probes import Prober
from bench.profiling import Profiler, summarise
from bench.report import console
from bench.stats import Result, rate, secs

FAILOVER_LIMIT = 180.0


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _broker_pid() -> int | None:
    """The local Kafka broker's pid (to count its CPU during the fold), if one runs on this machine."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if b"kafka.Kafka" in (proc / "cmdline").read_bytes():
                    return int(proc.name)
    return None


def _table_mib(path: Path) -> dict[str, float]:
    """MiB on disk per table (its partition databases `<table>-<n>.db` together)."""
    sizes: dict[str, float] = {}
    for db in path.rglob("*.db"):
        if db.is_dir():
            name = db.name.rsplit("-", 1)[0]
            sizes[name] = sizes.get(name, 0.0) + _disk_mib(db)
    return dict(sorted(sizes.items()))


def _log_mib(stack: Stack) -> dict[str, float]:
    """MiB of the broker's log segments (`*.log`) per topic of this run that the register feeds (the
    feed, the register changelog), when the broker's log directory is given in
    FAPIAO_BENCH_KAFKA_LOG_DIR (read from the file system: Kafka's admin API here has no log-dir sizes)."""
    root = Path(os.environ.get("FAPIAO_BENCH_KAFKA_LOG_DIR", "/nonexistent"))
    if not root.is_dir():
        return {}
    sizes: dict[str, float] = {}
    for topic in (stack.topic("invoices.issued"), stack.changelog):
        for part in root.glob(f"{topic}-*"):
            if part.name.rsplit("-", 1)[0] == topic:
                mib = sum(f.stat().st_size for f in part.glob("*.log")) / 2**20
                sizes[topic] = sizes.get(topic, 0.0) + mib
    return sizes


def _disk_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20 if path.exists() else 0.0


def _restored(proc: Proc) -> int | None:
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.log_text())
    for line in text.splitlines():
        if "table_restored" in line and "table=register" in line:
            found = re.search(r"records=(\d+)", line)
            return int(found.group(1)) if found else None
    return None


def _ready_seconds(proc: Proc) -> float:
    assert proc.ready is not None
    return proc.ready - proc.started


async def _kill(stack: Stack, proc: Proc) -> None:
    proc.popen.send_signal(signal.SIGKILL)
    await asyncio.to_thread(proc.popen.wait, 10)
    if proc in stack.procs:
        stack.procs.remove(proc)


async def _failover(stack: Stack, invoices: int, workers_env: list[dict[str, str]]) -> tuple[float, int]:
    """Two workers; kill -9 the second; seconds until every partition answers a check sent after the
    kill, and how many probe checks were sent."""
    partitions = stack.settings.topic_partitions
    procs = []
    for env in workers_env:
        proc = stack.spawn("worker", ["worker"], env)
        await wait_for_log(proc, "Worker ready", 600)
        procs.append(proc)
    await asyncio.sleep(15)  # let the group settle (both members assigned, standbys caught up)
    tail = ResultsTail(stack, stack.topic("checks.results"))
    await tail.start()
    try:
        prober = Prober(stack, tail, probes.pool(range(min(invoices, 50 * partitions)), partitions))
        await _kill(stack, procs[1])
        killed = time.monotonic()
        run = await prober.until_answered(range(partitions), since=killed, limit=FAILOVER_LIMIT)
        return time.monotonic() - killed, run.sent
    finally:
        await tail.stop()


async def activity_folded(stack: Stack, want: int) -> None:
    """Until the worker's group has committed `want` records of sellers.activity (the risk agent folded
    every seller activity the register told), bounded."""
    topic = stack.topic("sellers.activity")
    deadline = time.monotonic() + FOLD_LIMIT
    while time.monotonic() < deadline:
        done = sum((await stack.committed(stack.settings.faust_app_id, topic)).values())
        if done >= want:
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"sellers.activity not folded within {FOLD_LIMIT:.0f} s")


FOLD_LIMIT = 3600.0


async def _start_worker(stack: Stack, env: dict[str, str]) -> Proc:
    """A worker (as `Stack.start_worker`) with `env` on top of the stack's (the risk stage off)."""
    proc = stack.spawn("worker", ["worker"], env)
    await wait_for_log(proc, "Worker ready", 300)
    return proc


async def run(
    *,
    invoices: int = 50_000,
    partitions: int | None = None,
    fold_only: bool = False,
    profile: bool = False,
    register_only: bool = False,
    memory: bool = True,
    failover: bool = True,
    sync_rate: float = 0.0,
    sync_duration: float = 60.0,
) -> Result:
    overrides: dict[str, object] = {"risk_enabled": not register_only}
    worker_env = {"FAPIAO_RISK_ENABLED": "false"} if register_only else {}
    if partitions:
        overrides["topic_partitions"] = partitions
    async with Stack("register-scale", overrides) as stack:
        settings = stack.settings
        result = Result(
            "register-scale",
            "register-scale — the register at size: load, disk, memory, restart, failover",
            {
                "invoices N": f"{invoices:,}",
                "partitions": settings.topic_partitions,
                "store": settings.faust_store,
                "risk stage": "off (--register-only)" if register_only else "on",
            },
        )
        t0 = time.monotonic()
        fed = await bulk_produce.produce(
            settings, stack.topic("invoices.issued"), data.issued_payloads(range(invoices))
        )
        result.add(
            "feed produced",
            rate(fed, time.monotonic() - t0),
            f"{fed:,} invoices on invoices.issued (bench/bulk_produce.py: whole record batches)",
        )

        worker = await _start_worker(stack, worker_env)
        started = time.monotonic()
        cpu_at_start = _cpu_seconds(worker.pid)
        broker = _broker_pid()
        broker_at_start = _cpu_seconds(broker) if broker else 0.0
        profile_path = stack.logs / "worker.profile.txt" if profile else None
        profiler = Profiler(worker, profile_path, FOLD_LIMIT) if profile_path else None
        if profiler is not None:
            profiler.__enter__()
        try:
            while await stack.end_offsets(stack.changelog) < invoices:
                await asyncio.sleep(0.25)
            loaded = time.monotonic() - started
            fold_cpu = _cpu_seconds(worker.pid) - cpu_at_start
            broker_cpu = _cpu_seconds(broker) - broker_at_start if broker else None
            if not register_only:
                await activity_folded(stack, invoices)
            told = time.monotonic() - started
            cpu = _cpu_seconds(worker.pid) - cpu_at_start
        finally:
            if profiler is not None:
                profiler.__exit__(None, None, None)
        result.add(
            "register fold", rate(invoices, loaded), f"{invoices:,} invoices in {loaded:.1f} s, 1 worker"
        )
        result.add(
            "worker CPU per invoice, register fold",
            f"{fold_cpu / invoices * 1e6:.0f} µs",
            f"{fold_cpu:.1f} s of CPU until the register changelog held every invoice (the risk stage's "
            f"work meanwhile included): {invoices / fold_cpu:,.0f} invoices/CPU-s",
        )
        if broker_cpu is not None:
            result.add(
                "broker CPU per invoice, register fold",
                f"{broker_cpu / invoices * 1e6:.0f} µs",
                f"{broker_cpu:.1f} s of the local Kafka broker's CPU meanwhile (every client's requests)",
            )
        if not register_only:
            result.add(
                "register + seller activity folded",
                rate(invoices, told),
                f"sellers.activity committed by the worker's group after {told:.1f} s (commits every few s)",
            )
            result.add(
                "worker CPU per invoice",
                f"{cpu / invoices * 1e6:.0f} µs",
                f"{cpu:.1f} s of CPU until both folds were committed: {invoices / cpu:,.0f} invoices/CPU-s",
            )
        if profile_path is not None:
            result.details.extend(summarise(profile_path))
        await asyncio.sleep(5)  # commits, compaction of the first segments
        tables = settings.data_dir
        result.add(
            "RocksDB on disk",
            f"{_disk_mib(tables):.1f} MiB",
            f"{_disk_mib(tables) * 2**20 / invoices:.0f} B/invoice, every table",
        )
        for name, mib in _table_mib(tables).items():
            result.add(f"  RocksDB: {name}", f"{mib:.1f} MiB", f"{mib * 2**20 / invoices:.0f} B/invoice")
        for topic, mib in _log_mib(stack).items():
            per = f"{mib * 2**20 / invoices:.0f} B/invoice, 1 replica"
            result.add(f"  broker log: {topic}", f"{mib:.1f} MiB", per)
        result.add("worker RSS, loaded", f"{_rss_mib(worker.pid):.0f} MiB", "")
        console.print(f"loaded {invoices:,} in {loaded:.1f} s")
        if fold_only:
            result.verdict = f"fold {invoices / loaded:,.0f} invoices/s (fold only: no restarts, no failover)"
            return result

        await stack.stop(worker)
        worker = await _start_worker(stack, worker_env)
        result.add(
            "restart → ready, clean stop",
            secs(_ready_seconds(worker)),
            f"read {_restored(worker)} changelog records",
        )
        await _kill(stack, worker)
        worker = await _start_worker(stack, worker_env)
        result.add(
            "restart → ready, kill -9",
            secs(_ready_seconds(worker)),
            f"read {_restored(worker)} changelog records",
        )
        result.add("worker RSS after restart", f"{_rss_mib(worker.pid):.0f} MiB", "")
        if sync_rate:
            await _sync_checks(stack, result, worker, invoices, sync_rate, sync_duration, worker_env)
        await stack.stop(worker)

        if not memory and not failover:
            result.verdict = f"fold {invoices / loaded:,.0f} invoices/s; restart after kill -9 " + (
                f"{_ready_seconds(worker):.1f} s (no memory:// comparison, no failover)"
            )
            return result
        memory_dir = settings.data_dir.parent / "memory-worker"
        if memory:
            await _memory_restart(stack, result, memory_dir)
        if not failover:
            result.verdict = f"fold {invoices / loaded:,.0f} invoices/s (no failover)"
            return result
        envs = [
            {"FAPIAO_DATA_DIR": str(settings.data_dir)},
            {"FAPIAO_DATA_DIR": str(settings.data_dir.parent / "worker-b")},
        ]
        failover_s, probes = await _failover(stack, invoices, envs)
        result.add(
            "failover, 2 workers, kill -9 one",
            secs(failover_s),
            f"until every partition answered a check sent after the kill ({probes} probes)",
        )
        shutil.rmtree(memory_dir, ignore_errors=True)
        result.verdict = (
            f"fold {invoices / loaded:,.0f} invoices/s; "
            f"restart after kill -9 {_ready_seconds(worker):.1f} s; "
            f"failover {failover_s:.1f} s"
        )
        return result


async def _sync_checks(
    stack: Stack,
    result: Result,
    worker: Proc,
    invoices: int,
    rate: float,
    duration: float,
    worker_env: dict[str, str],
) -> None:
    """Sync check latency on the loaded register (bench/sync_latency.py's open loop, `POST
    /v1/checks?wait=2`): the worker restarted once more with its metrics served, then the API; the
    checked invoices spread evenly over the whole register."""
    from bench import sync_latency  # it imports this module

    await stack.stop(worker)
    counted = {name: stack.logs / f"kafka-requests-{name}.json" for name in ("worker", "API")}
    worker = await stack.start_worker(
        metrics=True,
        env=worker_env | {"FAPIAO_BENCH_KAFKA_REQUESTS": str(counted["worker"])},
        module="bench.kafka_requests",
    )
    warmup, wait = 3.0, 2.0
    n_checked = int(rate * duration) + int(rate * warmup)
    spread = [i * invoices // n_checked for i in range(n_checked)]
    checks = data.check_requests([data.invoice(i) for i in spread], n_checked)
    api, url = await stack.start_api(
        env={"FAPIAO_BENCH_KAFKA_REQUESTS": str(counted["API"])}, module="bench.kafka_requests"
    )
    console.print(f"sync checks at {rate:g}/s for {duration:g} s on the {invoices:,}-invoice register")
    await sync_latency.measure(
        stack,
        result,
        worker,
        api,
        url,
        [data.api_body(c) for c in checks],
        counted,
        rate=rate,
        duration=duration,
        wait=wait,
        warmup=warmup,
        pool=max(200, int(rate * (wait + 3))),
        profile=False,
        register_s=0.0,
        n_invoices=invoices,
    )
    await stack.stop(api)


async def _memory_restart(stack: Stack, result: Result, memory_dir: Path) -> None:
    """A worker with `memory://` tables (the store before issue 13): the whole changelog read back."""
    proc = stack.spawn(
        "worker", ["worker"], {"FAPIAO_FAUST_STORE": "memory://", "FAPIAO_DATA_DIR": str(memory_dir)}
    )
    await wait_for_log(proc, "Worker ready", 1800)
    result.add(
        "restart → ready, memory:// (before)", secs(_ready_seconds(proc)), "the whole changelog read back"
    )
    result.add("worker RSS, memory://", f"{_rss_mib(proc.pid):.0f} MiB", "")
    await stack.stop(proc)
