"""One benchmark's isolated world: a unique topic prefix and ClickHouse database, its worker / API
subprocesses, Kafka helpers (batched producing, end offsets, reading a topic back), and cleanup.

Every subprocess is started in its own session and registered, so `Stack.close()` (called from a
`finally`), a SIGTERM/SIGINT, or at worst `atexit`, stops exactly the processes this run started.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from aiokafka.errors import TopicAlreadyExistsError

from fapiao.bus import ensure_topics, partitions_of
from fapiao.kafka_auth import client_kwargs
from fapiao.settings import Settings
from fapiao.warehouse import migrations
from fapiao.warehouse.engine import NativeEngine

ROOT = Path(__file__).resolve().parents[1]  # the code that runs (a snapshot with --source)
REPO = Path(os.environ.get("FAPIAO_BENCH_REPO", ROOT))  # the checkout: docs, bench/out, .local
OUT_DIR = REPO / "bench" / "out"

_LIVE: dict[int, subprocess.Popen[bytes]] = {}  # pid -> process, for the last-resort cleanup


def _kill_leftovers() -> None:
    for pid, proc in list(_LIVE.items()):
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)  # its own session: pgid == pid
        _LIVE.pop(pid, None)


atexit.register(_kill_leftovers)


def install_signal_handlers() -> None:
    """SIGTERM behaves like Ctrl-C, so every `finally` (subprocesses, topics, database) runs."""

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _interrupt)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    started: float  # time.monotonic() at spawn
    started_wall: float  # time.time() at spawn
    ready: float | None = None  # time.monotonic() when readiness was seen
    metrics_url: str | None = None  # its Prometheus endpoint, when it serves one

    @property
    def pid(self) -> int:
        return self.popen.pid

    _seen: int = 0  # bytes of the log already searched by `log_has`

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def log_times(self, needle: str) -> list[float]:
        """When (epoch seconds) each log line containing `needle` was written, from the logging
        prefix `[YYYY-mm-dd HH:MM:SS,mmm]` (local time, the same clock as this process's)."""
        out = []
        for line in self.log_text().splitlines():
            if needle in line and line.startswith("[") and len(line) > 24:
                with contextlib.suppress(ValueError):
                    stamp = datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f")
                    out.append(stamp.timestamp())
        return out

    def member_id(self, group: str) -> str | None:
        """The member id this process last joined `group` with (aiokafka's "Joined group" log line)."""
        found = re.findall(
            rf"Joined group '{re.escape(group)}' \(generation \d+\) with member_id (\S+)", self.log_text()
        )
        return found[-1] if found else None

    def log_has(self, needle: str) -> bool:
        """Whether `needle` appeared in the log (reads only what is new since the last call)."""
        if not self.log.exists():
            return False
        with self.log.open("rb") as f:
            f.seek(max(0, self._seen - len(needle)))
            chunk = f.read()
        self._seen = max(0, self._seen - len(needle)) + len(chunk)
        return needle.encode() in chunk


async def delete_prefixed_topics(settings: Settings) -> list[str]:
    """Every topic named with the run's prefix. Not fapiao.bus.delete_topics: bench/ also runs on
    snapshots of commits older than it (--source)."""
    admin = AIOKafkaAdminClient(**client_kwargs(settings), request_timeout_ms=30000)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(settings.topic_prefix)]
        if mine:
            await admin.delete_topics(mine)
        return mine
    finally:
        await admin.close()


@dataclass
class Stack:
    """`async with Stack("verify") as stack:` — isolated topics + database, removed at exit."""

    name: str
    settings_overrides: dict[str, object] = field(default_factory=dict)
    keep_logs: bool = True

    def __post_init__(self) -> None:
        run = uuid.uuid4().hex[:8]
        slug = self.name.replace("-", "_")
        self.run_id = run
        self.tmp = Path(tempfile.mkdtemp(prefix=f"fapiao-bench-{self.name}-"))
        self.logs = OUT_DIR / f"{time.strftime('%Y%m%d-%H%M%S')}-{self.name}-{run}"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.settings = Settings(
            topic_prefix=f"bench{run}-",
            clickhouse_database=f"bench_{run}_{slug}",
            data_dir=self.tmp / "worker",
            log_json=False,
            **self.settings_overrides,  # type: ignore[arg-type]
        )
        self.procs: list[Proc] = []
        self._spawned: dict[str, int] = {}
        self._offsets: AIOKafkaConsumer | None = None
        self.engine: NativeEngine | None = None

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Stack:
        await ensure_topics(self.settings)
        self.engine = NativeEngine(self.settings)
        if self.settings.clickhouse_cluster:  # every node of the cluster (bench cluster)
            await asyncio.to_thread(migrations.migrate_configured, self.settings)
        else:
            await asyncio.to_thread(migrations.migrate, self.engine)
        self._offsets = AIOKafkaConsumer(
            **client_kwargs(self.settings), group_id=None, enable_auto_commit=False
        )
        await self._offsets.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop every process this stack started, then drop its topics, database and temp files."""
        for proc in reversed(self.procs):
            await asyncio.to_thread(stop_process, proc)
        self.procs.clear()
        if self._offsets is not None:
            with contextlib.suppress(Exception):
                await self._offsets.stop()
            self._offsets = None
        with contextlib.suppress(Exception):
            await self.delete_topics()
        if self.engine is not None:
            drop = f"DROP DATABASE IF EXISTS {self.settings.clickhouse_database}"
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.engine.execute, drop)
            if self.settings.clickhouse_cluster:
                with contextlib.suppress(Exception):
                    for node, _leader in await asyncio.to_thread(migrations.cluster_nodes, self.settings):
                        await asyncio.to_thread(node.execute, drop)
                        node.close()
            self.engine.close()
            self.engine = None
        shutil.rmtree(self.tmp, ignore_errors=True)
        if not self.keep_logs:
            shutil.rmtree(self.logs, ignore_errors=True)

    async def delete_topics(self) -> list[str]:
        return await delete_prefixed_topics(self.settings)

    # ------------------------------------------------------------------ subprocesses

    def env(self) -> dict[str, str]:
        s = self.settings
        env = dict(os.environ)
        env.update(
            FAPIAO_TOPIC_PREFIX=s.topic_prefix,
            FAPIAO_CLICKHOUSE_DATABASE=s.clickhouse_database,
            FAPIAO_KAFKA_BOOTSTRAP=s.kafka_bootstrap,
            FAPIAO_TOPIC_PARTITIONS=str(s.topic_partitions),
            FAPIAO_CLICKHOUSE_HOST=s.clickhouse_host,
            FAPIAO_CLICKHOUSE_PORT=str(s.clickhouse_port),
            FAPIAO_CLICKHOUSE_ALT_HOSTS=s.clickhouse_alt_hosts,
            FAPIAO_CLICKHOUSE_CLUSTER=s.clickhouse_cluster,
            FAPIAO_TOPIC_REPLICATION=str(s.topic_replication),
            FAPIAO_TOPIC_MIN_INSYNC_REPLICAS=str(s.topic_min_insync_replicas),
            FAPIAO_KAFKA_SECURITY_PROTOCOL=s.kafka_security_protocol,
            FAPIAO_KAFKA_SASL_MECHANISM=s.kafka_sasl_mechanism,
            FAPIAO_KAFKA_USERNAME=s.kafka_username,
            FAPIAO_KAFKA_PASSWORD=s.kafka_password.get_secret_value(),
            FAPIAO_DATA_DIR=str(s.data_dir),
            FAPIAO_LOG_JSON="false",
            FAPIAO_LOG_LEVEL="INFO",
            FAPIAO_SINK_BATCH_ROWS=str(s.sink_batch_rows),
            FAPIAO_SINK_BATCH_SECONDS=str(s.sink_batch_seconds),
            FAPIAO_SYNC_WINDOW_SECONDS=str(s.sync_window_seconds),
            FAPIAO_SYNC_SWEEP_SECONDS=str(s.sync_sweep_seconds),
            PYTHONUNBUFFERED="1",
        )
        return env

    def spawn(
        self, name: str, args: Sequence[str], env: dict[str, str] | None = None, module: str = "services.cli"
    ) -> Proc:
        n = self._spawned[name] = self._spawned.get(name, 0) + 1
        log = self.logs / (f"{name}.log" if n == 1 else f"{name}.{n}.log")
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                cwd=ROOT,
                env=self.env() | (env or {}),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        _LIVE[popen.pid] = popen
        proc = Proc(name, popen, log, time.monotonic(), time.time())
        self.procs.append(proc)
        return proc

    async def start_worker(
        self,
        timeout: float = 300.0,
        metrics: bool = False,
        env: dict[str, str] | None = None,
        module: str = "services.cli",
    ) -> Proc:
        """A Faust worker; returns once its log says "Worker ready" (tables recovered). `metrics`: it
        serves its Prometheus metrics on a free port (`Proc.metrics_url`); `module`: what runs the CLI
        (bench.kafka_requests counts the Kafka requests, into the file its `env` names)."""
        port = free_port() if metrics else 0
        extra = {"FAPIAO_WORKER_METRICS_PORT": str(port)} | (env or {})
        proc = self.spawn("worker", ["worker"], extra, module)
        if metrics:
            proc.metrics_url = f"http://127.0.0.1:{port}/metrics"
        await wait_for_log(proc, "Worker ready", timeout)
        return proc

    async def start_api(
        self, timeout: float = 60.0, env: dict[str, str] | None = None, module: str = "services.cli"
    ) -> tuple[Proc, str]:
        """The intake API on a free 127.0.0.1 port; returns once /readyz answers 200 (`env`, `module`:
        as start_worker's)."""
        port = free_port()
        proc = self.spawn("api", ["api", "--host", "127.0.0.1", "--port", str(port)], env, module)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{url}/readyz")).status_code == 200:
                        proc.ready = time.monotonic()
                        return proc, url
                if proc.popen.poll() is not None:
                    raise RuntimeError(f"API exited:\n{proc.log_text()[-4000:]}")
                await asyncio.sleep(0.2)
        raise RuntimeError(f"API not ready within {timeout}s:\n{proc.log_text()[-4000:]}")

    async def stop(self, proc: Proc) -> None:
        await asyncio.to_thread(stop_process, proc)
        if proc in self.procs:
            self.procs.remove(proc)

    # ------------------------------------------------------------------ Kafka

    def topic(self, base: str) -> str:
        return self.settings.topic(base)

    @property
    def changelog(self) -> str:
        """The register table's changelog topic (Faust: `<app id>-<table>-changelog`)."""
        return f"{self.settings.faust_app_id}-register-changelog"

    async def create_topic(self, name: str, partitions: int | None = None) -> None:
        admin = AIOKafkaAdminClient(**client_kwargs(self.settings), request_timeout_ms=15000)
        await admin.start()
        try:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(
                            name,
                            partitions or self.settings.topic_partitions,
                            self.settings.topic_replication,
                        )
                    ]
                )
        finally:
            await admin.close()

    async def end_offsets(self, topic: str) -> int:
        """Messages ever written to `topic` (sum of end offsets; 0 when it does not exist yet)."""
        return sum((await self.partition_ends(topic)).values())

    async def partition_ends(self, topic: str) -> dict[int, int]:
        """The end offset of each partition of `topic` ({} when it does not exist yet)."""
        assert self._offsets is not None
        parts = await partitions_of(self.settings, topic)
        if not parts:
            return {}
        ends = await self._offsets.end_offsets([TopicPartition(topic, p) for p in parts])
        return {tp.partition: int(end) for tp, end in ends.items()}

    async def produce(
        self,
        topic: str,
        items: Iterable[tuple[bytes, bytes]],
        *,
        on_progress: Callable[[int], None] | None = None,
        chunk: int = 5000,
    ) -> int:
        """Write (key, value) pairs with a batching producer (the default partitioner, like the API's
        Publisher, so keys land on the same partitions as everything else of that invoice)."""
        producer = AIOKafkaProducer(
            **client_kwargs(self.settings),
            acks="all",
            enable_idempotence=True,
            linger_ms=20,
            max_batch_size=256 * 1024,
        )
        await producer.start()
        sent = 0
        try:
            pending = []
            for key, value in items:
                pending.append(await producer.send(topic, key=key, value=value))
                if len(pending) >= chunk:
                    await asyncio.gather(*pending)
                    sent += len(pending)
                    pending.clear()
                    if on_progress:
                        on_progress(sent)
            if pending:
                await asyncio.gather(*pending)
                sent += len(pending)
                if on_progress:
                    on_progress(sent)
        finally:
            await producer.stop()
        return sent

    async def committed(self, group: str, topic: str) -> dict[int, int]:
        """The committed offsets of `group` on `topic`, by partition."""
        admin = AIOKafkaAdminClient(**client_kwargs(self.settings), request_timeout_ms=15000)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(group)
        finally:
            await admin.close()
        return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}

    async def group_members(self, group: str) -> GroupState:
        """The group's state and, per member id, the partitions assigned to it (from the coordinator)."""
        admin = AIOKafkaAdminClient(**client_kwargs(self.settings), request_timeout_ms=15000)
        await admin.start()
        try:
            (response,) = await admin.describe_consumer_groups([group])
        finally:
            await admin.close()
        (described,) = response.to_object()["groups"]
        members: dict[str, dict[str, set[int]]] = {}
        for member in described["members"]:
            raw = member["member_assignment"]
            assigned = ConsumerProtocolMemberAssignment.decode(raw).assignment if raw else []
            members[member["member_id"]] = {topic: set(parts) for topic, parts in assigned}
        return GroupState(described["state"], members)

    async def read_topic(self, topic: str, *, want: int | None = None, timeout: float = 120.0) -> list:
        """Every record of `topic` from the beginning up to its current end (group-less)."""
        parts = [TopicPartition(topic, p) for p in await partitions_of(self.settings, topic)]
        consumer = AIOKafkaConsumer(
            **client_kwargs(self.settings),
            group_id=None,
            enable_auto_commit=False,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await consumer.start()
        records = []
        try:
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            ends = await consumer.end_offsets(parts)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                positions = [await consumer.position(tp) for tp in parts]
                if all(pos >= ends[tp] for pos, tp in zip(positions, parts, strict=True)):
                    break
                batches = await consumer.getmany(timeout_ms=500, max_records=5000)
                for batch in batches.values():
                    records.extend(batch)
                if want is not None and len(records) >= want:
                    break
        finally:
            await consumer.stop()
        return records

    # ------------------------------------------------------------------ ClickHouse

    async def sql(self, query: str, params: dict[str, object] | None = None) -> list[tuple]:
        assert self.engine is not None
        return await asyncio.to_thread(self.engine.execute, query, params)


@dataclass(frozen=True)
class GroupState:
    """A consumer group as its coordinator describes it: state ("Stable", "PreparingRebalance" …) and
    each member's assigned partitions by topic."""

    state: str
    members: dict[str, dict[str, set[int]]]

    def owned(self, member_id: str, topic: str) -> set[int]:
        return self.members.get(member_id, {}).get(topic, set())


class ResultsTail:
    """Follows `checks.results` (group-less, from the beginning) and keeps what the benchmarks need:
    distinct check ids, verdicts, and the Kafka timestamps of the first record and of the record that
    brought each new check id. Cheap per record: the fields are found in the JSON bytes, not parsed."""

    def __init__(self, stack: Stack, topic: str, partition_of: Callable[[str], int] | None = None) -> None:
        self.stack = stack
        self.topic = topic
        # with `partition_of` (invoice key -> partition of checks.requested): per partition, the latest
        # `decided_at` (epoch s) of any result, i.e. when that partition's verify step last worked
        self.partition_of = partition_of
        self.decided: dict[int, float] = {}
        self.ids: set[bytes] = set()
        self.verdicts: dict[str, int] = {}
        self.records = 0
        self.first_ts: int | None = None  # ms
        self.last_new_ts: int | None = None  # ms: the record that brought the newest distinct check
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        parts = [TopicPartition(self.topic, p) for p in await partitions_of(self.stack.settings, self.topic)]
        self._consumer = AIOKafkaConsumer(
            **client_kwargs(self.stack.settings),
            group_id=None,
            enable_auto_commit=False,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await self._consumer.start()
        self._consumer.assign(parts)
        await self._consumer.seek_to_beginning(*parts)

    async def poll(self, timeout_ms: int = 100) -> int:
        """Take in what has arrived; returns the number of distinct checks seen so far."""
        assert self._consumer is not None
        batches = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=20000)
        for records in batches.values():
            for r in records:
                self.records += 1
                value: bytes = r.value
                if self.first_ts is None or r.timestamp < self.first_ts:
                    self.first_ts = r.timestamp
                check_id = _field(value, b'"check_id":"')
                if self.partition_of is not None:
                    self._decided(value)
                if check_id not in self.ids:
                    self.ids.add(check_id)
                    verdict = _field(value, b'"verdict":"').decode()
                    self.verdicts[verdict] = self.verdicts.get(verdict, 0) + 1
                    if self.last_new_ts is None or r.timestamp > self.last_new_ts:
                        self.last_new_ts = r.timestamp
        return len(self.ids)

    def _decided(self, value: bytes) -> None:
        assert self.partition_of is not None
        with contextlib.suppress(ValueError):
            at = datetime.fromisoformat(_field(value, b'"decided_at":"').decode()).timestamp()
            p = self.partition_of(_field(value, b'"invoice_key":"').decode())
            if at > self.decided.get(p, 0.0):
                self.decided[p] = at

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None


def _field(value: bytes, marker: bytes) -> bytes:
    start = value.find(marker)
    if start < 0:
        return b""
    start += len(marker)
    return value[start : value.find(b'"', start)]


async def wait_for_log(proc: Proc, needle: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.log_has(needle):
            proc.ready = time.monotonic()
            return
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.log_text()[-4000:]}")
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{needle!r} not in {proc.log} within {timeout}s:\n{proc.log_text()[-4000:]}")


def stop_process(proc: Proc, grace: float = 30.0) -> None:
    """SIGTERM (a Faust worker commits and leaves its group), then SIGKILL of its own process group."""
    popen = proc.popen
    try:
        if popen.poll() is None:
            popen.terminate()
            try:
                popen.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(popen.pid, signal.SIGKILL)
                popen.wait(10)
    finally:
        _LIVE.pop(popen.pid, None)
