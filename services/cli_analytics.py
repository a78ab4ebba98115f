"""`fapiao report` (a period report or a saved custom report, to a file, with a progress bar),
`fapiao db retention` (drop old monthly partitions) and `fapiao db warm-counts` (remember trend
counts ahead). They talk to ClickHouse directly: they are
operators' tools, so the organisation is named on the command line."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

OrgOption = Annotated[str, typer.Option("--org", help="organisation id (`fapiao demo` writes org demo)")]


def register(app: typer.Typer, db_app: typer.Typer) -> None:
    app.command("report")(report)
    db_app.command("retention")(db_retention)
    db_app.command("warm-counts")(db_warm_counts)
    db_app.command("seal-plaintext")(db_seal_plaintext)


def report(
    org: OrgOption = "demo",
    date_from: Annotated[
        str | None, typer.Option("--from", help="first day, YYYY-MM-DD (default: 30 days ago)")
    ] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="last day, YYYY-MM-DD (default: today)")] = None,
    definition: Annotated[
        str | None, typer.Option("--definition", help="run this saved report (id) instead")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file to write")] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="html, md or json (period report); json, csv or xlsx (saved)"),
    ] = None,
) -> None:
    """Write the period report (sentences, tables, charts) or a saved custom report to a file."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from fapiao.analytics.filters import local_today
    from fapiao.crypto.keys import CryptoKeys
    from fapiao.crypto.protect import FieldSealer
    from fapiao.settings import Settings
    from fapiao.warehouse.engine import NativeEngine

    console = Console(stderr=True)
    today = local_today(datetime.now(UTC))
    last = date.fromisoformat(date_to) if date_to else today
    first = date.fromisoformat(date_from) if date_from else last - timedelta(days=29)
    settings = Settings()
    engine = NativeEngine(settings)
    sealer = FieldSealer.from_keys(CryptoKeys.from_settings(settings))  # the report file shows names
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"))
    try:
        with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
            if definition:
                path = _saved(
                    engine,
                    org,
                    definition,
                    date_from and first,
                    date_to and last,
                    output,
                    fmt,
                    progress,
                    sealer,
                )
            else:
                path = _period(engine, org, first, last, output, fmt or "html", progress, sealer)
    finally:
        engine.close()
    console.print(f"written: {path}")


def _period(engine, org, first, last, output, fmt, progress, sealer) -> Path:  # type: ignore[no-untyped-def]
    from fapiao.analytics import report_file
    from fapiao.analytics.charts import ChartName, chart_spec, render
    from fapiao.analytics.narrative import summarise
    from fapiao.warehouse.period_report import STEPS, fetch_period

    if fmt not in report_file.FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(report_file.FORMATS)}")
    charts = list(ChartName) if fmt == "html" else []
    task = progress.add_task("querying ClickHouse", total=len(STEPS) + len(charts) + 1)
    data = fetch_period(
        engine, org, first, last, on_step=lambda step: progress.update(task, advance=1), sealer=sealer
    )
    said = summarise(data.facts)
    svgs = {}
    for name in charts:
        progress.update(task, description=f"drawing {name}")
        svgs[name.value] = render(chart_spec(name, data.trends, data.facts), "svg")
        progress.update(task, advance=1)
    progress.update(task, description="writing")
    text = {
        "html": lambda: report_file.as_html(data.facts, said, svgs),
        "md": lambda: report_file.as_markdown(data.facts, said),
        "json": lambda: report_file.as_json(data.facts, said),
    }[fmt]()
    path = output or Path(f"fapiao-report-{org}-{first:%Y%m%d}-{last:%Y%m%d}.{fmt}")
    path.write_text(text, "utf-8")
    progress.update(task, advance=1)
    return path


def _saved(engine, org, report_id, first, last, output, fmt, progress, sealer) -> Path:  # type: ignore[no-untyped-def]
    import json

    from fapiao.analytics.custom_reports import OutputFormat, ReportSpec
    from fapiao.analytics.export import table_bytes
    from fapiao.analytics.filters import local_today
    from fapiao.warehouse import report_store

    task = progress.add_task("loading the definition", total=3)
    stored = report_store.get(engine, org, report_id)
    if stored is None:
        raise typer.BadParameter(f"organisation {org} has no report {report_id}")
    spec = stored.spec
    if first or last:
        spec = ReportSpec.model_validate(spec.model_dump() | {"date_from": first, "date_to": last})
    chosen = OutputFormat(fmt) if fmt else spec.format
    progress.update(task, advance=1, description="running the report")
    table = report_store.run(engine, org, spec, local_today(datetime.now(UTC)), sealer)
    progress.update(task, advance=1, description="writing")
    path = output or Path(f"report-{report_id[:8]}.{chosen.value}")
    if chosen is OutputFormat.JSON:
        body = json.dumps({"columns": table.columns, "rows": table.rows}, ensure_ascii=False, default=str)
        path.write_text(body, "utf-8")
    else:
        path.write_bytes(table_bytes(table.columns, table.rows, chosen.value, spec.name))
    progress.update(task, advance=1)
    return path


def db_seal_plaintext() -> None:
    """Seal rows stored in plaintext (before migration 010 or with field encryption off): parties,
    requesters and alert sellers become pseudonyms + SM4 envelopes; the seller/requester rollups are
    rebuilt. Run with the worker stopped (rows arriving meanwhile may miss the rebuilt rollups)."""
    from fapiao.crypto.keys import CryptoKeys
    from fapiao.crypto.protect import FieldSealer
    from fapiao.settings import Settings
    from fapiao.warehouse.engine import NativeEngine
    from fapiao.warehouse.legacy_sealing import seal_plaintext

    settings = Settings()
    engine = NativeEngine(settings)
    try:
        sealer = FieldSealer.from_keys(CryptoKeys.from_settings(settings))
        done = seal_plaintext(engine, sealer, on_step=lambda step: typer.echo(f"sealed {step}"))
    finally:
        engine.close()
    typer.echo(f"{done.mutations} mutations" + ("; rollups rebuilt" if done.rollups_rebuilt else ""))


def db_retention(
    keep_months: Annotated[
        int, typer.Option("--keep-months", min=1, help="months kept, the current one included")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only list what would be dropped")] = False,
) -> None:
    """Drop monthly partitions older than the kept months from every monthly-partitioned table."""
    from fapiao.analytics.filters import local_today
    from fapiao.settings import Settings
    from fapiao.warehouse.engine import NativeEngine
    from fapiao.warehouse.retention import apply_retention

    settings = Settings()
    engine = NativeEngine(settings)
    try:
        dropped = apply_retention(engine, local_today(datetime.now(UTC)), keep_months, dry_run=dry_run)
    finally:
        engine.close()
    verb = "would drop" if dry_run else "dropped"
    for part in dropped:
        typer.echo(f"{verb} {settings.clickhouse_database}.{part.table} partition {part.month}")
    typer.echo(f"{len(dropped)} partitions {verb}" if dropped else "nothing to drop")


def db_warm_counts(
    days: Annotated[int, typer.Option("--days", min=1, max=3700, help="days back from today")] = 400,
    org: Annotated[str | None, typer.Option("--org", help="only this organisation (default: all)")] = None,
) -> None:
    """Compute the exact figures of the rollups' units (what the worker's leader keeps doing every
    FAPIAO_ANALYTICS_WARM_SECONDS), so first trend requests over long ranges are fast."""
    from fapiao.analytics.filters import local_today
    from fapiao.settings import Settings
    from fapiao.warehouse.count_warmer import warm_counts
    from fapiao.warehouse.engine import NativeEngine

    engine = NativeEngine(Settings())
    try:
        done = warm_counts(engine, local_today(datetime.now(UTC)), days, [org] if org else None)
    finally:
        engine.close()
    typer.echo(
        f"computed the unit figures of {done.organisations} organisations, {days} days, "
        f"in {done.seconds:.1f} s"
    )
