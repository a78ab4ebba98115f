"""services/api/http_writes.CoalescingTransport: the writes of one loop iteration leave in one write, in
order; nothing waits past that iteration; close() writes what is buffered first."""

from __future__ import annotations

import asyncio
from typing import Any

from services.api.http_writes import CoalescingTransport


class Recording:
    """A transport that records what it was given."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = self.closed = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 8000) if name == "sockname" else default


def wrapped() -> tuple[CoalescingTransport, Recording]:
    inner = Recording()
    return CoalescingTransport(inner, asyncio.get_running_loop()), inner  # type: ignore[arg-type]


async def test_head_and_body_written_in_one_step_leave_in_one_write_at_the_end_of_it() -> None:
    t, inner = wrapped()
    t.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    t.write(b"{}")
    assert inner.writes == []  # not yet: the rest of this step may add to it
    assert t.get_write_buffer_size() == 40
    await asyncio.sleep(0)
    assert inner.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]


async def test_writes_of_different_iterations_leave_separately_and_in_order() -> None:
    t, inner = wrapped()
    t.write(b"head")
    await asyncio.sleep(0)
    t.write(bytearray(b"chunk 1"))
    t.write(memoryview(b"chunk 2"))
    await asyncio.sleep(0)
    t.write(b"")  # nothing to send: nothing scheduled
    await asyncio.sleep(0)
    assert inner.writes == [b"head", b"chunk 1chunk 2"]


async def test_close_writes_what_is_buffered_first_and_abort_drops_it() -> None:
    t, inner = wrapped()
    t.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n")
    t.close()
    assert inner.writes == [b"HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n"] and inner.closed
    await asyncio.sleep(0)  # the scheduled flush finds nothing left
    assert len(inner.writes) == 1

    t, inner = wrapped()
    t.write(b"lost")
    t.abort()
    await asyncio.sleep(0)
    assert inner.writes == [] and inner.aborted


async def test_a_peer_that_left_gets_nothing_and_other_attributes_are_the_transports() -> None:
    t, inner = wrapped()
    t.write(b"late")
    inner.closed = True  # connection lost meanwhile
    await asyncio.sleep(0)
    assert inner.writes == []
    assert t.get_extra_info("sockname") == ("127.0.0.1", 8000)
    assert t.is_closing()


async def test_over_a_real_socket_the_peer_reads_the_whole_answer_at_once() -> None:
    got: asyncio.Queue[bytes] = asyncio.Queue()

    class Reader(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            got.put_nowait(data)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(Reader, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    try:
        t = CoalescingTransport(transport, loop)  # type: ignore[arg-type]
        t.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n")
        t.write(b"hello")
        first = await asyncio.wait_for(got.get(), 5)
        assert first == b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"
        t.close()
    finally:
        server.close()
        await server.wait_closed()
