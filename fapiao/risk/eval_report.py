"""The evaluation as Markdown, written between two markers of docs/risk-model.md (the prose stays)."""

from __future__ import annotations

from pathlib import Path

from fapiao.risk.evaluation import MODES, Metrics, Report
from fapiao.risk.rules import weight

BEGIN = "<!-- evaluation:begin (written by `fapiao model evaluate`) -->"
END = "<!-- evaluation:end -->"


def _pct(value: float) -> str:
    return "–" if value != value else f"{100 * value:.1f}%"


def _pct2(value: float) -> str:
    """A false-alert rate against the behaviour target of 1 %: two decimals (1.0 % may be 1.04 %)."""
    return "–" if value != value else f"{100 * value:.2f}%"


def _num(value: float) -> str:
    return "–" if value != value else f"{value:.3f}"


def _cells(m: Metrics) -> list[str]:
    return [_num(m.precision), _num(m.recall), _num(m.pr_auc)]


def render(report: Report) -> str:
    cfg, rules = report.config, report.rules
    lines = [
        f"Command: `{cfg.command()}` ({report.seconds:.0f} s here).",
        "",
        f"Training period {report.train_period[0][:16]} → {report.train_period[1][:16]}: "
        f"{report.train_rows:,} checks, features only. Evaluation period {report.eval_period[0][:16]} → "
        f"{report.eval_period[1][:16]}: {report.genuine + sum(r.checks for r in report.rows[:-1]):,} checks, "
        f"{report.genuine:,} of them genuine. Rules version {rules.version}, alert threshold "
        f"{rules.alert_threshold}, model weight {rules.model_weight:g}, model `{cfg.algorithm}`. "
        "P = precision, R = recall at the alert threshold; PR-AUC = average precision of the score.",
        "",
        "| kind | checks | " + " | ".join(f"{m} P | {m} R | {m} PR-AUC" for m in MODES) + " |",
        "|---|---:|" + "---:|" * (3 * len(MODES)),
    ]
    for row in report.rows:
        name = f"**{row.kind}**" if row.kind == "overall" else row.kind
        cells = [c for mode in MODES for c in _cells(row.modes[mode])]
        lines.append(f"| {name} | {row.checks:,} | " + " | ".join(cells) + " |")
    fars = " | ".join(f"{_pct(report.false_alerts[m])} | | " for m in MODES)
    lines.append(f"| **false alerts on genuine** | {report.genuine:,} | {fars}|")
    if report.reason_checks:
        lines += [
            "",
            "Checks of the evaluation period each rule fired on (an alert needs the threshold):",
            "",
            "| reason | points | genuine checks | anomalous checks |",
            "|---|---:|---:|---:|",
        ]
        for reason, (genuine, anomalous) in report.reason_checks.items():
            points = weight(rules, reason)
            lines.append(f"| {reason} | {points} | {genuine:,} | {anomalous:,} |")
    if report.candidates:
        lines += [
            "",
            "Model candidates, same periods (overall; false alerts = share of genuine checks alerted):",
            "",
            "| algorithm | model-only PR-AUC | model-only P | model-only R | model-only false alerts "
            "| combined PR-AUC | combined R | combined false alerts | train s | scored rows/s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for c in report.candidates:
            lines.append(
                f"| {c.algorithm} | {_num(c.model.pr_auc)} | {_num(c.model.precision)} | "
                f"{_num(c.model.recall)} | {_pct(c.model_false_alerts)} | {_num(c.combined.pr_auc)} | "
                f"{_num(c.combined.recall)} | {_pct(c.combined_false_alerts)} | {c.train_seconds:.2f} | "
                f"{c.score_rows_per_second:,.0f} |"
            )
    lines += _loko(report)
    return "\n".join(lines)


def _loko(report: Report) -> list[str]:
    if not report.loko:
        return []
    lines = [
        "",
        "Behaviour kinds, leave-one-kind-out (combined score at the alert threshold; held out = trained "
        "and calibrated without the kind; with decisions = simulated analysts' decisions on the training "
        "period's alerts raise the behaviour weights):",
        "",
        "| kind | checks | held-out P | held-out R | held-out PR-AUC | in-sample P | in-sample R "
        "| in-sample PR-AUC | decisions |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for loko in report.loko:
        label = "with" if loko.decisions else "without"
        for k in loko.kinds:
            lines.append(
                f"| {k.kind} | {k.checks:,} | {' | '.join(_cells(k.held_out))} | "
                f"{' | '.join(_cells(k.in_sample))} | {label} |"
            )
        lines.append(
            f"| **mean** | | | **{_num(loko.held_out_recall)}** | | {_num(loko.in_sample_precision)} "
            f"| **{_num(loko.in_sample_recall)}** | | {label} |"
        )
        lines.append(
            f"| **false alerts on genuine** | | | {_pct2(loko.held_out_false_alerts)} | | "
            f"| {_pct2(loko.in_sample_false_alerts)} | | {label} |"
        )
    lines.append("")
    lines.append(
        "In-sample P in the mean row counts every behaviour kind together against the genuine checks; "
        "held-out false alerts are the mean over the eight folds. Behaviour points tuned (in-sample; "
        "per fold): "
        + "; ".join(
            f"{loko.points} ({', '.join(map(str, loko.fold_points))}) "
            f"{'with' if loko.decisions else 'without'} decisions, "
            f"{loko.decisions_used:,} simulated decisions"
            for loko in report.loko
        )
        + "."
    )
    lines.append("")
    lines.append(
        "Readable reasons (in-sample fit, evaluation period): "
        + "; ".join(
            f"{loko.readable.alerts:,} alerts, {loko.readable.behaviour_alerts:,} with a behaviour hit, "
            f"{len(loko.readable.unreadable)} without a readable reason naming its profile "
            f"({'with' if loko.decisions else 'without'} decisions)"
            for loko in report.loko
        )
        + "."
    )
    if report.loko:
        lines.append("")
        lines.append(
            "Alerts per kind, and of them without a readable reason (in-sample fit, without decisions): "
            + ", ".join(
                f"{kind} {alerts:,}/{unreadable}"
                for kind, (alerts, unreadable) in report.loko[0].readable.by_kind.items()
            )
            + "."
        )
    return lines


def write_into(doc: Path, block: str) -> None:
    """Replace what is between the markers of `doc` (append the markers if missing)."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else ""
    wrapped = f"{BEGIN}\n{block}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + wrapped + tail
    else:
        text = (text.rstrip() + "\n\n" if text else "") + wrapped + "\n"
    tmp = doc.with_name(f".{doc.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(doc)
