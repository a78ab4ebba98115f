"""`python -m bench [--quick] [COMMAND]`: run every benchmark, or one."""

from __future__ import annotations

import asyncio
import os
import time
import traceback
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from bench import report
from bench.harness import install_signal_handlers
from bench.stats import Result

app = typer.Typer(
    help=(
        "Fapiao Sentinel benchmarks against the local Kafka + ClickHouse (make services-up). "
        "Without a command, runs all of them. `--source REF` (e.g. HEAD) runs them on a clean "
        "snapshot of that commit instead of the working tree."
    ),
    pretty_exceptions_enable=False,
    add_completion=False,
)

QUICK: dict[str, dict[str, Any]] = {
    "sync-latency": {"rate": 50.0, "duration": 10.0},
    "verify-throughput": {"checks": 5_000, "invoices": 2_500},
    "sink-throughput": {"rows": 5_000},
}


@dataclass
class Options:
    quick: bool = False
    record: bool | None = None  # None: record full runs, not quick ones
    profile: bool = False
    max_load: float | None = None  # wait for the 1-minute load average to fall below this first


QuickOpt = Annotated[bool, typer.Option("--quick", help="a short smoke run with small sizes")]
RecordOpt = Annotated[
    bool | None,
    typer.Option(
        "--record/--no-record", help="write the results to docs/benchmarks.md (default: unless --quick)"
    ),
]
MaxLoadOpt = Annotated[
    float | None,
    typer.Option(help="first wait (up to 30 min) until the 1-minute load average is below this"),
]
ProfileOpt = Annotated[
    bool, typer.Option("--profile", help="sample the worker/API with py-spy during the measured phase")
]


def _merge(ctx: typer.Context, quick: bool, record: bool | None, profile: bool) -> Options:
    base: Options = ctx.obj or Options()
    return Options(
        quick=base.quick or quick,
        record=record if record is not None else base.record,
        profile=base.profile or profile,
        max_load=base.max_load,
    )


def _preflight() -> str:
    """Both servers answer; returns the ClickHouse version."""
    from fapiao.bus import broker_reachable
    from fapiao.settings import Settings
    from fapiao.warehouse.engine import NativeEngine

    settings = Settings()
    if not asyncio.run(broker_reachable(settings, timeout=5)):
        raise typer.BadParameter(
            f"Kafka is not reachable at {settings.kafka_bootstrap}: run `make services-up`"
        )
    try:
        engine = NativeEngine(settings, database="default")
        version = str(engine._client.execute("SELECT version()")[0][0])
        engine.close()
    except Exception as exc:
        raise typer.BadParameter(f"ClickHouse is not reachable: {exc!r}: run `make services-up`") from exc
    return version


Job = Callable[[], Coroutine[Any, Any, Result]]


def _run(opts: Options, jobs: list[tuple[str, Job]]) -> None:
    install_signal_handlers()
    clickhouse_version = _preflight()
    env = report.environment(clickhouse_version)
    report.console.print(f"[dim]{env['machine']}; load {env['load']}; {env['servers']}[/dim]")
    done: list[Result] = []
    failed: list[str] = []
    for name, job in jobs:
        report.console.rule(f"[bold]{name}[/bold]{' (quick)' if opts.quick else ''}")
        if opts.max_load is not None:
            _wait_for_quiet(opts.max_load)
        load_before = os.getloadavg()[0]
        job_env = report.environment(clickhouse_version)
        try:
            result = asyncio.run(job())
        except KeyboardInterrupt:
            report.console.print("[red]interrupted; everything it started has been stopped[/red]")
            raise typer.Exit(130) from None
        except Exception:
            report.console.print(f"[red]{name} failed:[/red]\n{traceback.format_exc()}")
            failed.append(name)
            continue
        result.notes.append(
            f"1-minute load average {load_before:.2f} when this benchmark started, "
            f"{os.getloadavg()[0]:.2f} when it ended (2 CPUs; the benchmark's own processes included)."
        )
        result.env = result.env or job_env
        report.print_result(result)
        done.append(result)
    record = opts.record if opts.record is not None else not opts.quick
    if done and record:
        report.record(done, env, report.command_line())
    if failed:
        raise typer.Exit(1)


def _wait_for_quiet(max_load: float, patience: float = 1800.0) -> None:
    """Wait (at most `patience` s) until other work on the machine has calmed down."""
    deadline = time.monotonic() + patience
    while (load := os.getloadavg()[0]) > max_load and time.monotonic() < deadline:
        report.console.print(f"[dim]load {load:.2f} > {max_load:g}: waiting for a quieter machine…[/dim]")
        time.sleep(15)


def _sync_job(
    opts: Options, rate: float | None, duration: float | None, wait: float, register: int = 0
) -> Job:
    from bench import sync_latency

    q: dict[str, Any] = QUICK["sync-latency"] if opts.quick else {"rate": 100.0, "duration": 60.0}
    return lambda: sync_latency.run(
        rate=rate or q["rate"],
        duration=duration or q["duration"],
        wait=wait,
        profile=opts.profile,
        register=register,
    )


def _verify_job(opts: Options, checks: int | None, invoices: int | None, workers: int = 1) -> Job:
    from bench import verify_throughput

    q: dict[str, Any] = QUICK["verify-throughput"] if opts.quick else {"checks": 50_000, "invoices": 25_000}
    k = checks or q["checks"]
    m = invoices or (q["invoices"] if checks is None else max(1, k // 2))
    return lambda: verify_throughput.run(checks=k, invoices=m, profile=opts.profile, workers=workers)


def _sink_job(opts: Options, rows: int | None) -> Job:
    from bench import sink_throughput

    q: dict[str, Any] = QUICK["sink-throughput"] if opts.quick else {"rows": 50_000}
    return lambda: sink_throughput.run(rows=rows or q["rows"], profile=opts.profile)


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    quick: QuickOpt = False,
    record: RecordOpt = None,
    profile: ProfileOpt = False,
    max_load: MaxLoadOpt = None,
) -> None:
    ctx.obj = Options(quick=quick, record=record, profile=profile, max_load=max_load)
    if ctx.invoked_subcommand is None:
        opts = ctx.obj
        _run(
            opts,
            [
                ("sync-latency", _sync_job(opts, None, None, 2.0)),
                ("verify-throughput", _verify_job(opts, None, None)),
                ("sink-throughput", _sink_job(opts, None)),
            ],
        )


@app.command("sync-latency")
def sync_latency_cmd(
    ctx: typer.Context,
    rate: Annotated[float | None, typer.Option(help="requests per second (default 100; quick 50)")] = None,
    duration: Annotated[float | None, typer.Option(help="seconds of load (default 60; quick 10)")] = None,
    wait: Annotated[float, typer.Option(help="the ?wait= of each request, seconds")] = 2.0,
    register: Annotated[
        int, typer.Option(help="invoices in the register (default: one per request), checks spread over it")
    ] = 0,
    quick: QuickOpt = False,
    record: RecordOpt = None,
    profile: ProfileOpt = False,
) -> None:
    """POST /v1/checks?wait=2 latency at a fixed open-loop rate (verdict in the response)."""
    opts = _merge(ctx, quick, record, profile)
    _run(opts, [("sync-latency", _sync_job(opts, rate, duration, wait, register))])


@app.command("verify-throughput")
def verify_throughput_cmd(
    ctx: typer.Context,
    checks: Annotated[int | None, typer.Option(help="check requests K (default 50,000; quick 5,000)")] = None,
    invoices: Annotated[int | None, typer.Option(help="issued invoices M (default K/2)")] = None,
    workers: Annotated[int, typer.Option(min=1, help="worker processes in the group")] = 1,
    quick: QuickOpt = False,
    record: RecordOpt = None,
    profile: ProfileOpt = False,
) -> None:
    """Worker results/s over a pre-loaded backlog, vs a raw aiokafka passthrough."""
    opts = _merge(ctx, quick, record, profile)
    _run(opts, [("verify-throughput", _verify_job(opts, checks, invoices, workers))])


@app.command("sink-throughput")
def sink_throughput_cmd(
    ctx: typer.Context,
    rows: Annotated[int | None, typer.Option(help="results K (default 50,000; quick 5,000)")] = None,
    quick: QuickOpt = False,
    record: RecordOpt = None,
    profile: ProfileOpt = False,
) -> None:
    """ClickHouse sink rows/s vs a direct batched clickhouse-driver insert."""
    opts = _merge(ctx, quick, record, profile)
    _run(opts, [("sink-throughput", _sink_job(opts, rows))])


@app.command("risk-throughput")
def risk_throughput_cmd(
    ctx: typer.Context,
    checks: Annotated[int | None, typer.Option(help="check requests K (default 30,000; quick 3,000)")] = None,
    invoices: Annotated[
        int | None, typer.Option(help="issued invoices M (default 30,000; quick 3,000)")
    ] = None,
    rounds: Annotated[int, typer.Option(min=1, help="verify-only/risk pairs, alternating order")] = 1,
    quick: QuickOpt = False,
    record: RecordOpt = None,
    profile: ProfileOpt = False,
) -> None:
    """Enrich + score (model loaded) results/s vs the verify-only pipeline on the same backlog."""
    from bench import risk_throughput

    opts = _merge(ctx, quick, record, profile)
    _run(opts, [("risk-throughput", risk_throughput.job(opts, checks, invoices, rounds))])


@app.command("cluster")
def cluster_cmd(
    ctx: typer.Context,
    checks: Annotated[int | None, typer.Option(help="check requests K (default 10,000; quick 2,000)")] = None,
    invoices: Annotated[
        int | None, typer.Option(help="issued invoices M (default 10,000; quick 2,000)")
    ] = None,
    rounds: Annotated[int, typer.Option(min=1, help="single/cluster pairs, alternating order")] = 1,
    quick: QuickOpt = False,
    record: RecordOpt = None,
    profile: ProfileOpt = False,
) -> None:
    """The pipeline on the single-node servers vs the local cluster (deploy/local/cluster.sh), same
    backlog: what replication costs, as ratios."""
    from bench import cluster_cost

    opts = _merge(ctx, quick, record, profile)
    _run(opts, [("cluster", cluster_cost.job(opts, checks, invoices, rounds))])


@app.command("rebalance")
def rebalance_cmd(ctx: typer.Context, quick: QuickOpt = False, record: RecordOpt = None) -> None:
    """Time for W workers started at once over P partitions to be all ready (the group's rebalance)."""
    from bench import rebalance

    opts = _merge(ctx, quick, record, False)
    _run(opts, [("rebalance", rebalance.job(opts))])


@app.command("encryption")
def encryption_cmd(
    ctx: typer.Context,
    checks: Annotated[int | None, typer.Option(help="check requests K (default 20,000; quick 3,000)")] = None,
    invoices: Annotated[
        int | None, typer.Option(help="issued invoices M (default 20,000; quick 3,000)")
    ] = None,
    rounds: Annotated[int, typer.Option(min=1, help="on/off pairs, alternating order")] = 2,
    quick: QuickOpt = False,
    record: RecordOpt = None,
    profile: ProfileOpt = False,
) -> None:
    """The whole pipeline (risk stage, sink) with 国密 field encryption on vs off, same backlog."""
    from bench import encryption_cost

    opts = _merge(ctx, quick, record, profile)
    _run(opts, [("encryption", encryption_cost.job(opts, checks, invoices, rounds))])


@app.command("register-scale")
def register_scale_cmd(
    ctx: typer.Context,
    invoices: Annotated[
        int, typer.Option(help="issued invoices N in the register (default 50,000)")
    ] = 50_000,
    partitions: Annotated[
        int | None, typer.Option(help="partitions of every topic (default: the setting)")
    ] = None,
    fold_only: Annotated[
        bool, typer.Option("--fold-only", help="stop after the fold (no restarts, no failover)")
    ] = False,
    register_only: Annotated[
        bool,
        typer.Option(
            "--register-only", help="risk stage off: the register fold alone (no seller activity fold)"
        ),
    ] = False,
    memory: Annotated[
        bool, typer.Option(help="restart once with memory:// tables (needs RAM for the whole register)")
    ] = True,
    failover: Annotated[bool, typer.Option(help="two workers, kill -9 one, time the failover")] = True,
    sync_rate: Annotated[
        float,
        typer.Option(help="after the restarts: sync checks (POST /v1/checks?wait=2) at this rate (0: none)"),
    ] = 0.0,
    sync_duration: Annotated[float, typer.Option(help="seconds of sync checks (with --sync-rate)")] = 60.0,
    record: RecordOpt = None,
    profile: ProfileOpt = False,
) -> None:
    """The register at size: fold rate, disk, RSS, restart → ready (clean, kill -9, memory://), sync check
    latency on the loaded register, failover."""
    from bench import register_scale

    opts = _merge(ctx, False, record, profile)
    job = partial(
        register_scale.run,
        invoices=invoices,
        partitions=partitions,
        fold_only=fold_only,
        profile=opts.profile,
        register_only=register_only,
        memory=memory,
        failover=failover,
        sync_rate=sync_rate,
        sync_duration=sync_duration,
    )
    _run(opts, [("register-scale", job)])


@app.command("restart-loss")
def restart_loss_cmd(
    ctx: typer.Context,
    runs: Annotated[int, typer.Option(help="worker restarts to try")] = 10,
    checks: Annotated[int, typer.Option(help="check requests of the backlog")] = 10_000,
    precommit: Annotated[
        bool, typer.Option("--precommit", help="commit offset 0 for the worker group before it starts")
    ] = False,
    record: RecordOpt = None,
) -> None:
    """Not a benchmark: restart a worker on a backlog, N times, and count unanswered requests."""
    from bench import restart_loss

    opts = _merge(ctx, False, record if record is not None else False, False)
    _run(
        opts,
        [
            (
                "restart-loss",
                lambda: restart_loss.run(runs=runs, checks=checks, invoices=checks // 2, precommit=precommit),
            )
        ],
    )


@app.command("chaos")
def chaos_cmd(
    ctx: typer.Context,
    checks: Annotated[
        int | None, typer.Option(help="check requests per phase (default 10,000; failover: at most 40,000)")
    ] = None,
    kills: Annotated[int, typer.Option(help="kill -9 of the worker per kills run")] = 5,
    phases: Annotated[str, typer.Option(help="comma list: failover, kills, poison, clickhouse, broker")] = (
        "kills,poison,clickhouse,broker"
    ),
    down: Annotated[float, typer.Option(help="seconds a killed server stays down")] = 20.0,
    cycles: Annotated[int, typer.Option(min=1, help="failover: kill -9 cycles (two workers, in turn)")] = 10,
    backlog: Annotated[
        int, typer.Option(min=10, help="failover: checks kept outstanding by the feed")
    ] = 1000,
    rate: Annotated[float, typer.Option(min=1, help="failover: checks/s the feed adds at most")] = 100.0,
    dynamic: Annotated[
        bool, typer.Option("--dynamic", help="failover: no static membership (default: an id per worker)")
    ] = False,
    restart_at_once: Annotated[
        bool,
        typer.Option("--restart-at-once", help="failover: restart the victim at once, not after failover"),
    ] = False,
    record: RecordOpt = None,
) -> None:
    """Not a speed benchmark: kill -9 the worker, the broker, ClickHouse; mix in bad messages; count
    lost / double-counted / dead-lettered checks and time the recoveries."""
    from bench import chaos
    from bench.worker_kills import Sizes

    opts = _merge(ctx, False, record, False)
    chosen = [p.strip() for p in phases.split(",") if p.strip()]
    sizes = Sizes(
        checks or Sizes.checks,
        backlog=backlog,
        rate=rate,
        cycles=cycles,
        static=not dynamic,
        restart_at_once=restart_at_once,
    )
    per_phase = checks or 10_000
    _run(opts, [("chaos", lambda: chaos.run(per_phase, kills, chosen, down, sizes))])


def _split_source(argv: list[str]) -> tuple[str | None, list[str]]:
    """`--source REF` (anywhere on the command line) and the other arguments."""
    rest, source, i = [], None, 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--source" and i + 1 < len(argv):
            source, i = argv[i + 1], i + 2
            continue
        if arg.startswith("--source="):
            source = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return source, rest


def _run_snapshot(ref: str, args: list[str]) -> int:
    """Run the benchmarks on a clean `git archive` of `ref` (with this checkout's bench/), so that
    edits in progress in the working tree neither break nor blur the measurement."""
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    from bench.harness import REPO, install_signal_handlers

    install_signal_handlers()
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    snap = Path(tempfile.mkdtemp(prefix="fapiao-bench-src-"))
    child = None
    try:
        archive = subprocess.run(["git", "archive", commit], cwd=REPO, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(snap)], input=archive, check=True)
        shutil.rmtree(snap / "bench", ignore_errors=True)
        shutil.copytree(REPO / "bench", snap / "bench", ignore=shutil.ignore_patterns("out", "__pycache__"))
        report.console.print(f"[dim]running on a snapshot of {commit[:10]} in {snap}[/dim]")
        env = dict(
            os.environ,
            FAPIAO_BENCH_REPO=str(REPO),
            FAPIAO_BENCH_COMMIT=commit,
            FAPIAO_BENCH_SOURCE=ref,
            PYTHONPATH=str(snap),
        )
        child = subprocess.Popen([sys.executable, "-m", "bench", *args], cwd=snap, env=env)
        return child.wait()
    finally:
        if child is not None and child.poll() is None:
            child.terminate()  # it stops its own subprocesses in its finally blocks
            try:
                child.wait(120)
            except subprocess.TimeoutExpired:
                child.kill()
        shutil.rmtree(snap, ignore_errors=True)


def main() -> None:
    import os
    import sys

    source, rest = _split_source(sys.argv[1:])
    if source and source != "worktree" and not os.environ.get("FAPIAO_BENCH_COMMIT"):
        raise SystemExit(_run_snapshot(source, rest))
    sys.argv[1:] = rest
    app()
