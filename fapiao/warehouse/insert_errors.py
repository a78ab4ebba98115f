"""Which ClickHouse insert errors are the rows' fault, and inserting a batch so that only those rows fail.

A row the server (or clickhouse-driver, before sending) refuses for its values fails the same way on
every retry: retrying it stalls the table for everyone behind it. Those errors are *permanent*: the
batch is split in halves until each refused row stands alone, every other row is stored, and the
refused ones go back to the caller (the sink dead-letters them with the server's message). Everything
else — the server down, timeouts, too many parts, a missing table or column (a deployment step not
run yet) — is *transient*: the caller retries the whole batch with backoff; rows that were already
stored collapse in the ReplacingMergeTree tables.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from clickhouse_driver import errors as ch_errors

# Server exception codes that depend on the values inserted, not on the server or the schema.
DATA_ERROR_CODES = frozenset(
    {
        6,  # CANNOT_PARSE_TEXT
        27,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
        38,  # CANNOT_PARSE_DATE
        41,  # CANNOT_PARSE_DATETIME
        53,  # TYPE_MISMATCH (also clickhouse-driver's own, raised before sending)
        69,  # ARGUMENT_OUT_OF_BOUND
        70,  # CANNOT_CONVERT_TYPE
        72,  # CANNOT_PARSE_NUMBER
        117,  # INCORRECT_DATA
        131,  # TOO_LARGE_STRING_SIZE
        321,  # VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
        349,  # CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
        395,  # FUNCTION_THROW_IF_VALUE_IS_NON_ZERO (a materialized view's throwIf on a value)
        407,  # DECIMAL_OVERFLOW
    }
)
# Python errors clickhouse-driver raises while serialising a value it cannot encode.
_CLIENT_VALUE_ERRORS = (struct.error, OverflowError, UnicodeError, TypeError, ValueError)


def is_permanent(exc: BaseException) -> bool:
    """True when `exc` says the rows' values cannot be stored (retrying them cannot help)."""
    if isinstance(exc, ch_errors.Error):
        return getattr(exc, "code", None) in DATA_ERROR_CODES
    return isinstance(exc, _CLIENT_VALUE_ERRORS)


def error_text(exc: BaseException) -> str:
    """The server's (or driver's) message, one line, bounded."""
    text = getattr(exc, "message", None) or str(exc)
    return f"{type(exc).__name__}: {' '.join(str(text).split())}"[:1500]


def insert_isolating(insert: Callable[[Sequence[Any]], object], rows: Sequence[Any]) -> list[tuple[int, str]]:
    """Insert `rows` with `insert`; return (index, error) of each row refused permanently.

    Transient errors propagate (some halves may already be stored: the caller's retry re-inserts them,
    which the tables' dedupe absorbs). A batch with no bad row costs one insert; each bad row costs about
    2·log2(n) more."""
    refused: list[tuple[int, str]] = []

    def attempt(lo: int, hi: int) -> None:
        try:
            insert(rows[lo:hi])
        except Exception as exc:
            if not is_permanent(exc):
                raise
            if hi - lo == 1:
                refused.append((lo, error_text(exc)))
                return
            mid = (lo + hi) // 2
            attempt(lo, mid)
            attempt(mid, hi)

    if rows:
        attempt(0, len(rows))
    return refused
