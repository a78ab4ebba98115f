"""Prometheus metrics of the worker (served on FAPIAO_WORKER_METRICS_PORT when set)."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter("fapiao_worker_events_total", "Events processed", ["agent"])
VERDICTS = Counter("fapiao_verdicts_total", "Results published", ["verdict"])
DEAD_LETTERS = Counter(
    "fapiao_dead_letters_total", "Messages sent to the dead-letter topic", ["stage", "kind"]
)
POISON_EVENTS = Counter(
    "fapiao_poison_events_total", "Events whose processing raised (dead-lettered, stream went on)", ["stage"]
)
SINK_REFUSED_ROWS = Counter(
    "fapiao_sink_refused_rows_total", "Rows ClickHouse refused permanently (dead-lettered)", ["table"]
)
READY = Gauge("fapiao_worker_ready", "1 while the worker serves (recovery done, partitions assigned)")
SINK_ROWS = Counter("fapiao_sink_rows_total", "Rows written to ClickHouse")
SINK_FAILURES = Counter("fapiao_sink_failures_total", "Failed ClickHouse writes (retried)", ["kind"])
SINK_PARTITIONS = Gauge(
    "fapiao_sink_partitions", "Partitions assigned to this worker's sink consumer (0: not serving)"
)
SINK_BATCH_SECONDS = Histogram("fapiao_sink_batch_seconds", "Time to write one batch to ClickHouse")
ALERTS = Counter("fapiao_alerts_total", "Risk alerts raised", ["severity"])
