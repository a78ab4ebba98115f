"""Charts of the period report, PNG or SVG, drawn server-side with matplotlib's Agg backend.

Labels are Chinese when a CJK font is installed (Debian fonts-noto-cjk, or WenQuanYi), English
otherwise, so a machine without one draws readable charts rather than boxes. Figures are built
without pyplot's global state, so concurrent requests do not interfere.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

from fapiao.analytics.narrative import PeriodFacts
from fapiao.analytics.series import Trend

CJK_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
)


class ChartName(StrEnum):
    CHECKS = "checks"
    VERDICTS = "verdicts"
    CONSISTENT_RATE = "consistent-rate"
    INCONSISTENT_RATE = "inconsistent-rate"
    ALERT_RATE = "alert-rate"
    AMOUNT = "amount"
    REGIONS = "regions"
    TYPES = "types"
    RISKY_SELLERS = "risky-sellers"


@dataclass(frozen=True)
class ChartSpec:
    kind: str  # line, bar, stacked, barh
    title: tuple[str, str]  # (中文, English)
    x: list[str]
    series: list[tuple[tuple[str, str], list[float]]]
    percent: bool = False


def _over_time(trend: Trend, metric: str) -> list[float]:
    series = trend.series[0] if trend.series else None
    if series is None:
        return [0.0] * len(trend.buckets)
    values = []
    for bucket in trend.buckets:
        value = getattr(series.points[bucket], metric)
        values.append(float(value) if value is not None else float("nan"))
    return values


def chart_spec(name: ChartName, trends: dict[str, Trend], facts: PeriodFacts) -> ChartSpec:
    """What to draw for a chart name, from the period's trends (pure)."""
    total = trends["total"]
    x = total.buckets
    if name is ChartName.CHECKS:
        return ChartSpec(
            "bar", ("查验量", "Checks"), x, [(("查验量", "checks"), _over_time(total, "checks"))]
        )
    if name is ChartName.AMOUNT:
        values = _over_time(total, "amount")
        return ChartSpec(
            "bar",
            ("一致发票价税合计（元）", "Consistent invoices, total incl. tax (CNY)"),
            x,
            [(("金额", "amount"), values)],
        )
    if name in (ChartName.CONSISTENT_RATE, ChartName.INCONSISTENT_RATE, ChartName.ALERT_RATE):
        metric, title = {
            ChartName.CONSISTENT_RATE: ("consistent_rate", ("一致率", "Consistent rate")),
            ChartName.INCONSISTENT_RATE: ("inconsistent_rate", ("不一致率", "Inconsistent rate")),
            ChartName.ALERT_RATE: ("alert_rate", ("风险预警率", "Alert rate")),
        }[name]
        return ChartSpec("line", title, x, [(title, _over_time(total, metric))], percent=True)
    if name is ChartName.VERDICTS:
        series = [
            ((s.label_zh, s.label_en), [float(s.points[b].checks) for b in trends["verdict"].buckets])
            for s in trends["verdict"].series[:6]
        ]
        return ChartSpec(
            "stacked", ("各查验结果数量", "Checks by verdict"), trends["verdict"].buckets, series
        )
    if name in (ChartName.REGIONS, ChartName.TYPES):
        parts = (facts.regions if name is ChartName.REGIONS else facts.types)[:10]
        title = (
            ("各地区查验量", "Checks by region")
            if name is ChartName.REGIONS
            else ("各类型查验量", "Checks by type")
        )
        labels = [f"{s.label_zh}|{s.label_en}" for s in parts]
        return ChartSpec(
            "barh",
            title,
            labels,
            [
                (("本期", "this period"), [float(s.current.checks) for s in parts]),
                (("上期", "previous period"), [float(s.previous.checks) for s in parts]),
            ],
        )
    sellers = facts.risky_sellers
    return ChartSpec(
        "barh",
        ("高风险销售方", "Riskiest sellers"),
        [f"{s.name}|{s.name}" for s in sellers],
        [
            (("异常结果", "problem results"), [float(s.risky) for s in sellers]),
            (("风险预警", "alerts"), [float(s.alerted) for s in sellers]),
        ],
    )


@cache
def cjk_font() -> str | None:
    """The family name of an installed CJK font, registered with matplotlib; None if there is none."""
    for path in CJK_FONTS:
        if path.exists():
            font_manager.fontManager.addfont(str(path))
            return str(font_manager.FontProperties(fname=str(path)).get_name())
    return None


def render(spec: ChartSpec, fmt: str) -> bytes:
    """The chart as PNG or SVG bytes."""
    font = cjk_font()
    zh = font is not None
    pick = 0 if zh else 1
    figure = Figure(figsize=(9, 4.5), dpi=100)
    axes = figure.subplots()
    props = FontProperties(family=[font, "DejaVu Sans"]) if font else FontProperties()
    labels = [x.split("|")[pick] if "|" in x else x for x in spec.x]
    positions = list(range(len(labels)))
    if spec.kind == "barh":
        height = 0.8 / max(1, len(spec.series))
        for i, (names, values) in enumerate(spec.series):
            axes.barh([p + i * height for p in positions], values, height=height, label=names[pick])
        axes.set_yticks([p + height * (len(spec.series) - 1) / 2 for p in positions], labels)
        for tick in axes.get_yticklabels():
            tick.set_fontproperties(props)
        axes.invert_yaxis()
    else:
        bottom = [0.0] * len(labels)
        for names, values in spec.series:
            shown = [v * 100 for v in values] if spec.percent else values
            if spec.kind == "line":
                axes.plot(positions, shown, marker="o", markersize=3, label=names[pick])
            else:
                axes.bar(
                    positions, shown, bottom=bottom if spec.kind == "stacked" else None, label=names[pick]
                )
                if spec.kind == "stacked":
                    bottom = [b + v for b, v in zip(bottom, shown, strict=True)]
        step = max(1, len(labels) // 12)
        axes.set_xticks(positions[::step], labels[::step], rotation=30, ha="right", fontsize=8)
        if spec.percent:
            axes.set_ylabel("%")
    axes.set_title(spec.title[pick], fontproperties=props)
    if len(spec.series) > 1:
        legend_props = props.copy()
        legend_props.set_size(8)
        axes.legend(prop=legend_props)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format=fmt)
    return out.getvalue()
