"""Failures survived by the cluster of deploy/local/cluster.sh (three KRaft brokers, ClickHouse 2 shards x
2 replicas on ZooKeeper), started once for this module on free ports under a temporary folder, and
stopped at its end.

Two workers answer a steady stream of checks while one part of the cluster is killed (SIGKILL): a broker
(then brought back), a ClickHouse replica, the one the sink and the readers connect to first (then
restarted; it must catch up with its twin), and one of the two workers. Each time, with no manual step:
every check is answered, each exactly once (FINAL through the Distributed table), and answers resume
within 30 s; the request topic holds each request once (the publisher is idempotent, acks=all).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fapiao import topics
from fapiao.bus import ensure_topics
from fapiao.settings import Settings
from fapiao.warehouse import migrations
from fapiao.warehouse.engine import NativeEngine
from tests.integration.conftest import _env
from tests.integration.processes import ROOT, cli_process, wait_for_line
from tests.integration.test_restart_no_loss import Requests

CLUSTER_SH = ROOT / "deploy" / "local" / "cluster.sh"
RATE = 150  # checks per second the stream publishes
STREAM_SECONDS = 6.0  # how long each test's stream lasts; the failure comes STREAM_SECONDS / 4 in
RESUME_LIMIT = 30.0  # answers must resume within this many seconds of a failure
ANSWER_TIMEOUT = 90.0  # bound on waiting for the last answers once the stream ended


def _ports_free(base: int) -> bool:
    offsets = [*range(91, 94), 181, *range(191, 194), *range(301, 305), *range(311, 315), *range(321, 325)]
    for offset in offsets:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", base + offset)) == 0:
                return False
    return True


@dataclass
class Cluster:
    """deploy/local/cluster.sh with its own state folder and ports."""

    env: dict[str, str]

    def run(self, *args: str, timeout: float = 240) -> str:
        done = subprocess.run(
            ["bash", str(CLUSTER_SH), *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"cluster.sh {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def settings(self) -> dict[str, str]:
        """FAPIAO_* of `cluster.sh env`, as environment variables."""
        lines = [
            ln.removeprefix("export ") for ln in self.run("env").splitlines() if ln.startswith("export ")
        ]
        return dict(ln.split("=", 1) for ln in lines)

    def kill(self, node: str) -> None:
        pid = int(self.run("pid", node).strip())
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = next((b for b in range(21000, 30000, 1000) if _ports_free(b)), None)
    assert base is not None, "no free port range for the cluster"
    state = tmp_path_factory.mktemp("cluster")
    env = dict(os.environ, CLUSTER_DIR=str(state), CLUSTER_PORT_BASE=str(base), KAFKA_STOP_TIMEOUT="5")
    cluster = Cluster(env)
    try:
        cluster.run("up")
        yield cluster
    finally:
        cluster.run("down", timeout=180)


@dataclass
class Stack:
    settings: Settings
    env: dict[str, str]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)


@pytest.fixture(scope="module")
def stack(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Topics (3 replicas, 2 in sync), the cluster schema, two workers; everything lives in the cluster,
    which the `cluster` fixture deletes."""
    run = os.urandom(4).hex()
    cluster_env = cluster.settings()
    work = tmp_path_factory.mktemp("cluster-stack")
    settings = Settings(
        topic_prefix=f"c{run}-",
        clickhouse_database=f"cluster_{run}",
        data_dir=work / "data",
        sink_batch_seconds=0.2,
        kafka_bootstrap=cluster_env["FAPIAO_KAFKA_BOOTSTRAP"],
        topic_replication=int(cluster_env["FAPIAO_TOPIC_REPLICATION"]),
        topic_min_insync_replicas=int(cluster_env["FAPIAO_TOPIC_MIN_INSYNC_REPLICAS"]),
        clickhouse_port=int(cluster_env["FAPIAO_CLICKHOUSE_PORT"]),
        clickhouse_alt_hosts=cluster_env["FAPIAO_CLICKHOUSE_ALT_HOSTS"],
        clickhouse_cluster=cluster_env["FAPIAO_CLICKHOUSE_CLUSTER"],
    )
    asyncio.run(ensure_topics(settings))
    migrations.migrate_configured(settings)
    # a killed worker leaves the group after 6 s (faust's default session timeout is 60 s)
    env = _env(settings) | cluster_env | {"BROKER_SESSION_TIMEOUT": "6", "BROKER_HEARTBEAT_INTERVAL": "1"}
    stack = Stack(settings, env)
    with ExitStack() as running:
        for i in (1, 2):
            log = work / f"worker-{i}.log"
            worker_env = env | {"FAPIAO_DATA_DIR": str(work / f"data-{i}")}
            stack.workers.append(running.enter_context(cli_process(["worker"], worker_env, log)))
            stack.logs.append(log)
        for worker, log in zip(stack.workers, stack.logs, strict=True):
            wait_for_line(worker, log, "Worker ready", 180)
        yield stack


def _answered(engine: NativeEngine, sent: list[str]) -> int:
    rows = engine.execute(
        "SELECT uniqExact(check_id) FROM check_results WHERE toString(check_id) IN %(ids)s",
        {"ids": tuple(sent)},
    )
    return int(rows[0][0])


class Reader:
    """Counts answered checks through the cluster. After an error (its node died under it) the next
    count starts a new connection, which tries the other nodes (alt hosts), as the sink does: a broken
    clickhouse-driver connection may also fail with AttributeError (its socket already None)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._engine: NativeEngine | None = None

    def answered(self, sent: list[str]) -> int | None:
        if self._engine is None:
            self._engine = NativeEngine(self._settings)
        try:
            return _answered(self._engine, sent)
        except Exception:  # any failure of a dying node: reconnect next time
            self._engine.close()
            self._engine = None
            return None


@dataclass
class Stream:
    """Checks published at RATE per second for STREAM_SECONDS; samples of (time, answered) meanwhile."""

    requests: Requests
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (time, answered, sent)

    async def publish(self) -> None:
        chunk, started = max(1, RATE // 10), time.monotonic()
        await self.requests.publisher.start()
        try:
            while time.monotonic() - started < STREAM_SECONDS:
                await self.requests.publish(chunk)
                await asyncio.sleep(0.1)
        finally:
            await self.requests.publisher.stop()

    async def watch(self, reader: Reader, until: asyncio.Event) -> None:
        while not until.is_set():
            sent = list(self.requests.sent)
            count = await asyncio.to_thread(reader.answered, sent) if sent else None
            if count is not None:
                self.samples.append((time.monotonic(), count, len(sent)))
            await asyncio.sleep(0.25)

    def longest_stall_after(self, moment: float) -> float:
        """The longest time after `moment` that no new check was answered while some were unanswered."""
        longest, since, last = 0.0, moment, -1
        for at, count, sent in self.samples:
            if at >= moment:
                if count != last or count >= sent:
                    since = at
                longest = max(longest, at - since)
            last = count
        return longest


async def _stream_with_failure(stack: Stack, failure, recovery=None) -> tuple[Stream, float]:  # type: ignore[no-untyped-def]
    """Publish a stream; a quarter in, `failure()` (then `recovery()` half-way); wait until every check
    is answered. Returns the stream and when the failure came."""
    stream = Stream(Requests(stack.settings))
    done = asyncio.Event()
    watcher = asyncio.create_task(stream.watch(Reader(stack.settings), done))
    reader = Reader(stack.settings)
    publisher = asyncio.create_task(stream.publish())
    await asyncio.sleep(STREAM_SECONDS / 4)
    failed_at = time.monotonic()
    await asyncio.to_thread(failure)
    if recovery is not None:
        await asyncio.sleep(STREAM_SECONDS / 4)
        await asyncio.to_thread(recovery)
    await publisher
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while (await asyncio.to_thread(reader.answered, stream.requests.sent) or 0) < len(stream.requests.sent):
        assert time.monotonic() < deadline, f"unanswered checks after {ANSWER_TIMEOUT} s: {_tails(stack)}"
        await asyncio.sleep(0.25)
    done.set()
    await watcher
    return stream, failed_at


def _tails(stack: Stack) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in stack.logs)


def _stored_once(engine: NativeEngine, sent: list[str]) -> None:
    """Every check of `sent` has one result row through the Distributed table (FINAL)."""
    rows = engine.execute(
        "SELECT toString(check_id), count() FROM check_results FINAL WHERE toString(check_id) IN %(ids)s "
        "GROUP BY check_id",
        {"ids": tuple(sent)},
    )
    per_check = dict(rows)
    assert set(per_check) == set(sent), f"{len(set(sent) - set(per_check))} of {len(sent)} checks not stored"
    assert set(per_check.values()) == {1}


def _stored_once_through(settings: Settings, sent: list[str]) -> None:
    """`_stored_once` on a new connection to the cluster (the first node answering of the settings)."""
    engine = NativeEngine(settings)
    try:
        _stored_once(engine, sent)
    finally:
        engine.close()


async def _requests_on_topic(settings: Settings) -> int:
    """Records on checks.requested (each published once: the publisher is idempotent)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from fapiao.bus import partitions_of

    name = settings.topic(topics.CHECKS_REQUESTED.name)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        parts = [TopicPartition(name, p) for p in await partitions_of(settings, name)]
        return sum((await consumer.end_offsets(parts)).values())
    finally:
        await consumer.stop()


@pytest.fixture
async def published_before(stack: Stack) -> AsyncIterator[int]:
    yield await _requests_on_topic(stack.settings)


async def test_a_broker_killed_mid_stream_and_brought_back(
    cluster: Cluster, stack: Stack, published_before: int
) -> None:
    stream, failed_at = await _stream_with_failure(
        stack, lambda: cluster.kill("kafka-2"), lambda: cluster.run("up")
    )
    sent = stream.requests.sent
    _stored_once_through(stack.settings, sent)
    assert stream.longest_stall_after(failed_at) <= RESUME_LIMIT
    assert await _requests_on_topic(stack.settings) - published_before == len(sent)
    assert all(w.poll() is None for w in stack.workers), _tails(stack)


def _local_counts(cluster: Cluster, settings: Settings) -> dict[str, int]:
    """Rows in each node's check_results_local (its shard's replica)."""
    counts = {}
    for node, (engine, _leader) in zip(
        ("s1r1", "s1r2", "s2r1", "s2r2"), migrations.cluster_nodes(settings), strict=True
    ):
        try:
            counts[node] = int(engine.execute("SELECT count() FROM check_results_local")[0][0])
        finally:
            engine.close()
    return counts


async def test_a_clickhouse_replica_killed_while_results_flow_then_restarted_converges(
    cluster: Cluster, stack: Stack
) -> None:
    # s1r1 is the host the sink and this test's engine connect to first: both fail over to the others
    stream, failed_at = await _stream_with_failure(stack, lambda: cluster.kill("ch-s1r1"))
    sent = stream.requests.sent
    assert stream.longest_stall_after(failed_at) <= RESUME_LIMIT
    _stored_once_through(stack.settings, sent)
    await asyncio.to_thread(cluster.run, "up")  # restart it: it fetches the parts its twin took meanwhile
    deadline = time.monotonic() + 60
    while (counts := await asyncio.to_thread(_local_counts, cluster, stack.settings)) and (
        counts["s1r1"] != counts["s1r2"] or counts["s2r1"] != counts["s2r2"]
    ):
        assert time.monotonic() < deadline, f"replicas did not converge: {counts}"
        await asyncio.sleep(0.5)
    # every node answers the same through its Distributed tables, the rollups (views on the local
    # tables) included
    for engine, _leader in migrations.cluster_nodes(stack.settings):
        try:
            _stored_once(engine, sent)
            finals = engine.execute("SELECT uniqExact(check_id) FROM check_results FINAL")[0][0]
            hourly = engine.execute("SELECT uniqExactMerge(checks) FROM checks_hourly WHERE vkey = '*'")[0][0]
            assert finals == hourly
        finally:
            engine.close()


async def test_one_of_two_workers_killed_mid_stream(stack: Stack) -> None:
    victim = stack.workers[0]
    stream, failed_at = await _stream_with_failure(stack, victim.kill)
    _stored_once_through(stack.settings, stream.requests.sent)
    assert stream.longest_stall_after(failed_at) <= RESUME_LIMIT
    assert stack.workers[1].poll() is None, _tails(stack)
