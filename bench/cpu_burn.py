"""A defined CPU load for measuring under load: `python -m bench.cpu_burn 1.5` keeps 1.5 cores busy.

The shared machine's load varies with what others run, so a "loaded" benchmark says little unless the
load is one anyone can make again. This spins `int(cores)` processes all the time and one more for the
fraction left (busy `fraction` of every 100 ms), at the normal priority of the processes measured, until
killed (or `--seconds`). Used for the failover runs under load (docs/benchmarks.md, chaos-failover).
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import sys
import time

SLICE = 0.1  # seconds: a partial core is busy this fraction of every slice


def spin(fraction: float, until: float) -> None:
    """Busy `fraction` of every `SLICE` seconds until `until` (time.monotonic())."""
    while time.monotonic() < until:
        start = time.monotonic()
        while time.monotonic() - start < SLICE * fraction:
            pass
        if fraction < 1.0:
            time.sleep(SLICE * (1.0 - fraction))


def shares(cores: float) -> list[float]:
    """Each burner process's busy fraction: whole cores, then the remainder (if any)."""
    whole, rest = int(cores), round(cores - int(cores), 3)
    return [1.0] * whole + ([rest] if rest > 0 else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cores", type=float, help="cores to keep busy, e.g. 1.5")
    parser.add_argument("--seconds", type=float, default=3600.0, help="stop after this long")
    args = parser.parse_args()
    until = time.monotonic() + args.seconds
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # (daemon processes end with this one)
    procs = [multiprocessing.Process(target=spin, args=(f, until), daemon=True) for f in shares(args.cores)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()


if __name__ == "__main__":
    main()
