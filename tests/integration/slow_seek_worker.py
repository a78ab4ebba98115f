"""`python -m tests.integration.slow_seek_worker worker`: the fapiao worker, whose seek to the committed
offsets at the end of table recovery returns only once fetched records wait in the agents' queues.

At the end of table recovery faust resumes the stream partitions (the fetcher is already running), seeks
them to their committed offsets (`Consumer.perform_seek`: one committed-offset request per assigned
partition, so it lasts longer with many partitions or a distant broker), then resumes the flow. Records
fetched meanwhile and still queued when the flow resumes are what faust-streaming 0.15.3 dropped (see
streams/flow_control.py). On a local broker with a few partitions the seek takes ~0.05-0.2 s and whether
records are queued at that moment is luck; here the seek ends at the unlucky moment (up to
MAX_WAIT_SECONDS later, as a slow seek would), so a regression shows on every start on a backlog.
Test-only: nothing else in the worker changes.
"""

from __future__ import annotations

import asyncio
import time

from faust.transport.consumer import Consumer

from services.cli import main

MAX_WAIT_SECONDS = 3.0
QUEUED = 20  # records waiting for the agents when the seek ends

_perform_seek = Consumer.perform_seek


async def _seek_ending_with_records_queued(self: Consumer) -> None:
    await _perform_seek(self)
    queues = self.app.flow_control._queues  # the stream queues a resume of the flow used to clear
    deadline = time.monotonic() + MAX_WAIT_SECONDS
    while sum(q.qsize() for q in list(queues)) < QUEUED and time.monotonic() < deadline:
        await asyncio.sleep(0.005)


Consumer.perform_seek = _seek_ending_with_records_queued  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
