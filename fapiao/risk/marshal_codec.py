"""Version byte + `marshal` (format 4): the bytes of the worker's internal table values (pure).

Binary ints and floats (exact), each interned string written once and referred to after that, all of
it in C. `marshal` executes nothing it reads (unlike pickle), but it is no parser for hostile bytes:
only the worker writes these internal topics, and each codec still checks the shape it gets.
"""

from __future__ import annotations

import marshal
from typing import Any

_MARSHAL_FORMAT = 4


def dumps(version: int, value: Any) -> bytes:
    return bytes([version]) + marshal.dumps(value, _MARSHAL_FORMAT)


def loads(version: int, data: bytes, what: str) -> Any:
    """The value of `dumps(version, …)` bytes; ValueError naming `what` for anything else."""
    if data[:1] != bytes([version]):
        raise ValueError(f"not {what} of a known version: {bytes(data[:16])!r}")
    try:
        return marshal.loads(memoryview(data)[1:])
    except (EOFError, ValueError, TypeError) as exc:
        raise ValueError(f"unreadable {what}: {exc}") from exc
