"""Starting `fapiao` commands as real subprocesses for integration tests, and waiting for them."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port nothing listens on right now (closed again on return)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-5000:]


@contextmanager
def cli_process(
    args: list[str], env: Mapping[str, str], log: Path, stop_seconds: float = 30, module: str = "services.cli"
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m services.cli ARGS…` (or another `module`) with its output in `log`; terminated (then
    killed) on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args], cwd=ROOT, env=dict(env), stdout=out, stderr=out
        )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(stop_seconds)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_for_line(proc: subprocess.Popen[bytes], log: Path, needle: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} not seen in {log}:\n{_tail(log)}")


def wait_for_http(proc: subprocess.Popen[bytes], log: Path, url: str, timeout: float = 60) -> httpx.Response:
    """The first answer of `url` (any status); fails if the process exits or nothing answers in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, timeout=10)
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"process exited:\n{_tail(log)}")
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s:\n{_tail(log)}")


def wait_until_ok(proc: subprocess.Popen[bytes], log: Path, url: str, timeout: float = 60) -> None:
    """Until `url` answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if wait_for_http(proc, log, url, deadline - time.monotonic()).status_code == 200:
            return
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready within {timeout} s:\n{_tail(log)}")
