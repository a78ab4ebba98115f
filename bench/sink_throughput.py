"""sink-throughput: rows/s the worker's ClickHouse sink writes, vs a direct batched insert.

1. Pre-load K results (一致, with the invoice face) on `checks.results`.
2. Baselines, worker not running, into a copy of the table (`CREATE TABLE … AS check_results`):
   a. a direct clickhouse-driver insert of the same rows (decoded beforehand), in batches of the
      sink's batch size (FAPIAO_SINK_BATCH_ROWS), on one connection;
   b. the same with the sink's per-row work included: JSON → CheckResult (pydantic) → row tuple.
3. Start the worker and poll `SELECT count() FROM check_results` until all K rows are in; the rate is
   K over the time from the first row seen to the last (and from "Worker ready").
"""

from __future__ import annotations

import asyncio
import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench import data
from bench.harness import Stack
from bench.profiling import Profiler, summarise
from bench.report import console
from bench.stats import Result, rate, secs
from fapiao.warehouse import results as results_table
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


def _insert_batches(stack: Stack, rows_of, values: list, batch: int, on_progress) -> float:  # type: ignore[no-untyped-def]
    """Insert `values` in batches (converting each batch with `rows_of`); returns seconds."""
    assert stack.engine is not None
    started = time.perf_counter()
    for i in range(0, len(values), batch):
        rows = rows_of(values[i : i + batch])
        stack.engine.insert(BASELINE_TABLE, results_table.COLUMNS, rows)
        on_progress(min(i + batch, len(values)))
    return time.perf_counter() - started


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
        res = data.results(rows)
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
            direct_s = await asyncio.to_thread(
                _insert_batches,
                stack,
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
                stack,
                lambda chunk: [results_table.result_row(CheckResult.model_validate_json(v)) for v in chunk],
                values,
                batch,
                lambda n, t=t: progress.update(t, completed=n),
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
    if sink_rate and direct_rate:
        ratio = sink_rate / direct_rate
        result.add("sink / direct insert", f"{ratio:.1%}", "")
        result.verdict = (
            f"sink {sink_rate:,.0f} rows/s vs direct insert {direct_rate:,.0f} rows/s ({ratio:.1%}); "
            f"vs decode+insert {rows / decode_s:,.0f} rows/s ({sink_rate / (rows / decode_s):.1%})"
        )
    if done_at is None:
        result.notes.append(
            f"only {have:,} of {rows:,} rows arrived (stalled or time limit); numbers are partial"
        )
    result.notes.append(
        "The sink runs inside the worker process (its own agent, batches of "
        f"{batch} rows or 0.5 s, inserts in a thread); the register and verify agents are idle here."
    )
    if profile_path is not None:
        result.details.extend(summarise(profile_path))
    return result
