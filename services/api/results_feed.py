"""Follows `checks.results` inside the API process, so a verdict reaches HTTP in milliseconds.

Keeps the newest result of recent checks in a bounded LRU and wakes requests waiting for one.
Older checks are read from ClickHouse instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import BaseModel

from fapiao import topics
from fapiao.bus import partitions_of
from fapiao.kafka_auth import client_kwargs
from fapiao.settings import Settings
from schemas.events import CheckResult

log = structlog.get_logger(__name__)
M = TypeVar("M", bound=BaseModel)


class ResultsCache:
    """Newest result per check_id (by result_version), bounded, with waiters for final results.

    Entries are kept compact, as (version, JSON text) under the check id's text: strings and tuples of
    them are not tracked by the garbage collector, whereas 100,000 results as pydantic object graphs
    are ~1.9 million tracked objects, which every full collection walks while the event loop stands
    still (≈ 1 s per collection measured here). A waiter gets the result object itself; `get` parses.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._results: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._waiters: dict[UUID, dict[Callable[[CheckResult], bool], list[asyncio.Future[CheckResult]]]] = {}
        self._submitted: OrderedDict[str, str] = OrderedDict()

    def mark_submitted(self, check_id: UUID, org_id: str) -> None:
        """Remember that this process published the check, so a GET before the verdict says pending."""
        key = str(check_id)
        self._submitted[key] = org_id
        self._submitted.move_to_end(key)
        while len(self._submitted) > self._capacity:
            self._submitted.popitem(last=False)

    def was_submitted(self, check_id: UUID, org_id: str) -> bool:
        return self._submitted.get(str(check_id)) == org_id

    def get(self, check_id: UUID) -> CheckResult | None:
        entry = self._results.get(str(check_id))
        return None if entry is None else self._shown(CheckResult.model_validate_json(entry[1]))

    def put(self, result: CheckResult, raw: bytes | None = None) -> None:
        """Keep `result` (newest version wins); `raw`, the JSON it was parsed from (the follower's
        record), is kept as it is instead of serialising the result again (~40 % of the follower's
        CPU per result: a 100,000-row batch passes every result through every API process)."""
        key = str(result.check_id)
        current = self._results.get(key)
        if current is not None and current[0] > result.result_version:
            return
        text = raw.decode("utf-8") if raw is not None else result.model_dump_json()
        self._results[key] = (result.result_version, text)
        self._results.move_to_end(key)
        while len(self._results) > self._capacity:
            self._results.popitem(last=False)
        handed: CheckResult | None = None
        for wanted in list(self._waiters.get(result.check_id, {})):
            if wanted(result):
                handed = handed or self._shown(result)
                for waiter in self._waiters[result.check_id].pop(wanted):
                    if not waiter.done():
                        waiter.set_result(handed)

    def _shown(self, result: CheckResult) -> CheckResult:
        """The result as a reader gets it (a subclass opens sealed fields here, on read, not on put)."""
        return result

    async def wait_final(self, check_id: UUID, timeout: float) -> CheckResult | None:
        """The first answer of a check, waiting up to `timeout` seconds for it.

        A pending_sync answer counts: the caller learns at once that the invoice is not in the
        register yet, and the final verdict follows on the results feed.
        """
        return await self._wait(check_id, timeout, lambda r: True)

    async def wait_newer(self, check_id: UUID, than_version: int, timeout: float) -> CheckResult | None:
        """A result of this check newer than `than_version` (after a refresh)."""
        return await self._wait(check_id, timeout, lambda r: r.result_version > than_version)

    async def _wait(
        self, check_id: UUID, timeout: float, wanted: Callable[[CheckResult], bool]
    ) -> CheckResult | None:
        current = self.get(check_id)
        if current is not None and wanted(current):
            return current
        waiter: asyncio.Future[CheckResult] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(check_id, {}).setdefault(wanted, []).append(waiter)
        try:
            return await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return None
        finally:
            by_predicate = self._waiters.get(check_id, {})
            if waiter in by_predicate.get(wanted, []):
                by_predicate[wanted].remove(waiter)
                if not by_predicate[wanted]:
                    del by_predicate[wanted]
            if not by_predicate:
                self._waiters.pop(check_id, None)


class TopicFollower:
    """A group-less consumer of every partition of one topic, from its end at start-up, handing each
    readable event and its record's bytes to `on_record` (every API replica sees every event)."""

    def __init__(
        self, settings: Settings, topic: str, schema: type[M], on_record: Callable[[M, bytes], None]
    ) -> None:
        """`on_record(event, raw)`: the event parsed from the record and the record's value as it came
        (a receiver keeping the JSON stores `raw` instead of serialising the event again)."""
        self._settings = settings
        self._topic = topic
        self._schema = schema
        self._on_record = on_record
        self._consumer = AIOKafkaConsumer(**client_kwargs(settings), enable_auto_commit=False, group_id=None)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        partitions = await partitions_of(self._settings, self._topic)
        if not partitions:
            raise RuntimeError(f"topic {self._topic} does not exist: run `fapiao kafka init`")
        await self._consumer.start()
        assigned = [TopicPartition(self._topic, p) for p in partitions]
        self._consumer.assign(assigned)
        await self._consumer.seek_to_end(*assigned)
        self._task = asyncio.create_task(self._run(), name=f"follow-{self._topic}")

    async def _run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=500, max_records=1000)
            for records in batches.values():
                for record in records:
                    try:
                        event = self._schema.model_validate_json(record.value)
                    except ValueError as exc:  # unreadable events are the worker's DLQ business
                        log.warning(
                            "follower_unreadable",
                            topic=self._topic,
                            offset=record.offset,
                            error=str(exc)[:200],
                        )
                        continue
                    self._on_record(event, record.value)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()


def results_follower(settings: Settings, cache: ResultsCache) -> TopicFollower:
    return TopicFollower(settings, settings.topic(topics.CHECKS_RESULTS.name), CheckResult, cache.put)
