"""uvicorn's httptools protocol with the two limits it lacks: a deadline for a request's headers and a
cap on their size (issue 16: 200 connections trickling headers stayed open 65 s; a 200 KB header was
accepted). A connection that has not finished its headers `header_timeout` seconds after it opened (or
after the first byte of its next request) is closed; headers over about `max_header_bytes` (counted per
read, so within one read buffer) get 431 and the connection closes. Idle keep-alive connections are
uvicorn's own `timeout_keep_alive`. Its writes go through `http_writes.CoalescingTransport` (an answer's
head and body in one socket write).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from services.api.http_writes import CoalescingTransport

_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\ncontent-length: 26\r\nconnection: close\r\n\r\n"
    b"request headers too large\n"
)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """Set `header_timeout` and `max_header_bytes` on a subclass (see `bounded_protocol`)."""

    header_timeout: float = 10.0
    max_header_bytes: int = 64 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_bytes = 0
        self._tail = b""  # the last bytes seen, for a blank line split between two reads
        self._reading_headers = True
        self._header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # an answer's head and body in one socket write (services/api/http_writes.py)
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_headers:  # count up to the blank line that ends the headers (not the body)
            seen = self._tail + data
            end = seen.find(b"\r\n\r\n")
            self._header_bytes += len(data) if end < 0 else max(0, end + 4 - len(self._tail))
            self._tail = seen[-3:]
            if self._header_bytes > self.max_header_bytes:
                self._disarm()
                self.transport.write(_TOO_LARGE)
                self.transport.close()
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._disarm()
        super().on_headers_complete()

    def on_message_begin(self) -> None:  # a request's first byte: its headers start now
        super().on_message_begin()
        if not self._reading_headers:  # a later request on this connection (the first is counted already)
            self._reading_headers, self._header_bytes, self._tail = True, 0, b""
            self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if self._reading_headers and not self.transport.is_closing():
            self.transport.close()


def bounded_protocol(header_timeout: float, max_header_bytes: int) -> type[BoundedHttpToolsProtocol]:
    """The protocol class for `uvicorn.run(http=...)` with these limits."""
    return type(
        "BoundedHttpTools",
        (BoundedHttpToolsProtocol,),
        {"header_timeout": header_timeout, "max_header_bytes": max_header_bytes},
    )
