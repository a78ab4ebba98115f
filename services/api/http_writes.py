"""An answer's status line, headers and body in one socket write, not two.

uvicorn writes a response's head as soon as the app sends `http.response.start` and its body at
`http.response.body`: two `send()` calls, so a client (the sync-latency load generator, or any
keep-alive client) may wake up twice per answer, once for the head and once for the body. Starlette's
responses send both in the same step of the request's task, so buffering the writes of one loop
iteration and handing them to the socket together at the end of it (`call_soon`) puts them in one
`send()`. Nothing waits longer than that iteration: a streamed answer's head (server-sent events) still
leaves at once, and `close()` writes what is buffered first.
"""

from __future__ import annotations

import asyncio
from typing import Any


class CoalescingTransport:
    """Wraps a transport: `write`s of one loop iteration leave in one write of the wrapped one; every
    other attribute is the wrapped transport's."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        """Hand what is buffered to the wrapped transport (dropped when it is closing: the peer left)."""
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending = []
        if not self._transport.is_closing():
            self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(chunk) for chunk in self._pending)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
