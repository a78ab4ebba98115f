"""cluster: what replication costs — the pipeline on the single-node servers vs on the local cluster.

One run measures the same backlog (register, verify, ClickHouse sink; the risk stage off, so the numbers
isolate the servers) through both, alternating, each in its own world (topic prefix, Faust app id,
ClickHouse database):

- **single**: the servers of `make services-up` (one KRaft broker, topics with one replica; one
  ClickHouse 18.16 server, plain MergeTree tables);
- **cluster**: deploy/local/cluster.sh (three KRaft brokers, topics with three replicas and
  min.insync.replicas=2, producers acks=all + idempotence; ClickHouse 2 shards x 2 replicas on ZooKeeper,
  Replicated local tables behind Distributed tables, synchronous distributed inserts).

The same machine runs every server of both, so the ratio is what replication costs in CPU (the
workers' CPU per result, the brokers' and ClickHouse servers' CPU per result), not what a real cluster
of separate machines would gain. It reuses risk-throughput's machinery (bench/risk_throughput.py).
The cluster is started when it is not running (and stopped again afterwards); `cluster.sh up` is
idempotent.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from bench import risk_throughput as rt
from bench.harness import ROOT
from bench.report import console
from bench.stats import Result, rate, secs

SECTION = "cluster"
CLUSTER_SH = ROOT / "deploy" / "local" / "cluster.sh"
_SETTING = {  # cluster.sh env -> Settings field
    "FAPIAO_KAFKA_BOOTSTRAP": "kafka_bootstrap",
    "FAPIAO_TOPIC_REPLICATION": "topic_replication",
    "FAPIAO_TOPIC_MIN_INSYNC_REPLICAS": "topic_min_insync_replicas",
    "FAPIAO_CLICKHOUSE_HOST": "clickhouse_host",
    "FAPIAO_CLICKHOUSE_PORT": "clickhouse_port",
    "FAPIAO_CLICKHOUSE_ALT_HOSTS": "clickhouse_alt_hosts",
    "FAPIAO_CLICKHOUSE_CLUSTER": "clickhouse_cluster",
    # SASL/SCRAM: the bench logs in as the cluster's super user (`cluster.sh env` = admin): its stack
    # has a topic prefix of its own, which the ACLs of `cluster.sh up` do not name
    "FAPIAO_KAFKA_SECURITY_PROTOCOL": "kafka_security_protocol",
    "FAPIAO_KAFKA_SASL_MECHANISM": "kafka_sasl_mechanism",
    "FAPIAO_KAFKA_USERNAME": "kafka_username",
    "FAPIAO_KAFKA_PASSWORD": "kafka_password",
}


def _cluster_sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(CLUSTER_SH), *args], capture_output=True, text=True, timeout=300)


def cluster_settings() -> dict[str, object]:
    """The settings that point the app at the local cluster (`cluster.sh env`)."""
    lines = _cluster_sh("env").stdout.splitlines()
    pairs = dict(ln.removeprefix("export ").split("=", 1) for ln in lines if ln.startswith("export "))
    return {_SETTING[k]: v for k, v in pairs.items() if k in _SETTING}


def _per_result(run: rt.Run, name: str) -> float | None:
    """CPU milliseconds per result of the worker (`name` "worker") or of a server group."""
    if run.cpu is None or not run.checks:
        return None
    a, b = run.cpu
    if name == "worker":
        if a.worker is None or b.worker is None:
            return None
        return (b.worker - a.worker) * 1000 / run.checks
    if name not in b.servers:
        return None
    return (b.servers[name] - a.servers.get(name, 0.0)) * 1000 / run.checks


async def run(
    *, checks: int = 10_000, invoices: int = 10_000, rounds: int = 1, seed: int = 2026, profile: bool = False
) -> Result:
    result = Result(
        SECTION,
        "cluster — the pipeline on one broker + one ClickHouse vs the local cluster, same backlog",
        {
            "checks K": f"{checks:,}",
            "invoices M": f"{invoices:,}",
            "pipeline": "register + verify + ClickHouse sink (risk stage off), 4 partitions, one worker",
            "cluster": "3 KRaft brokers (RF 3, min ISR 2) + ClickHouse 2 shards x 2 replicas + ZooKeeper, "
            "all on this machine (deploy/local/cluster.sh)",
            "rounds": f"{rounds} (single/cluster pairs, alternating order)",
        },
    )
    was_up = _cluster_sh("status").returncode == 0
    if not was_up:
        with console.status("starting the local cluster (deploy/local/cluster.sh up)"):
            started = _cluster_sh("up")
        if started.returncode != 0:
            raise RuntimeError(f"cluster.sh up failed:\n{started.stderr[-3000:]}")
    servers = cluster_settings()
    models_dir = Path(tempfile.mkdtemp(prefix="fapiao-bench-models-"))
    runs: list[tuple[bool, rt.Run]] = []
    try:
        data = rt.backlog(invoices, checks, status_fraction=0.04, seed=seed)
        with rt._progress() as progress:
            for label, on_cluster in rt.alternating(("single", False), ("cluster", True), rounds):
                measured = await rt.run_pipeline(
                    label,
                    False,
                    data,
                    models_dir,
                    profile=profile,
                    progress=progress,
                    bench=SECTION,
                    server_settings=servers if on_cluster else None,
                )
                runs.append((on_cluster, measured))
    finally:
        shutil.rmtree(models_dir, ignore_errors=True)
        if not was_up:
            _cluster_sh("down")

    for n, (_, r) in enumerate(runs, 1):
        result.add(
            f"#{n} {r.label}: throughput (first → last result)",
            rate(r.checks, r.first_last),
            f"{r.checks:,} checks answered in {secs(r.first_last)}"
            + (f"; {r.unanswered:,} UNANSWERED" if r.unanswered else ""),
        )
        rt._cpu_rows(result, r)

    def median(on_cluster: bool, name: str) -> float | None:
        values = [v for c, r in runs if c is on_cluster and (v := _per_result(r, name)) is not None]
        return statistics.median(values) if values else None

    def median_rate(on_cluster: bool) -> float | None:
        values = [r.throughput for c, r in runs if c is on_cluster and r.throughput]
        return statistics.median(values) if values else None

    single, cluster = median_rate(False), median_rate(True)
    if single and cluster:
        result.add(
            "throughput, cluster / single", f"{cluster / single:.2f}", f"{cluster:,.0f}/s vs {single:,.0f}/s"
        )
    for what, single_name, cluster_name in (
        ("worker CPU per result", "worker", "worker"),
        ("broker CPU per result", "kafka", "kafka-cluster"),
        ("ClickHouse CPU per result", "clickhouse", "clickhouse-cluster"),
        ("ZooKeeper CPU per result", None, "zookeeper-cluster"),
    ):
        one = median(False, single_name) if single_name else None
        many = median(True, cluster_name)
        if many is None:
            continue
        note = f"{many:.3f} ms on the cluster (all its nodes together)"
        if one:
            note += f" vs {one:.3f} ms single"
        result.add(f"{what}, cluster / single", f"{many / one:.2f}" if one else "—", note)
    result.notes.append(
        "Both configurations run the same encoded backlog; the servers of both run on this machine's two "
        "CPUs with other work, so wall-clock throughput moves with the load and the CPU per result much "
        "less. Server CPU is counted per group over the measured window (ready → last result): the idle "
        "group (e.g. the cluster during a single-node run) shows as its own line."
    )
    result.notes.append("Logs: " + "; ".join(f"{r.label} {r.logs}" for _, r in runs if r.logs is not None))
    return result


QUICK: dict[str, int] = {"checks": 2_000, "invoices": 2_000}


def job(opts: Any, checks: int | None, invoices: int | None, rounds: int) -> Any:
    """The coroutine factory `bench.cli` runs."""
    sizes: dict[str, int] = dict(QUICK) if opts.quick else {}
    if checks:
        sizes["checks"] = checks
    if invoices:
        sizes["invoices"] = invoices
    return lambda: run(rounds=rounds, profile=opts.profile, **sizes)
