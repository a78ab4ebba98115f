"""chaos: the fault-injection suite at size — what a crash, an outage or a bad message costs.

Not a speed benchmark: each phase runs the real worker on a backlog and breaks something, then counts
lost checks (requested, neither stored nor dead-lettered), double-counted ones (more than one stored
row per check through FINAL, or 第N次查验 numbers of an invoice not 1..n) and dead letters, and times the
recovery. Phases:

- `failover`: two workers in one group on a backlog, each in turn killed -9 and restarted: failover
  time per kill, lost / double-counted, and where each lost check stopped (bench/worker_kills.py);
- `kills`: kill -9 the worker N times mid-backlog (static membership on, as compose runs it, and off),
  timing restart → answering again;
- `poison`: a backlog with every bad kind mixed in (schema-invalid extremes, not JSON, wrong partition,
  a poison pill in each stage): requested = results + dead letters, and the genuine ones all answered;
- `clickhouse`: a private ClickHouse server killed -9 for a while mid-stream, then started again;
- `broker`: a private Kafka broker killed -9 mid-stream, then started again (the worker is supervised
  as deploy/local/supervise.sh does: restarted when it exits).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench import data
from bench.check_fates import numbering_gaps
from bench.harness import ROOT, Proc, ResultsTail, Stack, free_port
from bench.report import console
from bench.stats import Result, percentiles, secs
from schemas.events import DeadLetter

if TYPE_CHECKING:
    from bench.worker_kills import Sizes as FailoverSizes

MARKER = "CHAOS-POISON"
QUIET_SECONDS = 30.0


@dataclass
class Tally:
    requested: int = 0
    stored: int = 0
    dead_letters: int = 0
    lost: int = 0
    double_counted: int = 0
    numbering_gaps: int = 0
    recoveries: list[float] = field(default_factory=list)
    ready: list[float] = field(default_factory=list)  # restart -> "Worker ready" (start-up, recovery)
    restarts: int = 0  # exits of the worker the supervisor restarted (crash-only)


class Supervised:
    """A worker restarted whenever it exits, as deploy/local/supervise.sh does (crash-only)."""

    def __init__(self, stack: Stack, env: dict[str, str] | None = None) -> None:
        self.stack, self.env, self.restarts = stack, env or {}, 0
        self.proc = stack.spawn("worker", ["worker"], self.env)

    def keep_alive(self) -> None:
        if self.proc.popen.poll() is not None:
            console.print(f"  worker exited ({self.proc.popen.returncode}): restarted")
            self.stack.procs.remove(self.proc)
            self.proc = self.stack.spawn("worker", ["worker"], self.env)
            self.restarts += 1


def kill9(proc: Proc) -> None:
    os.killpg(proc.popen.pid, signal.SIGKILL)
    proc.popen.wait(10)


async def _answered(stack: Stack, tail: ResultsTail, want: int, quiet: float = QUIET_SECONDS) -> int:
    last, since = -1, time.monotonic()
    while True:
        have = await tail.poll(timeout_ms=500)
        if have >= want:
            return have
        if have != last:
            last, since = have, time.monotonic()
        elif time.monotonic() - since > quiet:
            return have


async def stored_counts(
    stack: Stack, check_ids: set[str], timeout: float = 60.0
) -> tuple[set[str], int, int]:
    """(check ids stored, rows through FINAL beyond one per check, invoices whose 第N次 are not 1..n)."""
    deadline = time.monotonic() + timeout
    stored: set[str] = set()
    while time.monotonic() < deadline:
        rows = await stack.sql(
            "SELECT toString(check_id), count() FROM check_results FINAL GROUP BY check_id"
        )
        stored = {r[0] for r in rows} & check_ids
        if stored >= check_ids:
            break
        await asyncio.sleep(1)
    rows = await stack.sql("SELECT toString(check_id), count() FROM check_results FINAL GROUP BY check_id")
    extra = sum(int(r[1]) - 1 for r in rows if r[0] in check_ids)
    numbering = await stack.sql(
        "SELECT invoice_key, groupArray(check_count) FROM check_results FINAL "
        "WHERE check_count > 0 GROUP BY invoice_key"
    )
    bad = numbering_gaps(dict(numbering))
    if bad:
        console.print(f"  [red]第N次 not 1..n for {len(bad)} invoices[/red], e.g. {list(bad.items())[:3]}")
    return stored, extra, len(bad)


async def dead_letters(stack: Stack) -> list[DeadLetter]:
    records = await stack.read_topic(stack.topic("checks.dlq"), timeout=30)
    return [DeadLetter.model_validate_json(r.value) for r in records]


async def _backlog(stack: Stack, checks: int) -> list[str]:
    invs = data.invoices(max(1, checks // 2))
    reqs = data.check_requests(invs, checks)
    await stack.produce(stack.topic("invoices.issued"), data.issued_messages(invs))
    await stack.produce(stack.topic("checks.requested"), data.check_messages(reqs))
    return [str(r.check_id) for r in reqs]


# ---------------------------------------------------------------------------------------- phases


async def kills(checks: int, n: int, static: bool) -> Tally:
    """kill -9 the worker `n` times while it works through `checks`; restart it each time."""
    tally = Tally(requested=checks)
    overrides: dict[str, object] = {"worker_instance_id": "chaos-worker"} if static else {}
    async with Stack("chaos-kills", settings_overrides=overrides, keep_logs=True) as stack:
        env = {"FAPIAO_WORKER_INSTANCE_ID": "chaos-worker"} if static else {}
        ids = await _backlog(stack, checks)
        tail = ResultsTail(stack, stack.topic("checks.results"))
        await tail.start()
        try:
            worker = Supervised(stack, env)
            step = checks // (n + 1)
            for k in range(n):
                while await tail.poll(timeout_ms=200) < step * (k + 1):
                    worker.keep_alive()
                before = await tail.poll(timeout_ms=10)
                kill9(worker.proc)
                stack.procs.remove(worker.proc)
                restarted = time.monotonic()
                worker.proc = stack.spawn("worker", ["worker"], env)
                ready_at: float | None = None
                while await tail.poll(timeout_ms=100) <= before + 10 and time.monotonic() - restarted < 180:
                    worker.keep_alive()
                    if ready_at is None and worker.proc.log_has("Worker ready"):
                        ready_at = time.monotonic()
                tally.recoveries.append(time.monotonic() - restarted)
                if ready_at is not None:
                    tally.ready.append(ready_at - restarted)
                console.print(
                    f"  kill {k + 1}/{n}: answering again {tally.recoveries[-1]:.1f} s after the restart "
                    f"(its 'Worker ready' after {(ready_at or float('nan')) - restarted:.1f} s)"
                )
            await _answered(stack, tail, checks)
            tally.restarts = worker.restarts
        finally:
            await tail.stop()
        stored, tally.double_counted, tally.numbering_gaps = await stored_counts(stack, set(ids))
        tally.stored = len(stored)
        tally.dead_letters = len(await dead_letters(stack))
        tally.lost = checks - tally.stored
    return tally


def _poison_messages(partitions: int) -> list[tuple[str, bytes, bytes, int | None]]:
    """(kind, key, value, partition or None): every bad kind the fault-injection suite knows."""
    from streams.dead_letters import key_partition

    inv = data.invoice(999_999)  # never issued: its own invoice, outside the daily limits of the backlog
    key = f"{inv.invoice_code}-{inv.invoice_number}" if inv.invoice_code else inv.invoice_number
    request = data.check_requests([inv], 1)[0]

    def variant(**changes: object) -> bytes:
        payload = json.loads(request.model_dump_json()) | {"check_id": str(uuid.uuid4())} | changes
        return json.dumps(payload).encode()

    right = key_partition(key, partitions)
    return [
        ("batch_row 2^40", key.encode(), variant(batch_row=2**40, batch_id=str(uuid.uuid4())), None),
        ("requested_at 1969", key.encode(), variant(requested_at="1969-07-20T20:17:00+00:00"), None),
        ("requested_at 9999-12-31", key.encode(), variant(requested_at="9999-12-31T23:59:59+00:00"), None),
        ("issue_date 0001-01-01", key.encode(), variant(issue_date="0001-01-01"), None),
        ("not JSON", key.encode(), b"{not json", None),
        ("wrong partition", key.encode(), variant(), (right + 1) % partitions),
        ("wrong key", b"someone-else", variant(), None),
        ("poison pill (verify)", key.encode(), variant(requester=f"{MARKER}-verify"), None),
    ]


async def poison(checks: int) -> tuple[Tally, dict[str, str]]:
    """A backlog with each bad kind in the middle; where each ended, and requested = results + DLQ."""
    from aiokafka import AIOKafkaProducer

    tally = Tally()
    fates: dict[str, str] = {}
    env = {"FAPIAO_FAULT_MARKER": MARKER, "FAPIAO_FAULT_STAGES": "verify,risk,sink"}
    async with Stack("chaos-poison", keep_logs=True) as stack:
        ids = await _backlog(stack, checks // 2)
        bad = _poison_messages(stack.settings.topic_partitions)
        producer = AIOKafkaProducer(bootstrap_servers=stack.settings.kafka_bootstrap)
        await producer.start()
        try:
            for _kind, key, value, partition in bad:
                await producer.send_and_wait(
                    stack.topic("checks.requested"), value, key=key, partition=partition
                )
        finally:
            await producer.stop()
        ids += await _backlog(stack, checks - checks // 2)
        worker = stack.spawn("worker", ["worker"], env)
        tail = ResultsTail(stack, stack.topic("checks.results"))
        await tail.start()
        try:
            await _answered(stack, tail, len(ids) + len(bad))
        finally:
            await tail.stop()
        bad_ids = {
            kind: json.loads(value).get("check_id", "") if value.startswith(b'{"') else ""
            for kind, _k, value, _p in bad
        }
        stored, tally.double_counted, tally.numbering_gaps = await stored_counts(
            stack, set(ids) | {c for c in bad_ids.values() if c}, timeout=20
        )
        letters = await dead_letters(stack)
        for kind, _key, value, _p in bad:
            cid = bad_ids[kind]
            letter = next(
                (
                    x
                    for x in letters
                    if (cid and cid in x.payload)
                    or (not cid and x.payload == value.decode("utf-8", "replace"))
                ),
                None,
            )
            fates[kind] = (
                f"dead letter ({letter.stage}, {letter.kind})"
                if letter
                else ("stored" if cid in stored else "LOST")
            )
        tally.requested = len(ids) + len(bad)
        tally.stored = len(stored)
        tally.dead_letters = len(letters)
        tally.lost = tally.requested - tally.stored - tally.dead_letters
        assert worker.popen.poll() is None, "the worker died on a bad message"
    return tally, fates


def _server(script: str, action: str, env: dict[str, str]) -> None:
    subprocess.run(
        ["bash", str(ROOT / "deploy" / "local" / script), action],
        env=os.environ | env,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=180,
    )


def _kill_pidfile(path: Path) -> None:
    os.kill(int(path.read_text().strip()), signal.SIGKILL)


async def outage(checks: int, which: str, down_seconds: float) -> Tally:
    """Kill -9 a private ClickHouse server or Kafka broker mid-stream for `down_seconds`, then start it
    again; the worker is restarted whenever it exits (a supervisor's job)."""
    tmp = Path(tempfile.mkdtemp(prefix=f"fapiao-chaos-{which}-"))
    overrides: dict[str, object]
    if which == "clickhouse":
        port, http = free_port(), free_port()
        env = {"CLICKHOUSE_DIR": str(tmp), "CLICKHOUSE_PORT": str(port), "CLICKHOUSE_HTTP_PORT": str(http)}
        script, pidfile, overrides = "clickhouse.sh", tmp / "clickhouse.pid", {"clickhouse_port": port}
    else:
        port, ctl = free_port(), free_port()
        env = {
            "KAFKA_DIR": str(tmp),
            "KAFKA_PORT": str(port),
            "KAFKA_CONTROLLER_PORT": str(ctl),
            "KAFKA_HEAP": "384m",
        }
        script, pidfile, overrides = "kafka.sh", tmp / "kafka.pid", {"kafka_bootstrap": f"127.0.0.1:{port}"}
    _server(script, "start", env)
    tally = Tally(requested=checks)
    try:
        async with Stack(
            f"chaos-{which}", settings_overrides={**overrides, "sink_retry_max_seconds": 2.0}, keep_logs=True
        ) as stack:
            ids = await _backlog(stack, checks)
            worker = Supervised(stack)

            async def stored_now() -> int:
                worker.keep_alive()
                try:
                    return int((await stack.sql("SELECT uniqExact(check_id) FROM check_results"))[0][0])
                except Exception:  # the private server is (re)starting
                    return -1

            while (before := await stored_now()) < checks // 3:
                await asyncio.sleep(0.3)
            _kill_pidfile(pidfile)
            down_at = time.monotonic()
            await asyncio.sleep(down_seconds)
            _server(script, "start", env)
            up_at = time.monotonic()
            before = max(before, await stored_now())  # stored while the broker was down (the sink's drain)
            deadline = up_at + 300
            while time.monotonic() < deadline:
                count = await stored_now()
                if not tally.recoveries and count > before:
                    tally.recoveries.append(time.monotonic() - up_at)
                if count >= checks:
                    break
                await asyncio.sleep(0.5)
            stored, tally.double_counted, tally.numbering_gaps = await stored_counts(
                stack, set(ids), timeout=30
            )
            tally.stored = len(stored)
            tally.dead_letters = len(await dead_letters(stack))
            tally.lost = checks - tally.stored
            tally.restarts = worker.restarts
            console.print(
                f"  {which} down {time.monotonic() - down_at:.0f} s in all; restarts: {worker.restarts}"
            )
    finally:
        _server(script, "stop", env)
    return tally


# ---------------------------------------------------------------------------------------- report


def _row(result: Result, label: str, tally: Tally) -> None:
    result.add(
        label,
        f"lost {tally.lost}, double-counted {tally.double_counted}, 第N次 gaps {tally.numbering_gaps}",
        f"requested {tally.requested} = stored {tally.stored} + dead letters {tally.dead_letters}"
        + (f"; recovery {', '.join(f'{r:.1f}' for r in tally.recoveries)} s" if tally.recoveries else "")
        + (f"; worker exits restarted by the supervisor: {tally.restarts}" if tally.restarts else ""),
    )


async def run(
    checks: int,
    kills_n: int,
    phases: Sequence[str],
    down_seconds: float,
    failover: FailoverSizes | None = None,
) -> Result:
    from bench import worker_kills

    sizes = failover or worker_kills.Sizes(checks=checks)
    params: dict[str, object] = {
        "checks": checks,
        "kills": kills_n,
        "phases": ",".join(phases),
        "down_seconds": down_seconds,
    }
    if "failover" in phases:
        params |= {
            "failover": f"{sizes.cycles} cycles, at most {sizes.checks} checks, backlog {sizes.backlog} "
            f"outstanding, fed at ≤ {sizes.rate:.0f}/s, "
            f"{'static' if sizes.static else 'dynamic'} membership, "
            f"restart {'at once' if sizes.restart_at_once else 'after the failover'}, "
            f"session timeout {worker_kills.session_timeout():g} s, heartbeat {worker_kills.heartbeat():g} s"
        }
    if list(phases) == ["failover"]:  # its own section in docs/benchmarks.md, beside the other phases
        params = {"phases": "failover", "failover": params["failover"]}
        result = Result(
            "chaos-failover", "Two workers, kill -9 in turn: failover, loss, double counts", params
        )
    else:
        result = Result("chaos", "Fault injection at size: kill -9, outages, bad messages", params)
    ok = True
    if "failover" in phases:
        console.print("two workers, kill -9 in turn")
        outcome, membership, details = await worker_kills.run(sizes)
        ok &= worker_kills.report(result, sizes, outcome, membership, details)
    if "kills" in phases:
        for static in (True, False):
            label = f"worker kill -9 x{kills_n} ({'static membership' if static else 'no static membership'})"
            console.print(label)
            tally = await kills(checks, kills_n, static)
            _row(result, label, tally)
            p = percentiles(tally.recoveries, (50, 100))
            result.add(
                f"  restart → answering ({'static' if static else 'dynamic'})",
                f"median {secs(p['p50'])}, max {secs(p['p100'])}",
                f"target ≤ 10 s; restart → 'Worker ready' median "
                f"{secs(percentiles(tally.ready, (50,))['p50'] if tally.ready else None)}",
            )
            ok &= tally.lost == 0 and tally.double_counted == 0 and tally.numbering_gaps == 0
    if "poison" in phases:
        console.print("poison")
        tally, fates = await poison(checks)
        _row(result, "bad messages in a backlog", tally)
        for kind, fate in fates.items():
            result.add(f"  {kind}", fate)
        ok &= tally.lost == 0 and all(f != "LOST" for f in fates.values())
    for which in ("clickhouse", "broker"):
        if which in phases:
            console.print(f"{which} kill -9")
            tally = await outage(checks, which, down_seconds)
            _row(result, f"{which} killed -9 for {down_seconds:.0f} s", tally)
            ok &= tally.lost == 0 and tally.double_counted == 0
    result.verdict = (
        "0 lost, 0 double-counted in every phase"
        + (", failover within its target" if "failover" in phases else "")
        if ok
        else "LOSS, DOUBLE COUNT" + (" OR SLOW FAILOVER" if "failover" in phases else "") + ": see the rows"
    )
    return result
