"""Small numeric helpers and the result record every benchmark returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


def percentiles(values: Sequence[float], ps: Sequence[float] = (50, 95, 99)) -> dict[str, float]:
    """p50/p95/p99 (linear interpolation) plus max and mean; empty dict for no values."""
    if not values:
        return {}
    arr = np.asarray(values, dtype=float)
    out = {f"p{int(p) if float(p).is_integer() else p}": float(np.percentile(arr, p)) for p in ps}
    out["max"] = float(arr.max())
    out["mean"] = float(arr.mean())
    return out


def ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.1f} ms"


def rate(n: float, seconds: float | None) -> str:
    if not seconds or seconds <= 0:
        return "—"
    return f"{n / seconds:,.0f}/s"


def secs(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds:.2f} s"


@dataclass
class Result:
    """What one benchmark found: rows of (metric, value, note) for the table and the docs."""

    name: str
    title: str
    params: dict[str, object]
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # e.g. profile summaries (preformatted)
    verdict: str = ""  # one line: target met or not, the headline ratio …
    env: dict[str, str] | None = None  # date, machine, load … when this benchmark started

    def add(self, metric: str, value: str, note: str = "") -> None:
        self.rows.append((metric, value, note))
