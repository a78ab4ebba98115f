"""Batch throughput: a 100,000-row CSV from upload to every result downloadable; PDF extraction files/s.

    .venv/bin/python -m bench.batch_throughput                 # 100,000 rows and 1,000 PDFs
    .venv/bin/python -m bench.batch_throughput --rows 10000 --pdfs 200   # a quick run

Needs the local servers (`make services-up`) and the dev extras (reportlab, qrcode, a CJK font: `make
tools`). Self-contained: its own topic prefix, Faust app id and ClickHouse database, its own worker and
API subprocesses; the database is dropped at the end (the prefixed topics stay, like any test run's).
Prints a Markdown section for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.harness import delete_prefixed_topics
from bench.profiling import Profiler, summarise
from fapiao import topics
from fapiao.bus import Publisher, consumer_lag, ensure_topics
from fapiao.demo import DemoFeed
from fapiao.demo.documents import invoice_pdf, sample_invoices
from fapiao.domain.check_fields import fourth_field_value
from fapiao.domain.invoice_types import invoice_type
from fapiao.settings import Settings
from fapiao.warehouse import migrations
from fapiao.warehouse.engine import NativeEngine
from schemas.events import InvoiceIssued

ROOT = Path(__file__).resolve().parents[1]
CHECKS_PER_INVOICE = 4  # under the platform's 5 checks per invoice per day


def pdf_extraction(count: int) -> dict[str, float]:
    """Files/s of `read_document` over `count` generated PDFs of every type (generation not timed)."""
    from fapiao.documents import read_document

    samples = [invoice_pdf(i) for i in sample_invoices().values()]
    files = [samples[n % len(samples)] for n in range(count)]
    started = time.perf_counter()
    qr_read = sum(
        1 for n, data in enumerate(files) if read_document(f"{n}.pdf", data).fields["invoice_number"].also_in
    )
    seconds = time.perf_counter() - started
    return {"files": count, "seconds": seconds, "files_per_s": count / seconds, "qr_and_text_agreed": qr_read}


def _invoices(count: int) -> list[InvoiceIssued]:
    feed = DemoFeed(2026, datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0))
    return [e.value for e in feed.issue(count) if isinstance(e.value, InvoiceIssued)]


def _csv_rows(invoices: list[InvoiceIssued], rows: int) -> Iterator[str]:
    yield "发票代码,发票号码,开票日期,金额,校验码后6位\n"
    for n in range(rows):
        i = invoices[n % len(invoices)]
        amount, check = fourth_field_value(
            invoice_type(i.fplx).fourth_field, amount=i.amount, total=i.total, check_code=i.check_code
        )
        yield f"{i.invoice_code},{i.invoice_number},{i.issue_date},{amount or ''},{check or ''}\n"


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", *args], cwd=ROOT, env=env, stdout=out, stderr=out
        )


def _wait_log(proc: subprocess.Popen[bytes], log: Path, needle: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(f"{needle!r} not in {log}:\n{log.read_text(errors='replace')[-3000:]}")


def _api_key(client: httpx.Client) -> str:
    """Register a throwaway organisation and return an API key with every scope."""
    email, password = f"bench-{uuid.uuid4().hex[:10]}@example.com", "Bench-Lantern-47-batch"
    made = client.post(
        "/v1/auth/register", json={"org_name": "基准测试 Bench", "email": email, "password": password}
    )
    made.raise_for_status()
    token = client.post("/v1/auth/login", json={"email": email, "password": password}).json()["access_token"]
    key = client.post(
        "/v1/api-keys",
        headers={"Authorization": f"Bearer {token}"},
        json={"name": "bench", "scopes": ["submit", "read"], "rate_per_minute": 100_000},
    )
    key.raise_for_status()
    return str(key.json()["key"])


def _memory_mib(pid: int, field: str = "VmHWM") -> float:
    """VmHWM (peak resident set) or VmRSS (now) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _register(settings: Settings, invoices: list[InvoiceIssued]) -> float:
    publisher = Publisher(settings)
    await publisher.start()
    started = time.perf_counter()
    try:
        for start in range(0, len(invoices), 2000):
            chunk = invoices[start : start + 2000]
            await publisher.publish_many(
                (
                    topics.INVOICES_ISSUED,
                    i.invoice_code + "-" + i.invoice_number if i.invoice_code else i.invoice_number,
                    i,
                )
                for i in chunk
            )
    finally:
        await publisher.stop()
    while await consumer_lag(settings, settings.faust_app_id, [settings.topic(topics.INVOICES_ISSUED.name)]):
        await asyncio.sleep(0.5)
    return time.perf_counter() - started


class Phases(threading.Thread):
    """Samples, every 0.5 s from the upload on, where the batch's checks are: requests on
    checks.requested, answered by the worker's verify stage (its group's committed offsets there),
    scored (records on checks.results: the risk stage's output), results in ClickHouse (rows of the
    batch, not FINAL); records when each first reached `rows`."""

    def __init__(self, settings: Settings, rows: int, started: float) -> None:
        super().__init__(daemon=True)
        self.settings, self.rows, self.started = settings, rows, started
        self.batch_id = ""
        self.reached: dict[str, float] = {}
        # (s, requested, answered, scored, in ClickHouse)
        self.samples: list[tuple[float, int, int, int, int]] = []
        self.stop = threading.Event()

    async def _counts(self, engine: NativeEngine) -> tuple[int, int, int, int]:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        from fapiao.bus import partitions_of
        from fapiao.kafka_auth import client_kwargs

        name = self.settings.topic(topics.CHECKS_REQUESTED.name)
        results = self.settings.topic(topics.CHECKS_RESULTS.name)
        consumer = AIOKafkaConsumer(**client_kwargs(self.settings), enable_auto_commit=False)
        await consumer.start()
        try:
            parts = [TopicPartition(name, p) for p in await partitions_of(self.settings, name)]
            requested = sum((await consumer.end_offsets(parts)).values())
            scored_parts = [TopicPartition(results, p) for p in await partitions_of(self.settings, results)]
            scored = sum((await consumer.end_offsets(scored_parts)).values())
        finally:
            await consumer.stop()
        lag = await consumer_lag(self.settings, self.settings.faust_app_id, [name])
        stored = 0
        if self.batch_id:
            stored = int(
                engine.execute(
                    "SELECT uniqExact(check_id) FROM check_results WHERE batch_id = %(b)s",
                    {"b": self.batch_id},
                )[0][0]
            )
        return requested, requested - lag, scored, stored

    def run(self) -> None:
        engine = NativeEngine(self.settings)
        try:
            while not self.stop.wait(0.5):
                requested, answered, scored, stored = asyncio.run(self._counts(engine))
                at = time.perf_counter() - self.started
                self.samples.append((at, requested, answered, scored, stored))
                counts = {"requested": requested, "answered": answered, "scored": scored, "stored": stored}
                for name, n in counts.items():
                    if n >= self.rows and name not in self.reached:
                        self.reached[name] = at
        finally:
            engine.close()


def csv_batch(
    rows: int, workdir: Path, profile: Path | None = None, workers: int = 1
) -> dict[str, float | int | str]:
    """The batch through `workers` worker processes in one group (each its own data dir), and one API."""
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        topic_prefix=f"bench-batch-{run}-",
        clickhouse_database=f"bench_batch_{run}",
        data_dir=workdir / "worker",
    )
    env = {
        **os.environ,
        "FAPIAO_TOPIC_PREFIX": settings.topic_prefix,
        "FAPIAO_CLICKHOUSE_DATABASE": settings.clickhouse_database,
        "FAPIAO_DATA_DIR": str(settings.data_dir),
        "FAPIAO_LOG_JSON": "false",
        "FAPIAO_ACCOUNTS_URL": f"sqlite:///{workdir / 'accounts.db'}",
        # the API keeps recent results in memory (100,000 by default): small here, so that its peak memory
        # measures the batch path (upload, chunks, results file), not that cache
        "FAPIAO_API_RESULTS_CACHE_SIZE": "1000",
    }
    asyncio.run(ensure_topics(settings))
    engine = NativeEngine(settings)
    migrations.migrate(engine)
    logs = [workdir / ("worker.log" if n == 0 else f"worker-{n + 1}.log") for n in range(workers)]
    pool = [
        _spawn(["worker"], env | ({"FAPIAO_DATA_DIR": str(workdir / f"worker-{n + 1}")} if n else {}), log)
        for n, log in enumerate(logs)
    ]
    worker = pool[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = _spawn(["api", "--port", str(port)], env, workdir / "api.log")
    try:
        for n, proc in enumerate(pool):
            _wait_log(
                proc, workdir / ("worker.log" if n == 0 else f"worker-{n + 1}.log"), "Worker ready", 300
            )
        invoices = _invoices(rows // CHECKS_PER_INVOICE + 1)
        fold = asyncio.run(_register(settings, invoices))
        path = workdir / "batch.csv"
        with path.open("w", encoding="utf-8") as out:
            out.writelines(_csv_rows(invoices, rows))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        with httpx.Client(base_url=url, timeout=600) as client:
            client.headers["X-API-Key"] = _api_key(client)
            rss_before = _memory_mib(api.pid, "VmRSS")
            with contextlib.ExitStack() as profiling:
                if profile is not None:
                    profile.mkdir(parents=True, exist_ok=True)
                    for name, proc in (("worker", worker), ("api", api)):
                        profiling.enter_context(Profiler(proc, profile / f"{name}.txt", 900))  # type: ignore[arg-type]
                started = time.perf_counter()
                phases = Phases(settings, rows, started)
                phases.start()
                with path.open("rb") as upload:
                    batch = client.post(
                        "/v1/batches", files={"files": ("batch.csv", upload, "text/csv")}
                    ).json()
                phases.batch_id = str(batch["batch_id"])
                accepted_at = time.perf_counter()
                while not (view := client.get(batch["location"]).json())["finished"]:
                    time.sleep(0.5)
                verdicts_at = time.perf_counter()
                body = client.get(batch["results"]).content.decode("utf-8-sig")
                done_at = time.perf_counter()
                phases.stop.set()
                phases.join(30)
            if profile is not None:
                for name in ("worker", "api"):
                    print("\n".join(summarise(profile / f"{name}.txt", top=25)), file=sys.stderr)
            reached = ", ".join(f"{k} at {v:.1f} s" for k, v in phases.reached.items())
            print(f"phases: {reached}", file=sys.stderr)
            every = max(1, len(phases.samples) // 20)
            for at, *counts in phases.samples[::every]:
                print(f"  {at:6.1f} s: requested/answered/scored/stored {counts}", file=sys.stderr)
            lines = list(csv.reader(io.StringIO(body)))
        if len(lines) != rows + 1 or [int(r[0]) for r in lines[1:6]] != [1, 2, 3, 4, 5]:
            raise RuntimeError(f"results file has {len(lines) - 1} rows, expected {rows}")
        return {
            "rows": rows,
            "workers": workers,
            "invoices": len(invoices),
            "upload_bytes": path.stat().st_size,
            "register_fold_s": fold,
            "upload_to_accepted_s": accepted_at - started,
            "upload_to_all_verdicts_s": verdicts_at - started,
            "upload_to_results_downloaded_s": done_at - started,
            "download_s": done_at - verdicts_at,
            "rows_per_s": rows / (done_at - started),
            "intake_rows_per_s": rows / (accepted_at - started),
            "accepted": batch["accepted"],
            "by_verdict": ", ".join(f"{k} {v}" for k, v in sorted(view["by_verdict"].items())),
            "api_peak_rss_mib": _memory_mib(api.pid),
            "api_rss_before_mib": rss_before,
            "phases": reached,
        }
    finally:
        for proc in (api, *pool):
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        engine.execute(f"DROP DATABASE IF EXISTS {settings.clickhouse_database}")
        engine.close()
        asyncio.run(delete_prefixed_topics(settings))


def report(pdf: dict[str, float], batch: dict[str, float | int | str] | None) -> str:
    """The Markdown section for docs/benchmarks.md."""
    rows = [
        (
            "PDF extraction",
            f"{pdf['files_per_s']:.1f} files/s",
            f"{pdf['files']:.0f} PDFs of every type in {pdf['seconds']:.1f} s, one process: text layer, "
            "page rendered at 144 dpi, QR decoded",
        )
    ]
    if batch is not None:
        b = batch
        size = f"{b['rows']:,} rows ({int(b['upload_bytes']) / 1e6:.1f} MB), {b['invoices']:,} invoices"
        rows += [
            (
                "CSV batch: upload → all results downloadable",
                f"{b['upload_to_results_downloaded_s']:.1f} s",
                size,
            ),
            (
                "CSV batch: rows/s end to end",
                f"{b['rows_per_s']:,.0f} rows/s",
                "upload, every check, results file",
            ),
            (
                "CSV batch: intake (upload → 202)",
                f"{b['upload_to_accepted_s']:.1f} s",
                f"{b['intake_rows_per_s']:,.0f} rows/s parsed, published, stored",
            ),
            (
                "CSV batch: upload → every verdict",
                f"{b['upload_to_all_verdicts_s']:.1f} s",
                str(b["by_verdict"]),
            ),
            ("CSV batch: results download", f"{b['download_s']:.1f} s", "CSV in input order"),
            (
                "API peak memory (VmHWM)",
                f"{b['api_peak_rss_mib']:.0f} MiB",
                f"the whole API process; {b['api_rss_before_mib']:.0f} MiB before the upload",
            ),
        ]
    load = os.getloadavg()[0]
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"
    head = [
        "## Batches and e-invoice documents (bench/batch_throughput.py)",
        "",
        f"- **date**: {when}; **command**: `.venv/bin/python -m bench.batch_throughput`",
        f"- **machine**: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load {load:.2f} at the end; "
        "Kafka, ClickHouse, worker, API and this client share it",
        "",
        "| metric | value | note |",
        "|---|---:|---|",
    ]
    return "\n".join([*head, *(f"| {m} | {v} | {n} |" for m, v, n in rows)]) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the CSV batch (0: skip)")
    parser.add_argument("--pdfs", type=int, default=1_000, help="PDFs to extract")
    parser.add_argument("--workers", type=int, default=1, help="worker processes in the group")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy profiles of worker and API here")
    args = parser.parse_args()
    pdf = pdf_extraction(args.pdfs)
    print(f"PDF extraction: {pdf['files_per_s']:.1f} files/s", file=sys.stderr)
    batch = None
    if args.rows:
        with tempfile.TemporaryDirectory(prefix="bench-batch-") as workdir:
            batch = csv_batch(args.rows, Path(workdir), args.profile, args.workers)
    sys.stdout.write(report(pdf, batch))


if __name__ == "__main__":
    main()
