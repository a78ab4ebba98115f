"""The worker's readiness signal: a file and a gauge saying "this worker serves".

`fapiao worker` writes `<data dir>/<app id>/ready` (its pid and when) once faust has recovered its tables
and started the agents, and removes it when it stops; `fapiao_worker_ready` says the same on the metrics
port. A stale file of a killed worker is removed at the next start, before anything else. Supervisors
(docker-compose's healthcheck, `deploy/local/supervise.sh`, tests) wait on it instead of a log line.
"""

from __future__ import annotations

import contextlib
import os
from datetime import UTC, datetime
from pathlib import Path

import faust

from fapiao import loop_monitor
from fapiao.settings import Settings
from streams import metrics


def ready_file(settings: Settings) -> Path:
    return settings.data_dir / settings.faust_app_id / "ready"


def is_ready(path: Path) -> bool:
    """True when `path` names a live process (a file left by a worker killed -9 is not ready)."""
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ReadyWorker(faust.Worker):
    """`faust.Worker` that signals readiness (see the module docstring)."""

    def __init__(
        self, app: faust.App, *, ready_path: Path, gc_young_threshold: int = 0, **kwargs: object
    ) -> None:
        self.ready_path = ready_path
        self._fapiao_gc_young_threshold = gc_young_threshold
        with contextlib.suppress(FileNotFoundError):
            ready_path.unlink()
        metrics.READY.set(0)
        super().__init__(app, **kwargs)  # type: ignore[arg-type]

    async def on_startup_finished(self) -> None:
        await super().on_startup_finished()
        # what faust built while starting (clients, recovered tables' state, agents) joins the frozen
        # start-up heap, as fapiao.loop_monitor.freeze_start_up_heap does before
        loop_monitor.freeze_start_up_heap(self._fapiao_gc_young_threshold)
        self.ready_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.ready_path.with_suffix(".tmp")
        tmp.write_text(f"{os.getpid()} {datetime.now(UTC).isoformat()}\n")
        tmp.replace(self.ready_path)
        metrics.READY.set(1)
        self.log.info("Worker serving: readiness file %s", self.ready_path)

    def on_worker_shutdown(self) -> None:
        metrics.READY.set(0)
        with contextlib.suppress(FileNotFoundError):
            self.ready_path.unlink()
        super().on_worker_shutdown()


if __name__ == "__main__":  # `python -m streams.readiness`: exit 0 when this machine's worker serves
    import sys

    sys.exit(0 if is_ready(ready_file(Settings())) else 1)
