"""The period report as a self-contained file: HTML (charts inline as SVG), Markdown, or JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

from fapiao.analytics.narrative import PeriodFacts, Sentences, unusual_regions
from fapiao.analytics.series import Series

FORMATS = ("html", "md", "json")


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _change(value: float | None, unit: str) -> str:
    return "—" if value is None else f"{value:+.1f}{unit}"


def _rows(series: list[Series]) -> list[list[str]]:
    return [
        [
            s.label_zh,
            f"{s.current.checks:,}",
            _change(s.change["checks_pct"], "%"),
            _rate(s.current.consistent_rate),
            _rate(s.current.inconsistent_rate),
            _rate(s.current.alert_rate),
        ]
        for s in series
    ]


_HEAD = ["", "查验量 checks", "环比 change", "一致率", "不一致率", "预警率 alerts"]


def as_json(facts: PeriodFacts, said: Sentences) -> str:
    def series(s: Series) -> dict[str, Any]:
        names = {"key": s.key, "label_zh": s.label_zh, "label_en": s.label_en}
        return names | {"current": s.current.as_dict(), "previous": s.previous.as_dict(), "change": s.change}

    body = {
        "date_from": facts.date_from.isoformat(),
        "date_to": facts.date_to.isoformat(),
        "summary_zh": said.zh,
        "summary_en": said.en,
        "total": series(facts.total),
        "regions": [series(s) for s in facts.regions],
        "types": [series(s) for s in facts.types],
        "risky_sellers": [vars(s) for s in facts.risky_sellers],
        "unusual_regions": [s.key for s in unusual_regions(facts.regions, facts.total.current)],
    }
    return json.dumps(body, ensure_ascii=False, indent=2, default=str)


def as_markdown(facts: PeriodFacts, said: Sentences) -> str:
    lines = [f"# 查验分析报告 Check report — {facts.date_from} – {facts.date_to}", ""]
    lines += [f"- {zh}  \n  {en}" for zh, en in zip(said.zh, said.en, strict=True)]
    for title, series in (("地区 Regions", facts.regions), ("发票类型 Invoice types", facts.types)):
        lines += ["", f"## {title}", "", "| " + " | ".join(_HEAD) + " |", "|" + "---|" * len(_HEAD)]
        lines += ["| " + " | ".join(row) + " |" for row in _rows(series)]
    return "\n".join(lines) + "\n"


def as_html(facts: PeriodFacts, said: Sentences, charts: Mapping[str, bytes]) -> str:
    """One HTML page; `charts` are SVG documents by chart name, inlined."""

    def table(series: list[Series]) -> str:
        head = "".join(f"<th>{escape(h)}</th>" for h in _HEAD)
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in _rows(series)
        )
        return f"<table><tr>{head}</tr>{body}</table>"

    points = "".join(
        f"<li>{escape(zh)}<br><span class=en>{escape(en)}</span></li>"
        for zh, en in zip(said.zh, said.en, strict=True)
    )
    figures = "".join(
        f"<figure>{svg.decode('utf-8').split('?>', 1)[-1]}<figcaption>{escape(name)}</figcaption></figure>"
        for name, svg in charts.items()
    )
    return (
        "<!doctype html><html lang=zh-CN><head><meta charset=utf-8>"
        f"<title>查验分析报告 {facts.date_from} – {facts.date_to}</title><style>"
        "body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
        ".en{color:#666}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:4px 8px}"
        "figure{margin:1em 0}svg{max-width:100%;height:auto}</style></head><body>"
        f"<h1>查验分析报告 Check report</h1><p>{facts.date_from} – {facts.date_to}</p><ul>{points}</ul>"
        f"<h2>地区 Regions</h2>{table(facts.regions)}<h2>发票类型 Invoice types</h2>{table(facts.types)}"
        f"<h2>图表 Charts</h2>{figures}</body></html>"
    )
