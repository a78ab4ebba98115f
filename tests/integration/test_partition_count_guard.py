"""A worker started with another partition count than its topics have refuses to start (exit 2, the
topics named), instead of refusing every message as on the wrong partition for its key: the default
went from 4 to 12 partitions, and a deployment keeps the count its topics were created with."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.integration.conftest import _env, private_stack
from tests.integration.processes import cli_process


def test_a_worker_with_another_partition_count_than_its_topics_exits_2(tmp_path: Path) -> None:
    with private_stack("partitions", tmp_path) as (settings, _engine):
        env = _env(settings) | {"FAPIAO_TOPIC_PARTITIONS": str(settings.topic_partitions * 3)}
        log = tmp_path / "worker.log"
        with cli_process(["worker"], env, log) as worker:
            try:
                code = worker.wait(120)
            except subprocess.TimeoutExpired:
                code = None
        text = log.read_text(errors="replace")
        assert code == 2, text[-3000:]
        assert f"{settings.topic('checks.requested')} has {settings.topic_partitions}" in text
        assert "Worker ready" not in text
