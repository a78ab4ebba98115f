"""encryption: what 国密 field encryption costs the pipeline — throughput with it on vs off, same run.

Issue 5 allows encryption to cost at most 15% of the pipeline's throughput. One run measures the full
production pipeline (register, verify, risk stage with a model, ClickHouse sink) twice or more on the
same backlog, each in its own world (topic prefix, Faust app id, ClickHouse database), alternating:

- **on** (`FAPIAO_FIELD_ENCRYPTION=true`, the default): the risk agent seals every result (three SM4-GCM
  envelopes: seller, buyer, requester; three HMAC-SM3 pseudonyms; taxpayer evidence) and alert before
  publishing; the sink writes the pseudonym and envelope columns;
- **off**: results and alerts are published and stored in plaintext.

It reuses risk-throughput's machinery (bench/risk_throughput.py: demo backlog, model, phases, CPU
from /proc), so the numbers are comparable with that section. Besides the wall-clock throughput it
reports the worker's CPU per result (robust on a shared machine) and, in-process, the time one
`seal_result` takes on the backlog's own results.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import risk_throughput as rt
from bench.report import console
from bench.stats import Result, rate, secs

SECTION = "encryption"
TARGET = 0.15  # encryption may cost at most this share of the throughput


def seal_micro(samples: int = 3000) -> tuple[float, float, int]:
    """(µs per seal_result, µs per open_result, results) over consistent demo results, in this process."""
    import uuid
    from datetime import UTC, datetime

    from fapiao.crypto.keys import CryptoKeys
    from fapiao.crypto.protect import FieldSealer
    from fapiao.demo import DemoFeed
    from fapiao.domain.results import build_result
    from fapiao.domain.verification import Decision, invoice_face
    from fapiao.settings import Settings
    from schemas.events import CheckRequested, InvoiceIssued, InvoiceStatus, Verdict

    feed = DemoFeed(7, datetime.now(rt.CST))
    issued = [e.value for e in feed.issue(samples) if isinstance(e.value, InvoiceIssued)]
    results = []
    for n, invoice in enumerate(issued):
        request = CheckRequested(
            check_id=uuid.uuid4(),
            requested_at=datetime.now(UTC),
            requester=f"erp-{n % 50}",
            invoice_code=invoice.invoice_code,
            invoice_number=invoice.invoice_number,
            issue_date=invoice.issue_date,
            amount=invoice.total,
        )
        decision = Decision(Verdict.CONSISTENT, invoice=invoice_face(invoice, InvoiceStatus.NORMAL))
        results.append(build_result(request, decision, decided_at=datetime.now(UTC), check_count=1))
    sealer = FieldSealer.from_keys(CryptoKeys.from_settings(Settings(_env_file=None)))  # type: ignore[call-arg]
    started = time.process_time()
    sealed = [sealer.seal_result(r) for r in results]
    seal_s = time.process_time() - started
    started = time.process_time()
    for r in sealed:
        sealer.open_result(r)
    open_s = time.process_time() - started
    return seal_s * 1e6 / len(results), open_s * 1e6 / len(results), len(results)


async def run(
    *,
    checks: int = 20_000,
    invoices: int = 20_000,
    rounds: int = 2,
    status_fraction: float = 0.04,
    train_invoices: int = 8_000,
    train_checks: int = 8_000,
    seed: int = 2026,
    profile: bool = False,
) -> Result:
    result = Result(
        SECTION,
        "encryption — the pipeline with 国密 field encryption on vs off, same backlog",
        {
            "checks K": f"{checks:,}",
            "invoices M": f"{invoices:,}",
            "pipeline": "register + verify + risk stage (model loaded) + ClickHouse sink, 4 partitions",
            "rounds": f"{rounds} (on/off pairs, alternating order)",
            "demo seed": seed,
        },
    )
    models_dir = Path(tempfile.mkdtemp(prefix="fapiao-bench-models-"))
    runs: list[tuple[bool, rt.Run]] = []
    try:
        with console.status("generating the demo backlog and training the model"):
            data = rt.backlog(invoices, checks, status_fraction=status_fraction, seed=seed)
            rt.train_model(models_dir, invoices=train_invoices, checks=train_checks, seed=seed + 1)
        with rt._progress() as progress:
            for label, encrypt in rt.alternating(("encryption on", True), ("encryption off", False), rounds):
                run = await rt.run_pipeline(
                    label,
                    True,
                    data,
                    models_dir,
                    profile=profile,
                    progress=progress,
                    encrypt=encrypt,
                    bench="encryption",
                )
                runs.append((encrypt, run))
    finally:
        shutil.rmtree(models_dir, ignore_errors=True)

    seal_us, open_us, sampled = seal_micro()
    for n, (_, r) in enumerate(runs, 1):
        tag = f"#{n} {r.label}"
        result.add(
            f"{tag}: throughput (first → last result)",
            rate(r.checks, r.first_last),
            f"{r.checks:,} checks answered in {secs(r.first_last)}; {r.alerts:,} alerts"
            + (f"; {r.unanswered:,} UNANSWERED" if r.unanswered else ""),
        )
        rt._cpu_rows(result, r)

    def median_rate(encrypt: bool) -> float | None:
        values = [r.throughput for e, r in runs if e is encrypt and r.throughput]
        return statistics.median(values) if values else None

    def median_cpu(encrypt: bool) -> float | None:
        """Median worker CPU milliseconds per result."""
        values = [
            (r.cpu[1].worker - r.cpu[0].worker) * 1000 / max(1, r.checks)
            for e, r in runs
            if e is encrypt and r.cpu and r.cpu[0].worker is not None and r.cpu[1].worker is not None
        ]
        return statistics.median(values) if values else None

    on, off = median_rate(True), median_rate(False)
    cpu_on, cpu_off = median_cpu(True), median_cpu(False)
    wall_cost = cpu_cost = None
    if on and off:
        wall_cost = 1 - on / off
        result.add(
            "cost by wall clock (1 − on/off throughput)",
            f"{wall_cost:.1%}",
            f"{on:,.0f}/s on vs {off:,.0f}/s off (medians); target ≤ {TARGET:.0%}",
        )
    if cpu_on and cpu_off:
        cpu_cost = 1 - cpu_off / cpu_on
        result.add(
            "cost by worker CPU (1 − results per CPU-second on/off)",
            f"{cpu_cost:.1%}",
            f"{cpu_on:.3f} ms vs {cpu_off:.3f} ms worker CPU per result (medians): "
            f"{(cpu_on - cpu_off) * 1000:.0f} µs more per result with encryption",
        )
    result.add(
        "seal_result / open_result, in-process",
        f"{seal_us:.0f} µs / {open_us:.0f} µs",
        f"per consistent result (3 SM4-GCM envelopes + 3 HMAC-SM3, OpenSSL via `cryptography`/hashlib), "
        f"CPU time over {sampled:,} demo results in the benchmark process"
        + (
            f"; {seal_us / (cpu_off * 1000):.1%} of the worker's CPU per result without it" if cpu_off else ""
        ),
    )
    if wall_cost is not None or cpu_cost is not None:
        costs = [c for c in (wall_cost, cpu_cost) if c is not None]
        met = all(c <= TARGET for c in costs)
        result.verdict = (
            f"encryption costs {wall_cost:.1%} of the throughput by wall clock"
            if wall_cost is not None
            else ""
        ) + (f", {cpu_cost:.1%} by worker CPU" if cpu_cost is not None else "")
        result.verdict += f" (target ≤ {TARGET:.0%}): {'MET' if met else 'NOT MET'}"
    result.notes.append(
        "Both configurations run the same encoded backlog, each in its own topic prefix, Faust app id and "
        "ClickHouse database, one worker process each, the ClickHouse sink included; Kafka, ClickHouse, "
        "the worker and this client share the machine's CPUs with other work, so the wall-clock numbers "
        "move with the load; the CPU per result does much less."
    )
    result.notes.append("Logs: " + "; ".join(f"{r.label} {r.logs}" for _, r in runs if r.logs is not None))
    return result


QUICK: dict[str, int] = {"checks": 3_000, "invoices": 3_000, "train_invoices": 2_000, "train_checks": 2_000}


def job(opts: Any, checks: int | None, invoices: int | None, rounds: int) -> Any:
    """The coroutine factory `bench.cli` runs (quick sizes with --quick; the doc section when recording)."""
    sizes: dict[str, int] = dict(QUICK) if opts.quick else {}
    if checks:
        sizes["checks"] = checks
    if invoices:
        sizes["invoices"] = invoices
    if opts.record if opts.record is not None else not opts.quick:
        _ensure_section()
    return lambda: run(rounds=rounds, profile=opts.profile, **sizes)


def _ensure_section() -> None:
    from contextlib import suppress

    from bench import report

    doc = report.DOC
    text = doc.read_text("utf-8") if doc.exists() else ""
    if f"<!-- bench:{SECTION}:begin -->" in text:
        return
    block = f"<!-- bench:{SECTION}:begin -->\n<!-- bench:{SECTION}:end -->\n"
    with suppress(OSError):
        doc.write_text(text.rstrip() + "\n\n" + block if text else block, "utf-8")
