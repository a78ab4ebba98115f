"""Failures survived by the cluster of deploy/local/cluster.sh (three KRaft brokers, ClickHouse 2 shards x
2 replicas on ZooKeeper), started once for this module on free ports under a temporary folder, and
stopped at its end. The brokers run SASL/SCRAM with the ACLs of fapiao/kafka_acls.py, as cluster.sh
does by default: every client logs in as its principal (the workers as `worker`, the requests are
published as `api`, topics made as `admin`), and the first test shows the broker refusing clients
without a login or without an ACL (issue 16, item 7).

Two workers answer a steady stream of checks while one part of the cluster is killed (SIGKILL): a broker
(then brought back), a ClickHouse replica, the one the sink and the readers connect to first (then
restarted; it must catch up with its twin), and one of the two workers. Each time, with no manual step:
every check is answered, each exactly once (FINAL through the Distributed table), answers resume
within 30 s (nothing answered nor published for at most that long) and every check is answered within
60 s of its request; the request topic holds each request once (the publisher is idempotent, acks=all).
A run prints what it measured (pytest -s), e.g. under load 20-39: broker killed, longest stall 12.7 s,
slowest check 13 s; ClickHouse replica killed 1.2 s / 1 s; worker killed 5.3 s / 13 s.

The last test runs the analytics contract (tests/analytics_contract.py: rollups, trends, history, BI
views, Grafana's queries) through the cluster's Distributed tables, with the same assertions as on one
server (test_analytics_server.py) and on chdb: the cluster answers like one server.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError
from pydantic import SecretStr

from fapiao import topics
from fapiao.analytics.trends import TrendQuery
from fapiao.bus import ensure_topics
from fapiao.kafka_auth import client_kwargs
from fapiao.kafka_intake import intake_topic
from fapiao.settings import Settings
from fapiao.warehouse import migrations
from fapiao.warehouse.engine import NativeEngine
from fapiao.warehouse.trends import fetch_trend
from tests import analytics_contract
from tests.analytics_contract import Dataset
from tests.integration.conftest import INTAKE_ORG, INTAKE_PRINCIPAL, PARTITIONS, _env, records_on
from tests.integration.processes import ROOT, cli_process, wait_for_line
from tests.integration.test_restart_no_loss import Requests

CLUSTER_SH = ROOT / "deploy" / "local" / "cluster.sh"
RATE = 40  # checks per second the stream publishes: well below what two workers answer here under load,
# so a check's wait measures the failure, not a backlog
STREAM_SECONDS = 6.0  # the failure comes STREAM_SECONDS / 4 in, the stream goes on STREAM_SECONDS after
MIN_AFTER = 100  # and until at least this many checks were published after the failure
RESUME_LIMIT = 30.0  # answers must resume within this many seconds of a failure
ANSWER_LIMIT = 60.0  # and every check be answered within this many seconds of its request
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

    def settings(self, user: str) -> dict[str, str]:
        """FAPIAO_* of `cluster.sh env USER` (the servers, and the Kafka login of USER), as environment
        variables."""
        lines = [
            ln.removeprefix("export ")
            for ln in self.run("env", user).splitlines()
            if ln.startswith("export ")
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
    env = dict(
        os.environ,
        CLUSTER_DIR=str(state),
        CLUSTER_PORT_BASE=str(base),
        KAFKA_STOP_TIMEOUT="5",
        # `up` grants the ACLs of this module's topic prefix, app id and intake principal (a SCRAM user)
        FAPIAO_TOPIC_PREFIX=f"c{os.urandom(4).hex()}-",
        FAPIAO_APP_ID=Settings().app_id,
        FAPIAO_KAFKA_INTAKE=f"{INTAKE_PRINCIPAL}={INTAKE_ORG}",
        KAFKA_SASL_EXTRA_USERS=INTAKE_PRINCIPAL,
        FAPIAO_PYTHON=sys.executable,  # applies the ACLs with this checkout's code
    )
    cluster = Cluster(env)
    try:
        started = time.monotonic()
        cluster.run("up")
        print(f"cluster up in {time.monotonic() - started:.1f} s")  # -s shows it
        yield cluster
    finally:
        cluster.run("down", timeout=180)


@dataclass
class Stack:
    settings: Settings  # logged in as `api` (it publishes the checks, as the API does)
    admin: Settings  # the super user: topics, offsets
    env: dict[str, str]  # the workers' (logged in as `worker`)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)


@pytest.fixture(scope="module")
def stack(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Topics (3 replicas, 2 in sync), the cluster schema, two workers; everything lives in the cluster,
    which the `cluster` fixture deletes."""
    prefix = cluster.env["FAPIAO_TOPIC_PREFIX"]
    cluster_env = cluster.settings("worker")
    work = tmp_path_factory.mktemp("cluster-stack")
    settings = Settings(
        topic_prefix=prefix,
        clickhouse_database=f"cluster_{prefix[1:-1]}",
        data_dir=work / "data",
        sink_batch_seconds=0.2,
        topic_partitions=PARTITIONS,
        worker_session_timeout_seconds=6,
        kafka_bootstrap=cluster_env["FAPIAO_KAFKA_BOOTSTRAP"],
        topic_replication=int(cluster_env["FAPIAO_TOPIC_REPLICATION"]),
        topic_min_insync_replicas=int(cluster_env["FAPIAO_TOPIC_MIN_INSYNC_REPLICAS"]),
        clickhouse_port=int(cluster_env["FAPIAO_CLICKHOUSE_PORT"]),
        clickhouse_alt_hosts=cluster_env["FAPIAO_CLICKHOUSE_ALT_HOSTS"],
        clickhouse_cluster=cluster_env["FAPIAO_CLICKHOUSE_CLUSTER"],
        kafka_intake=cluster.env["FAPIAO_KAFKA_INTAKE"],
        **_login(cluster, "api"),
    )
    admin = settings.model_copy(update=_login(cluster, "admin"))
    started = time.monotonic()

    async def topics_and_schema() -> None:
        await asyncio.gather(ensure_topics(admin), asyncio.to_thread(migrations.migrate_configured, settings))

    asyncio.run(topics_and_schema())
    print(f"topics and schema in {time.monotonic() - started:.1f} s")
    started = time.monotonic()
    # a killed worker leaves the group after 6 s (the smallest session timeout the settings allow)
    env = _env(settings) | cluster_env | {"FAPIAO_WORKER_SESSION_TIMEOUT_SECONDS": "6"}
    stack = Stack(settings, admin, env)
    with ExitStack() as running:
        for i in (1, 2):
            log = work / f"worker-{i}.log"
            worker_env = env | {"FAPIAO_DATA_DIR": str(work / f"data-{i}")}
            stack.workers.append(running.enter_context(cli_process(["worker"], worker_env, log)))
            stack.logs.append(log)
        for worker, log in zip(stack.workers, stack.logs, strict=True):
            wait_for_line(worker, log, "Worker ready", 180)
        print(f"two workers ready in {time.monotonic() - started:.1f} s")
        yield stack


def _login(cluster: Cluster, user: str) -> dict[str, Any]:
    """The Settings fields of USER's Kafka login on the cluster."""
    env = cluster.settings(user)
    return {
        "kafka_security_protocol": env["FAPIAO_KAFKA_SECURITY_PROTOCOL"],
        "kafka_sasl_mechanism": env["FAPIAO_KAFKA_SASL_MECHANISM"],
        "kafka_username": env["FAPIAO_KAFKA_USERNAME"],
        "kafka_password": SecretStr(env["FAPIAO_KAFKA_PASSWORD"]),
    }


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
    """Checks published at RATE per second until stopped; when each chunk went out, and samples of
    (time, answered, sent) meanwhile."""

    requests: Requests
    published: list[tuple[float, int]] = field(default_factory=list)  # (time, sent so far)
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (time, answered, sent)
    phases: dict[str, float] = field(default_factory=dict)  # when each step ended, s after the failure

    async def publish(self, stop: asyncio.Event) -> None:
        chunk = max(1, RATE // 10)
        await self.requests.publisher.start()
        try:
            while not stop.is_set():
                await self.requests.publish(chunk)
                self.published.append((time.monotonic(), len(self.requests.sent)))
                await asyncio.sleep(0.1)
        finally:
            await self.requests.publisher.stop()

    def sent_after(self, moment: float) -> int:
        return sum(1 for at, _ in self.published if at > moment) * max(1, RATE // 10)

    async def watch(self, reader: Reader, until: asyncio.Event) -> None:
        while not until.is_set():
            sent = list(self.requests.sent)
            count = await asyncio.to_thread(reader.answered, sent) if sent else None
            if count is not None:
                self.samples.append((time.monotonic(), count, len(sent)))
            await asyncio.sleep(0.25)

    def longest_stall_after(self, moment: float) -> float:
        """The longest time after `moment` that no new check was answered while some were unanswered,
        or no chunk could be published (the producer blocked)."""
        longest, since, last = 0.0, moment, -1
        for at, count, sent in self.samples:
            if at >= moment:
                if count != last or count >= sent:
                    since = at
                longest = max(longest, at - since)
            last = count
        times = [moment] + [at for at, _ in self.published if at >= moment]
        return max([longest] + [b - a for a, b in itertools.pairwise(times)])


async def _stream_with_failure(stack: Stack, failure, recovery=None) -> tuple[Stream, float]:  # type: ignore[no-untyped-def]
    """Publish a stream; STREAM_SECONDS / 4 in, `failure()` (then `recovery()` as long after); go on
    until STREAM_SECONDS have passed since and at least MIN_AFTER checks went out after the failure
    (bounded); wait until every check is answered. Returns the stream and when the failure came."""
    stream = Stream(Requests(stack.settings))
    stop, done = asyncio.Event(), asyncio.Event()
    watcher = asyncio.create_task(stream.watch(Reader(stack.settings), done))
    reader = Reader(stack.settings)
    publisher = asyncio.create_task(stream.publish(stop))
    await asyncio.sleep(STREAM_SECONDS / 4)
    failed_at = time.monotonic()
    await asyncio.to_thread(failure)
    stream.phases["failure"] = time.monotonic() - failed_at
    if recovery is not None:
        await asyncio.sleep(STREAM_SECONDS / 4)
        await asyncio.to_thread(recovery)
        stream.phases["recovery"] = time.monotonic() - failed_at
    deadline = failed_at + RESUME_LIMIT + STREAM_SECONDS
    while time.monotonic() - failed_at < STREAM_SECONDS or stream.sent_after(failed_at) < MIN_AFTER:
        assert time.monotonic() < deadline, (
            f"only {stream.sent_after(failed_at)} checks published after the failure"
        )
        assert not publisher.done(), publisher.exception()
        await asyncio.sleep(0.1)
    stop.set()
    await publisher
    stream.phases["stream end"] = time.monotonic() - failed_at
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while (await asyncio.to_thread(reader.answered, stream.requests.sent) or 0) < len(stream.requests.sent):
        assert time.monotonic() < deadline, f"unanswered checks after {ANSWER_TIMEOUT} s: {_tails(stack)}"
        await asyncio.sleep(0.25)
    stream.phases["all answered"] = time.monotonic() - failed_at
    done.set()
    await watcher
    return stream, failed_at


def _latencies(settings: Settings, sent: list[str]) -> tuple[int, int]:
    """(max, 99th percentile) seconds from a check's request to its decision, through the cluster."""
    engine = NativeEngine(settings)
    try:
        rows = engine.execute(
            "SELECT max(toInt64(decided_at) - toInt64(requested_at)), "
            "quantileExact(0.99)(toInt64(decided_at) - toInt64(requested_at)) "
            "FROM check_results FINAL WHERE toString(check_id) IN %(ids)s",
            {"ids": tuple(sent)},
        )
    finally:
        engine.close()
    return int(rows[0][0]), int(rows[0][1])


def _assert_resumed(stack: Stack, stream: Stream, failed_at: float, what: str) -> None:
    stall = stream.longest_stall_after(failed_at)
    worst, p99 = _latencies(stack.settings, stream.requests.sent)
    after = stream.sent_after(failed_at)
    # -s shows it
    print(
        f"{what}: {len(stream.requests.sent)} checks ({after} after it), longest stall {stall:.1f} s, "
        f"request -> decision max {worst} s, p99 {p99} s; "
        + ", ".join(f"{name} at {at:.1f} s" for name, at in stream.phases.items())
    )
    assert stall <= RESUME_LIMIT, f"{what}: nothing answered or published for {stall:.1f} s"
    assert worst <= ANSWER_LIMIT, f"{what}: a check waited {worst} s for its answer"


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
    return await records_on(settings, topics.CHECKS_REQUESTED)


@pytest.fixture
async def published_before(stack: Stack) -> AsyncIterator[int]:
    yield await _requests_on_topic(stack.admin)


REFUSE_SECONDS = 20.0  # bound on each refused client (a refusal comes in well under a second)


async def _produce(settings: Settings, topic: str) -> None:
    producer = AIOKafkaProducer(**client_kwargs(settings), request_timeout_ms=10_000)
    try:
        await asyncio.wait_for(producer.start(), REFUSE_SECONDS)
        await asyncio.wait_for(producer.send_and_wait(topic, b"{}", key=b"k"), REFUSE_SECONDS)
    finally:
        await producer.stop()


async def _read(settings: Settings, topic: str) -> None:
    consumer = AIOKafkaConsumer(topic, **client_kwargs(settings), group_id=None, request_timeout_ms=10_000)
    try:
        await asyncio.wait_for(consumer.start(), REFUSE_SECONDS)
        await asyncio.wait_for(consumer.getmany(timeout_ms=1000), REFUSE_SECONDS)
    finally:
        await consumer.stop()


async def test_clients_without_a_login_or_an_acl_cannot_write_checks_nor_read_results(
    cluster: Cluster, stack: Stack
) -> None:
    """Issue 16 item 7 on the cluster: whoever reaches a broker cannot submit checks (checks.requested or
    an organisation's intake topic) nor read results without a SCRAM login, nor with a login that has no
    ACL for them; the principals that have one can (so the refusals are the ACLs', not a broken client)."""
    requested = stack.settings.topic(topics.CHECKS_REQUESTED.name)
    intake = stack.settings.topic(intake_topic(INTAKE_PRINCIPAL))
    results = stack.settings.topic(topics.CHECKS_RESULTS.name)
    anonymous = stack.settings.model_copy(update={"kafka_security_protocol": "PLAINTEXT"})
    wrong = stack.settings.model_copy(update={"kafka_password": SecretStr("not-the-password")})
    for client in (anonymous, wrong):  # no login: the broker hangs up before any request
        for attempt, topic in ((_produce, requested), (_produce, intake), (_read, results)):
            with pytest.raises(KafkaError):
                await attempt(client, topic)
    # logged in, without an ACL: the analyst reads alerts only; the intake principal writes only its
    # own intake topic
    analyst = stack.settings.model_copy(update=_login(cluster, "analyst"))
    erp = stack.settings.model_copy(update=_login(cluster, INTAKE_PRINCIPAL))
    for client, attempt, topic in (
        (analyst, _produce, requested),
        (analyst, _produce, intake),
        (analyst, _read, results),
        (erp, _produce, requested),
        (erp, _read, results),
    ):
        with pytest.raises(TopicAuthorizationFailedError):
            await attempt(client, topic)
    # with one: the intake principal writes its topic (the worker's forwarder dead-letters this `{}`),
    # the API reads results
    await _produce(erp, intake)
    await _read(stack.settings, results)


async def test_a_broker_killed_mid_stream_and_brought_back(
    cluster: Cluster, stack: Stack, published_before: int
) -> None:
    stream, failed_at = await _stream_with_failure(
        stack, lambda: cluster.kill("kafka-2"), lambda: cluster.run("up")
    )
    sent = stream.requests.sent
    _stored_once_through(stack.settings, sent)
    _assert_resumed(stack, stream, failed_at, "broker killed")
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
    _assert_resumed(stack, stream, failed_at, "ClickHouse replica killed")
    _stored_once_through(stack.settings, sent)
    await asyncio.to_thread(cluster.run, "up")  # restart it: it fetches the parts its twin took meanwhile
    deadline = time.monotonic() + 60
    while (counts := await asyncio.to_thread(_local_counts, cluster, stack.settings)) and (
        counts["s1r1"] != counts["s1r2"] or counts["s2r1"] != counts["s2r2"]
    ):
        assert time.monotonic() < deadline, f"replicas did not converge: {counts}"
        await asyncio.sleep(0.5)
    # every node answers the same through its Distributed tables, and so do the trends users read
    # (exact figures from check_results FINAL, checks_hourly only fingerprints them: migration 016).
    # The rollup itself is not asserted equal here: on 18.16 a replica killed between committing a
    # source part and its views' parts loses those view rows (seen: 266 of 268 checks in checks_hourly;
    # docs/capacity.md, "Known gaps") — printed, so a run shows it.
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    period = TrendQuery(today - timedelta(days=1), today + timedelta(days=1))
    for engine, _leader in migrations.cluster_nodes(stack.settings):
        try:
            _stored_once(engine, sent)
            finals = dict(
                engine.execute("SELECT org_id, uniqExact(check_id) FROM check_results FINAL GROUP BY org_id")
            )
            hourly = engine.execute("SELECT uniqExactMerge(checks) FROM checks_hourly WHERE vkey = '*'")[0][0]
            print(f"rollup checks_hourly {hourly} of {sum(finals.values())} checks")
            for org, checks in finals.items():
                (series,) = fetch_trend(engine, org, period).series
                assert series.current.checks == checks, (org, series.current, checks)
        finally:
            engine.close()


async def test_one_of_two_workers_killed_mid_stream(stack: Stack) -> None:
    victim = stack.workers[0]
    stream, failed_at = await _stream_with_failure(stack, victim.kill)
    _stored_once_through(stack.settings, stream.requests.sent)
    # the killed worker's partitions wait for the session timeout (6 s) and a rebalance (15-22 s here
    # under load: docs/capacity.md), then their checks are answered
    _assert_resumed(stack, stream, failed_at, "worker killed")
    assert stack.workers[1].poll() is None, _tails(stack)


@pytest.fixture(scope="module")
def cluster_analytics(stack: Stack) -> Iterator[tuple[NativeEngine, Dataset]]:
    """The analytics scenario (tests/analytics_contract.py) in a database of its own on the cluster:
    migrated for the cluster, loaded through the Distributed tables."""
    settings = stack.settings.model_copy(
        update={"clickhouse_database": f"{stack.settings.clickhouse_database}_an"}
    )
    migrations.migrate_configured(settings)
    engine = NativeEngine(settings)
    try:
        yield engine, analytics_contract.load(engine)  # its migrate() finds every migration applied
    finally:
        engine.close()


@pytest.mark.parametrize("check", analytics_contract.CHECKS, ids=lambda c: c.__name__)
def test_queries_through_the_cluster_answer_like_one_server(
    cluster_analytics: tuple[NativeEngine, Dataset], check: Callable[..., None]
) -> None:
    """The same assertions as on one server (test_analytics_server.py) and on chdb: trends, history,
    rollups, BI views and Grafana's queries read through the Distributed tables give the same answers."""
    check(*cluster_analytics)
