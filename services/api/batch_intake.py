"""Turning an upload into a batch: read in chunks, publish the accepted checks, store every item.

The shell around `fapiao.batches`: reading the spooled upload runs in a worker thread one chunk at a
time (documents are read by the worker processes of `fapiao.documents.pool`), each chunk's checks are
published in one `publish_many`, and its
items are written to ClickHouse in one insert, so memory stays bounded by the chunk size.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import PurePosixPath
from typing import IO
from zoneinfo import ZoneInfo

from fapiao import topics
from fapiao.accounts.context import AccountsContext
from fapiao.batches.items import BatchItem, check_request, document_failure, item_from_document, item_from_row
from fapiao.batches.row_checks import RowProblem, parse_row
from fapiao.batches.sheets import read_csv, read_xlsx
from fapiao.documents import DOCUMENT_SUFFIXES, DocumentError, Extraction
from fapiao.documents.safe_zip import SafeZip, ZipLimits
from fapiao.reviews import store as review_store
from fapiao.reviews.drafts import batch_draft
from fapiao.warehouse.batches import BatchRecord, save_batch, save_items
from services.api.state import ApiState

SHEET_SUFFIXES = frozenset({".csv", ".xlsx"})
BUNDLE_LIMITS = ZipLimits(max_members=5_000, max_member_bytes=30 * 1024 * 1024, max_total_bytes=2 * 1024**3)
DOCUMENT_CHUNK = 25  # documents read per step (extraction is CPU-bound: ~20 ms each)
SHOWN_REJECTIONS = 100


@dataclass
class Upload:
    name: str
    file: IO[bytes]


class BatchRefused(ValueError):
    """The upload as a whole cannot be a batch (wrong mix of files, unsafe ZIP, unreadable sheet)."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.code, self.message_zh, self.message_en = code, message_zh, message_en


def batch_kind(uploads: list[Upload]) -> str:
    """'rows' for one CSV/XLSX, 'documents' for PDF/OFD/XML files and ZIPs of them."""
    suffixes = [PurePosixPath(u.name.lower()).suffix for u in uploads]
    if any(s in SHEET_SUFFIXES for s in suffixes):
        if len(uploads) != 1:
            raise BatchRefused(
                "sheet_not_alone",
                "表格文件(CSV/XLSX)须单独上传",
                "a spreadsheet (CSV/XLSX) must be uploaded on its own",
            )
        return "rows"
    return "documents"


class BatchIntake:
    """One upload becoming one batch of one organisation."""

    def __init__(
        self,
        state: ApiState,
        org_id: str,
        requester: str,
        file_name: str,
        kind: str,
        reviews: AccountsContext | None = None,
    ) -> None:
        self.state = state
        self.reviews = reviews  # where rejected rows and documents to review are queued (人工复核)
        self.batch_id = uuid.uuid4()
        now = datetime.now(UTC)
        self.today: date = now.astimezone(ZoneInfo(state.settings.timezone)).date()
        self.record = BatchRecord(
            org_id, self.batch_id, 1, "receiving", kind, file_name, requester, 0, 0, 0, now, now
        )
        self.rejections: list[dict[str, object]] = []

    async def rows(self, upload: Upload) -> BatchRecord:
        reader = read_xlsx if upload.name.lower().endswith(".xlsx") else read_csv
        sheet_rows = reader(upload.file)
        numbered = enumerate(sheet_rows, start=1)

        def next_chunk() -> list[BatchItem]:
            return [
                item_from_row(n, row, parse_row(row, self.today))
                for n, row in islice(numbered, self.state.settings.batch_chunk_rows)
            ]

        return await self._run(next_chunk)

    async def documents(self, uploads: list[Upload]) -> BatchRecord:
        archives = [await asyncio.to_thread(_open_bundle, u) if _is_zip(u) else None for u in uploads]
        documents = _documents(uploads, archives)
        numbered = enumerate(documents, start=1)

        pool, org_id = self.state.documents, self.record.org_id

        def read_in_worker(name: str, data: bytes) -> Extraction:
            return pool.read(name, data, org_id)

        def next_chunk() -> list[BatchItem]:
            items = []
            for n, (name, read) in islice(numbered, DOCUMENT_CHUNK):
                try:
                    data = read()
                    item = item_from_document(n, name, data, self.today, read_in_worker)
                    if item.extraction is not None:  # for the review queue: the page beside the fields
                        item = replace(item, page_png=pool.preview(data, org_id))
                    items.append(item)
                except DocumentError as exc:
                    items.append(document_failure(n, name, exc))
            return items

        try:
            return await self._run(next_chunk, pool.executor)
        finally:
            for archive in archives:
                if archive is not None:
                    archive.close()

    async def _run(
        self, next_chunk: Callable[[], list[BatchItem]], executor: Executor | None = None
    ) -> BatchRecord:
        """Read chunk n+1 in a thread (of `executor`: documents wait for their worker processes in the
        pool's threads, not the loop's default ones) while chunk n is stored and published."""
        state, record = self.state, self.record
        await state.query(save_batch, record)
        total = accepted = 0
        loop = asyncio.get_running_loop()
        reading = loop.run_in_executor(executor, next_chunk)
        try:
            while chunk := await reading:
                reading = loop.run_in_executor(executor, next_chunk)
                now = datetime.now(UTC)
                checks = [
                    check_request(
                        item,
                        batch_id=self.batch_id,
                        org_id=record.org_id,
                        requester=record.requester,
                        requested_at=now,
                    )
                    for item in chunk
                    if item.accepted
                ]
                await asyncio.gather(
                    state.query(save_items, record.org_id, self.batch_id, chunk),
                    state.publisher.publish_many(
                        (topics.CHECKS_REQUESTED, key, event) for key, event in checks
                    ),
                    self._queue_for_review(chunk),
                )
                total += len(chunk)
                accepted += len(checks)
                self._keep_rejections(chunk)
        except BaseException:
            await asyncio.wait([reading])  # the reader thread must be done with the upload before it closes
            await self._finish("failed", total, accepted)
            raise
        return await self._finish("accepted", total, accepted)

    async def _queue_for_review(self, chunk: list[BatchItem]) -> None:
        drafts = [d for d in (batch_draft(item, self.batch_id) for item in chunk) if d is not None]
        if drafts and self.reviews is not None:
            record = self.record
            await asyncio.to_thread(
                review_store.enqueue, self.reviews, record.org_id, record.requester, drafts
            )

    async def _finish(self, state_name: str, total: int, accepted: int) -> BatchRecord:
        self.record = BatchRecord(
            **{
                **self.record.__dict__,
                "version": 2,
                "state": state_name,
                "total_rows": total,
                "accepted": accepted,
                "rejected": total - accepted,
                "updated_at": datetime.now(UTC),
            }
        )
        await self.state.query(save_batch, self.record)
        return self.record

    def _keep_rejections(self, chunk: list[BatchItem]) -> None:
        for item in chunk:
            if len(self.rejections) >= SHOWN_REJECTIONS:
                return
            if not item.accepted:
                self.rejections.append(rejection_view(item.row, item.line, item.source_name, item.problems))


def rejection_view(
    row: int, line: int, source_name: str, problems: tuple[RowProblem, ...]
) -> dict[str, object]:
    return {
        "row": row,
        "line": line or None,
        "file": source_name or None,
        "problems": [
            {"field": p.field, "code": p.code, "message_zh": p.message_zh, "message_en": p.message_en}
            for p in problems
        ],
    }


def _is_zip(upload: Upload) -> bool:
    return upload.name.lower().endswith(".zip")


def _open_bundle(upload: Upload) -> SafeZip:
    try:
        return SafeZip(upload.file, BUNDLE_LIMITS)
    except DocumentError as exc:
        raise BatchRefused(
            exc.code, f"{upload.name}: {exc.message_zh}", f"{upload.name}: {exc.message_en}"
        ) from None


def _documents(
    uploads: list[Upload], archives: list[SafeZip | None]
) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """(name, read) of every document, in upload order and archive order; junk entries of ZIPs skipped."""
    for upload, archive in zip(uploads, archives, strict=True):
        if archive is None:
            yield upload.name, upload.file.read
            continue
        for member in archive.files():
            base = PurePosixPath(member).name
            if member.startswith("__MACOSX/") or base.startswith("."):
                continue
            suffix = PurePosixPath(member.lower()).suffix
            if suffix not in DOCUMENT_SUFFIXES:
                yield f"{upload.name}/{member}", _unsupported
                continue
            yield f"{upload.name}/{member}", (lambda a=archive, m=member: a.read(m))  # type: ignore[misc]


def _unsupported() -> bytes:
    raise DocumentError("unsupported_format")
