"""The worker's flow control keeps records already queued for the agents when the flow is resumed while
running (the end of table recovery), and still clears them after a suspend (a rebalance)."""

from __future__ import annotations

from pathlib import Path

from mode.utils.queues import FlowControlEvent, FlowControlQueue

from fapiao.settings import Settings
from streams.flow_control import KeepFetchedOnResume


def _queue(flow: FlowControlEvent, items: int) -> FlowControlQueue[int]:
    queue: FlowControlQueue[int] = FlowControlQueue(flow_control=flow, clear_on_resume=True)
    for i in range(items):
        queue.put_nowait(i)
    return queue


def test_resume_while_active_keeps_the_queued_records() -> None:
    flow = KeepFetchedOnResume()
    flow.resume()  # starts suspended, like faust's: the first resume is a real one
    queue = _queue(flow, 3)
    flow.resume()  # what Recovery.on_recovery_completed does, the flow being already active
    assert queue.qsize() == 3 and flow.is_active()


def test_resume_after_suspend_still_clears_the_stale_records() -> None:
    flow = KeepFetchedOnResume()
    flow.resume()
    queue = _queue(flow, 3)
    flow.suspend()  # a rebalance: what was buffered belongs to the old assignment
    assert not flow.is_active()
    flow.resume()
    assert queue.qsize() == 0 and flow.is_active()


def test_faust_flow_control_drops_them_which_is_what_is_worked_around() -> None:
    flow = FlowControlEvent()
    flow.resume()
    queue = _queue(flow, 3)
    flow.resume()
    assert queue.qsize() == 0


def test_the_worker_app_uses_it(tmp_path: Path) -> None:
    from streams.app import create_app

    app = create_app(Settings(data_dir=tmp_path)).app
    assert isinstance(app.flow_control, KeepFetchedOnResume)
