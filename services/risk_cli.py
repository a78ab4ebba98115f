"""`fapiao model …`: train the anomaly model from ClickHouse, and evaluate scoring on the labelled demo.

Register with `app.add_typer(model_app, name="model")` in services/cli.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from fapiao.risk.algorithms import ALGORITHMS, DEFAULT_ALGORITHM, MIN_TRAIN_ROWS

model_app = typer.Typer(
    help="The anomaly model: train from ClickHouse, evaluate on the demo.", no_args_is_help=True
)
console = Console()


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _check_algorithm(value: str) -> str:
    if value not in ALGORITHMS:
        raise typer.BadParameter(f"choose from {', '.join(ALGORITHMS)}")
    return value


@model_app.command("train")
def train_command(
    days: Annotated[int, typer.Option(min=1, help="days of history before --until")] = 30,
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="end of the window, exclusive (UTC date)")
    ] = None,
    directory: Annotated[Path | None, typer.Option(help="models folder (default: FAPIAO_MODELS_DIR)")] = None,
    algorithm: Annotated[
        str, typer.Option(callback=_check_algorithm, help="/".join(ALGORITHMS))
    ] = DEFAULT_ALGORITHM,
    max_rows: Annotated[
        int, typer.Option(min=MIN_TRAIN_ROWS, help="sample at most this many rows")
    ] = 200_000,
    seed: Annotated[int, typer.Option(help="seed of the sample and the model")] = 0,
    decisions: Annotated[
        bool,
        typer.Option(
            help="use the analysts' decisions (alert_decisions) as labels: confirmed checks are left out of "
            "the training rows, and the model is reported without and with them"
        ),
    ] = True,
) -> None:
    """Train on the stored features of checks in a time window; save a new model version."""
    import numpy as np

    from fapiao.logs import configure_logging
    from fapiao.risk import decision_labels, training
    from fapiao.risk.features import FEATURE_NAMES, FEATURE_SET_VERSION
    from fapiao.risk.model import save, train
    from fapiao.settings import Settings
    from fapiao.warehouse.engine import NativeEngine

    settings = Settings()
    configure_logging(settings)
    end = until.date() if until else datetime.now(UTC).date() + timedelta(days=1)
    start = end - timedelta(days=days)
    engine = NativeEngine(settings)
    try:
        with _progress() as progress:
            task = progress.add_task(f"reading {settings.clickhouse_database}.check_results", total=days)
            X = training.read_window(engine, start, end, on_day=lambda _d, _n: progress.advance(task))
        labelled = decision_labels.read_labels(engine, start, end) if decisions else None
        left_out = labelled.positives if labelled is not None else frozenset()
        X_labelled = training.read_window(engine, start, end, exclude=left_out) if left_out else X
    finally:
        engine.close()
    if len(X) < MIN_TRAIN_ROWS:
        console.print(
            f"[red]{len(X)} rows with features between {start} and {end}: need {MIN_TRAIN_ROWS}[/red]"
        )
        raise typer.Exit(1)
    rows_read = len(X)
    X = training.sample(X, max_rows, seed)
    X_labelled = training.sample(X_labelled, max_rows, seed)
    trained_on = {
        "source": "clickhouse",
        "database": settings.clickhouse_database,
        "table": training.TABLE,
        "since": start.isoformat(),
        "until": end.isoformat(),
        "rows_read": rows_read,
        "feature_set_version": FEATURE_SET_VERSION,
    }
    with console.status(f"training {algorithm} on {len(X):,} rows"):
        model = train(X, feature_names=FEATURE_NAMES, trained_on=trained_on, algorithm=algorithm, seed=seed)
        if labelled is not None and len(labelled.y):
            without = model
            if left_out:
                model = train(
                    X_labelled,
                    feature_names=FEATURE_NAMES,
                    trained_on=trained_on,
                    algorithm=algorithm,
                    seed=seed,
                )
            report = decision_labels.compare(labelled, without, model)
            model.metadata["decisions"] = report  # saved with the model it describes
            _print_decisions(report)
        elif labelled is not None:
            console.print(
                f"no analysts' decisions on checks between {start} and {end}: trained without labels"
            )
        path = save(model, directory or settings.models_dir)
    scores = model.score(X)
    console.print(
        f"model [bold]{model.version}[/bold] ({algorithm}) trained on {model.metadata['rows']:,} of "
        f"{rows_read:,} rows "
        f"from {start} to {end}\n  saved to {path}\n"
        f"  training rows scoring ≥ 0.6: {np.mean(scores >= 0.6):.2%}, median score {np.median(scores):.3f}"
    )


def _print_decisions(report: dict[str, Any]) -> None:
    def cell(value: float | None) -> str:
        return "—" if value is None else f"{value:.3f}"

    console.print(
        f"analysts' decisions: {report['positives']} confirmed, {report['negatives']} dismissed; "
        f"{report['left_out_of_training']} of them left out of training"
    )
    for name in ("without", "with"):
        m = report[name]
        console.print(
            f"  {name} decisions: precision {cell(m['precision'])}, recall {cell(m['recall'])} at score ≥ "
            f"0.6, PR-AUC {cell(m['pr_auc'])}"
        )


@model_app.command("evaluate")
def evaluate_command(
    seed: Annotated[int, typer.Option(help="demo feed seed")] = 2026,
    train_invoices: Annotated[int, typer.Option(min=100, help="invoices of the training backlog")] = 8000,
    train_checks: Annotated[
        int, typer.Option(min=100, help="labelled checks of the training backlog")
    ] = 8000,
    eval_events: Annotated[int, typer.Option(min=100, help="live events of the evaluation period")] = 24000,
    rate: Annotated[float, typer.Option(min=0.001, help="live events per simulated second")] = 0.003,
    algorithm: Annotated[
        str, typer.Option(callback=_check_algorithm, help="/".join(ALGORITHMS))
    ] = DEFAULT_ALGORITHM,
    compare: Annotated[bool, typer.Option(help="also evaluate the other algorithms")] = True,
    cases: Annotated[
        str, typer.Option(help="behaviour cases per kind injected in the training,evaluation period")
    ] = "6,25",
    doc: Annotated[Path | None, typer.Option(help="write the tables into this Markdown file")] = Path(
        "docs/risk-model.md"
    ),
    write: Annotated[bool, typer.Option(help="write into --doc (else only print)")] = True,
) -> None:
    """Train on an earlier demo period, evaluate on a later one; precision/recall/PR-AUC per kind, and
    leave-one-kind-out recall of the behaviour kinds (docs/risk-model.md)."""
    from fapiao.risk import eval_report
    from fapiao.risk.evaluation import EvalConfig, evaluate

    try:
        early, late = (int(part) for part in cases.split(","))
    except ValueError:
        raise typer.BadParameter("two counts, e.g. 6,25", param_hint="--cases") from None
    config = EvalConfig(seed, train_invoices, train_checks, eval_events, rate, algorithm, cases=(early, late))
    with _progress() as progress:
        tasks: dict[str, TaskID] = {}

        def advance(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)

        report = evaluate(config, compare=compare, progress=advance)
    block = eval_report.render(report)
    console.print(block, markup=False, highlight=False, soft_wrap=True)
    if write and doc is not None:
        eval_report.write_into(doc, block)
        console.print(f"written into {doc}")
