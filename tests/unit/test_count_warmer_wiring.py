"""The worker remembers trend counts on a leader-only timer, unless FAPIAO_ANALYTICS_WARM_SECONDS=0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
import pytest

from fapiao.settings import Settings


@pytest.mark.parametrize(("seconds", "expected"), [(120.0, [("warm_rollup_counts", 120.0, True)]), (0.0, [])])
def test_the_leader_warms_counts_on_a_timer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seconds: float, expected: list[tuple[str, float, bool]]
) -> None:
    from streams.app import create_app

    timers: list[tuple[str, float, bool]] = []
    original = faust.App.timer

    def recording(self: faust.App, interval: float, *args: Any, **kwargs: Any) -> Any:
        timers.append((str(kwargs.get("name")), float(interval), bool(kwargs.get("on_leader"))))
        return original(self, interval, *args, **kwargs)

    monkeypatch.setattr(faust.App, "timer", recording)
    create_app(Settings(data_dir=tmp_path, analytics_warm_seconds=seconds))
    assert [t for t in timers if t[0] == "warm_rollup_counts"] == expected
