"""Streaming a table export (CSV with a BOM, or XLSX spooled to disk past 16 MiB) from pages of rows:
one implementation for every export route (history, alerts)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Literal

from fastapi.responses import StreamingResponse

from fapiao.analytics.export import XlsxWriter, csv_chunk

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RESPONSES: dict[int | str, dict[str, object]] = {200: {"content": {"text/csv": {}, XLSX: {}}}}


def table_export(
    name: str,
    sheet: str,
    columns: Sequence[tuple[str, str]],
    pages: AsyncIterator[list[list[object]]],
    format: Literal["csv", "xlsx"],
    notes: Sequence[tuple[str, str]] = (),
) -> StreamingResponse:
    """`columns` are (key, Chinese heading): CSV heads with the keys; XLSX has the Chinese headings,
    then the keys as its first row."""

    async def csv_body() -> AsyncIterator[bytes]:
        yield csv_chunk([], header=[key for key, _ in columns])
        async for rows in pages:
            yield csv_chunk(rows)

    async def xlsx_body() -> AsyncIterator[bytes]:
        writer = XlsxWriter(sheet, [zh for _, zh in columns], notes)
        writer.add([[key for key, _ in columns]])
        async for rows in pages:
            writer.add(rows)
        with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as out:
            await asyncio.to_thread(writer.finish, out)
            out.seek(0)
            while chunk := out.read(256 * 1024):
                yield chunk

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    headers = {"Content-Disposition": f'attachment; filename="fapiao-{name}-{stamp}.{format}"'}
    if format == "csv":
        return StreamingResponse(csv_body(), media_type="text/csv; charset=utf-8", headers=headers)
    return StreamingResponse(xlsx_body(), media_type=XLSX, headers=headers)
