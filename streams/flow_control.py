"""Faust's app with a flow control that keeps already fetched records when flow is resumed while running.

Works around a record loss at worker start in faust-streaming 0.15.3 (upstream issue
faust-streaming/faust#596, open). Every stream queue is created with `clear_on_resume=True`, so each
`app.flow_control.resume()` empties them. That is meant for a rebalance: revoking suspends the flow and
drops what was buffered for the old assignment. But `Recovery.on_recovery_completed`
(faust/tables/recovery.py) resumes the stream partitions while the fetcher is already running (the flow was
resumed for the changelog replay), awaits `Consumer.perform_seek()` (one committed-offset request per
partition, ~0.1 s) and only then calls `app.flow_control.resume()`: the records fetched in between, queued
but not yet taken by an agent, are thrown away. Kafka's position and faust's read offset are already past
them and nothing seeks back, so they are never processed nor acked: the committed offset sticks at the
first of them (redelivered only by the next restart), or, when they directly follow the committed offset
(`Consumer._new_offset` takes min(acked) == committed + 1 as contiguous, faust-streaming/faust#606) or no
offset is committed yet, the commit moves past them and they are lost. Seen by `python -m bench
restart-loss` and tests/integration/test_restart_no_loss.py.

A resume while the flow is not suspended has nothing stale to drop, so `resume()` then keeps the queues;
after a `suspend()` (a rebalance or shutdown) it clears them exactly as before.
"""

from __future__ import annotations

from typing import Any

import faust
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent

from streams.offset_guard import REVOKE_DRAIN_SECONDS


class KeepFetchedOnResume(FlowControlEvent):
    """`FlowControlEvent` whose `resume()` is a no-op unless the flow is suspended."""

    def resume(self) -> None:
        if self.is_active():
            return  # nothing was suspended: the queued records are current, keep them
        super().resume()


class App(faust.App):
    """`faust.App` using `KeepFetchedOnResume` for `app.flow_control` (see the module docstring)."""

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        return KeepFetchedOnResume(loop=self.loop)

    async def _consumer_wait_empty(self, consumer: Any, logger: Any) -> None:
        """At a clean stop (and again at a revoke, where the guarded consumer committed already before
        faust forgot the acknowledgements: streams/offset_guard.py rule 4): commit what the agents
        finish within the bound, so the next owner does not redo it."""
        commit = getattr(consumer, "commit_before_handover", None)
        if commit is None:  # not the worker's guarded consumer
            return await super()._consumer_wait_empty(consumer, logger)
        logger.info("Commit before handover...")
        await commit(REVOKE_DRAIN_SECONDS)
