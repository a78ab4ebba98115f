"""`python -m bench.kafka_requests worker`: the fapiao worker, counting the Kafka requests it sends.

Counts every request its Kafka clients send (the consumer's fetches and commits, the producer's
produce requests, metadata …), by request type, by wrapping aiokafka's `AIOKafkaConnection.send`, and
writes the counts as JSON to `$FAPIAO_BENCH_KAFKA_REQUESTS` once a second. verify-throughput reads them
at "Worker ready" and when the last result arrived, for produce and fetch requests per 1,000 checks
(the broker has no JMX here; what the worker sends is what the broker serves). Bench-only.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aiokafka.conn import AIOKafkaConnection

from services.cli import main

COUNTS: Counter[str] = Counter()
BY_CLIENT: Counter[str] = Counter()  # "<request type> <client id>", in the sibling file `clients_of`
_LOCK = threading.Lock()
_send = AIOKafkaConnection.send


def _counting_send(self: AIOKafkaConnection, request: Any, expect_response: bool = True) -> Any:
    with _LOCK:  # the consumer runs in its own thread
        kind = type(request).__name__.split("_")[0]
        COUNTS[kind] += 1
        BY_CLIENT[f"{kind} {self._client_id}"] += 1
    return _send(self, request, expect_response)


def _dump(path: Path) -> None:
    while True:
        with _LOCK:
            texts = {path: json.dumps(dict(COUNTS)), clients_of(path): json.dumps(dict(BY_CLIENT))}
        for target, text in texts.items():
            target.with_suffix(".tmp").write_text(text)
            target.with_suffix(".tmp").replace(target)
        time.sleep(1.0)


def clients_of(path: Path) -> Path:
    """Where the counts by request type and client id (faust's clients, the sink's …) are written."""
    return path.with_name(f"{path.stem}.clients.json")


def read(path: Path) -> Counter[str]:
    """The counts last written (empty before the first write)."""
    try:
        return Counter(json.loads(path.read_text()))
    except (FileNotFoundError, ValueError):
        return Counter()


if __name__ == "__main__":
    AIOKafkaConnection.send = _counting_send  # type: ignore[method-assign]
    threading.Thread(
        target=_dump, args=(Path(os.environ["FAPIAO_BENCH_KAFKA_REQUESTS"]),), daemon=True
    ).start()
    main()
