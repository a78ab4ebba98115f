"""`fapiao`: the operations command line (topics, migrations, worker, API, demo feed, inspect, documents
and batches).

Start-up is kept short (`fapiao --help` and `fapiao inspect` in well under 0.4 s): this module and the
command modules it registers import only typer at the top; settings (pydantic), logging (structlog),
asyncio, the document readers, scikit-learn and the clients are imported inside the command that needs
them. tests/unit/test_cli_documents.py fails when a heavy module is imported by `--help` again.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from services import cli_analytics, cli_dlq, cli_rules, cli_security
from services.risk_cli import model_app

app = typer.Typer(help="Fapiao Sentinel operations.", no_args_is_help=True, pretty_exceptions_enable=False)
kafka_app = typer.Typer(help="Kafka topics and ACLs.", no_args_is_help=True)
db_app = typer.Typer(help="ClickHouse schema.", no_args_is_help=True)
app.add_typer(kafka_app, name="kafka")
app.add_typer(db_app, name="db")
app.add_typer(model_app, name="model")
cli_security.register(app)
cli_dlq.register(app)
cli_rules.register(app)
cli_analytics.register(app, db_app)


if TYPE_CHECKING:
    from fapiao.settings import Settings


def _settings() -> Settings:
    from fapiao.logs import configure_logging
    from fapiao.settings import Settings

    settings = Settings()
    configure_logging(settings)
    return settings


@kafka_app.command("init")
def kafka_init() -> None:
    """Create every topic (idempotent)."""
    import asyncio

    from fapiao.bus import ensure_topics

    settings = _settings()
    created = asyncio.run(ensure_topics(settings))
    typer.echo(f"topics created: {', '.join(created) if created else 'none (all exist)'}")


@kafka_app.command("acls")
def kafka_acls(
    apply: Annotated[bool, typer.Option("--apply", help="create them on the broker (as `admin`)")] = False,
) -> None:
    """Print the per-service ACLs (fapiao.kafka_acls) for this prefix and app id; --apply creates them."""
    import asyncio

    from fapiao import kafka_acls
    from fapiao.bus import apply_acls

    settings = _settings()
    acls = kafka_acls.bindings(settings)
    typer.echo(kafka_acls.render(acls))
    if apply:
        created = asyncio.run(apply_acls(settings, acls))
        typer.echo(f"ACLs applied: {created}")


@db_app.command("migrate")
def db_migrate(
    directory: Annotated[Path | None, typer.Option(help="migrations folder")] = None,
) -> None:
    """Apply the numbered ClickHouse migrations not yet applied (idempotent)."""
    from fapiao.warehouse import migrations

    settings = _settings()
    applied = migrations.migrate_configured(settings, directory or migrations.DEFAULT_DIR)
    names = ", ".join(m.name for m in applied) or "none (up to date)"
    typer.echo(f"database {settings.clickhouse_database}: migrations applied: {names}")


@app.command()
def worker() -> None:
    """Run the Faust worker (register, verify, ClickHouse sink)."""
    from prometheus_client import start_http_server

    from fapiao import loop_monitor
    from streams.app import create_app
    from streams.readiness import ReadyWorker, ready_file

    # Not uvloop (the API's loop): it saved ~6 % of the worker's CPU per check at 100 checks/s, but with
    # it a clean-clone CI run once left the restart test's worker without commits for checks.verified
    # and checks.results (tests/integration/test_restart_no_loss.py; docs/benchmarks.md, sync latency
    # item 5): faust's consumer thread and flow control stay on the asyncio loop they are tested on.
    settings = _settings()
    _refuse_other_partition_counts(settings)
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr="127.0.0.1")
    pipeline = create_app(settings)
    # Everything imported and built so far (~200k objects: faust, aiokafka, pydantic schemas) lives as
    # long as the process: out of the collector's reach, a full collection no longer walks it while the
    # agents stand still (120-260 ms per full collection of this heap, measured on this shared machine).
    loop_monitor.time_gc(loop_monitor.WORKER)
    loop_monitor.freeze_start_up_heap(settings.gc_young_threshold)
    ReadyWorker(
        pipeline.app,
        ready_path=ready_file(settings),
        gc_young_threshold=settings.gc_young_threshold,
        loglevel=settings.log_level.lower(),
        redirect_stdouts=False,
    ).execute_from_commandline()


def _refuse_other_partition_counts(settings: Settings) -> None:
    """Exit 2 when the existing topics have another partition count than FAPIAO_TOPIC_PARTITIONS (e.g. a
    deployment created with the earlier default of 4): checked in a thread of its own, so that the loop
    faust makes for itself is the main thread's first."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from fapiao.bus import partition_mismatches

    with ThreadPoolExecutor(1) as pool:
        found = pool.submit(asyncio.run, partition_mismatches(settings)).result()
    if found:
        listed = ", ".join(f"{name} has {n}" for name, n in sorted(found.items()))
        typer.echo(
            f"the topics' partition count is not FAPIAO_TOPIC_PARTITIONS={settings.topic_partitions}: "
            f"{listed}; set FAPIAO_TOPIC_PARTITIONS to the topics' count "
            "(it never changes without re-keying)",
            err=True,
        )
        raise typer.Exit(2)


@app.command()
def webhooks() -> None:
    """Deliver results, follow-ups and alerts to the organisations' webhook subscriptions (and mail)."""
    import asyncio

    from fapiao.webhooks.process import run_from_settings

    asyncio.run(run_from_settings(_settings()))


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
) -> None:
    """Run the intake API (OpenAPI docs at /docs) on uvloop with httptools' C HTTP parser."""
    import uvicorn

    from services.api.app import create_app
    from services.api.http_limits import bounded_protocol

    settings = _settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        loop="uvloop",
        http=bounded_protocol(settings.api_header_timeout_seconds, settings.api_max_header_bytes),
        timeout_keep_alive=5,
    )


@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="same seed, same day: same invoices")] = 2026,
    invoices: Annotated[int, typer.Option(help="invoices in the backlog")] = 3000,
    checks: Annotated[int, typer.Option(help="labelled checks of the backlog")] = 3000,
    rate: Annotated[float, typer.Option(help="live events per second after the backlog (0: none)")] = 0,
    duration: Annotated[float, typer.Option(help="seconds of live feed (0: until stopped)")] = 0,
    sample_check: Annotated[
        bool, typer.Option("--sample-check", help="print a genuine check body and exit")
    ] = False,
) -> None:
    """Publish the realistic demo feed: Beijing invoices, status changes, labelled checks."""
    import asyncio
    import json
    import sys

    from services import demo_feed

    settings = _settings()
    if sample_check:
        body = demo_feed.sample_check(settings, seed, invoices)
        sys.stdout.write(json.dumps(body, ensure_ascii=False) + "\n")
        return
    labels = asyncio.run(
        demo_feed.run_demo(
            settings, seed=seed, invoices=invoices, checks=checks, rate=rate, duration=duration
        )
    )
    typer.echo("checks published by label: " + ", ".join(f"{k}={v}" for k, v in sorted(labels.items())))


@app.command()
def inspect(
    values: Annotated[list[str], typer.Argument(help="codes, numbers, tax ids or QR strings")],
) -> None:
    """Say what each value is and what it encodes, one JSON object per line."""
    import json
    import sys
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from fapiao.domain.inspect import inspect_value
    from fapiao.settings import Settings

    today = datetime.now(ZoneInfo(Settings().timezone)).date()
    for value in values:
        sys.stdout.write(json.dumps(inspect_value(value, today), ensure_ascii=False) + "\n")


ApiUrl = Annotated[str, typer.Option(envvar="FAPIAO_API_URL", help="the API's base URL")]
ApiKey = Annotated[str | None, typer.Option(envvar="FAPIAO_API_KEY", help="API key (X-API-Key)")]
ResultsFile = Annotated[Path | None, typer.Option("--output", "-o", help="results file to write")]
ResultsFormat = Annotated[str, typer.Option("--format", help="results file format: csv or xlsx")]
WaitSeconds = Annotated[float, typer.Option("--timeout", help="seconds to wait for every verdict")]


@app.command()
def extract(
    files: Annotated[list[Path], typer.Argument(help="PDF, OFD or 数电 XML", exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per file")] = False,
) -> None:
    """Read e-invoice documents and print the fields found and where from (text layer, QR, XML);
    nothing is submitted."""
    from rich.console import Console

    from services.batch_client import extract as run

    raise typer.Exit(run(files, as_json, Console()))


@app.command()
def check(
    files: Annotated[list[Path], typer.Argument(help="PDF, OFD, 数电 XML or ZIP files", exists=True)],
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = None,
    output: ResultsFile = None,
    fmt: ResultsFormat = "csv",
    timeout: WaitSeconds = 300,
) -> None:
    """Check e-invoice documents through the API, wait for the verdicts, write the results file."""
    _submit(files, api_url, api_key, output, fmt, timeout)


@app.command()
def batch(
    file: Annotated[Path, typer.Argument(help="a CSV or XLSX, or a ZIP of documents", exists=True)],
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = None,
    output: ResultsFile = None,
    fmt: ResultsFormat = "csv",
    timeout: WaitSeconds = 3600,
) -> None:
    """Submit a batch (发票代码/invoice_code, 发票号码/invoice_number, 开票日期/issue_date, 金额/amount,
    校验码后6位/check_code), wait with a progress bar, print a summary, write the results file."""
    _submit([file], api_url, api_key, output, fmt, timeout)


def _submit(
    files: list[Path], api_url: str, api_key: str | None, output: Path | None, fmt: str, timeout: float
) -> None:
    from rich.console import Console

    from services.batch_client import ClientError, submit

    if fmt not in ("csv", "xlsx"):
        raise typer.BadParameter("--format must be csv or xlsx")
    console = Console()
    try:
        code = submit(
            files, api_url=api_url, api_key=api_key, output=output, fmt=fmt, timeout=timeout, console=console
        )
    except ClientError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None
    raise typer.Exit(code)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
