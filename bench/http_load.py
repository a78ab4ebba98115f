"""A lean HTTP/1.1 keep-alive client for the open-loop load generator (sync-latency).

The load generator shares the 2 CPUs with the system it measures, so its own CPU per request is
latency it adds to everyone's requests. httpx spent ~1.6-2.1 ms of CPU per request here (its
connection pool, h11, header objects); this client writes each request as pre-built bytes on an idle
keep-alive connection and reads one response (status line, headers, Content-Length body): the
whole generator then takes 0.40-0.53 ms of CPU per request. Only what the benchmark sends is
supported — POST with a JSON body, responses with a Content-Length (uvicorn's JSON responses) — and
anything else is an error, never a guess.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit


class ProtocolError(Exception):
    """A response this client does not read (no Content-Length, malformed status line)."""


@dataclass(frozen=True)
class Response:
    status_code: int
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, request: bytes) -> tuple[Response, bool]:
        """Send one request, read its response; also whether the connection can be reused."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ProtocolError(f"bad status line {lines[0]!r}")
        length, keep = None, True
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                keep = False
        if length is None:
            raise ProtocolError("response without Content-Length")
        body = await self.reader.readexactly(length) if length else b""
        return Response(int(parts[1]), body), keep

    def close(self) -> None:
        self.writer.close()


class LeanClient:
    """POSTs JSON to one base URL over at most `max_connections` keep-alive connections."""

    def __init__(self, base_url: str, headers: dict[str, str], max_connections: int) -> None:
        split = urlsplit(base_url)
        if split.scheme != "http" or split.hostname is None:
            raise ValueError(f"plain http:// URLs only, not {base_url!r}")
        self.host, self.port = split.hostname, split.port or 80
        self._head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._idle: deque[_Connection] = deque()
        self._slots = asyncio.Semaphore(max_connections)

    def request_bytes(self, path: str, params: dict[str, object], body: object) -> bytes:
        """The whole request, built once (outside the timed part when prepared ahead)."""
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        target = f"{path}?{urlencode(params)}" if params else path
        head = (
            f"POST {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self._head}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        return head.encode() + payload

    async def send(self, request: bytes) -> Response:
        async with self._slots:
            reused = self._reusable()
            conn = reused or await self._open()
            try:
                try:
                    response, keep = await conn.exchange(request)
                except asyncio.IncompleteReadError as exc:
                    # the server closed an idle keep-alive connection as we reused it (uvicorn: after
                    # 5 s idle): nothing of the request was answered, so it is sent again on a new one
                    if reused is None or exc.partial:
                        raise
                    conn.close()
                    conn = await self._open()
                    response, keep = await conn.exchange(request)
            except BaseException:
                conn.close()
                raise
            if keep:
                self._idle.append(conn)
            else:
                conn.close()
            return response

    def _reusable(self) -> _Connection | None:
        """The most recently used idle connection the server has not closed, if any."""
        while self._idle:
            conn = self._idle.pop()
            if not conn.reader.at_eof():
                return conn
            conn.close()
        return None

    async def _open(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        return _Connection(reader, writer)

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()
