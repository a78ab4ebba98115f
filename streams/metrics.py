"""Prometheus metrics of the worker (served on FAPIAO_WORKER_METRICS_PORT when set)."""

from prometheus_client import Counter, Histogram

EVENTS = Counter("fapiao_worker_events_total", "Events processed", ["agent"])
VERDICTS = Counter("fapiao_verdicts_total", "Results published", ["verdict"])
DEAD_LETTERS = Counter("fapiao_dead_letters_total", "Messages sent to the dead-letter topic", ["stage"])
SINK_ROWS = Counter("fapiao_sink_rows_total", "Rows written to ClickHouse")
SINK_FAILURES = Counter("fapiao_sink_failures_total", "Failed ClickHouse writes (retried)")
SINK_BATCH_SECONDS = Histogram("fapiao_sink_batch_seconds", "Time to write one batch to ClickHouse")
ALERTS = Counter("fapiao_alerts_total", "Risk alerts raised", ["severity"])
