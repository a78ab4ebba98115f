"""Retention without TTL (ClickHouse 18.16 has none): drop whole monthly partitions older than N months.

Every table partitioned by month (`toYYYYMM(...)`: check_results, the rollups, risk_alerts,
batch_items…) is covered, so a month leaves the facts and the rollups together. Dropping a partition
is instant and needs no merge. Run `fapiao db retention --keep-months N --dry-run` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from fapiao.warehouse.engine import Engine, quote_identifier

_MONTH = re.compile(r"^(\d{4})(0[1-9]|1[0-2])$")


@dataclass(frozen=True, order=True)
class Partition:
    table: str
    month: str  # YYYYMM


def cutoff_month(today: date, keep_months: int) -> int:
    """The oldest month kept (YYYYMM): the current month and the keep_months - 1 before it."""
    if keep_months < 1:
        raise ValueError("keep at least one month")
    index = today.year * 12 + today.month - 1 - (keep_months - 1)
    return (index // 12) * 100 + index % 12 + 1


def partitions_to_drop(parts: Iterable[tuple[str, str]], today: date, keep_months: int) -> list[Partition]:
    """The monthly partitions (table, partition id) older than the kept months; others are ignored."""
    oldest_kept = cutoff_month(today, keep_months)
    found = {
        Partition(table, month) for table, month in parts if _MONTH.match(month) and int(month) < oldest_kept
    }
    return sorted(found)


def monthly_parts(engine: Engine) -> list[tuple[str, str]]:
    rows = engine.execute(
        "SELECT DISTINCT table, partition FROM system.parts WHERE database = %(db)s AND active",
        {"db": engine.database},
    )
    return [(str(t), str(p).strip("'")) for t, p in rows]


def apply_retention(engine: Engine, today: date, keep_months: int, *, dry_run: bool) -> list[Partition]:
    """Drop (or, dry run, only list) the partitions older than the kept months."""
    doomed = partitions_to_drop(monthly_parts(engine), today, keep_months)
    if not dry_run:
        for part in doomed:
            engine.execute(f"ALTER TABLE {quote_identifier(part.table)} DROP PARTITION {int(part.month)}")
    return doomed
