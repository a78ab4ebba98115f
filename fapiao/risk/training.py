"""Training rows from ClickHouse: the features the worker stored with each result (`risk_features`).

Rows are read `FINAL` (each check once, at its newest result) one day at a time, so a long window
streams in pieces and a progress bar can follow. Rows of another feature-set width are skipped: a
model is only trained on the feature set the worker computes now.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from datetime import date, timedelta

import numpy as np

from fapiao.risk.features import FEATURE_NAMES
from fapiao.warehouse.engine import Engine

TABLE = "check_results"
FEATURES_SQL = (
    f"SELECT risk_features FROM {TABLE} FINAL "
    "WHERE requested_date = %(day)s AND length(risk_features) = %(width)s"
)


def days(since: date, until: date) -> Iterator[date]:
    """Every day from `since` up to, not including, `until`."""
    day = since
    while day < until:
        yield day
        day += timedelta(days=1)


def read_day(
    engine: Engine, day: date, width: int = len(FEATURE_NAMES), exclude: Collection[str] = ()
) -> np.ndarray:
    """The day's feature rows; `exclude`: check ids left out (the analysts' confirmed frauds and errors,
    `fapiao.risk.decision_labels`)."""
    sql, params = FEATURES_SQL, {"day": day, "width": width}
    if exclude:
        sql, params = (
            f"{sql} AND toString(check_id) NOT IN %(exclude)s",
            {**params, "exclude": tuple(exclude)},
        )
    rows = engine.execute(sql, params)
    if not rows:
        return np.zeros((0, width))
    return np.asarray([list(row[0]) for row in rows], dtype=float).reshape(len(rows), width)


def read_window(
    engine: Engine,
    since: date,
    until: date,
    *,
    on_day: Callable[[date, int], None] | None = None,
    exclude: Collection[str] = (),
) -> np.ndarray:
    """Feature rows of checks requested on days in [since, until) (UTC request dates), but `exclude`."""
    width = len(FEATURE_NAMES)
    parts = []
    for day in days(since, until):
        part = read_day(engine, day, width, exclude)
        parts.append(part)
        if on_day is not None:
            on_day(day, len(part))
    return np.concatenate(parts) if parts else np.zeros((0, width))


def sample(X: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """At most `max_rows` rows, drawn uniformly without replacement (seeded), in their original order."""
    if len(X) <= max_rows:
        return X
    keep = np.sort(np.random.default_rng(seed).choice(len(X), size=max_rows, replace=False))
    return X[keep]
