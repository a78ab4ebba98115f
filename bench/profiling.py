"""Optional sampling profiles of the worker / API during a measured phase, with py-spy.

py-spy is not a project dependency: `.venv/bin/pip install py-spy` to use `--profile`. Profiles are
written to bench/out/<run>/ as collapsed stacks (`*.txt`, for flamegraph tools or speedscope) and
summarised: where the on-CPU samples of each process go, by own time and by inclusive time.
Idle samples (the event loop waiting in select) are excluded, so the shares are of CPU time.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from bench.harness import _LIVE, Proc


def py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


class Profiler:
    """`with Profiler(proc, out, seconds):` samples `proc` for at most `seconds` (and stops at exit)."""

    def __init__(self, proc: Proc, out: Path, seconds: float, rate: int = 97) -> None:
        self.proc = proc
        self.out = out
        self.seconds = seconds
        self.rate = rate
        self.popen: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Profiler:
        exe = py_spy()
        if exe is None:
            raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
        self.popen = subprocess.Popen(
            [
                exe,
                "record",
                "--pid",
                str(self.proc.pid),
                "--rate",
                str(self.rate),
                "--duration",
                str(int(self.seconds) + 1),
                "--format",
                "raw",
                "--output",
                str(self.out),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.out.with_suffix(".py-spy.log"), "wb"),
            start_new_session=True,
        )
        _LIVE[self.popen.pid] = self.popen
        return self

    def __exit__(self, *exc: object) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        _LIVE.pop(self.popen.pid, None)


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match.group("file")
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match.group('func')} ({path})"


def summarise(collapsed: Path, top: int = 12) -> list[str]:
    """Top functions by own and by inclusive share of the samples of a py-spy raw profile."""
    if not collapsed.exists() or collapsed.stat().st_size == 0:
        return [f"{collapsed.name}: no samples"]
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [
            _short(f)
            for f in stack.split(";")
            if not f.startswith("process ") and not f.startswith("thread ")
        ]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    lines = [f"{collapsed.name}: {total} on-CPU samples"]
    lines.append("  own time:")
    lines += [f"    {n / total:6.1%}  {name}" for name, n in own.most_common(top)]
    lines.append("  inclusive (selected project / library frames):")
    interesting = [
        (name, n)
        for name, n in inclusive.most_common(400)
        if any(
            k in name
            for k in (
                "streams/",
                "fapiao/",
                "services/",
                "schemas/",
                "pydantic",
                "faust/",
                "aiokafka/",
                "uvicorn/",
                "fastapi/",
                "starlette/",
                "json",
                "structlog",
            )
        )
    ]
    lines += [f"    {n / total:6.1%}  {name}" for name, n in interesting[: top * 2]]
    return lines
