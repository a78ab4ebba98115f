"""The worker's error policy, one mechanism for every stage (agent) instead of a try/except per call site.

- unreadable (schema violation, wrong key or partition) → `checks.dlq` with the reason;
- any other exception while processing one event (a poison pill: a bug on one odd message) → that
  event to `checks.dlq` with the exception and its stack, `fapiao_poison_events_total`, and the stream
  goes on;
- infrastructure failures that would repeat for every event (Kafka, the table store, the disk,
  memory) → the worker exits non-zero at once, before the event is acknowledged (crash-only): its
  supervisor (deploy/local/run.sh, docker-compose `restart:`) starts it again and the event is
  redelivered. Why not faust's default: its supervisor restarts a crashed agent in-process and the
  stream iterator's `finally` acknowledges the event that crashed it, so the check was lost silently.

ClickHouse errors of the sink are classified separately (`fapiao.warehouse.insert_errors`): a row the
server refuses is dead-lettered alone, transient errors are retried with backoff.
"""

from __future__ import annotations

import errno
import inspect
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

import faust
import structlog
from aiokafka.errors import KafkaError
from faust.exceptions import PartitionsMismatch

from streams import metrics
from streams.app import Pipeline
from streams.dead_letters import Unreadable, send_dead_letter

log = structlog.get_logger(__name__)

EXIT_INFRASTRUCTURE = 75  # EX_TEMPFAIL: "try again later", what a supervisor restarts on

# Exceptions that say the process, not the message, is broken: retrying the next event would fail too.
INFRASTRUCTURE: tuple[type[BaseException], ...] = (
    KafkaError,
    PartitionsMismatch,
    OSError,  # disk full, the RocksDB folder gone, sockets
    MemoryError,
)


def is_infrastructure(exc: BaseException) -> bool:
    return isinstance(exc, INFRASTRUCTURE) or type(exc).__module__.startswith("rocksdict")


_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_DISK_FULL_TEXTS = ("no space left on device", "file too large", "disk quota exceeded")


def disk_full(exc: BaseException) -> bool:
    """Whether `exc` says the disk (or the process's file-size limit) is full: an OSError with ENOSPC,
    EFBIG or EDQUOT, or RocksDB's IO error carrying their text (rocksdict raises a bare Exception)."""
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
        return True
    return any(text in str(exc).lower() for text in _DISK_FULL_TEXTS)


def crash(stage: str, exc: BaseException) -> NoReturn:
    """Exit the process now, without acknowledging the event in hand (no `finally` of the stream runs)."""
    log.critical(
        "worker_infrastructure_failure",
        stage=stage,
        error=f"{type(exc).__name__}: {exc}",
        cause=(
            "disk full: the batch in hand was not acknowledged; free space under FAPIAO_DATA_DIR, restart"
            if disk_full(exc)
            else None
        ),
        exit_code=EXIT_INFRASTRUCTURE,
        stack="".join(traceback.format_exception(exc))[-4000:],
    )
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(EXIT_INFRASTRUCTURE)


def describe(exc: BaseException) -> tuple[str, str]:
    """(error, stack) as the dead letter carries them."""
    return f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc))[-8000:]


class InjectedFault(RuntimeError):
    """Raised for an event carrying the settings' fault marker (fault-injection tests, bench chaos)."""


class InjectedInfrastructureFault(OSError):
    """The infrastructure variant of `InjectedFault`: the worker crashes on it."""


class StagePolicy:
    """The policy of one stage: `await policy.run(event, handler)` processes one event under it.

    `on_crash` is `crash` in the worker; tests pass a function that records the call instead."""

    def __init__(
        self, pipeline: Pipeline, stage: str, on_crash: Callable[[str, BaseException], NoReturn] = crash
    ) -> None:
        self.pipeline = pipeline
        self.stage = stage
        self.on_crash = on_crash
        settings = getattr(pipeline, "settings", None)
        self.fault = settings.fault_marker.encode() if settings is not None else b""
        in_stage = settings is not None and stage in settings.fault_stages.split(",")
        self.fault_kind = settings.fault_kind if settings is not None and self.fault and in_stage else ""

    def inject(self, event: faust.EventT) -> None:
        """Raise the configured fault if `event` carries the fault marker and this stage is chosen."""
        value = event.message.value
        if self.fault_kind and isinstance(value, bytes) and self.fault in value:
            fault = InjectedInfrastructureFault if self.fault_kind == "infrastructure" else InjectedFault
            raise fault(f"fault injected in stage {self.stage} (FAPIAO_FAULT_MARKER)")

    async def run(self, event: faust.EventT, handler: Callable[[], Any]) -> Any:
        """The value of `handler()` (awaited if it is a coroutine), or None when the event went to the
        dead-letter topic."""
        try:
            self.inject(event)
            value = handler()
            return await value if inspect.isawaitable(value) else value
        except Unreadable as exc:
            await send_dead_letter(self.pipeline, event, str(exc), self.stage)
        except Exception as exc:
            if is_infrastructure(exc):
                self.on_crash(self.stage, exc)
            await self.poison(event, exc)
        return None

    async def poison(self, event: faust.EventT, exc: BaseException) -> None:
        """Dead-letter one event that raised `exc` while it was processed."""
        error, stack = describe(exc)
        metrics.POISON_EVENTS.labels(stage=self.stage).inc()
        log.error(
            "poison_event",
            stage=self.stage,
            topic=event.message.topic,
            partition=event.message.partition,
            offset=event.message.offset,
            error=error,
        )
        await send_dead_letter(self.pipeline, event, error, self.stage, kind="exception", stack=stack)

    def check_batch_error(self, exc: BaseException) -> None:
        """For a step over a whole batch that raised: crash on infrastructure errors; otherwise the
        caller retries the batch's events one by one under `run`, so only the guilty one is dead-lettered."""
        if is_infrastructure(exc):
            self.on_crash(self.stage, exc)
        log.warning("batch_step_failed_retrying_per_event", stage=self.stage, error=describe(exc)[0])
