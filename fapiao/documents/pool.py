"""Reading documents from strangers outside the caller's process: a small pool of worker processes,
each with a memory limit, and a time limit per document.

Why: reading a PDF means running pdfminer and pdfium on whatever a tenant uploaded. A 1.3 KB PDF with
a 14,400 pt page once took the API 15 s and 2.5 GiB, and eight in parallel made every organisation's
requests 100x slower. In a worker process (`pool_worker`), a document that needs more memory than the
limit fails there (MemoryError, or the process dies), and one that runs past the time limit has its
worker killed and replaced; either way the caller gets `document_too_complex`, and its own memory and
event loop are untouched. Each organisation may use at most `workers - 1` workers at once (when there
are two or more), so one tenant's uploads always leave a worker for the others.

`DocumentPool.read` blocks (call it from a thread); `aread` is the same for asyncio code, waiting in
the pool's own threads (`executor`), never in the event loop's default executor, which other requests'
database queries need.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fapiao.documents.exceptions import DocumentError
from fapiao.documents.model import Extraction
from fapiao.documents.pool_worker import _LENGTH, PREVIEW

_RECYCLE_AFTER = 500  # documents per worker before it is replaced (fragmented heaps only grow)
_MAX_ANSWER_BYTES = 1 << 20  # an Extraction as JSON is a few KB


class PoolClosed(RuntimeError):
    """A document arrived while the process shuts down."""


@dataclass(frozen=True)
class PoolLimits:
    workers: int = 2
    memory_bytes: int = 768 * 1024 * 1024  # address space of one worker (RLIMIT_AS)
    seconds: float = 20.0  # wall time for one document


def _worker_env() -> dict[str, str]:
    """The caller's environment, with the directory this copy of `fapiao` lives in first on the path:
    the worker runs the same code as its caller, whatever the working directory."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, path) if p)}


class _Worker:
    def __init__(self, limits: PoolLimits) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fapiao.documents.pool_worker", str(limits.memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            env=_worker_env(),
        )
        self.served = 0
        self.broken = False

    def ask(self, name: str, data: bytes, seconds: float) -> dict[str, object] | None:
        """The worker's answer, or None when it ran out of time or died."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        encoded = name.encode("utf-8")
        try:
            stdin.write(_LENGTH.pack(len(encoded)) + encoded + _LENGTH.pack(len(data)))
            stdin.write(data)
            stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        deadline = time.monotonic() + seconds
        head = self._read(stdout.fileno(), _LENGTH.size, deadline)
        if head is None:
            return None
        (size,) = _LENGTH.unpack(head)
        body = self._read(stdout.fileno(), size, deadline) if size <= _MAX_ANSWER_BYTES else None
        if body is None:
            return None
        try:
            reply = json.loads(body)
        except ValueError:
            return None
        return reply if isinstance(reply, dict) else None

    @staticmethod
    def _read(fd: int, size: int, deadline: float) -> bytes | None:
        chunks: list[bytes] = []
        missing = size
        while missing:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, missing)
            if not chunk:
                return None
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()


class DocumentPool:
    """Worker processes started on first use (or by `start()`); `close()` stops them."""

    def __init__(self, limits: PoolLimits = PoolLimits()) -> None:
        self.limits = limits
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._per_org: dict[str, threading.BoundedSemaphore] = {}
        self._closed = False
        self.executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="document-wait")

    @property
    def per_org(self) -> int:
        return max(1, self.limits.workers - 1)

    def start(self) -> None:
        """Start the workers now (each imports the readers: a second or so), not on the first document."""
        with self._lock:
            if self._all or self._closed:
                return
            for _ in range(self.limits.workers):
                worker = _Worker(self.limits)
                self._all.append(worker)
                self._idle.put(worker)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._all = self._all, []
        for worker in workers:
            worker.stop()
        self.executor.shutdown(wait=False, cancel_futures=True)

    def pids(self) -> list[int]:
        """The workers' process ids (for tests and metrics)."""
        with self._lock:
            return [w.process.pid for w in self._all]

    def read(self, name: str, data: bytes, org_id: str = "") -> Extraction:
        """`read_document(name, data)` in a worker; DocumentError as it would raise, or
        `document_too_complex` when the document broke the memory or time limit."""
        self.start()
        with self._org_slot(org_id), self._worker() as worker:
            reply = worker.ask(name, data, self.limits.seconds)
            if reply is None:  # over time, or the worker died (out of memory, crashed): replace it
                worker.broken = True
                raise DocumentError("document_too_complex")
            worker.served += 1
        if isinstance(reply.get("ok"), dict):
            return Extraction.from_dict(reply["ok"])  # type: ignore[arg-type]
        code = str(reply.get("error"))
        raise DocumentError(code if code in _KNOWN else "document_too_complex")

    def preview(self, data: bytes, org_id: str = "") -> bytes | None:
        """The first page as PNG (PDFs and OFDs; None otherwise, or when it cannot be drawn within the
        limits), rendered in a worker like any reading."""
        self.start()
        with self._org_slot(org_id), self._worker() as worker:
            reply = worker.ask(PREVIEW, data, self.limits.seconds)
            if reply is None:
                worker.broken = True
                return None
            worker.served += 1
        png = reply.get("png")
        return base64.b64decode(png) if isinstance(png, str) else None

    async def aread(self, name: str, data: bytes, org_id: str = "") -> Extraction:
        return await asyncio.get_running_loop().run_in_executor(self.executor, self.read, name, data, org_id)

    @contextlib.contextmanager
    def _org_slot(self, org_id: str) -> Iterator[None]:
        with self._lock:
            slot = self._per_org.setdefault(org_id, threading.BoundedSemaphore(self.per_org))
        with slot:
            yield

    @contextlib.contextmanager
    def _worker(self) -> Iterator[_Worker]:
        while True:  # never wait for ever: a closed pool puts no worker back
            if self._closed:
                raise PoolClosed("the document pool is closed")
            with contextlib.suppress(queue.Empty):
                worker = self._idle.get(timeout=0.5)
                break
        try:
            yield worker
        finally:
            if self._closed:
                worker.stop()
            elif worker.broken or worker.served >= _RECYCLE_AFTER or worker.process.poll() is not None:
                self._idle.put(self._replace(worker))
            else:
                self._idle.put(worker)

    def _replace(self, worker: _Worker) -> _Worker:
        worker.stop()
        fresh = _Worker(self.limits)
        with self._lock:
            self._all = [fresh if w is worker else w for w in self._all]
        return fresh


def _known_codes() -> frozenset[str]:
    from fapiao.documents.exceptions import MESSAGES

    return frozenset(MESSAGES)


_KNOWN = _known_codes()
