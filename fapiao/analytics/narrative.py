"""The period report in plain sentences, Chinese and English: what rose, what fell, who looks risky,
which regions stand out. Pure: it reads series (fapiao.analytics.series) and risky sellers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from fapiao.analytics.series import Metrics, Series

MIN_VOLUME = 20  # a region or type with fewer checks in both periods is not worth a sentence
Z_UNUSUAL = 3.0  # how many standard errors above the overall 不一致 rate makes a region unusual


@dataclass(frozen=True)
class RiskySeller:
    tax_id: str
    name: str
    checks: int
    risky: int  # checks answered 作废, 红冲 or 异常 (a 不一致 answer shows no seller)
    alerted: int

    @property
    def risky_rate(self) -> float:
        return self.risky / self.checks if self.checks else 0.0


@dataclass(frozen=True)
class PeriodFacts:
    date_from: date
    date_to: date
    total: Series
    regions: list[Series]
    types: list[Series]
    risky_sellers: list[RiskySeller]


@dataclass(frozen=True)
class Sentences:
    zh: list[str]
    en: list[str]

    def add(self, zh: str, en: str) -> None:
        self.zh.append(zh)
        self.en.append(en)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _trend(change: float | None, unit_zh: str, unit_en: str) -> tuple[str, str]:
    if change is None:
        return "上期无可比数据", "no comparable previous period"
    if abs(change) < 0.05:
        return "与上期持平", "flat on the previous period"
    word_zh, word_en = ("上升", "up") if change > 0 else ("下降", "down")
    return (
        f"较上期{word_zh} {abs(change):.1f}{unit_zh}",
        f"{word_en} {abs(change):.1f}{unit_en} on the previous period",
    )


def _money(value: Decimal) -> str:
    return f"¥{value:,.2f}"


def summarise(facts: PeriodFacts) -> Sentences:
    out = Sentences([], [])
    now, change = facts.total.current, facts.total.change
    span_zh = f"{facts.date_from:%Y年%m月%d日}至{facts.date_to:%Y年%m月%d日}"
    span_en = f"{facts.date_from:%d %b %Y} to {facts.date_to:%d %b %Y}"
    if now.checks == 0:
        out.add(f"{span_zh}期间没有查验记录。", f"No checks from {span_en}.")
        return out
    zh, en = _trend(change["checks_pct"], "%", "%")
    out.add(
        f"{span_zh}共查验发票 {now.checks:,} 张，{zh}。",
        f"{now.checks:,} invoices checked from {span_en}, {en}.",
    )
    _rates(out, now, change)
    _movers(out, facts.regions, "地区", "region")
    _movers(out, facts.types, "发票类型", "invoice type")
    _risky(out, facts.risky_sellers)
    _unusual(out, facts.regions, now)
    return out


def _rates(out: Sentences, now: Metrics, change: dict[str, float | None]) -> None:
    zh, en = _trend(change["consistent_rate_pp"], " 个百分点", " points")
    out.add(
        f"查验一致率 {_pct(now.consistent_rate)}，{zh}。",
        f"{_pct(now.consistent_rate)} were consistent, {en}.",
    )
    zh, en = _trend(change["inconsistent_rate_pp"], " 个百分点", " points")
    out.add(
        f"不一致率 {_pct(now.inconsistent_rate)}，{zh}。",
        f"{_pct(now.inconsistent_rate)} were inconsistent, {en}.",
    )
    zh, en = _trend(change["alert_rate_pp"], " 个百分点", " points")
    out.add(
        f"触发风险预警的查验占 {_pct(now.alert_rate)}，{zh}。",
        f"{_pct(now.alert_rate)} of checks raised a risk alert, {en}.",
    )
    zh, en = _trend(change["amount_pct"], "%", "%")
    out.add(
        f"查验一致的发票价税合计 {_money(now.amount)}，{zh}。",
        f"Invoices confirmed consistent total {_money(now.amount)} including tax, {en}.",
    )


def _movers(out: Sentences, series: list[Series], what_zh: str, what_en: str) -> None:
    """The biggest relative rise and fall in checks among values with enough volume."""
    big = [
        s
        for s in series
        if max(s.current.checks, s.previous.checks) >= MIN_VOLUME and s.change["checks_pct"] is not None
    ]
    if not big:
        return
    rise = max(big, key=lambda s: s.change["checks_pct"] or 0.0)
    fall = min(big, key=lambda s: s.change["checks_pct"] or 0.0)
    parts_zh, parts_en = [], []
    if (rise.change["checks_pct"] or 0) > 0:
        parts_zh.append(f"查验量增长最多的{what_zh}是{rise.label_zh}（+{rise.change['checks_pct']:.1f}%）")
        parts_en.append(
            f"the {what_en} that grew most was {rise.label_en} (+{rise.change['checks_pct']:.1f}%)"
        )
    if (fall.change["checks_pct"] or 0) < 0:
        parts_zh.append(f"下降最多的是{fall.label_zh}（{fall.change['checks_pct']:.1f}%）")
        parts_en.append(f"the one that fell most was {fall.label_en} ({fall.change['checks_pct']:.1f}%)")
    new = [s for s in series if s.previous.checks == 0 and s.current.checks >= MIN_VOLUME]
    if new:
        parts_zh.append("新出现：" + "、".join(s.label_zh for s in new[:3]))
        parts_en.append("new this period: " + ", ".join(s.label_en for s in new[:3]))
    if parts_zh:
        out.add("，".join(parts_zh) + "。", "; ".join(parts_en).capitalize() + ".")


def _risky(out: Sentences, sellers: list[RiskySeller]) -> None:
    if not sellers:
        out.add("本期没有发现高风险销售方。", "No seller stood out as risky this period.")
        return
    zh = "、".join(
        f"{s.name}（异常结果 {s.risky} 张，占 {s.risky_rate * 100:.0f}%；预警 {s.alerted} 次）"
        for s in sellers[:3]
    )
    en = "; ".join(
        f"{s.name} ({s.risky} problem results, {s.risky_rate * 100:.0f}% of its checks; {s.alerted} alerts)"
        for s in sellers[:3]
    )
    out.add(f"风险最高的销售方：{zh}。", f"Riskiest sellers: {en}.")


def unusual_regions(regions: list[Series], overall: Metrics) -> list[Series]:
    """Regions whose 不一致 rate is far above the overall rate (a one-sided z-test on the proportion)."""
    p = overall.inconsistent_rate
    if p is None or p <= 0 or p >= 1:
        return []
    found = []
    for region in regions:
        n, rate = region.current.checks, region.current.inconsistent_rate
        if n < MIN_VOLUME or rate is None:
            continue
        z = (rate - p) / math.sqrt(p * (1 - p) / n)
        if z >= Z_UNUSUAL:
            found.append(region)
    return sorted(found, key=lambda s: -(s.current.inconsistent_rate or 0))


def _unusual(out: Sentences, regions: list[Series], overall: Metrics) -> None:
    odd = unusual_regions(regions, overall)
    if not odd:
        out.add("各地区的不一致率没有明显异常。", "No region's inconsistent rate stands out.")
        return
    zh = "、".join(f"{s.label_zh}（{_pct(s.current.inconsistent_rate)}）" for s in odd[:3])
    en = ", ".join(f"{s.label_en} ({_pct(s.current.inconsistent_rate)})" for s in odd[:3])
    out.add(
        f"异常地区：{zh}的不一致率明显高于整体的 {_pct(overall.inconsistent_rate)}。",
        f"Unusual regions: {en} have inconsistent rates well above the overall "
        f"{_pct(overall.inconsistent_rate)}.",
    )
