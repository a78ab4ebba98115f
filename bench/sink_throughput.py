"""sink-throughput: rows/s the worker's ClickHouse sink writes, vs a direct batched insert.

1. Pre-load K results (一致, with the invoice face, sealed and tagged as the worker publishes them:
   two parties, so `check_party_rows` gets its two rows per result) on `checks.results`.
2. Baselines, worker not running, into a copy of the table (`CREATE TABLE … AS check_results`, which
   copies no materialized view):
   a. a direct clickhouse-driver insert of the same rows (decoded beforehand), in batches of the
      sink's batch size (FAPIAO_SINK_BATCH_ROWS), on one connection;
   b. the same with the sink's per-row work included: JSON → CheckResult (pydantic) → row tuple.
3. The cost of the materialized views: the same direct insert into `check_results` of a scratch
   database migrated like the real one (every view fires), then again after dropping the views one
   at a time (`check_party_rows_mv` first), down to none: each step's rate says what that view costs.
4. Start the worker and poll `SELECT count() FROM check_results` until all K rows are in; the rate is
   K over the time from the first row seen to the last (and from "Worker ready"), compared with 3's
   insert with every view (the same server-side work as the sink's).
"""

from __future__ import annotations

import asyncio
import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench import data
from bench.harness import Stack
from bench.profiling import Profiler, summarise
from bench.report import console
from bench.risk_throughput import _server_pids, _stat_cpu
from bench.stats import Result, rate, secs
from fapiao.crypto.keys import CryptoKeys
from fapiao.crypto.protect import ResultFinisher
from fapiao.warehouse import migrations
from fapiao.warehouse import results as results_table
from fapiao.warehouse.engine import NativeEngine
from schemas.events import CheckResult

BASELINE_TABLE = "check_results_baseline"


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _insert_batches(  # type: ignore[no-untyped-def]
    engine: NativeEngine, table: str, rows_of, values: list, batch: int, on_progress
) -> float:
    """Insert `values` in batches (converting each batch with `rows_of`); returns seconds."""
    started = time.perf_counter()
    for i in range(0, len(values), batch):
        rows = rows_of(values[i : i + batch])
        engine.insert(table, results_table.COLUMNS, rows)
        on_progress(min(i + batch, len(values)))
    return time.perf_counter() - started


def _views_on(engine: NativeEngine, table: str) -> list[str]:
    """The materialized views fed by `table`, `check_party_rows_mv` first."""
    rows = engine.execute(
        "SELECT dependencies_table FROM system.tables WHERE database = %(db)s AND name = %(t)s",
        {"db": engine.database, "t": table},
    )
    views = sorted(rows[0][0]) if rows else []
    return sorted(views, key=lambda v: v != "check_party_rows_mv")


def _clickhouse_cpu() -> float:
    """utime + stime (seconds) of the local ClickHouse server: every client's work, ours and others'."""
    pids = _server_pids().get("clickhouse", [])
    return sum(v for p in pids if (v := _stat_cpu(f"/proc/{p}/stat")) is not None)


def view_costs(stack: Stack, decoded: list, batch: int, on_progress) -> list[tuple[str, float, float]]:  # type: ignore[no-untyped-def]
    """(which views fire, seconds, server CPU seconds) of the same direct insert into a scratch copy of
    the schema, with every view, then with one view fewer each time, down to none."""
    scratch = f"{stack.settings.clickhouse_database}_views"
    engine = NativeEngine(stack.settings, database=scratch)
    try:
        migrations.migrate(engine)
        views = _views_on(engine, results_table.TABLE)
        out = []
        for dropped in [None, *views]:
            if dropped is not None:
                engine.execute(f"DROP TABLE {dropped}")
            label = (
                f"every view ({len(views)})"
                if dropped is None
                else f"without {', '.join(views[: views.index(dropped) + 1])}"
            )
            cpu = _clickhouse_cpu()
            seconds = _insert_batches(engine, results_table.TABLE, lambda c: c, decoded, batch, on_progress)
            out.append((label, seconds, _clickhouse_cpu() - cpu))
        return out
    finally:
        engine.execute(f"DROP DATABASE IF EXISTS {scratch}")
        engine.close()


async def run(*, rows: int = 50_000, profile: bool = False) -> Result:
    result = Result(
        "sink-throughput",
        "sink-throughput — checks.results → ClickHouse check_results (sink vs direct insert)",
        {"rows K": f"{rows:,}"},
    )
    profile_path = None
    async with Stack("sink-throughput") as stack:
        batch = stack.settings.sink_batch_rows
        result.params.update({"sink batch": f"{batch} rows / {stack.settings.sink_batch_seconds:g}s"})
        finisher = ResultFinisher.from_keys(CryptoKeys.from_settings(stack.settings), encrypt=True)
        res = [finisher.result(r) for r in data.results(rows)]
        messages = list(data.result_messages(res))
        count_sql = f"SELECT count() FROM {results_table.TABLE}"

        with _progress() as progress:
            t = progress.add_task("pre-load results", total=rows)
            await stack.produce(
                stack.topic("checks.results"),
                iter(messages),
                on_progress=lambda n: progress.update(t, completed=n),
            )

            await stack.sql(f"CREATE TABLE IF NOT EXISTS {BASELINE_TABLE} AS {results_table.TABLE}")
            decoded = [results_table.result_row(r) for r in res]
            t = progress.add_task("baseline: direct insert (rows ready)", total=rows)
            assert stack.engine is not None
            direct_s = await asyncio.to_thread(
                _insert_batches,
                stack.engine,
                BASELINE_TABLE,
                lambda chunk: chunk,
                decoded,
                batch,
                lambda n, t=t: progress.update(t, completed=n),
            )
            direct_count = (await stack.sql(f"SELECT count() FROM {BASELINE_TABLE}"))[0][0]
            await stack.sql(f"DROP TABLE {BASELINE_TABLE}")
            await stack.sql(f"CREATE TABLE {BASELINE_TABLE} AS {results_table.TABLE}")
            values = [value for _, value in messages]
            t = progress.add_task("baseline: decode + insert", total=rows)
            decode_s = await asyncio.to_thread(
                _insert_batches,
                stack.engine,
                BASELINE_TABLE,
                lambda chunk: [results_table.result_row(CheckResult.model_validate_json(v)) for v in chunk],
                values,
                batch,
                lambda n, t=t: progress.update(t, completed=n),
            )
            await stack.sql(f"DROP TABLE {BASELINE_TABLE}")
            t = progress.add_task("direct insert, views dropped one by one", total=rows)
            views = await asyncio.to_thread(
                view_costs, stack, decoded, batch, lambda n, t=t: progress.update(t, completed=n)
            )

            t = progress.add_task("worker: sink the results", total=rows)
            worker = stack.spawn("worker", ["worker"])
            spawned = time.monotonic()
            ready_at = first_at = done_at = None
            have = first_rows = 0
            deadline = spawned + max(300.0, rows / 50)
            profiler = None
            last_count, last_change = -1, spawned
            try:
                while time.monotonic() < deadline:
                    if ready_at is None and worker.log_has("Worker ready"):
                        ready_at = last_change = time.monotonic()
                        if profile:
                            profile_path = stack.logs / "worker.profile.txt"
                            profiler = Profiler(worker, profile_path, 900).__enter__()
                    have = int((await stack.sql(count_sql))[0][0])
                    now = time.monotonic()
                    if have and first_at is None:
                        first_at = now
                        first_rows = have
                    progress.update(t, completed=have)
                    if have >= rows:
                        done_at = now
                        break
                    if have != last_count:
                        last_count, last_change = have, now
                    elif ready_at is not None and now - last_change > 30:
                        break  # no new row for 30 s: the rest is not coming
                    if worker.popen.poll() is not None:
                        raise RuntimeError(f"worker exited:\n{worker.log_text()[-3000:]}")
                    await asyncio.sleep(0.1)
            finally:
                if profiler is not None:
                    profiler.__exit__(None, None, None)

    first_to_last = (done_at - first_at) if done_at and first_at else None
    ready_to_last = (done_at - ready_at) if done_at and ready_at else None
    sink_rate = (rows - first_rows) / first_to_last if first_to_last else None
    direct_rate = direct_count / direct_s if direct_s else None
    result.add("rows in check_results", f"{have:,}", f"of {rows:,}")
    result.add(
        "sink throughput (first row seen → all rows)",
        f"{sink_rate:,.0f}/s" if sink_rate else "—",
        f"{secs(first_to_last)}, count() polled every 0.1 s (first poll saw {first_rows:,})",
    )
    result.add(
        "sink throughput (ready → all rows)",
        rate(rows, ready_to_last),
        f"{secs(ready_to_last)} from 'Worker ready'",
    )
    result.add("worker start → ready", secs((ready_at - spawned) if ready_at else None), "")
    result.add(
        "baseline: direct batched insert",
        rate(direct_count, direct_s),
        f"{secs(direct_s)}; clickhouse-driver, {batch}-row batches, rows prepared beforehand",
    )
    result.add(
        "baseline: decode + row + insert",
        rate(rows, decode_s),
        f"{secs(decode_s)}; pydantic CheckResult decode and result_row per message, same batches",
    )
    for label, seconds, cpu in views:
        result.add(
            f"direct insert into check_results, {label}",
            rate(rows, seconds),
            f"{secs(seconds)}; ClickHouse server CPU {cpu / rows * 1e6:,.0f} µs per row (all its clients)",
        )
    result.notes.append(
        "The view costs are direct inserts (rows prepared) into a scratch database migrated like the "
        "stack's, the views dropped one at a time in the order listed; each line's server CPU is the "
        "ClickHouse process's utime + stime over that insert, other clients' queries included."
    )
    full_rate = rows / views[0][1] if views and views[0][1] else None
    if sink_rate and direct_rate:
        ratio = sink_rate / direct_rate
        result.add("sink / direct insert", f"{ratio:.1%}", "into the copy without views")
        if full_rate:
            result.add(
                "sink / direct insert with every view",
                f"{sink_rate / full_rate:.1%}",
                "the same server-side work",
            )
        result.verdict = (
            f"sink {sink_rate:,.0f} rows/s vs direct insert {direct_rate:,.0f} rows/s ({ratio:.1%}); "
            f"vs decode+insert {rows / decode_s:,.0f} rows/s ({sink_rate / (rows / decode_s):.1%})"
            + (
                f"; vs direct insert with every view {full_rate:,.0f} rows/s ({sink_rate / full_rate:.1%})"
                if full_rate
                else ""
            )
        )
    if done_at is None:
        result.notes.append(
            f"only {have:,} of {rows:,} rows arrived (stalled or time limit); numbers are partial"
        )
    result.notes.append(
        "The sink runs inside the worker process (its own aiokafka consumer group, streams/sink.py; "
        "batches of "
        f"{batch} rows or {stack.settings.sink_batch_seconds:g} s, inserts in a thread); the register and "
        "verify agents are idle here."
    )
    if profile_path is not None:
        result.details.extend(summarise(profile_path))
    return result
