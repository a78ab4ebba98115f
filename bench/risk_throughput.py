"""risk-throughput: enrich + score throughput with the model loaded, against the verify-only pipeline.

Issue 7 asks that scoring cost no more than half of the pipeline's throughput. One benchmark run
measures both pipelines on the same backlog, each in its own world (topic prefix, Faust app id,
ClickHouse database), one after the other:

- **verify-only**: `FAPIAO_RISK_ENABLED=false`, the worker publishes verdicts straight to
  `checks.results`;
- **risk**: verdicts go through `checks.verified` (re-keyed by seller) to the risk agent, which
  enriches them, computes features and rule hits with the seller's rolling statistics, scores each
  batch with the anomaly model and publishes the results (and alerts). A model trained beforehand on
  the features of a separate demo sample (`fapiao.risk.replay` → `fapiao.risk.model.train`) is saved
  into a fresh models folder (`FAPIAO_MODELS_DIR`) before the worker starts.

The backlog is one seeded `fapiao.demo.DemoFeed`: M invoices issued over the last 60 days by the
demo's Beijing sellers (realistic amounts, hours, buyers), about 4% of them later voided or
red-flushed, and K labelled check requests (genuine, tampered, voided, fakes, duplicate
reimbursements, repeated tampering). The same encoded bytes go to both worlds.

Per pipeline: (1) publish the issuances, start the worker, wait until the register holds them; then
the status changes, and wait until they are folded too (with risk: until the risk agent has also
folded every `sellers.activity` event into its `seller_stats` table); stop the worker. (2) Publish
the K check requests. (3) Start the worker again and follow `checks.results` until every check has a
result. Throughput is K over the time from the first to the last result (Kafka timestamps set by the
worker's producer). The worker's own CPU time (process and event-loop thread, from /proc) is taken
from 'Worker ready' to the last result; with `--profile`, py-spy samples the worker in both
pipelines and the risk agent's share of the on-CPU samples is reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench import report
from bench.harness import ResultsTail, Stack
from bench.profiling import Profiler, py_spy, summarise
from bench.report import console
from bench.stats import Result, rate, secs
from fapiao.risk.features import FEATURE_NAMES

CST = timezone(timedelta(hours=8), "Asia/Shanghai")
TARGET = 0.5  # risk throughput must be at least this share of the verify-only throughput
STALL_SECONDS = 30  # no new result for this long after 'Worker ready': the rest is not coming
SECTION = "risk-throughput"


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


# ---------------------------------------------------------------------------------------- the backlog


@dataclass
class Backlog:
    issued: list[tuple[bytes, bytes]]
    status: list[tuple[bytes, bytes]]
    checks: list[tuple[bytes, bytes]]
    labels: Counter[str]
    sellers: int
    seconds: float


def _encoded(events: Iterable[Any]) -> list[tuple[bytes, bytes]]:
    return [(e.key.encode(), e.value.model_dump_json().encode()) for e in events]


def backlog(invoices: int, checks: int, *, status_fraction: float, seed: int) -> Backlog:
    """M issuances, their later status changes, and K labelled checks of one seeded demo feed, encoded."""
    from fapiao.demo import DemoFeed
    from schemas.events import InvoiceIssued

    started = time.perf_counter()
    feed = DemoFeed(seed, datetime.now(CST))
    issued = feed.issue(invoices)
    status = feed.status_changes(status_fraction)
    asked = feed.checks(checks)
    sellers = len({e.value.seller.tax_id for e in issued if isinstance(e.value, InvoiceIssued)})
    return Backlog(
        _encoded(issued),
        _encoded(status),
        _encoded(asked),
        Counter(e.label or "?" for e in asked),
        sellers,
        time.perf_counter() - started,
    )


@dataclass
class TrainedModel:
    version: str
    algorithm: str
    rows: int
    seconds: float
    directory: Path


def train_model(directory: Path, *, invoices: int, checks: int, seed: int) -> TrainedModel:
    """Fit the anomaly model on the features of a separate demo sample (the worker's functions replayed
    in memory, labels unused) and save it into `directory`, as `fapiao model train` would; calibrate the
    behaviour model on the same replay's presented checks and save it there too (the worker scores
    behaviour with it when FAPIAO_RISK_BEHAVIOUR is on)."""
    from fapiao.demo import DemoFeed
    from fapiao.risk import behaviour_model
    from fapiao.risk.features import FEATURE_NAMES, FEATURE_SET_VERSION
    from fapiao.risk.model import DEFAULT_ALGORITHM, save, train
    from fapiao.risk.replay import Replay

    started = time.perf_counter()
    feed = DemoFeed(seed, datetime.now(CST) - timedelta(days=61))  # the 60 days before the backlog's
    latest: dict[str, tuple[float, ...]] = {}
    deviations: list[tuple[float, ...]] = []
    for scored in Replay().run(feed.history(invoices, checks)):
        latest[scored.check_id] = scored.features
        if scored.presented:
            deviations.append(scored.behaviour)
    behaviour_model.save(
        behaviour_model.fit(
            np.asarray(deviations), metadata={"source": "demo replay (bench risk-throughput)"}
        ),
        directory / behaviour_model.FILE,
    )
    X = np.asarray(list(latest.values()), dtype=float)
    model = train(
        X,
        feature_names=FEATURE_NAMES,
        trained_on={
            "source": "demo replay (bench risk-throughput)",
            "seed": seed,
            "invoices": invoices,
            "checks": checks,
            "feature_set_version": FEATURE_SET_VERSION,
        },
        algorithm=DEFAULT_ALGORITHM,
        seed=seed,
    )
    save(model, directory)
    return TrainedModel(model.version, DEFAULT_ALGORITHM, len(X), time.perf_counter() - started, directory)


# ---------------------------------------------------------------------------------------- CPU time


_TICK = os.sysconf("SC_CLK_TCK")


def _stat_cpu(path: str) -> float | None:
    """utime + stime (seconds) of a /proc/<pid>[/task/<tid>]/stat file."""
    try:
        with open(path) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot (/proc/stat, all CPUs)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return (total - idle) / _TICK, total / _TICK


def _server_pids() -> dict[str, list[int]]:
    """The local Kafka broker and ClickHouse server processes (read only, to account their CPU), and
    those of the local cluster apart (bench cluster)."""
    found: dict[str, list[int]] = {"kafka": [], "clickhouse": []}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        # deploy/local/cluster.sh's nodes keep their state under .../cluster/: counted apart
        cluster = "-cluster" if b"/cluster/" in cmdline else ""
        if b"kafka.Kafka" in cmdline:
            found.setdefault("kafka" + cluster, []).append(int(entry.name))
        elif b"clickhouse" in cmdline.split(b"\0", 1)[0] and b"server" in cmdline:
            found.setdefault("clickhouse" + cluster, []).append(int(entry.name))
        elif b"ZooKeeperServerMain" in cmdline and cluster:
            found.setdefault("zookeeper-cluster", []).append(int(entry.name))
    return found


@dataclass
class CpuSnapshot:
    at: float
    worker: float | None
    loop: float | None  # the worker's main thread: its event loop, where the agents run
    machine: tuple[float, float]
    servers: dict[str, float]


def cpu_snapshot(pid: int, servers: dict[str, list[int]]) -> CpuSnapshot:
    return CpuSnapshot(
        time.monotonic(),
        _stat_cpu(f"/proc/{pid}/stat"),
        _stat_cpu(f"/proc/{pid}/task/{pid}/stat"),
        _machine_busy(),
        {
            name: sum(v for p in pids if (v := _stat_cpu(f"/proc/{p}/stat")) is not None)
            for name, pids in servers.items()
            if pids
        },
    )


# ---------------------------------------------------------------------------------------- one pipeline


class PipelineStack(Stack):
    """A Stack whose worker runs with or without the risk stage (and field encryption) and loads models
    from a given folder."""

    def __init__(
        self,
        name: str,
        *,
        risk: bool,
        models_dir: Path,
        encrypt: bool = True,
        servers: dict[str, object] | None = None,
    ) -> None:
        """`servers`: settings naming other servers (bench cluster: the brokers and ClickHouse nodes)."""
        self.risk = risk
        self.models_dir = models_dir
        self.encrypt = encrypt
        super().__init__(
            name,
            settings_overrides={
                "risk_enabled": risk,
                "models_dir": models_dir,
                "field_encryption": encrypt,
                **(servers or {}),
            },
        )

    def env(self) -> dict[str, str]:
        env = super().env()
        env.update(
            FAPIAO_RISK_ENABLED="true" if self.risk else "false",
            FAPIAO_MODELS_DIR=str(self.models_dir),
            FAPIAO_FIELD_ENCRYPTION="true" if self.encrypt else "false",
        )
        return env


@dataclass
class Run:
    label: str  # 'verify-only' | 'risk'
    risk: bool
    checks: int = 0  # distinct checks answered
    records: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    first_last: float | None = None
    ready_to_last: float | None = None
    spawn_to_ready: float | None = None
    register_s: float | None = None
    stats_s: float | None = None  # seller statistics folded (risk only)
    cpu: tuple[CpuSnapshot, CpuSnapshot] | None = None
    model_loaded_logged: bool = False
    model_versions: Counter[str] = field(default_factory=Counter)
    scores: list[int] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    alerts: int = 0
    dead_letters: int = 0
    unanswered: int = 0
    stalled: bool = False
    where: str = ""  # when checks went unanswered: how far each topic and consumer got
    profile: Path | None = None
    logs: Path | None = None

    @property
    def throughput(self) -> float | None:
        return self.checks / self.first_last if self.first_last else None


async def _wait_for(
    stack: Stack, count: Any, want: int, worker: Any, what: str, timeout: float = 600
) -> None:
    deadline = time.monotonic() + timeout
    while (have := await count()) < want:
        if worker.popen.poll() is not None:
            raise RuntimeError(f"worker exited while {what}:\n{worker.log_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: {have:,} of {want:,} after {timeout:.0f}s")
        await asyncio.sleep(0.2)


async def run_pipeline(
    label: str,
    risk: bool,
    data: Backlog,
    models_dir: Path,
    *,
    profile: bool,
    progress: Progress,
    encrypt: bool = True,
    bench: str = "risk-throughput",
    server_settings: dict[str, object] | None = None,
) -> Run:
    out = Run(label, risk)
    k = len(data.checks)
    stack_name = f"{bench}-{label.replace(' ', '-')}"
    pipeline = PipelineStack(
        stack_name, risk=risk, models_dir=models_dir, encrypt=encrypt, servers=server_settings
    )
    async with pipeline as stack:
        out.logs = stack.logs
        issued_topic, status_topic = stack.topic("invoices.issued"), stack.topic("invoices.status")
        results_topic = stack.topic("checks.results")
        app_id = stack.settings.faust_app_id

        # (1) the register (and, with risk, the sellers' statistics) before the checks
        t = progress.add_task(f"{label}: publish issued invoices", total=len(data.issued))
        await stack.produce(issued_topic, data.issued, on_progress=lambda n: progress.update(t, completed=n))
        t = progress.add_task(
            f"{label}: fold issuances + status changes", total=len(data.issued) + len(data.status)
        )
        worker = await stack.start_worker()
        ready = time.monotonic()

        async def register_writes() -> int:
            have = await stack.end_offsets(stack.changelog)
            progress.update(t, completed=min(have, len(data.issued) + len(data.status)))
            return have

        # issuances first, so that no status change reaches the register before its invoice
        await _wait_for(stack, register_writes, len(data.issued), worker, "folding issuances")
        await stack.produce(status_topic, data.status)
        await _wait_for(
            stack, register_writes, len(data.issued) + len(data.status), worker, "folding statuses"
        )
        out.register_s = time.monotonic() - ready
        if risk:
            activity = stack.topic("sellers.activity")
            want = await stack.end_offsets(activity)
            t2 = progress.add_task(f"{label}: fold seller statistics", total=want)

            async def stats_writes() -> int:
                # the risk agent's committed offsets on sellers.activity: it writes each seller's
                # statistics once per batch now, so its changelog no longer counts the activities
                have = sum((await stack.committed(app_id, activity)).values())
                progress.update(t2, completed=min(have, want))
                return have

            await _wait_for(stack, stats_writes, want, worker, "folding seller statistics")
            out.stats_s = time.monotonic() - ready
        await stack.stop(worker)

        # (2) the backlog of checks
        t = progress.add_task(f"{label}: publish check requests", total=k)
        await stack.produce(
            stack.topic("checks.requested"),
            data.checks,
            on_progress=lambda n: progress.update(t, completed=n),
        )

        # (3) the measured phase
        t = progress.add_task(f"{label}: worker answers the backlog", total=k)
        servers = _server_pids()
        tail = ResultsTail(stack, results_topic)
        await tail.start()
        worker = stack.spawn("worker", ["worker"])
        spawned = time.monotonic()
        ready_at: float | None = None
        start_cpu: CpuSnapshot | None = None
        end_cpu: CpuSnapshot | None = None  # at the last new result (not the end of a stall)
        profiler = None
        deadline = spawned + max(600.0, k / 50)
        last_count, last_change = -1, spawned
        try:
            while time.monotonic() < deadline:
                if ready_at is None and worker.log_has("Worker ready"):
                    ready_at = last_change = time.monotonic()
                    start_cpu = cpu_snapshot(worker.pid, servers)
                    if profile:
                        out.profile = stack.logs / "worker.profile.txt"
                        profiler = Profiler(worker, out.profile, 1800).__enter__()
                have = await tail.poll(timeout_ms=200)
                progress.update(t, completed=have)
                if have != last_count and ready_at is not None:
                    end_cpu = cpu_snapshot(worker.pid, servers)
                if have >= k:
                    break
                if have != last_count:
                    last_count, last_change = have, time.monotonic()
                elif ready_at is not None and time.monotonic() - last_change > STALL_SECONDS:
                    out.stalled = True
                    break
                if worker.popen.poll() is not None:
                    raise RuntimeError(f"worker exited:\n{worker.log_text()[-3000:]}")
        finally:
            if profiler is not None:
                profiler.__exit__(None, None, None)
            await tail.stop()
        if start_cpu is not None and end_cpu is not None:
            out.cpu = (start_cpu, end_cpu)

        out.checks, out.records, out.verdicts = len(tail.ids), tail.records, dict(tail.verdicts)
        out.unanswered = k - len(tail.ids)
        if tail.first_ts and tail.last_new_ts:
            out.first_last = (tail.last_new_ts - tail.first_ts) / 1000
            if ready_at is not None:
                out.ready_to_last = tail.last_new_ts / 1000 - (worker.started_wall + (ready_at - spawned))
        out.spawn_to_ready = (ready_at - spawned) if ready_at is not None else None

        # what the results carry (read back after the measurement, not timed)
        out.model_loaded_logged = "model_loaded" in worker.log_text()
        for record in await stack.read_topic(results_topic, timeout=300):
            assessment = json.loads(record.value).get("risk")
            if assessment:
                out.model_versions[assessment.get("model_version") or "(none)"] += 1
                out.scores.append(int(assessment["score"]))
                out.reasons.update(assessment.get("reasons") or ())
            else:
                out.model_versions["(no risk assessment)"] += 1
        out.alerts = await stack.end_offsets(stack.topic("risk.alerts"))
        out.dead_letters = await stack.end_offsets(stack.topic("checks.dlq"))
        if out.unanswered:
            out.where = await _where(stack, tail.ids)
    return out


async def _where(stack: Stack, answered: set[bytes]) -> str:
    """Where the unanswered checks are: published to checks.verified or not, and the worker group's
    committed offsets against the end offsets of its two inputs."""
    parts = []
    verified = stack.topic("checks.verified")
    missing: Counter[int] = Counter()
    seen = 0
    for record in await stack.read_topic(verified, timeout=120):
        seen += 1
        check_id = json.loads(record.value)["result"]["check_id"].encode()
        if check_id not in answered:
            missing[record.partition] += 1
    if seen:
        parts.append(
            f"checks.verified has {seen:,} records; unanswered among them by partition: "
            + (", ".join(f"p{p}={n}" for p, n in sorted(missing.items())) or "none")
        )
    for base in ("checks.requested", "checks.verified"):
        topic = stack.topic(base)
        committed = await stack.committed(stack.settings.faust_app_id, topic)
        ends = {}
        assert stack._offsets is not None
        from aiokafka import TopicPartition

        from fapiao.bus import partitions_of

        tps = [TopicPartition(topic, p) for p in await partitions_of(stack.settings, topic)]
        if tps:
            ends = {tp.partition: o for tp, o in (await stack._offsets.end_offsets(tps)).items()}
        parts.append(
            f"{base} committed/end: "
            + ", ".join(f"p{p}={committed.get(p, '-')}/{ends[p]}" for p in sorted(ends))
        )
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------- profiles


_RISK_PARTS: tuple[tuple[str, str], ...] = (
    ("fapiao/risk/model.py", "model.score (IsolationForest.score_samples + calibration)"),
    ("fapiao/risk/features.py", "features (per event)"),
    ("fapiao/risk/rules.py", "evaluate_rules (per event)"),
    ("fapiao/risk/scoring.py", "assess (per event)"),
    ("fapiao/risk/enrichment.py", "enrich (per event)"),
    ("fapiao/crypto/result_integrity.py", "tag_result (HMAC-SM3 per result)"),
    ("fapiao/risk/seller_stats.py", "seller statistics (fold / lookups)"),
    ("streams/dead_letters.py", "decode CheckVerified / SellerActivity (pydantic)"),
)


def _frames(collapsed: Path) -> Iterable[tuple[list[str], int]]:
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            yield [f for f in stack.split(";") if not f.startswith(("process ", "thread "))], int(count)


def risk_shares(collapsed: Path) -> list[tuple[str, float, str]]:
    """Shares of the worker's on-CPU samples: the risk agent (and what inside it), the verify agent,
    the verify side of the risk stage (check context + CheckVerified), the sink, and the rest."""
    if not collapsed.exists() or collapsed.stat().st_size == 0:
        return []
    total = 0
    buckets: Counter[str] = Counter()
    for frames, n in _frames(collapsed):
        total += n
        text = ";".join(frames)
        if "streams/risk_agent.py" in text:
            buckets["risk agent (all)"] += n
            inner = text.split("streams/risk_agent.py", 1)[1]
            for marker, name in _RISK_PARTS:
                if marker in inner:
                    buckets[f"risk: {name}"] += n
                    break
            else:
                if "model_dump_json" in inner:
                    buckets["risk: result model_dump_json (pydantic)"] += n
                elif "model_copy" in inner:
                    buckets["risk: result model_copy (pydantic)"] += n
                elif "send (faust/" in inner or "publish_message" in inner or "aiokafka/producer" in inner:
                    buckets["risk: send to checks.results / risk.alerts"] += n
                elif "take_events" in inner or "faust/streams.py" in inner:
                    buckets["risk: stream iteration (take_events)"] += n
                elif "faust/tables" in inner or "mode/utils/collections" in inner:
                    buckets["risk: table access (seller_stats, alerts_raised)"] += n
                else:
                    buckets["risk: other"] += n
        elif "streams/verify_agent.py" in text:
            buckets["verify agent (all)"] += n
            if "check_context" in text or "CheckVerified" in text or "fapiao/domain/check_context.py" in text:
                buckets["verify: check context for the risk stage"] += n
        elif "streams/register_agent.py" in text:
            buckets["register agent"] += n
        elif "streams/sink.py" in text:
            buckets["sink agent"] += n
        elif "aiokafka/" in text or "faust/transport" in text:
            buckets["Kafka client outside the agents (fetch, send, commit)"] += n
        else:
            buckets["other (event loop, Faust/mode internals, threads)"] += n
    order = [name for name, _ in buckets.most_common()]
    top = [n for n in order if not n.startswith(("risk: ", "verify: "))]
    rows = []
    for name in top:
        rows.append((name, buckets[name] / total, f"{buckets[name]} of {total} samples"))
        prefix = (
            "risk: " if name == "risk agent (all)" else "verify: " if name == "verify agent (all)" else None
        )
        if prefix:
            for sub in order:
                if sub.startswith(prefix):
                    rows.append((f"  {sub}", buckets[sub] / total, f"{buckets[sub]} samples"))
    return rows


# ---------------------------------------------------------------------------------------- the benchmark


def _risk_batches() -> str:
    """The risk worker's batch bound (FAPIAO_RISK_BATCH_SIZE passes through to the worker; a batch is
    what one fetch returns, at most that many: streams/bulk_feed.py)."""
    from fapiao.settings import Settings

    return f"at most {Settings().risk_batch_size} events per fetch (bulk feed)"


def _behaviour() -> str:
    """Whether the risk worker scores behaviour (FAPIAO_RISK_BEHAVIOUR passes through to the worker)."""
    from fapiao.settings import Settings

    return "on (behaviour model calibrated on the training replay)" if Settings().risk_behaviour else "off"


def alternating(first: tuple[str, bool], second: tuple[str, bool], rounds: int) -> list[tuple[str, bool]]:
    """first, second; then second, first; … (alternating, so drift in load hits both alike)."""
    pair = [first, second]
    out: list[tuple[str, bool]] = []
    for i in range(rounds):
        out += pair if i % 2 == 0 else pair[::-1]
    return out


def _cpu_rows(result: Result, run: Run) -> None:
    if run.cpu is None:
        return
    a, b = run.cpu
    wall = b.at - a.at
    per = f"{run.label}: "
    if a.worker is not None and b.worker is not None:
        used = b.worker - a.worker
        loop = (b.loop - a.loop) if a.loop is not None and b.loop is not None else None
        result.add(
            per + "worker CPU, ready → last result",
            f"{used:.1f} s",
            f"{used / wall:.0%} of one core over {wall:.1f} s; "
            f"{used * 1000 / max(1, run.checks):.2f} ms CPU per result"
            + (
                f"; event-loop thread {loop:.1f} s ({loop / wall:.0%} of one core)"
                if loop is not None
                else ""
            ),
        )
    busy = b.machine[0] - a.machine[0]
    total = b.machine[1] - a.machine[1]
    servers = ", ".join(f"{name} {b.servers[name] - a.servers.get(name, 0):.1f} s" for name in b.servers)
    result.add(
        per + "machine CPU, same window",
        f"{busy:.1f} s",
        f"{busy / total:.0%} of all CPUs busy" + (f"; of it {servers}" if servers else ""),
    )


async def run(
    *,
    checks: int = 30_000,
    invoices: int = 30_000,
    rounds: int = 1,
    status_fraction: float = 0.04,
    train_invoices: int = 8_000,
    train_checks: int = 8_000,
    seed: int = 2026,
    profile: bool = False,
) -> Result:
    if profile and py_spy() is None:
        raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
    result = Result(
        SECTION,
        "risk-throughput — enrich + score (model loaded) vs the verify-only pipeline, same backlog",
        {
            "checks K": f"{checks:,}",
            "invoices M": f"{invoices:,}",
            "status changes": f"{status_fraction:.0%} of the invoices",
            "demo seed": seed,
            "model": f"trained on a demo replay of {train_invoices:,} invoices / {train_checks:,} checks",
            "rounds": rounds,
            "risk batches": _risk_batches(),
            "behaviour scoring": _behaviour(),
            "partitions": 4,
            "profile": "py-spy on both pipelines" if profile else "no",
        },
    )
    models_dir = Path(tempfile.mkdtemp(prefix="fapiao-bench-models-"))
    runs: list[Run] = []
    try:
        with console.status("generating the demo backlog and training the model"):
            data = backlog(invoices, checks, status_fraction=status_fraction, seed=seed)
            model = train_model(models_dir, invoices=train_invoices, checks=train_checks, seed=seed + 1)
        console.print(
            f"[dim]backlog: {len(data.issued):,} invoices of {data.sellers} sellers, {len(data.status):,} "
            f"status changes, {len(data.checks):,} checks ({data.seconds:.1f} s); model {model.version} "
            f"({model.algorithm}, {model.rows:,} rows, {model.seconds:.1f} s) in {models_dir}[/dim]"
        )
        with _progress() as progress:
            for label, with_risk in alternating(("verify-only", False), ("risk", True), rounds):
                runs.append(
                    await run_pipeline(label, with_risk, data, models_dir, profile=profile, progress=progress)
                )
    finally:
        shutil.rmtree(models_dir, ignore_errors=True)

    # ------------------------------------------------------------------------------------ numbers
    verify = [r for r in runs if not r.risk]
    scored = [r for r in runs if r.risk]
    labels = ", ".join(f"{name} {n}" for name, n in data.labels.most_common())
    result.add(
        "backlog",
        f"{checks:,} checks",
        f"{len(data.issued):,} invoices of {data.sellers} demo sellers, {len(data.status):,} voided / "
        f"red-flushed; labels: {labels}",
    )
    result.add(
        "model",
        model.version,
        f"{model.algorithm}, {len(FEATURE_NAMES)} features, trained on {model.rows:,} feature rows of a "
        f"separate demo replay ({model.seconds:.1f} s incl. the replay), saved to a fresh FAPIAO_MODELS_DIR",
    )
    for n, r in enumerate(runs, 1):
        tag = f"#{n} {r.label}" if rounds > 1 else r.label
        verdicts = ", ".join(f"{v} {c}" for v, c in sorted(r.verdicts.items(), key=lambda i: -i[1]))
        result.add(
            f"{tag}: throughput (first → last result)",
            rate(r.checks, r.first_last),
            f"{r.checks:,} checks answered in {secs(r.first_last)} ({r.records - r.checks:,} duplicate "
            f"result records); {verdicts}",
        )
        result.add(
            f"{tag}: throughput (ready → last result)",
            rate(r.checks, r.ready_to_last),
            f"{secs(r.ready_to_last)} from 'Worker ready' ({secs(r.spawn_to_ready)} spawn → ready, "
            "tables recovered)",
        )
        _cpu_rows(result, r)
        if r.risk:
            loaded = sum(n for v, n in r.model_versions.items() if v == model.version)
            result.add(
                f"{tag}: results scored by the model",
                f"{loaded:,} of {r.records:,}",
                f"risk.model_version = {model.version}; worker log "
                + ("has" if r.model_loaded_logged else "does NOT have")
                + " 'model_loaded'; "
                + ", ".join(f"{v} {n}" for v, n in r.model_versions.items() if v != model.version),
            )
            if r.scores:
                s = np.asarray(r.scores)
                reasons = ", ".join(f"{k} {v}" for k, v in r.reasons.most_common(6))
                result.add(
                    f"{tag}: risk scores / alerts",
                    f"{r.alerts:,} alerts",
                    f"score p50 {np.percentile(s, 50):.0f}, p90 {np.percentile(s, 90):.0f}, p99 "
                    f"{np.percentile(s, 99):.0f}; ≥ 60: {np.mean(s >= 60):.1%}; reasons: {reasons}",
                )
            result.add(
                f"{tag}: seller statistics before the run",
                secs(r.stats_s),
                "register and every sellers.activity event folded (from 'Worker ready' of phase 1)",
            )
        if r.unanswered or r.dead_letters:
            result.add(
                f"{tag}: unanswered / dead letters",
                f"{r.unanswered:,} / {r.dead_letters:,}",
                ("stalled (no new result for 30 s); " if r.stalled else "") + r.where,
            )

    def median(rs: list[Run], ready: bool = False) -> float | None:
        values = [
            t
            for r in rs
            if (t := (r.checks / r.ready_to_last if r.ready_to_last else None) if ready else r.throughput)
            is not None
        ]
        return statistics.median(values) if values else None

    base, risk = median(verify), median(scored)
    ratio: float | None = None
    if base and risk:
        ratio = risk / base
        result.add(
            "risk / verify-only throughput",
            f"{ratio:.1%}",
            "first → last result; target ≥ "
            + f"{TARGET:.0%}"
            + (" (medians over the rounds)" if rounds > 1 else ""),
        )
        base_ready, risk_ready = median(verify, True), median(scored, True)
        if base_ready and risk_ready:
            result.add(
                "risk / verify-only, ready → last result",
                f"{risk_ready / base_ready:.1%}",
                f"{risk_ready:,.0f}/s vs {base_ready:,.0f}/s: includes the time to the first result, which "
                "the risk pipeline spends longer in",
            )

    def measured(rs: list[Run]) -> list[Run]:
        return [r for r in rs if r.cpu and r.cpu[0].worker is not None and r.cpu[1].worker is not None]

    def per_result(rs: list[Run]) -> float:
        """Median worker CPU milliseconds per result."""
        return statistics.median(
            (r.cpu[1].worker - r.cpu[0].worker) * 1000 / max(1, r.checks)  # type: ignore[index,operator]
            for r in rs
        )

    def core_share(rs: list[Run]) -> float:
        """Median share of one core the worker got from ready to its last result."""
        return statistics.median(
            (r.cpu[1].worker - r.cpu[0].worker) / max(1e-9, r.cpu[1].at - r.cpu[0].at)  # type: ignore[index,operator]
            for r in rs
        )

    cpu_ratio: float | None = None
    cpu_v, cpu_r = measured(verify), measured(scored)
    if cpu_v and cpu_r:
        pv, pr = per_result(cpu_v), per_result(cpu_r)
        cpu_ratio = pv / pr
        result.add(
            "risk stage's worker CPU per result",
            f"{pr - pv:.2f} ms",
            f"{pr:.2f} ms with risk − {pv:.2f} ms verify-only: {(pr - pv) / pr:.0%} of the risk pipeline's "
            "worker CPU (checks.verified hop, risk agent, bigger results in the sink)",
        )
        result.add(
            "risk / verify-only, per worker CPU-second",
            f"{cpu_ratio:.1%}",
            f"{1000 / pr:,.0f} vs {1000 / pv:,.0f} results per CPU-second of the worker: the throughput "
            "ratio of a worker with a core to itself (its event loop is one thread)",
        )
        sv, sr = core_share(cpu_v), core_share(cpu_r)
        if abs(sv - sr) > 0.15:
            result.notes.append(
                f"The two workers got different shares of a core ({sv:.0%} verify-only, {sr:.0%} risk): "
                "other work on the machine changed between them, so the wall-clock ratio is not a fair "
                "comparison; the per-CPU-second ratio is."
            )
    if ratio is not None:
        parts = [f"risk pipeline {risk:,.0f} checks/s vs verify-only {base:,.0f} checks/s = {ratio:.1%}"]
        if cpu_ratio is not None:
            parts.append(f"per worker CPU-second {cpu_ratio:.1%}")
        met = ratio >= TARGET and (cpu_ratio is None or cpu_ratio >= TARGET)
        result.verdict = (
            "; ".join(parts) + f" (target ≥ {TARGET:.0%} for both): {'MET' if met else 'NOT MET'}"
        )
    for r in runs:
        if r.profile is not None:
            shares = risk_shares(r.profile)
            if shares:
                result.details.append(
                    f"{r.label}: shares of the worker's on-CPU samples (py-spy, {r.profile.name})"
                )
                result.details += [f"  {share:6.1%}  {name}  ({note})" for name, share, note in shares]
                result.details.append("")
            result.details.extend(summarise(r.profile))
            result.details.append("")
    result.notes.append(
        "Both pipelines run the same encoded backlog, each in its own topic prefix, Faust app id and "
        "ClickHouse database, one worker process each (4 partitions), the ClickHouse sink included; the "
        "worker is not running while the backlog is published. Kafka, ClickHouse, the worker and this "
        "client share the machine's CPUs."
    )
    result.notes.append(
        "Logs of each pipeline: " + "; ".join(f"{r.label} {r.logs}" for r in runs if r.logs is not None)
    )
    return result


QUICK: dict[str, int] = {"checks": 3_000, "invoices": 3_000, "train_invoices": 2_000, "train_checks": 2_000}


def ensure_section(doc: Path | None = None) -> None:
    """This benchmark's own marked section goes at the end of docs/benchmarks.md (appended once; a
    later run rewrites it in place through `report.record`)."""
    doc = doc or report.DOC
    text = doc.read_text("utf-8") if doc.exists() else ""
    if f"<!-- bench:{SECTION}:begin -->" in text:
        return
    block = f"<!-- bench:{SECTION}:begin -->\n<!-- bench:{SECTION}:end -->\n"
    with contextlib.suppress(OSError):
        doc.write_text(text.rstrip() + "\n\n" + block if text else block, "utf-8")


def job(opts: Any, checks: int | None, invoices: int | None, rounds: int) -> Any:
    """The coroutine factory `bench.cli` runs (quick sizes with --quick; the doc section when recording)."""
    sizes: dict[str, int] = dict(QUICK) if opts.quick else {}
    if checks:
        sizes["checks"] = checks
    if invoices:
        sizes["invoices"] = invoices
    if opts.record if opts.record is not None else not opts.quick:
        ensure_section()
    return lambda: run(rounds=rounds, profile=opts.profile, **sizes)
