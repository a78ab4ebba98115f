"""The sync-latency load generator's lean HTTP/1.1 client, against a local asyncio server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import pytest

from bench.http_load import LeanClient, ProtocolError

Handler = Callable[[bytes, int], bytes]  # (request body, request number on its connection) -> response


def _ok(body: object, extra: str = "") -> bytes:
    payload = json.dumps(body).encode()
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(payload)}\r\n{extra}\r\n".encode() + payload


class Server:
    def __init__(self, handler: Handler, close_after: int | None = None) -> None:
        self.handler, self.close_after = handler, close_after
        self.connections = 0
        self.requests: list[bytes] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        n = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                n += 1
                writer.write(self.handler(body, n))
                await writer.drain()
                if self.close_after is not None and n >= self.close_after:
                    break  # as uvicorn closes an idle keep-alive connection
        except asyncio.IncompleteReadError:
            pass
        writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., asyncio.Future[tuple[Server, str]]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler, close_after: int | None = None) -> tuple[Server, str]:
        state = Server(handler, close_after)
        server = await asyncio.start_server(state.serve, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return state, f"http://127.0.0.1:{port}"

    yield start  # type: ignore[misc]
    for server in servers:
        server.close()


async def test_posts_json_with_headers_and_reuses_the_connection(serve) -> None:  # type: ignore[no-untyped-def]
    state, url = await serve(lambda body, n: _ok({"echo": json.loads(body), "n": n}))
    client = LeanClient(url, {"X-API-Key": "k-1"}, max_connections=4)
    request = client.request_bytes("/v1/checks", {"wait": 2}, {"发票": "01", "amount": "1.00"})
    first = await client.send(request)
    second = await client.send(request)
    await client.aclose()
    assert first.status_code == 200
    assert first.json() == {"echo": {"发票": "01", "amount": "1.00"}, "n": 1}
    assert second.json() == {"echo": {"发票": "01", "amount": "1.00"}, "n": 2}
    assert state.connections == 1
    head = state.requests[0].split(b"\r\n\r\n")[0].decode()
    assert head.startswith("POST /v1/checks?wait=2 HTTP/1.1\r\n")
    assert "X-API-Key: k-1" in head and "Content-Type: application/json" in head


async def test_a_connection_the_server_closed_is_replaced_and_the_request_sent_again(serve) -> None:  # type: ignore[no-untyped-def]
    state, url = await serve(lambda body, n: _ok({"n": n}), close_after=1)
    client = LeanClient(url, {}, max_connections=1)
    request = client.request_bytes("/x", {}, {})
    answers = [(await client.send(request)).json() for _ in range(3)]
    await client.aclose()
    assert answers == [{"n": 1}, {"n": 1}, {"n": 1}]
    assert state.connections == 3
    assert len(state.requests) == 3  # each request answered once


async def test_connection_close_header_is_honoured(serve) -> None:  # type: ignore[no-untyped-def]
    state, url = await serve(lambda body, n: _ok({"n": n}, "Connection: close\r\n"))
    client = LeanClient(url, {}, max_connections=2)
    request = client.request_bytes("/x", {}, {})
    await client.send(request)
    await client.send(request)
    assert state.connections == 2


async def test_concurrency_is_bounded_by_max_connections(serve) -> None:  # type: ignore[no-untyped-def]
    state, url = await serve(lambda body, n: _ok({}))
    client = LeanClient(url, {}, max_connections=3)
    request = client.request_bytes("/x", {}, {})
    answers = await asyncio.gather(*(client.send(request) for _ in range(30)))
    await client.aclose()
    assert [a.status_code for a in answers] == [200] * 30
    assert state.connections <= 3


async def test_a_response_without_content_length_is_an_error(serve) -> None:  # type: ignore[no-untyped-def]
    _, url = await serve(lambda body, n: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    client = LeanClient(url, {}, max_connections=1)
    with pytest.raises(ProtocolError, match="Content-Length"):
        await client.send(client.request_bytes("/x", {}, {}))


def test_only_plain_http_urls() -> None:
    with pytest.raises(ValueError, match="http://"):
        LeanClient("https://example.com", {}, 1)
