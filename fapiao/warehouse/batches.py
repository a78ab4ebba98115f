"""The `batches` and `batch_items` tables, and the batch queries: progress and results in input order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from fapiao.batches.items import BatchItem, check_id_of
from fapiao.warehouse.engine import Engine

BATCHES = "batches"
ITEMS = "batch_items"
BATCH_COLUMNS: tuple[str, ...] = (
    "org_id",
    "batch_id",
    "version",
    "state",
    "kind",
    "file_name",
    "requester",
    "total_rows",
    "accepted",
    "rejected",
    "created_at",
    "updated_at",
)
ITEM_COLUMNS: tuple[str, ...] = (
    "org_id",
    "batch_id",
    "batch_row",
    "line",
    "source_name",
    "check_id",
    "invoice_code",
    "invoice_number",
    "issue_date",
    "amount",
    "check_code",
    "problem_fields",
    "problem_codes",
    "problem_messages_zh",
    "problem_messages_en",
)
# what the results file shows of each check's newest result
RESULT_COLUMNS: tuple[str, ...] = (
    "batch_row",
    "verdict",
    "message_zh",
    "message_en",
    "mismatched_fields",
    "check_count",
    "invoice_status",
    "fplx",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
    "amount",
    "tax",
    "total",
    "decided_at",
    # sealed parties (migration 010): the API opens them into the name and tax id columns above
    "seller_ref",
    "seller_sealed",
    "buyer_ref",
    "buyer_sealed",
)


@dataclass(frozen=True)
class BatchRecord:
    org_id: str
    batch_id: UUID
    version: int
    state: str  # receiving | accepted | failed
    kind: str  # rows | documents
    file_name: str
    requester: str
    total_rows: int
    accepted: int
    rejected: int
    created_at: datetime
    updated_at: datetime

    def row(self) -> tuple[Any, ...]:
        return (
            self.org_id,
            str(self.batch_id),
            self.version,
            self.state,
            self.kind,
            self.file_name,
            self.requester,
            self.total_rows,
            self.accepted,
            self.rejected,
            self.created_at,
            self.updated_at,
        )


def item_row(org_id: str, batch_id: UUID, item: BatchItem) -> tuple[Any, ...]:
    """The `batch_items` row of one item (pure)."""
    problems = item.problems
    return (
        org_id,
        str(batch_id),
        item.row,
        item.line,
        item.source_name,
        str(check_id_of(batch_id, item.row)) if item.accepted else "",
        *(
            item.shown.get(name, "")
            for name in ("invoice_code", "invoice_number", "issue_date", "amount", "check_code")
        ),
        [p.field for p in problems],
        [p.code for p in problems],
        [p.message_zh for p in problems],
        [p.message_en for p in problems],
    )


def save_batch(engine: Engine, record: BatchRecord) -> None:
    engine.insert(BATCHES, BATCH_COLUMNS, [record.row()])


def save_items(engine: Engine, org_id: str, batch_id: UUID, items: Iterable[BatchItem]) -> int:
    rows = [item_row(org_id, batch_id, item) for item in items]
    return engine.insert(ITEMS, ITEM_COLUMNS, rows) if rows else 0


def get_batch(engine: Engine, org_id: str, batch_id: UUID) -> dict[str, Any] | None:
    rows = engine.execute(
        f"SELECT {', '.join(BATCH_COLUMNS)} FROM {BATCHES} FINAL "
        "WHERE org_id = %(org_id)s AND batch_id = %(batch_id)s",
        {"org_id": org_id, "batch_id": str(batch_id)},
    )
    return dict(zip(BATCH_COLUMNS, rows[0], strict=True)) if rows else None


def verdict_counts(engine: Engine, org_id: str, batch_id: UUID, since: date) -> dict[str, int]:
    """The batch's checks per current verdict (each check once, at its newest result).

    `since` is the batch's creation date (UTC): its checks were requested then or later, which keeps the
    scan to the organisation's recent part of `check_results` (ordered by org, request date)."""
    rows = engine.execute(
        "SELECT verdict, count() FROM check_results FINAL WHERE org_id = %(org_id)s "
        "AND requested_date >= %(since)s AND batch_id = %(batch_id)s GROUP BY verdict ORDER BY verdict",
        {"org_id": org_id, "batch_id": str(batch_id), "since": since},
    )
    return {str(v): int(n) for v, n in rows}


def rejections(engine: Engine, org_id: str, batch_id: UUID, limit: int) -> list[dict[str, Any]]:
    """The first `limit` rejected items, in input order."""
    columns = (
        "batch_row",
        "line",
        "source_name",
        "problem_fields",
        "problem_codes",
        "problem_messages_zh",
        "problem_messages_en",
    )
    rows = engine.execute(
        f"SELECT {', '.join(columns)} FROM {ITEMS} FINAL WHERE org_id = %(org_id)s "
        "AND batch_id = %(batch_id)s AND check_id = '' ORDER BY batch_row LIMIT %(limit)s",
        {"org_id": org_id, "batch_id": str(batch_id), "limit": limit},
    )
    return [dict(zip(columns, row, strict=True)) for row in rows]


def items_page(engine: Engine, org_id: str, batch_id: UUID, first: int, last: int) -> list[dict[str, Any]]:
    """Items with batch_row in [first, last], in input order."""
    rows = engine.execute(
        f"SELECT {', '.join(ITEM_COLUMNS)} FROM {ITEMS} FINAL WHERE org_id = %(org_id)s "
        "AND batch_id = %(batch_id)s AND batch_row >= %(first)s AND batch_row <= %(last)s ORDER BY batch_row",
        {"org_id": org_id, "batch_id": str(batch_id), "first": first, "last": last},
    )
    return [dict(zip(ITEM_COLUMNS, row, strict=True)) for row in rows]


def results_page(
    engine: Engine, org_id: str, batch_id: UUID, since: date, first: int, last: int
) -> dict[int, dict[str, Any]]:
    """The newest result of each check with batch_row in [first, last], by batch_row (`since`: see
    verdict_counts)."""
    rows = engine.execute(
        f"SELECT {', '.join(RESULT_COLUMNS)} FROM check_results FINAL WHERE org_id = %(org_id)s "
        "AND requested_date >= %(since)s AND batch_id = %(batch_id)s "
        "AND batch_row >= %(first)s AND batch_row <= %(last)s",
        {"org_id": org_id, "batch_id": str(batch_id), "since": since, "first": first, "last": last},
    )
    return {int(row[0]): dict(zip(RESULT_COLUMNS, row, strict=True)) for row in rows}


def merge_page(items: Sequence[dict[str, Any]], results: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each item with its result (or none yet), in input order (pure)."""
    return [{**item, "result": results.get(int(item["batch_row"]))} for item in items]


def resubmit(
    engine: Engine, org_id: str, batch_id: UUID, item: BatchItem, now: datetime
) -> BatchRecord | None:
    """Put a corrected row back into its batch (人工复核): the item is rewritten with its check and
    without its problems, and the batch's counts are taken again from its items; None when the batch or
    the row is not the organisation's.

    The new item row gets the original's `created_at`, so it lands in the same monthly partition and
    replaces it under FINAL (ReplacingMergeTree only collapses within a partition). The batch's version
    is 2 + its accepted count: it grows with every resubmitted row, so of two resubmissions written at
    once the one that counted more rows wins, whatever order their writes land in."""
    batch = get_batch(engine, org_id, batch_id)
    where = "org_id = %(org_id)s AND batch_id = %(batch_id)s"
    params: dict[str, Any] = {"org_id": org_id, "batch_id": str(batch_id), "row": item.row}
    found = engine.execute(
        f"SELECT created_at FROM {ITEMS} FINAL WHERE {where} AND batch_row = %(row)s", params
    )
    if batch is None or not found:
        return None
    engine.insert(ITEMS, (*ITEM_COLUMNS, "created_at"), [(*item_row(org_id, batch_id, item), found[0][0])])
    total, accepted = engine.execute(
        f"SELECT count(), countIf(check_id != '') FROM {ITEMS} FINAL WHERE {where}", params
    )[0]
    record = BatchRecord(
        **{
            **batch,
            "batch_id": batch_id,
            "version": 2 + int(accepted),
            "total_rows": int(total),
            "accepted": int(accepted),
            "rejected": int(total) - int(accepted),
            "updated_at": now,
        }
    )
    save_batch(engine, record)
    return record
