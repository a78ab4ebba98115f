"""sync-latency: `POST /v1/checks?wait=2` latency at a fixed open-loop rate, verdict in the response.

1. Start a worker; publish N issued invoices; wait until the register table holds them all (its
   changelog has N records). N is one invoice per request, or `register` (`--register N`: a large
   register, loaded through the bulk feed, with the checked invoices spread evenly over it).
2. Start the API; warm up (connections, code paths) for a couple of seconds, not measured.
3. Open loop: request i is due at t0 + i/rate, whether or not earlier ones have been answered, for
   `duration` seconds (bounded in count and by a hard deadline). Each request is timed client-side
   from the moment it is sent; lateness of the generator itself (the client shares the CPUs with the
   stack) is reported separately, and "from due time" latency includes it.

Every check is for a different registered invoice (a few 不一致 / 查无此票), so every request is
answerable at once: a 202 means the verdict did not arrive within `wait`.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import itertools
import math
import os
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench import bulk_produce, data, kafka_requests
from bench.harness import Proc, Stack
from bench.http_load import LeanClient, ProtocolError
from bench.profiling import Profiler, summarise
from bench.register_scale import activity_folded
from bench.report import console
from bench.risk_throughput import _machine_busy, _server_pids, _stat_cpu
from bench.stats import Result, ms, percentiles


@dataclass
class Sample:
    due: float  # perf_counter when it should have been sent
    sent: float  # perf_counter when it was sent
    done: float | None = None
    status: int | None = None
    verdict: str | None = None
    error: str | None = None
    wall_sent: float = 0.0  # time.time() at send / at answer, for the server-side timestamps
    wall_done: float = 0.0
    requested_at: float | None = None  # API: request accepted (CheckRequested.requested_at)
    decided_at: float | None = None  # worker: verdict decided (CheckResult.decided_at)
    check_id: str | None = None


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


async def api_key_headers(client: httpx.AsyncClient) -> dict[str, str]:
    """Register a throwaway organisation and create an API key (submit + read, a rate limit far above
    the benchmark's); {} when the API has no accounts (an older version)."""
    email, password = f"bench-{uuid.uuid4().hex[:10]}@example.com", f"Bench-{uuid.uuid4().hex[:12]}-latency"
    made = await client.post(
        "/v1/auth/register", json={"org_name": "基准测试 Bench", "email": email, "password": password}
    )
    if made.status_code == 404:
        return {}
    made.raise_for_status()
    login = await client.post("/v1/auth/login", json={"email": email, "password": password})
    login.raise_for_status()
    key = await client.post(
        "/v1/api-keys",
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        json={"name": "bench", "scopes": ["submit", "read"], "rate_per_minute": 100_000},
    )
    key.raise_for_status()
    return {"X-API-Key": str(key.json()["key"])}


async def _metric_lines(client: httpx.AsyncClient) -> list[str]:
    return (await client.get("/metrics/")).text.splitlines()


async def _worker_metric_lines(client: httpx.AsyncClient, url: str | None) -> list[str]:
    return (await client.get(url)).text.splitlines() if url else []


def _histogram(lines: list[str], name: str, *labels: str) -> dict[str, float]:
    """One histogram of a /metrics page: cumulative bucket counts by `le` (seconds), plus "sum"
    (label order is not guaranteed: lines are matched on each `labels` fragment)."""
    out = {}
    for line in lines:
        if not all(fragment in line for fragment in labels):
            continue
        if line.startswith(f"{name}_bucket"):
            le = re.search(r'le="([^"]+)"', line)
            if le:
                out[le.group(1)] = float(line.rsplit(" ", 1)[1])
        elif line.startswith(f"{name}_sum"):
            out["sum"] = float(line.rsplit(" ", 1)[1])
    return out


def _server_histogram(lines: list[str]) -> dict[str, float]:
    """The API's own latency histogram of POST /v1/checks (cumulative buckets, seconds)."""
    return _histogram(lines, "fapiao_http_request_seconds", 'route="/v1/checks"', 'method="POST"')


def _stalls(label: str, before: list[str], after: list[str]) -> list[tuple[str, str, str]]:
    """A process's event-loop lag and GC pauses during the run (rows for the table), from its
    `fapiao_<label in lower case>_…` metrics (fapiao.loop_monitor); none from a process without them."""
    rows = []
    process = label.lower()
    lag0 = _histogram(before, f"fapiao_{process}_event_loop_lag_seconds")
    lag1 = _histogram(after, f"fapiao_{process}_event_loop_lag_seconds")
    count = lag1.get("+Inf", 0) - lag0.get("+Inf", 0)
    if count:
        over = {le: count - (lag1.get(le, 0) - lag0.get(le, 0)) for le in ("0.005", "0.025", "0.1")}
        rows.append(
            (
                f"{label} event-loop lag",
                f"{lag1.get('sum', 0) - lag0.get('sum', 0):.2f} s in {count:,.0f} probes",
                "probes late > 5 / 25 / 100 ms: "
                f"{over['0.005']:,.0f} / {over['0.025']:,.0f} / {over['0.1']:,.0f}",
            )
        )
    for gen in ("0", "1", "2"):
        g0 = _histogram(before, f"fapiao_{process}_gc_pause_seconds", f'generation="{gen}"')
        g1 = _histogram(after, f"fapiao_{process}_gc_pause_seconds", f'generation="{gen}"')
        n = g1.get("+Inf", 0) - g0.get("+Inf", 0)
        if n:
            over_10 = n - (g1.get("0.01", 0) - g0.get("0.01", 0))
            rows.append(
                (
                    f"{label} GC pauses, generation {gen}",
                    f"{n:,.0f}, {(g1.get('sum', 0) - g0.get('sum', 0)) * 1000:,.1f} ms in all",
                    f"{over_10:,.0f} longer than 10 ms",
                )
            )
    return rows


async def run(
    *,
    rate: float = 100.0,
    duration: float = 60.0,
    wait: float = 2.0,
    warmup: float = 3.0,
    pool: int | None = None,
    profile: bool = False,
    register: int = 0,
) -> Result:
    total = int(rate * duration)
    # Enough connections for every request that can be in flight while the API honours `wait` (it
    # answers 202 then). The requests go through bench.http_load's lean client: httpx's pool cost the
    # generator 1.6-2.1 ms of CPU per request on the CPUs the stack runs on (and its pool, whose work
    # grows quadratically with its connections, once collapsed runs outright).
    pool = pool or max(200, math.ceil(rate * (wait + 3)))
    n_warm = int(rate * warmup)
    n_checked = total + n_warm
    # the register: the checked invoices, or `register` invoices with the checked ones spread over it
    n_invoices = max(register, n_checked)
    result = Result(
        "sync-latency",
        "sync-latency — POST /v1/checks?wait=2, open loop",
        {
            "rate": f"{rate:g}/s",
            "duration": f"{duration:g}s",
            "requests": total,
            "wait": f"{wait:g}s",
            "invoices": f"{n_invoices:,} in the register, {n_checked:,} of them checked",
            "warm-up": f"{warmup:g}s (not measured)",
            "pool": pool,
        },
    )
    async with Stack("sync-latency") as stack:
        day = data.today_shanghai() - timedelta(days=3)
        spread = [i * n_invoices // n_checked for i in range(n_checked)]  # evenly over the register
        invs = [data.invoice(i, day) for i in spread]
        checks = data.check_requests(invs, n_checked)
        bodies = [data.api_body(c) for c in checks]

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            t = progress.add_task("start worker", total=1)
            counted = {name: stack.logs / f"kafka-requests-{name}.json" for name in ("worker", "API")}
            worker = await stack.start_worker(
                metrics=True,
                env={"FAPIAO_BENCH_KAFKA_REQUESTS": str(counted["worker"])},
                module="bench.kafka_requests",
            )
            progress.update(t, completed=1)
            t = progress.add_task("register invoices", total=n_invoices)
            t_pub = time.monotonic()
            await bulk_produce.produce(
                stack.settings, stack.topic("invoices.issued"), data.issued_payloads(range(n_invoices), day)
            )
            while (have := await stack.end_offsets(stack.changelog)) < n_invoices:
                progress.update(t, completed=have)
                if worker.popen.poll() is not None:
                    raise RuntimeError(f"worker exited:\n{worker.log_text()[-3000:]}")
                await asyncio.sleep(0.25)
            progress.update(t, completed=n_invoices)
            register_s = time.monotonic() - t_pub
            if stack.settings.risk_enabled:  # the risk stage's seller activity folded too: a quiet worker
                await activity_folded(stack, n_invoices)
            t = progress.add_task("start API", total=1)
            api, url = await stack.start_api(
                env={"FAPIAO_BENCH_KAFKA_REQUESTS": str(counted["API"])}, module="bench.kafka_requests"
            )
            progress.update(t, completed=1)

        await measure(
            stack,
            result,
            worker,
            api,
            url,
            bodies,
            counted,
            rate=rate,
            duration=duration,
            wait=wait,
            warmup=warmup,
            pool=pool,
            profile=profile,
            register_s=register_s,
            n_invoices=n_invoices,
        )
    return result


IDLE_SECONDS = 3.0
CHECK_ID = re.compile(rb'"check_id":"([0-9a-f-]{36})"')
HOPS = ("checks.requested", "checks.verified", "checks.results")


async def _idle_requests(
    counted: dict[str, Path], pids: dict[str, list[int]]
) -> tuple[dict[str, Counter[str]], tuple[CpuReading, CpuReading]]:
    """Kafka requests per second of each counted process while no check comes (heartbeats, the
    consumers' empty long polls, commits, metadata): subtracted from the measured phase's counts; and
    the processes' CPU over the same seconds (what they burn with nothing to do)."""
    await asyncio.sleep(1.1)
    first = {name: kafka_requests.read(path) for name, path in counted.items()}
    cpu_first = _cpu_reading(pids)
    await asyncio.sleep(IDLE_SECONDS)
    last = {name: kafka_requests.read(path) for name, path in counted.items()}
    cpu_last = _cpu_reading(pids)
    rates = {
        name: Counter({k: (last[name][k] - first[name][k]) / IDLE_SECONDS for k in last[name]})
        for name in counted
    }
    return rates, (cpu_first, cpu_last)


def _request_rows(
    result: Result,
    requests: int,
    before: dict[str, Counter[str]],
    after: dict[str, Counter[str]],
    idle: dict[str, Counter[str]],
    seconds: float,
) -> None:
    """Produce and fetch requests per check of each process (its idle rate taken off), counted by
    bench.kafka_requests on the client side: what the clients send is what the broker serves."""
    if not requests:
        return
    for name in after:
        delta = after[name] - before[name]
        cells = []
        for kind in ("ProduceRequest", "FetchRequest"):
            per = (delta[kind] - idle[name][kind] * seconds) / requests
            cells.append(f"{kind.removesuffix('Request').lower()} {per:.2f}")
        others = sum(v for k, v in delta.items() if k not in ("ProduceRequest", "FetchRequest"))
        rates = sorted(idle[name].items())
        idle_rates = ", ".join(f"{k.removesuffix('Request')} {v:.1f}/s" for k, v in rates if v)
        result.add(
            f"Kafka requests per check, {name}",
            " / ".join(cells),
            f"idle rate taken off ({idle_rates}); other requests {others / requests:.2f} per check",
        )


async def _hop_times(stack: Stack, wanted: set[str]) -> dict[str, dict[str, float]]:
    """check id -> topic -> the record's timestamp (seconds; the producer's create time), for the
    measured checks on each topic of the sync path."""
    out: dict[str, dict[str, float]] = {}
    for base in HOPS:
        with contextlib.suppress(Exception):  # a topic the version does not have: no row
            for record in await stack.read_topic(stack.topic(base), timeout=60):
                found = CHECK_ID.search(record.value or b"")
                if found and (cid := found.group(1).decode()) in wanted:
                    out.setdefault(cid, {}).setdefault(base, record.timestamp / 1000)
    return out


def _hop_rows(result: Result, samples: list[Sample], hops: dict[str, dict[str, float]]) -> None:
    """Where a check's time goes, hop by hop, from the record timestamps (ms resolution, same clock)."""
    segments: dict[str, list[float]] = {}
    for s in samples:
        times = hops.get(s.check_id or "", {})
        points = [("client sent", s.wall_sent)]
        points += [(topic, times[topic]) for topic in HOPS if topic in times]
        if s.wall_done and s.status == 200:
            points.append(("answered", s.wall_done))
        for (a, ta), (b, tb) in itertools.pairwise(points):
            segments.setdefault(f"{a} → {b}", []).append(tb - ta)
    for label, values in segments.items():
        q = percentiles(values)
        result.add(
            f"hop: {label} p50 / p99",
            f"{ms(q.get('p50'))} / {ms(q.get('p99'))}",
            f"{len(values):,} checks, record timestamps (producer create time, ms)",
        )


async def measure(
    stack: Stack,
    result: Result,
    worker: Proc,
    api: Proc,
    url: str,
    bodies: list[dict[str, object]],
    counted: dict[str, Path],
    *,
    rate: float,
    duration: float,
    wait: float,
    warmup: float,
    pool: int,
    profile: bool,
    register_s: float,
    n_invoices: int,
) -> None:
    """The open loop on a running worker and API with the register loaded (steps 2-3 of the module
    docstring), its rows added to `result`: `bodies` are the requests' bodies, the warm-up's first
    (`rate * warmup` of them), then the measured ones; `counted` the Kafka request counts the worker and
    the API write (bench/kafka_requests.py). Also used by bench register-scale."""
    total = int(rate * duration)
    n_warm = int(rate * warmup)
    async with (
        httpx.AsyncClient(base_url=url, timeout=30) as client,
        contextlib.AsyncExitStack() as closing,
    ):
        headers = await api_key_headers(client)
        lean = LeanClient(url, headers, pool)
        closing.push_async_callback(lean.aclose)
        requests = [lean.request_bytes("/v1/checks", {"wait": wait}, body) for body in bodies]

        async def one(i: int, due: float, out: list[Sample]) -> None:
            s = Sample(due=due, sent=time.perf_counter(), wall_sent=time.time())
            out.append(s)
            try:
                r = await lean.send(requests[i])
                s.done, s.wall_done, s.status = time.perf_counter(), time.time(), r.status_code
                if r.status_code == 200:
                    body = r.json()
                    assert isinstance(body, dict)
                    s.verdict = body.get("verdict")
                    s.requested_at = _ts(body.get("requested_at"))
                    s.decided_at = _ts(body.get("decided_at"))
                    s.check_id = body.get("check_id")
            except (
                OSError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                ProtocolError,
            ) as exc:
                s.done, s.error = time.perf_counter(), type(exc).__name__

        async def drive(first: int, count: int, seconds: float, progress: Progress | None) -> list[Sample]:
            out: list[Sample] = []
            tasks = []
            t0 = time.perf_counter() + 0.05
            hard_deadline = t0 + seconds + wait + 15.0
            task = progress.add_task("open-loop load", total=count) if progress else None
            for n in range(count):
                due = t0 + n / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if time.perf_counter() > hard_deadline:
                    break
                tasks.append(asyncio.create_task(one(first + n, due, out)))
                if progress is not None and task is not None and n % 50 == 0:
                    progress.update(task, completed=n)
            if tasks:
                _, late = await asyncio.wait(tasks, timeout=max(0.1, hard_deadline - time.perf_counter()))
                for pending in late:
                    pending.cancel()
                with contextlib.suppress(Exception):
                    await asyncio.gather(*late, return_exceptions=True)
            if progress is not None and task is not None:
                progress.update(task, completed=len(tasks))
            return out

        pids = {"API": [api.pid], "worker": [worker.pid], "load generator": [os.getpid()]}
        pids |= _server_pids()
        idle, idle_cpu = await _idle_requests(counted, pids)
        await drive(0, n_warm, warmup, None)  # warm-up, discarded
        await asyncio.sleep(1.1)  # the request counts are written once a second
        requests_before = {name: kafka_requests.read(path) for name, path in counted.items()}
        clients_before = kafka_requests.read(kafka_requests.clients_of(counted["worker"]))
        t_measured = time.monotonic()
        before = await _metric_lines(client)
        worker_before = await _worker_metric_lines(client, worker.metrics_url)
        profiles = []
        cpu_before = _cpu_reading(pids)
        with (
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress,
            contextlib.ExitStack() as profiling,
        ):
            if profile:
                for proc in (api, worker):
                    path = stack.logs / f"{proc.name}.profile.txt"
                    profiling.enter_context(Profiler(proc, path, duration))
                    profiles.append(path)
            samples = await drive(n_warm, total, duration, progress)
            cpu_after = _cpu_reading(pids)
        after = await _metric_lines(client)
        worker_after = await _worker_metric_lines(client, worker.metrics_url)
        await asyncio.sleep(1.1)
        requests_after = {name: kafka_requests.read(path) for name, path in counted.items()}
        clients_after = kafka_requests.read(kafka_requests.clients_of(counted["worker"]))
        measured_s = time.monotonic() - t_measured

    hop_times = await _hop_times(stack, {s.check_id for s in samples if s.check_id})

    _write_samples(stack.logs / "samples.csv", samples)
    _analyse(result, samples, rate, duration, wait, register_s, n_invoices, before, after)
    for row in _stalls("worker", worker_before, worker_after):
        result.add(*row)
    _cpu_rows(result, len(samples), cpu_before, cpu_after, idle_cpu)
    _request_rows(result, len(samples), requests_before, requests_after, idle, measured_s)
    by_client = clients_after - clients_before
    result.details.append(
        "worker's Kafka requests per check by type and client (idle ones included): "
        + ", ".join(f"{k} {v / max(len(samples), 1):.2f}" for k, v in by_client.most_common(8))
    )
    _hop_rows(result, samples, hop_times)
    for path in profiles:
        result.details.extend(summarise(path))


def _write_samples(path: Path, samples: list[Sample]) -> None:
    """Every measured request, for a timeline of the run (seconds since the first send)."""
    t0 = min((s.sent for s in samples), default=0.0)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(
            [
                "wall_sent",
                "sent_s",
                "late_ms",
                "latency_ms",
                "status",
                "verdict",
                "to_api_ms",
                "to_decided_ms",
            ]
        )
        for s in sorted(samples, key=lambda s: s.sent):
            latency = (s.done - s.sent) * 1000 if s.done is not None else None
            to_api = (s.requested_at - s.wall_sent) * 1000 if s.requested_at else None
            to_decided = (s.decided_at - s.requested_at) * 1000 if s.decided_at and s.requested_at else None
            out.writerow(
                [
                    f"{s.wall_sent:.4f}",
                    f"{s.sent - t0:.4f}",
                    f"{(s.sent - s.due) * 1000:.2f}",
                    _fmt(latency),
                    s.status or "",
                    s.verdict or s.error or "",
                    _fmt(to_api),
                    _fmt(to_decided),
                ]
            )


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


CpuReading = tuple[dict[str, float | None], tuple[float, float]]


def _cpu_reading(pids: dict[str, list[int]]) -> CpuReading:
    """CPU seconds so far of each named group of processes, and of the whole machine."""
    cpu: dict[str, float | None] = {}
    for name, group in pids.items():
        times = [_stat_cpu(f"/proc/{pid}/stat") for pid in group]
        cpu[name] = sum(t for t in times if t is not None) if times and None not in times else None
    return cpu, _machine_busy()


def _cpu_rows(
    result: Result,
    requests: int,
    before: CpuReading,
    after: CpuReading,
    idle: tuple[CpuReading, CpuReading] | None = None,
) -> None:
    """CPU seconds per request of each process of the run, and how busy the whole machine was (the
    other work on it included): per-request CPU does not depend on how loaded the machine is. With
    `idle` (readings around seconds without load), each process's idle CPU too, and the per-request
    CPU with that idle rate taken off (what one more check costs)."""
    if not requests:
        return
    parts, idle_parts, net_parts = [], [], []
    seconds = after[1][1] - before[1][1]  # machine CPU-seconds: / cpu_count for wall seconds
    wall = seconds / (os.cpu_count() or 1)
    for name, start in before[0].items():
        end = after[0].get(name)
        if start is None or end is None:
            continue
        parts.append(f"{name} {(end - start) / requests * 1000:.2f}")
        if idle is None:
            continue
        i0, i1 = idle[0][0].get(name), idle[1][0].get(name)
        idle_wall = (idle[1][1][1] - idle[0][1][1]) / (os.cpu_count() or 1)
        if i0 is None or i1 is None or idle_wall <= 0:
            continue
        idle_rate = (i1 - i0) / idle_wall  # CPU seconds per second
        idle_parts.append(f"{name} {idle_rate * 1000:.0f}")
        net_parts.append(f"{name} {((end - start) - idle_rate * wall) / requests * 1000:.2f}")
    result.add("CPU per request (ms)", " / ".join(parts), "utime + stime from /proc, measured phase")
    if idle_parts:
        result.add(
            "idle CPU (ms per second)",
            " / ".join(idle_parts),
            f"{IDLE_SECONDS:g} s before the warm-up, no requests",
        )
        result.add(
            "CPU per request, idle rate taken off (ms)",
            " / ".join(net_parts),
            "what one more check costs each process",
        )
    busy = after[1][0] - before[1][0]
    total = after[1][1] - before[1][1]
    if total > 0:
        result.add(
            "machine busy during the run",
            f"{busy / total:.0%} of {os.cpu_count()} CPUs",
            "/proc/stat, every process on the machine (other work included)",
        )


def _analyse(
    result: Result,
    samples: list[Sample],
    rate: float,
    duration: float,
    wait: float,
    register_s: float,
    n_invoices: int,
    metrics_before: list[str],
    metrics_after: list[str],
) -> None:
    before, after = _server_histogram(metrics_before), _server_histogram(metrics_after)
    answered = [s for s in samples if s.status is not None]
    ok = [s for s in answered if s.status in (200, 202)]
    verdicts = [s for s in answered if s.status == 200]
    fallback = [s for s in answered if s.status == 202]
    errors = Counter(s.error or f"HTTP {s.status}" for s in samples if s.error or s.status not in (200, 202))
    lat = [s.done - s.sent for s in ok if s.done is not None]
    lat_due = [s.done - s.due for s in ok if s.done is not None]
    lag = [s.sent - s.due for s in samples]
    p = percentiles(lat)
    pd = percentiles(lat_due)
    pl = percentiles(lag)
    issued_span = (max(s.sent for s in samples) - min(s.sent for s in samples)) if len(samples) > 1 else 0
    done_times = [s.done for s in answered if s.done is not None]
    done_span = (max(done_times) - min(s.sent for s in samples)) if done_times else 0

    result.add("requests sent", f"{len(samples):,}", f"target {int(rate * duration):,} at {rate:g}/s")
    result.add(
        "achieved send rate",
        f"{(len(samples) - 1) / issued_span:,.1f}/s" if issued_span else "—",
        "requests issued per second of the open loop",
    )
    result.add(
        "achieved answer rate",
        f"{len(answered) / done_span:,.1f}/s" if done_span else "—",
        "responses per second, first send to last answer",
    )
    result.add(
        "answered with verdict (200)",
        f"{len(verdicts):,}",
        ", ".join(f"{v} {n}" for v, n in Counter(s.verdict for s in verdicts).most_common()),
    )
    result.add("202 fallback (no verdict within wait)", f"{len(fallback):,}", f"wait={wait:g}s")
    result.add(
        "errors",
        f"{sum(errors.values()):,}",
        ", ".join(f"{k} {n}" for k, n in errors.most_common()) or "none",
    )
    for key in ("p50", "p95", "p99", "max"):
        result.add(f"latency {key}", ms(p.get(key)), "client-side, send → response (200 and 202)")
    result.add("latency mean", ms(p.get("mean")))
    result.add(
        "latency p99 from due time",
        ms(pd.get("p99")),
        f"incl. generator lateness (p50 {ms(pd.get('p50'))}, max {ms(pd.get('max'))})",
    )
    result.add(
        "generator lateness p99 / max",
        f"{ms(pl.get('p99'))} / {ms(pl.get('max'))}",
        "how late the client sent vs schedule (shared CPUs)",
    )

    # where the time goes, from the timestamps in the answer (same host clock)
    seg_in = [s.requested_at - s.wall_sent for s in verdicts if s.requested_at]
    seg_worker = [s.decided_at - s.requested_at for s in verdicts if s.decided_at and s.requested_at]
    seg_back = [s.wall_done - s.decided_at for s in verdicts if s.decided_at]
    for label, seg, note in (
        ("client → API handler", seg_in, "HTTP, parse, validate (CheckRequested.requested_at)"),
        ("API → worker decided", seg_worker, "publish (acks=all) + Kafka + verify agent decides"),
        (
            "worker → client",
            seg_back,
            "rest of the worker (risk stage) + Kafka + API results feed + response",
        ),
    ):
        q = percentiles(seg)
        result.add(f"segment: {label} p50 / p99", f"{ms(q.get('p50'))} / {ms(q.get('p99'))}", note)

    if after and before:
        count = after.get("+Inf", 0) - before.get("+Inf", 0)
        if count:
            for le in ("0.025", "0.05", "0.1"):
                share = (after.get(le, 0) - before.get(le, 0)) / count
                result.add(
                    f"server-side ≤ {float(le) * 1000:g} ms",
                    f"{share:.1%}",
                    "API's own histogram of POST /v1/checks during the run",
                )
    for row in _stalls("API", metrics_before, metrics_after):
        result.add(*row)
    result.add(
        "register load",
        f"{n_invoices / register_s:,.0f} invoices/s" if register_s else "—",
        f"{n_invoices:,} issued invoices folded into the register before the run (live worker)",
    )

    p99 = p.get("p99")
    if p99 is not None:
        met = "MET" if p99 <= 0.050 and not fallback and not errors else "NOT MET"
        result.verdict = (
            f"target p99 ≤ 50 ms: {met} "
            f"(p99 {ms(p99)}, {len(fallback)} fallbacks, {sum(errors.values())} errors)"
        )
    result.notes.append(
        "The load generator (bench.http_load's lean keep-alive client: pre-built requests; httpx only "
        "for the set-up) runs on the same 2 CPUs as Kafka, "
        "ClickHouse, the worker and the API, so its own CPU use and scheduling delays are inside the "
        "numbers; 'generator lateness' shows how far behind schedule it sent."
    )
